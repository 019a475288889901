from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self) -> None:
        # Registers the token scheme with drf-spectacular (the OpenAPI document).
        from accounts import schema  # noqa: F401
