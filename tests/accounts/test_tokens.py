"""API tokens: stored as a hash, named, expiring, revocable, throttled when guessed."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import ApiToken
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def requests_with(key: str, **extra: Any) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", **extra)
    return client.get("/api/v1/requests/").status_code


def test_it_stores_only_a_hash_of_the_key(lead: Any) -> None:
    token, key = tokens.create_token(lead, "report script")

    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in [str(value) for value in row.values()]
    assert row["digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(f"hp_{row['prefix']}_")
    assert requests_with(key) == 200


def test_it_refuses_revoked_expired_and_wrong_keys(lead: Any) -> None:
    revoked, revoked_key = tokens.create_token(lead, "old")
    tokens.revoke(revoked)
    expiring, expiring_key = tokens.create_token(
        lead, "short", expires_at=timezone.now() + dt.timedelta(days=1)
    )
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now())
    _, good = tokens.create_token(lead, "good")

    assert requests_with(revoked_key) == 401
    assert requests_with(expiring_key) == 401
    assert requests_with(good[:-1] + ("A" if good[-1] != "A" else "B")) == 401
    assert requests_with("not-a-token") == 401
    assert requests_with(good) == 200


def test_it_refuses_the_token_of_an_inactive_user(lead: Any) -> None:
    _, key = tokens.create_token(lead, "script")
    lead.is_active = False
    lead.save()

    assert requests_with(key) == 401


def test_it_records_the_last_use_at_most_once_a_minute(lead: Any) -> None:
    token, key = tokens.create_token(lead, "script")
    assert token.last_used_at is None

    requests_with(key)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    requests_with(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    requests_with(key)
    later = ApiToken.objects.get(pk=token.pk).last_used_at
    assert later is not None and later > first


@override_settings(PORTAL_TOKEN_FAILURES=3)
def test_it_throttles_an_address_that_guesses_keys(lead: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    _, key = tokens.create_token(lead, "script")
    guesses = [requests_with(f"hp_AAAAAAAA_{'x' * 43}") for _ in range(3)]
    assert guesses == [401, 401, 401]

    # Now even a right key from that address waits; another address is not affected.
    assert requests_with(key) == 429
    assert requests_with(key, REMOTE_ADDR="10.9.8.7") == 200
    cache.clear()


def test_it_makes_names_a_token_and_refuses_a_past_expiry(lead: Any) -> None:
    with pytest.raises(tokens.TokenError):
        tokens.create_token(lead, "  ")
    with pytest.raises(tokens.TokenError):
        tokens.create_token(lead, "x", expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(tokens.TokenError):
        tokens.create_token(lead, "nul\x00")


def test_it_prints_a_new_key_from_the_command(lead: Any) -> None:
    out = StringIO()
    call_command("create_token", "alice", "--name", "ci", "--expires-in", "30", stdout=out)
    key = out.getvalue().strip()

    token = ApiToken.objects.get(user=lead)
    assert (token.name, token.expires_at is not None) == ("ci", True)
    assert requests_with(key) == 200
    with pytest.raises(CommandError, match="at least 1"):
        call_command("create_token", "alice", "--expires-in", "0")


def test_it_shows_operators_tokens_but_never_a_key(lead: Any, operator: Any) -> None:
    token, key = tokens.create_token(lead, "script")
    client = client_for(operator)

    listing = client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    page = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))

    assert token.prefix in listing
    assert key not in listing and key not in page.content.decode()
    assert token.digest not in page.content.decode()
    assert client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert requests_with(key) == 401
    assert site.is_registered(ApiToken)


@pytest.mark.django_db(transaction=True)
def test_it_drops_the_old_plain_text_tokens() -> None:
    call_command("migrate", "accounts", "0001", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY)")
        cursor.execute("INSERT INTO authtoken_token VALUES ('0123456789abcdef')")

    call_command("migrate", "accounts", verbosity=0)

    assert "authtoken_token" not in connection.introspection.table_names()
