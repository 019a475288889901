"""Reading monitoring's rows back: a hub's health summary, its series, the fleet.

Pure reads in a fixed number of queries; the pages, the CSV files and the API
all use these, so they say the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, Sum
from django.utils import timezone

from hubs.models import Hub
from monitoring.health import uptime
from monitoring.models import Health, HealthDay, HubMonitor, Incident, UsageDay, UsageHour

INTERVALS = ("day", "hour")
# The longest range one answer covers, per interval (bounded answers).
MAX_RANGE = {"day": 3660, "hour": 92}


def _monitor(hub: Hub) -> HubMonitor | None:
    try:
        return hub.monitor
    except HubMonitor.DoesNotExist:
        return None


def health_summary(hub: Hub) -> dict[str, Any]:
    """The hub's health for its API representation (what the monitor row holds)."""
    monitor = _monitor(hub)
    if monitor is None:
        return {
            "status": Health.UNKNOWN.value, "since": None, "last_checked": None,
            "uptime_7d": None, "uptime_30d": None, "incidents_30d": 0,
        }  # fmt: skip
    incidents = getattr(hub, "incidents_30d", None)
    if incidents is None:
        since = timezone.now() - dt.timedelta(days=30)
        incidents = Incident.objects.filter(hub=hub, started_at__gte=since).count()
    return {
        "status": monitor.health,
        "since": monitor.health_since.isoformat() if monitor.health_since else None,
        "last_checked": monitor.last_checked.isoformat() if monitor.last_checked else None,
        "uptime_7d": monitor.uptime_7d,
        "uptime_30d": monitor.uptime_30d,
        "incidents_30d": incidents,
    }


def uptime_since(hub: Hub, days: int, today: dt.date) -> float | None:
    row = HealthDay.objects.filter(hub=hub, day__gt=today - dt.timedelta(days=days)).aggregate(
        c=Sum("checks_total"), f=Sum("failures_total")
    )
    return uptime(row["c"] or 0, row["f"] or 0)


@dataclass
class Point:
    """One interval's figures (a row of the CSV, an entry of the API's series)."""

    start: dt.datetime
    active_users: int = 0
    weekly_users: int | None = None
    monthly_users: int | None = None
    peak_servers: int = 0
    user_hours: float = 0.0
    checks: int = 0
    failures: int = 0

    @property
    def uptime(self) -> float | None:
        return uptime(self.checks, self.failures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "active_users": self.active_users,
            "weekly_users": self.weekly_users,
            "monthly_users": self.monthly_users,
            "peak_servers": self.peak_servers,
            "user_hours": round(self.user_hours, 3),
            "checks": self.checks,
            "uptime": self.uptime,
        }


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def series(hub: Hub, start: dt.date, end: dt.date, interval: str) -> list[Point]:
    """Every day (or hour) from `start` to `end` inclusive, zero where nothing was seen
    (three queries)."""
    days = HealthDay.objects.filter(hub=hub, day__gte=start, day__lte=end)
    if interval == "day":
        points = {
            start + dt.timedelta(days=n): Point(_midnight(start + dt.timedelta(days=n)))
            for n in range((end - start).days + 1)
        }
        for row in UsageDay.objects.filter(hub=hub, day__gte=start, day__lte=end):
            point = points[row.day]
            point.active_users, point.peak_servers = row.active_users, row.peak_servers
            point.weekly_users, point.monthly_users = row.weekly_users, row.monthly_users
            point.user_hours = row.user_hours
        for health in days:
            points[health.day].checks = health.checks_total
            points[health.day].failures = health.failures_total
        return list(points.values())
    hours = {
        _midnight(start) + dt.timedelta(hours=n): Point(_midnight(start) + dt.timedelta(hours=n))
        for n in range(((end - start).days + 1) * 24)
    }
    for usage in UsageHour.objects.filter(
        hub=hub, hour__gte=_midnight(start), hour__lt=_midnight(end + dt.timedelta(days=1))
    ):
        point = hours[usage.hour.astimezone(dt.UTC)]
        point.active_users, point.peak_servers = usage.active_users, usage.peak_servers
        point.user_hours = usage.user_hours
    for health in days:
        for n in range(24):
            point = hours[_midnight(health.day) + dt.timedelta(hours=n)]
            point.checks, point.failures = health.checks[n], health.failures[n]
    return list(hours.values())


def active_users(hub: Hub, today: dt.date) -> dict[str, int]:
    """Users active today, in the last 7 and 30 days (as the latest poll saw them)."""
    latest = UsageDay.objects.filter(hub=hub, day__lte=today).order_by("-day").first()
    if latest is None:
        return {"daily": 0, "weekly": 0, "monthly": 0}
    return {
        "daily": latest.active_users if latest.day == today else 0,
        "weekly": latest.weekly_users,
        "monthly": latest.monthly_users,
    }


# --- the fleet ---------------------------------------------------------------------------


@dataclass
class FleetRow:
    hub: Hub
    monitor: HubMonitor | None
    monthly_users: int
    peak_servers: int
    user_hours: float


def fleet(today: dt.date) -> list[FleetRow]:
    """Every active or updating hub with its health and the last 30 days' use (two queries)."""
    hubs = list(
        Hub.objects.filter(state__in=("active", "updating"))
        .select_related("cluster", "offering", "community", "monitor")
        .order_by("cluster__slug", "name")
    )
    since = today - dt.timedelta(days=30)
    usage = {
        row["hub_id"]: row
        for row in UsageDay.objects.filter(day__gt=since, day__lte=today)
        .values("hub_id")
        .annotate(users=Max("monthly_users"), peak=Max("peak_servers"), hours=Sum("user_hours"))
        .order_by()
    }
    rows = []
    for hub in hubs:
        seen = usage.get(hub.pk, {})
        rows.append(
            FleetRow(
                hub=hub,
                monitor=_monitor(hub),
                monthly_users=int(seen.get("users") or 0),
                peak_servers=int(seen.get("peak") or 0),
                user_hours=float(seen.get("hours") or 0),
            )
        )
    return rows
