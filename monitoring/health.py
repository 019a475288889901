"""Health sweeps: every active hub's /hub/health, many at once, each hub by one sweep only.

A sweep claims a batch of due hubs with a conditional UPDATE (a lease and a
claim token: a hub whose lease has not lapsed belongs to another sweep),
checks them concurrently with aiohttp (at most PORTAL_HEALTH_CONCURRENCY at
once, each within PORTAL_HEALTH_TIMEOUT), then records the batch in one
transaction: counters in the hub's HealthDay row, its status on HubMonitor,
and a down or recovery through monitoring/alerts.py. The claim is released as
the batch is recorded; a sweep that died leaves leases that lapse by themselves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiohttp
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hubs.models import Hub
from hubs.states import HubState
from monitoring import alerts
from monitoring.models import Health, HealthDay, HubMonitor, Incident

# Hubs a sweep claims at a time.
BATCH = 500
USER_AGENT = "HubPortal-Health/1"


@dataclass(frozen=True)
class Check:
    """One hub's answer (or the lack of one)."""

    hub_id: int
    ok: bool
    error: str = ""


# --- checking (no database) -------------------------------------------------------


async def _check(
    session: aiohttp.ClientSession, limit: asyncio.Semaphore, hub_id: int, url: str
) -> Check:
    async with limit:
        try:
            async with session.get(f"{url}/hub/health", allow_redirects=False) as response:
                if response.status == 200:
                    return Check(hub_id, True)
                return Check(hub_id, False, f"HTTP {response.status}")
        except TimeoutError:
            return Check(hub_id, False, "no answer in time")
        except aiohttp.ClientError as exc:
            return Check(hub_id, False, str(exc)[:200] or type(exc).__name__)


async def _check_all(
    targets: Sequence[tuple[int, str]], timeout: float, concurrency: int
) -> list[Check]:
    limit = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=300)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"User-Agent": USER_AGENT},
    ) as session:
        return await asyncio.gather(*(_check(session, limit, pk, url) for pk, url in targets))


def check_hubs(
    targets: Sequence[tuple[int, str]],
    *,
    timeout: float | None = None,
    concurrency: int | None = None,
) -> list[Check]:
    """Check each (hub id, base URL) at once, at most `concurrency` at a time."""
    if not targets:
        return []
    return asyncio.run(
        _check_all(
            targets,
            timeout if timeout is not None else settings.PORTAL_HEALTH_TIMEOUT,
            concurrency or settings.PORTAL_HEALTH_CONCURRENCY,
        )
    )


# --- claiming ------------------------------------------------------------------------


def ensure_monitors() -> None:
    """A HubMonitor for every active hub (one query when none is missing)."""
    missing = Hub.objects.filter(state=HubState.ACTIVE, monitor__isnull=True).values_list(
        "pk", flat=True
    )
    HubMonitor.objects.bulk_create([HubMonitor(hub_id=pk) for pk in missing], ignore_conflicts=True)


