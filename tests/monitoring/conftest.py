"""Monitoring's fixtures: hubs whose health endpoint and REST API are local HTTP servers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hubs.models import Hub
from tests.conftest import live_hub

NOW = dt.datetime(2026, 11, 30, 12, 30, tzinfo=dt.UTC)


@pytest.fixture
def hub(catalog: None, lead: Any, reviewer: Any) -> Hub:
    """Alice's live hub, `bcc` on gcp-us-central1."""
    return live_hub(lead, reviewer)


def point_at(hub: Hub, base_url: str) -> None:
    """Make the portal reach `hub` at `base_url` (its cluster's template)."""
    cluster = hub.cluster
    cluster.hub_url_template = base_url.rstrip("/")
    cluster.save(update_fields=["hub_url_template"])
    hub.refresh_from_db()


def users(n: int, *, now: dt.datetime, active: int = 0, servers: int = 0) -> list[dict[str, Any]]:
    """JupyterHub user models: the first `active` seen a minute ago, the first `servers`
    with a running server, the rest last seen 60 days ago."""
    found = []
    for i in range(n):
        seen = now - (dt.timedelta(minutes=1) if i < active else dt.timedelta(days=60))
        found.append(
            {
                "kind": "user",
                "name": f"user{i}",
                "last_activity": seen.isoformat().replace("+00:00", "Z"),
                "servers": {"": {"name": "", "ready": True}} if i < servers else {},
            }
        )
    return found
