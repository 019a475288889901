from __future__ import annotations

from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        # Approving a request hands its hub to the pipeline through this seam
        # (hubs/seams.py): the domain never imports provisioning.
        from hubs import seams
        from provisioning import (
            lifecycle,
            preview,
            tasks,  # noqa: F401 - registers the tasks in every process
        )

        # (Web processes included: queue.enqueue() finds them by name in Celery's registry.)
        seams.install(lifecycle, preview)
        from provisioning.fleet.inputs_form import InputsForm

        seams.install_inputs_form(InputsForm)