def claim(now: dt.datetime, *, batch: int = BATCH) -> tuple[str, list[HubMonitor]]:
    """Claim up to `batch` active hubs due a check; (claim token, their monitors).

    Due: not checked in the last half interval. The UPDATE only takes rows
    whose lease has lapsed, so two sweeps never hold the same hub.
    """
    interval = settings.PORTAL_HEALTH_INTERVAL
    timeout = settings.PORTAL_HEALTH_TIMEOUT
    rounds = math.ceil(batch / max(settings.PORTAL_HEALTH_CONCURRENCY, 1))
    until = now + dt.timedelta(seconds=timeout * rounds + 60)
    lapsed = Q(health_lease__isnull=True) | Q(health_lease__lt=now)
    due = Q(last_checked__isnull=True) | Q(
        last_checked__lt=now - dt.timedelta(seconds=interval / 2)
    )
    ids = list(
        HubMonitor.objects.filter(lapsed, due, hub__state=HubState.ACTIVE)
        .order_by("last_checked", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    token = secrets.token_hex(16)
    if not ids:
        return token, []
    HubMonitor.objects.filter(lapsed, pk__in=ids).update(health_lease=until, health_claim=token)
    claimed = list(HubMonitor.objects.filter(health_claim=token).select_related("hub__cluster"))
    return token, claimed


# --- recording -----------------------------------------------------------------------


def _days(hub_ids: Iterable[int], day: dt.date) -> dict[int, HealthDay]:
    ids = list(hub_ids)
    HealthDay.objects.bulk_create(
        [HealthDay(hub_id=pk, day=day) for pk in ids], ignore_conflicts=True
    )
    return {row.hub_id: row for row in HealthDay.objects.filter(hub_id__in=ids, day=day)}


def record(token: str, checks: Sequence[Check], now: dt.datetime) -> dict[str, int]:
    """Store a claimed batch's answers and release it: counts, statuses, incidents, alerts.

    Returns how many hubs went down and came back, for the task's log.
    """
    down_after = max(settings.PORTAL_HEALTH_DOWN_AFTER, 1)
    hour = now.astimezone(dt.UTC).hour
    outcome = {"checked": 0, "down": 0, "recovered": 0}
    with transaction.atomic():
        monitors = {
            m.hub_id: m
            for m in HubMonitor.objects.filter(health_claim=token).select_related("hub__cluster")
        }
        days = _days(monitors, now.astimezone(dt.UTC).date())
        for check in checks:
            monitor = monitors.get(check.hub_id)
            if monitor is None:  # the claim lapsed and another sweep took the hub
                continue
            outcome["checked"] += 1
            day = days[check.hub_id]
            day.checks[hour] += 1
            day.checks_total += 1
            monitor.last_checked = now
            if check.ok:
                if monitor.health == Health.DOWN:
                    alerts.recovered(monitor, now)
                    outcome["recovered"] += 1
                if monitor.health != Health.UP:
                    monitor.health, monitor.health_since = Health.UP, now
                monitor.failures, monitor.last_error = 0, ""
                continue
            day.failures[hour] += 1
            day.failures_total += 1
            monitor.failures += 1
            monitor.last_error = check.error[:200]
            if monitor.health in (Health.UP, Health.UNKNOWN):
                monitor.health, monitor.health_since = Health.FAILING, now
            if monitor.health == Health.FAILING and monitor.failures >= down_after:
                # Down since the first failing check of the run; said once.
                alerts.went_down(monitor, monitor.health_since or now)
                monitor.health = Health.DOWN
                outcome["down"] += 1
        for monitor in monitors.values():
            monitor.health_lease, monitor.health_claim = None, ""
        HubMonitor.objects.bulk_update(
            monitors.values(),
            [
                "health",
                "health_since",
                "failures",
                "last_checked",
                "last_error",
                "health_lease",
                "health_claim",
            ],
            batch_size=500,
        )
        HealthDay.objects.bulk_update(
            days.values(),
            ["checks", "failures", "checks_total", "failures_total"],
            batch_size=500,
        )
    return outcome


def sweep(*, now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Check every active hub that is due, batch by batch; totals for the log."""
    ensure_monitors()
    totals = {"checked": 0, "down": 0, "recovered": 0}
    while True:
        started = now or timezone.now()
        token, monitors = claim(started, batch=batch)
        if not monitors:
            return totals
        checks = check_hubs([(m.hub_id, m.hub.address) for m in monitors])
        for key, value in record(token, checks, now or timezone.now()).items():
            totals[key] += value
        if now is not None:  # a fixed clock (tests): one pass
            return totals


# --- uptime --------------------------------------------------------------------------


def uptime(checks: int, failures: int) -> float | None:
    return None if checks == 0 else round(100.0 * (checks - failures) / checks, 3)


def refresh_uptime(now: dt.datetime | None = None) -> int:
    """Recompute every monitor's 7- and 30-day uptime from HealthDay (two grouped queries)."""
    from django.db.models import Sum

    today = (now or timezone.now()).astimezone(dt.UTC).date()
    sums: dict[int, dict[str, float | None]] = {}
    for key, days in (("uptime_7d", 7), ("uptime_30d", 30)):
        rows = (
            HealthDay.objects.filter(day__gt=today - dt.timedelta(days=days))
            .values("hub_id")
            .annotate(c=Sum("checks_total"), f=Sum("failures_total"))
            .order_by()
        )
        for row in rows:
            sums.setdefault(row["hub_id"], {})[key] = uptime(row["c"] or 0, row["f"] or 0)
    monitors = list(HubMonitor.objects.filter(hub_id__in=sums))
    for monitor in monitors:
        monitor.uptime_7d = sums[monitor.hub_id].get("uptime_7d")
        monitor.uptime_30d = sums[monitor.hub_id].get("uptime_30d")
    HubMonitor.objects.bulk_update(monitors, ["uptime_7d", "uptime_30d"], batch_size=500)
    return len(monitors)


def open_incident(hub_id: int) -> Incident | None:
    return Incident.objects.filter(hub_id=hub_id, ended_at__isnull=True).first()
