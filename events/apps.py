"""The events app: above provisioning, installed into the domain's seams at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        # Listed after provisioning in INSTALLED_APPS, so this provisioner (which
        # hands non-event hubs to provisioning.lifecycle) is the one installed.
        from events import (
            provisioner,
            schedule,
            tasks,  # noqa: F401 - registers the beat task in every process
        )
        from hubs import seams
        from provisioning import revisions

        seams.install(provisioner)
        seams.add_submission_rule(provisioner.on_submit)
        revisions.add_standing_extras(schedule.standing_extras)
