"""Make, find and revoke API tokens; every door (profile page, command, API) uses these."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import string
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiToken

logger = logging.getLogger(__name__)

PREFIX_LENGTH = 8
_ALPHABET = string.ascii_letters + string.digits
KEY = re.compile(r"^hp_(?P<prefix>[A-Za-z0-9]{8})_(?P<secret>[A-Za-z0-9_-]{43})$")
# last_used_at is written at most this often per token.
TOUCH_EVERY = dt.timedelta(minutes=1)
MAX_NAME = 100


class TokenError(ValueError):
    """A token that cannot be made as asked (a bad name or expiry)."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_LENGTH))
    return prefix, f"hp_{prefix}_{secrets.token_urlsafe(32)}"


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise TokenError("Give the token a name, e.g. the script that will use it.")
    if len(name) > MAX_NAME:
        raise TokenError(f"A token's name has at most {MAX_NAME} characters.")
    if "\x00" in name or re.search(r"[\ud800-\udfff]", name):
        raise TokenError("A token's name cannot hold NUL characters or lone surrogates.")
    return name


def create_token(
    user: Any, name: str, *, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the key, which is never stored or shown again."""
    name = check_name(name)
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("The expiry must be in the future.")
    prefix, key = _new_key()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, digest=digest(key), expires_at=expires_at
    )
    logger.info("API token %s (%s) created for %s", token.pk, prefix, user.get_username())
    return token, key


def revoke(token: ApiToken) -> bool:
    """Revoke `token` now; False if it already was."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        token.revoked_at = now
        logger.info("API token %s (%s) revoked", token.pk, token.prefix)
    return bool(revoked)


@transaction.atomic
def rotate(user: Any, name: str, *, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """Revoke `user`'s active tokens called `name` and make a new one."""
    name = check_name(name)
    for token in ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True):
        revoke(token)
    return create_token(user, name, expires_at=expires_at)


def find(key: str) -> ApiToken | None:
    """The active token whose key this is (of an active user), or None.

    The prefix finds the row; the digest comparison takes constant time.
    """
    match = KEY.match(key)
    if match is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=match["prefix"]).first()
    if token is None or not hmac.compare_digest(token.digest, digest(key)):
        return None
    now = timezone.now()
    if not token.is_active(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
        # Conditional, so concurrent requests write it once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
