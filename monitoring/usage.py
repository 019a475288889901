"""Usage: each hub's users read from JupyterHub's REST API with the portal's service token.

`GET /hub/api/users` (paginated: JupyterHub answers `{items, _pagination}` when
asked with `Accept: application/jupyterhub-pagination+json`; older hubs answer a
plain list) gives each user's `last_activity` and, with the `read:servers`
scope, their servers. A poll turns that into counts at that moment (users
active this hour and today, in the last 7 and 30 days, servers running) and
adds them to the hub's UsageHour and UsageDay rows: the most seen, and the
server-hours since the previous poll. Nothing per user is stored.

The token is the hub's `usage_token` secret (HubSecret, encrypted): generated
by the portal for helm clusters (provisioning/deploy/backends/helm.py puts it in
the hub's Secret and the chart's values register it as a service), added by an
operator for GitOps clusters. Without one, usage shows "not connected".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hubs.models import HubSecret
from hubs.states import HubState
from monitoring.health import ensure_monitors
from monitoring.models import HubMonitor, UsageDay, UsageHour

PAGE = 200  # JupyterHub's largest page (api_page_max_limit's default)
PAGES_AT_ONCE = 8
HUBS_AT_ONCE = 16
BATCH = 200
PAGINATED = "application/jupyterhub-pagination+json"
TOKEN_KEY = HubSecret.Key.USAGE_TOKEN


class UsageError(Exception):
    """A hub's API could not be read (the message is shown on the hub page)."""


