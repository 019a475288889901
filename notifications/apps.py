from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and webhooks"

    def ready(self) -> None:
        # Registers the delivery task in every process, so emit() finds it by name.
        from notifications import tasks  # noqa: F401
