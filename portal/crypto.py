"""Secrets at rest: a model field that stores Fernet tokens, never plain text.

Keys come from settings.ENCRYPTION_KEYS (PORTAL_ENCRYPTION_KEY); the first
encrypts and every key decrypts, so keys can be rotated without downtime.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PORTAL_ENCRYPTION_KEY must hold url-safe base64 Fernet keys"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with any key in PORTAL_ENCRYPTION_KEY"
        ) from exc


class EncryptedTextField(models.TextField):
    """A text field whose value is encrypted in the database.

    Reads give plain text; the column holds a Fernet token. Empty stays empty
    so "not set" is visible without decrypting. Not filterable by value.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(str(value))
