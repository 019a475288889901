"""What monitoring keeps per hub: its health now, its incidents, hourly roll-ups, usage.

Compact by design (a sweep every minute over a thousand hubs must not grow a
row per check): one `HubMonitor` row per hub holds the current status and the
sweeps' leases; an `Incident` is the status change log (down at, up at); a
`HealthDay` row per hub and day counts checks and failures per hour (two lists
of 24 numbers); usage is kept as hourly and daily aggregates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from hubs.models import Hub

HOURS = 24


def empty_hours() -> list[int]:
    return [0] * HOURS


if TYPE_CHECKING:
    _Text = models.CharField[list[int] | str, list[int]]
else:
    _Text = models.CharField


class HourCounts(_Text):
    """24 counts, one per hour, as a list in Python and "n,n,...,n" in the database: a
    third of what the same list takes as JSON (Postgres's jsonb stores each number with
    its own header), for a row written every minute for every hub."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", HOURS * 11)
        kwargs.setdefault("default", empty_hours)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[int]:
        return self.to_python(value)

    def to_python(self, value: Any) -> list[int]:
        if isinstance(value, list):
            return value
        if not value:
            return empty_hours()
        return [int(n) for n in str(value).split(",")]

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ",".join(str(int(n)) for n in value)
        return value


class Health(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    UP = "up", "Up"
    # Failing, but not yet for PORTAL_HEALTH_DOWN_AFTER checks in a row.
    FAILING = "failing", "Failing"
    DOWN = "down", "Down"


class HubMonitor(models.Model):
    """A hub's current health and usage connection, and the leases sweeps claim it with."""

    hub = models.OneToOneField(Hub, on_delete=models.CASCADE, related_name="monitor")
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    health_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failed checks in a row.")
    last_checked = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    # Held by the sweep checking this hub; another sweep skips it until it lapses.
    health_lease = models.DateTimeField(null=True, blank=True, db_index=True)
    health_claim = models.CharField(max_length=32, blank=True, db_index=True)
    # Uptime over the last 7 and 30 days (0..100), refreshed hourly from HealthDay.
    uptime_7d = models.FloatField(null=True, blank=True)
    uptime_30d = models.FloatField(null=True, blank=True)
    usage_polled = models.DateTimeField(null=True, blank=True)
    usage_error = models.CharField(max_length=200, blank=True)
    usage_lease = models.DateTimeField(null=True, blank=True)
    usage_claim = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"{self.hub_id} {self.health}"


class Incident(models.Model):
    """A period a hub was down: the status change log (opened when down, closed when up)."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="incidents")
    # When the first failing check of the run happened.
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["hub", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.hub_id} down {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> float:
        """Seconds down (so far, while open)."""
        end = self.ended_at or timezone.now()
        return (end - self.started_at).total_seconds()


class HealthDay(models.Model):
    """One hub's checks on one day (UTC): counts per hour and the day's totals."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="health_days")
    day = models.DateField()
    checks = HourCounts()
    failures = HourCounts()
    checks_total = models.PositiveIntegerField(default=0)
    failures_total = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hub", "day"], name="one_health_day")]

    def __str__(self) -> str:
        return f"{self.hub_id} {self.day}"


class UsageHour(models.Model):
    """One hub's use in one hour: users active in it, most servers at once, server-hours."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="usage_hours")
    hour = models.DateTimeField()
    active_users = models.PositiveIntegerField(default=0)
    peak_servers = models.PositiveIntegerField(default=0)
    user_hours = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hub", "hour"], name="one_usage_hour")]

    def __str__(self) -> str:
        return f"{self.hub_id} {self.hour:%Y-%m-%d %H}h"


class UsageDay(models.Model):
    """One hub's use on one day (UTC): daily, weekly and monthly active users as seen at
    the day's last poll, the most servers at once, and user-hours (running servers x time)."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    active_users = models.PositiveIntegerField(default=0)
    weekly_users = models.PositiveIntegerField(default=0)
    monthly_users = models.PositiveIntegerField(default=0)
    peak_servers = models.PositiveIntegerField(default=0)
    user_hours = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hub", "day"], name="one_usage_day")]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.hub_id} {self.day}"
