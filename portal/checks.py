"""System checks run at start-up (`manage.py check`, runserver, gunicorn's first request, workers).

A malformed PORTAL_ENCRYPTION_KEY used to surface only when the first secret
was read or written; a heartbeat slower than the sweeper's patience would
have live deployments re-queued under their workers. Both now stop start-up.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    keys = list(getattr(settings, "ENCRYPTION_KEYS", []))
    if not keys:
        return [
            Error(
                "PORTAL_ENCRYPTION_KEY is empty.",
                hint="Generate one: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="portal.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"Key {position} of PORTAL_ENCRYPTION_KEY is not a Fernet key "
                    "(32 bytes, url-safe base64: 44 characters ending in '=').",
                    hint="Generate one: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'",
                    id="portal.E001",
                )
            )
    return errors


@register()
def check_heartbeat(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    every, after = settings.PORTAL_HEARTBEAT_EVERY, settings.PORTAL_SWEEP_AFTER
    if every <= 0 or every * 3 > after:
        return [
            Error(
                f"PORTAL_HEARTBEAT_EVERY ({every:g} s) must be positive and at most a third of "
                f"PORTAL_SWEEP_AFTER ({after:g} s), or the sweeper re-queues deployments "
                "whose worker is alive.",
                id="portal.E002",
            )
        ]
    return []
