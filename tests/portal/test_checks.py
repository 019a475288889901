"""Start-up checks: a malformed encryption key or a too-slow heartbeat stops the portal."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from portal.checks import check_encryption_keys, check_heartbeat


def test_it_refuses_a_malformed_encryption_key_at_start_up(settings: Any) -> None:
    good = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [good, "not-a-key"]

    errors = check_encryption_keys()

    assert [e.id for e in errors] == ["portal.E001"]
    assert "Key 2 of PORTAL_ENCRYPTION_KEY" in errors[0].msg
    try:
        call_command("check")
    except SystemCheckError as exc:
        assert "portal.E001" in str(exc)
    else:
        raise AssertionError("manage.py check passed with a malformed key")


def test_it_takes_well_formed_keys(settings: Any) -> None:
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    assert check_encryption_keys() == []


def test_it_refuses_a_heartbeat_too_slow_for_the_sweeper(settings: Any) -> None:
    assert check_heartbeat() == []  # the defaults: 15 s beats, re-queued after 60 s
    settings.PORTAL_HEARTBEAT_EVERY = 30
    settings.PORTAL_SWEEP_AFTER = 60

    assert [e.id for e in check_heartbeat()] == ["portal.E002"]


def test_it_resumes_lost_work_within_about_a_minute_by_default(settings: Any) -> None:
    """Issue 11: a killed worker's deployment waited 10.4 minutes (600 s + a 60 s sweep)."""
    assert settings.PORTAL_HEARTBEAT_EVERY == 15
    assert settings.PORTAL_SWEEP_AFTER == 60
    assert settings.PORTAL_SWEEP_EVERY == 30
    assert settings.CELERY_BEAT_SCHEDULE["sweep-deployments"]["schedule"] == 30
