"""Event fixtures: a deploy repository to run deployments against, and event specs."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import event_spec

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def demo_repo(catalog: None, settings: Any, tmp_path: Path) -> Path:
    """The seeded clusters deploy to a local bare repository (merged at once)."""
    settings.PORTAL_DEMO_REPO = tmp_path / "infrastructure.git"
    settings.PORTAL_CLONE_DIR = tmp_path / "clones"
    call_command("demo_repo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return Path(settings.PORTAL_DEMO_REPO)


def ny_event(start: dt.datetime, days: int = 3, **overrides: Any) -> dict[str, Any]:
    """An event spec from `start` (New York wall clock, 09:00) to 17:00 `days` later."""
    begin = start.astimezone(NEW_YORK).replace(hour=9, minute=0, second=0, microsecond=0)
    end = (begin + dt.timedelta(days=days)).replace(hour=17)
    return event_spec(
        event={"start": begin.isoformat(), "end": end.isoformat(), "timezone": "America/New_York"},
        **overrides,
    )