@dataclass(frozen=True)
class Snapshot:
    """A hub's use at one moment, from its users."""

    at: dt.datetime
    users: int
    active_hour: int
    active_day: int
    active_week: int
    active_month: int
    servers: int


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def snapshot(users: Sequence[dict[str, Any]], now: dt.datetime) -> Snapshot:
    """Counts at `now` from JupyterHub's user models (pure)."""
    now = now.astimezone(dt.UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    week, month = now - dt.timedelta(days=7), now - dt.timedelta(days=30)
    counts = {"hour": 0, "day": 0, "week": 0, "month": 0}
    servers = 0
    for user in users:
        seen = _time(user.get("last_activity"))
        running = user.get("servers") or {}
        if isinstance(running, dict):
            servers += sum(
                1 for s in running.values() if isinstance(s, dict) and s.get("ready", True)
            )
        if seen is None:
            continue
        for key, since in (("hour", hour), ("day", day), ("week", week), ("month", month)):
            if seen >= since:
                counts[key] += 1
    return Snapshot(
        at=now,
        users=len(users),
        active_hour=counts["hour"],
        active_day=counts["day"],
        active_week=counts["week"],
        active_month=counts["month"],
        servers=servers,
    )


# --- reading a hub's users (no database) ------------------------------------------------


async def _page(
    session: aiohttp.ClientSession, base: str, token: str, offset: int
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of users and the total (None from a hub that does not paginate)."""
    headers = {"Authorization": f"token {token}", "Accept": PAGINATED}
    url = f"{base}/hub/api/users"
    params = {"offset": str(offset), "limit": str(PAGE)}
    try:
        async with session.get(url, params=params, headers=headers) as response:
            if response.status in (401, 403):
                raise UsageError(
                    f"the hub refused the portal's token (HTTP {response.status}): "
                    "it needs the scopes list:users, read:users, read:servers"
                )
            if response.status != 200:
                raise UsageError(f"the hub's API answered HTTP {response.status}")
            body = await response.json(content_type=None)
    except TimeoutError as exc:
        raise UsageError("the hub's API did not answer in time") from exc
    except (aiohttp.ClientError, ValueError) as exc:
        raise UsageError(f"could not read the hub's API: {exc}"[:200]) from exc
    if isinstance(body, list):
        return body, None
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise UsageError("the hub's API answered something other than a list of users")
    total = (body.get("_pagination") or {}).get("total")
    return body["items"], int(total) if isinstance(total, int) else None


async def _users(session: aiohttp.ClientSession, base: str, token: str) -> list[dict[str, Any]]:
    first, total = await _page(session, base, token, 0)
    if total is None or total <= len(first):
        return first
    # The rest at once (bounded): the total is known from the first page.
    limit = asyncio.Semaphore(PAGES_AT_ONCE)

    async def page(offset: int) -> list[dict[str, Any]]:
        async with limit:
            return (await _page(session, base, token, offset))[0]

    rest = await asyncio.gather(*(page(o) for o in range(len(first), total, PAGE)))
    users = list(first)
    for items in rest:
        users.extend(items)
    return users


async def _read_all(
    targets: Sequence[tuple[int, str, str]], timeout: float
) -> dict[int, list[dict[str, Any]] | UsageError]:
    limit = asyncio.Semaphore(HUBS_AT_ONCE)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:

        async def one(pk: int, base: str, token: str) -> tuple[int, Any]:
            async with limit:
                try:
                    return pk, await _users(session, base, token)
                except UsageError as exc:
                    return pk, exc

        results = await asyncio.gather(*(one(*target) for target in targets))
    return dict(results)


def read_users(
    targets: Sequence[tuple[int, str, str]], *, timeout: float | None = None
) -> dict[int, list[dict[str, Any]] | UsageError]:
    """{hub id: its users, or why they could not be read} for each (hub id, base URL, token)."""
    if not targets:
        return {}
    return asyncio.run(_read_all(targets, timeout or settings.PORTAL_USAGE_TIMEOUT))


# --- recording ------------------------------------------------------------------------------


def record(hub_id: int, snap: Snapshot, *, since: dt.datetime | None) -> None:
    """Add a snapshot to the hub's hour and day (most seen; server-hours since `since`)."""
    interval = settings.PORTAL_USAGE_INTERVAL
    elapsed = (snap.at - since).total_seconds() if since is not None else interval
    # A gap (the portal was down) is not counted as if servers ran all along.
    elapsed = min(max(elapsed, 0.0), 2 * interval)
    user_hours = snap.servers * elapsed / 3600
    hour = snap.at.replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        row, _ = UsageHour.objects.select_for_update().get_or_create(hub_id=hub_id, hour=hour)
        row.active_users = max(row.active_users, snap.active_hour)
        row.peak_servers = max(row.peak_servers, snap.servers)
        row.user_hours += user_hours
        row.save()
        day, _ = UsageDay.objects.select_for_update().get_or_create(hub_id=hub_id, day=hour.date())
        day.active_users = max(day.active_users, snap.active_day)
        # Rolling counts: the day's latest poll says them best.
        day.weekly_users = snap.active_week
        day.monthly_users = snap.active_month
        day.peak_servers = max(day.peak_servers, snap.servers)
        day.user_hours += user_hours
        day.save()


def poll(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Read every connected active hub's users once (claimed, like health sweeps)."""
    ensure_monitors()
    now = now or timezone.now()
    lapsed = Q(usage_lease__isnull=True) | Q(usage_lease__lt=now)
    due = Q(usage_polled__isnull=True) | Q(
        usage_polled__lt=now - dt.timedelta(seconds=settings.PORTAL_USAGE_INTERVAL / 2)
    )
    connected = HubSecret.objects.filter(key=TOKEN_KEY).values("hub_id")
    ids = list(
        HubMonitor.objects.filter(lapsed, due, hub__state=HubState.ACTIVE, hub_id__in=connected)
        .order_by("usage_polled", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    token = secrets.token_hex(16)
    until = now + dt.timedelta(seconds=settings.PORTAL_USAGE_TIMEOUT * 2 + 60)
    HubMonitor.objects.filter(lapsed, pk__in=ids).update(usage_lease=until, usage_claim=token)
    monitors = list(HubMonitor.objects.filter(usage_claim=token).select_related("hub__cluster"))
    tokens = dict(
        HubSecret.objects.filter(key=TOKEN_KEY, hub_id__in=[m.hub_id for m in monitors])
        .values_list("hub_id", "value")
    )  # fmt: skip
    answers = read_users([(m.hub_id, m.hub.address, tokens[m.hub_id]) for m in monitors])
    outcome = {"polled": 0, "failed": 0}
    for monitor in monitors:
        answer = answers.get(monitor.hub_id)
        if isinstance(answer, list):
            record(monitor.hub_id, snapshot(answer, now), since=monitor.usage_polled)
            monitor.usage_polled, monitor.usage_error = now, ""
            outcome["polled"] += 1
        else:
            monitor.usage_error = str(answer or "no answer")[:200]
            outcome["failed"] += 1
        monitor.usage_lease, monitor.usage_claim = None, ""
    HubMonitor.objects.bulk_update(
        monitors, ["usage_polled", "usage_error", "usage_lease", "usage_claim"]
    )
    return outcome


def is_connected(hub_id: int) -> bool:
    return HubSecret.objects.filter(hub_id=hub_id, key=TOKEN_KEY).exists()
