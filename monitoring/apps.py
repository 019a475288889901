"""The monitoring app: above provisioning; it reaches the hub page and API through seams."""

from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from hubs import seams
        from monitoring import (
            panels,
            tasks,  # noqa: F401 - registers the beat tasks in every process
        )

        seams.add_hub_extension(panels.extension)
