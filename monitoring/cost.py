"""What a hub costs: its tier's monthly fee plus measured user-hours at the tier's rate.

The estimate is the same formula over the hub's expected users, each assumed to
run a server PORTAL_COST_HOURS_PER_USER hours a month (hubs.describe.monthly_cost,
which the request form shows too). Amounts are in PORTAL_COST_CURRENCY.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncMonth

from hubs.describe import monthly_cost
from hubs.models import Community, Hub
from monitoring.models import UsageDay

CENT = Decimal("0.01")


def first_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_back(month: dt.date, n: int) -> dt.date:
    year, index = divmod(month.year * 12 + month.month - 1 - n, 12)
    return dt.date(year, index + 1, 1)


def next_month(month: dt.date) -> dt.date:
    return months_back(month, -1)


def estimate(hub: Hub) -> Decimal | None:
    """The hub's expected monthly cost (None without a tier)."""
    if hub.offering is None:
        return None
    users = hub.spec.get("expected_users") if isinstance(hub.spec, dict) else None
    count = users if isinstance(users, int) and users > 0 else 0
    return monthly_cost(hub.offering, count, settings.PORTAL_COST_HOURS_PER_USER)


def charge(hub: Hub, user_hours: float) -> Decimal:
    """A month's cost from its measured user-hours."""
    if hub.offering is None:
        return Decimal("0.00")
    rate = hub.offering.user_hour_rate
    return (hub.offering.monthly_fee + rate * Decimal(str(round(user_hours, 3)))).quantize(CENT)


@dataclass
class Month:
    month: dt.date
    user_hours: float
    cost: Decimal


@dataclass
class HubCost:
    currency: str
    estimate: Decimal | None
    month_to_date: Month
    previous: list[Month] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return self.estimate is not None and self.month_to_date.cost > self.estimate


def hub_cost(hub: Hub, today: dt.date, *, months: int = 3) -> HubCost:
    """This month so far and the `months` before it that the hub existed in (one query)."""
    this = first_of(today)
    born = first_of(hub.created_at.date())
    start = months_back(this, months)
    hours = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: row["h"]
        for row in UsageDay.objects.filter(hub=hub, day__gte=start, day__lte=today)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(h=Sum("user_hours"))
        .order_by()
    }
    previous = []
    for n in range(1, months + 1):
        month = months_back(this, n)
        if month < born:  # no fee for months before the hub was made
            break
        used = float(hours.get(month) or 0)
        previous.append(Month(month, used, charge(hub, used)))
    used = float(hours.get(this) or 0)
    return HubCost(
        currency=settings.PORTAL_COST_CURRENCY,
        estimate=estimate(hub),
        month_to_date=Month(this, used, charge(hub, used)),
        previous=previous,
    )


def month_hours(month: dt.date, hub_ids: Any = None) -> dict[int, float]:
    """{hub id: user-hours in `month`} (one grouped query)."""
    rows = UsageDay.objects.filter(day__gte=month, day__lt=next_month(month))
    if hub_ids is not None:
        rows = rows.filter(hub_id__in=hub_ids)
    return {
        r["hub_id"]: float(r["h"] or 0)
        for r in rows.values("hub_id").annotate(h=Sum("user_hours")).order_by()
    }


def over_estimate(hubs: list[Hub], today: dt.date) -> list[tuple[Hub, Decimal, Decimal]]:
    """(hub, month-to-date cost, estimate) for each of `hubs` already over its estimate."""
    hours = month_hours(first_of(today), [hub.pk for hub in hubs])
    found = []
    for hub in hubs:
        expected = estimate(hub)
        actual = charge(hub, hours.get(hub.pk, 0.0))
        if expected is not None and actual > expected:
            found.append((hub, actual, expected))
    return found


@dataclass
class StatementLine:
    hub: Hub
    fee: Decimal
    user_hours: float
    rate: Decimal
    usage: Decimal
    total: Decimal


def statement(community: Community, month: dt.date) -> tuple[list[StatementLine], Decimal]:
    """A community's hubs in `month` (those that existed during it) and the sum."""
    end = next_month(month)
    start_of = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    hubs = list(
        Hub.objects.filter(community=community, created_at__lt=start_of)
        .exclude(
            state="decommissioned",
            updated_at__lt=dt.datetime.combine(month, dt.time(), tzinfo=dt.UTC),
        )
        .select_related("offering", "cluster")
        .order_by("cluster__slug", "name")
    )
    hours = month_hours(month, [hub.pk for hub in hubs])
    lines = []
    for hub in hubs:
        used = hours.get(hub.pk, 0.0)
        fee = hub.offering.monthly_fee if hub.offering else Decimal("0")
        rate = hub.offering.user_hour_rate if hub.offering else Decimal("0")
        total = charge(hub, used)
        lines.append(StatementLine(hub, fee, used, rate, (total - fee).quantize(CENT), total))
    return lines, sum((line.total for line in lines), Decimal("0.00"))
