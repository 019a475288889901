"""API tokens, stored as a hash: the key itself is shown once and never kept.

A key reads `hp_<prefix>_<secret>`. The prefix is not secret: it finds the
row (and tells a person which token a key is). The row keeps only the SHA-256
of the whole key; the secret part has 256 bits of entropy, so a plain hash
is enough (no salt or slow hash needed: nothing is guessable to brute-force).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A named credential for the REST API, acting as its user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Updated at most once a minute (accounts/tokens.py): a read is not a write.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} (hp_{self.prefix}_…)"

    def is_active(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"
