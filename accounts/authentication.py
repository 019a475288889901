"""`Authorization: Token <key>` for the REST API, against hashed tokens (accounts/tokens.py).

Failed attempts are counted per client address (the cache, shared by every
web process when REDIS_URL is set); past PORTAL_TOKEN_FAILURES a minute, the
address gets 429 for token authentication until the minute is over, so keys
cannot be guessed at speed (they have 256 bits of entropy anyway).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiToken
from accounts.tokens import find

WINDOW = 60  # seconds


def _failures_key(request: Request) -> str:
    return f"accounts:token-failures:{BaseThrottle().get_ident(request)}"


class TokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        limit = settings.PORTAL_TOKEN_FAILURES
        counter = _failures_key(request)
        if limit and (cache.get(counter) or 0) >= limit:
            raise exceptions.Throttled(
                wait=WINDOW, detail="Too many failed token attempts from this address."
            )
        token = None
        if len(parts) == 2:
            try:
                token = find(parts[1].decode("ascii"))
            except UnicodeError:
                token = None
        if token is None:
            if limit:
                cache.add(counter, 0, WINDOW)
                try:
                    cache.incr(counter)
                except ValueError:  # expired between add and incr
                    cache.set(counter, 1, WINDOW)
            raise exceptions.AuthenticationFailed(
                "Invalid, expired or revoked token (header: `Authorization: Token <key>`)."
            )
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
