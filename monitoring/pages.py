"""Monitoring's pages: the hub page's panel, CSV files, the fleet, community statements.

Who may see what comes from hubs.permissions (a hub's page: whoever may see the
hub, its admins included; the fleet: operators; a statement: the community's
leads and operators); what is shown comes from summary.py and cost.py, which
the API uses too.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone

from hubs import permissions
from hubs.models import Community, Hub
from monitoring import cost, ranges, summary, usage
from monitoring.models import Incident
from provisioning.web.access import visible_hub

CHART_DAYS = 90
SERIES_COLUMNS = [
    "start", "active_users", "weekly_users", "monthly_users", "peak_servers", "user_hours",
    "checks", "uptime",
]  # fmt: skip


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def chart_data(points: list[summary.Point]) -> dict[str, Any]:
    return {
        "labels": [p.start.date().isoformat() for p in points],
        "active_users": [p.active_users for p in points],
        "peak_servers": [p.peak_servers for p in points],
        "uptime": [p.uptime for p in points],
    }


def panel_context(hub: Hub) -> dict[str, Any]:
    day = today()
    monitor = summary._monitor(hub)
    points = summary.series(hub, day - dt.timedelta(days=CHART_DAYS - 1), day, "day")
    return {
        "hub": hub,
        "monitor": monitor,
        "uptime_7d": summary.uptime_since(hub, 7, day),
        "uptime_30d": summary.uptime_since(hub, 30, day),
        "incidents": list(Incident.objects.filter(hub=hub)[:10]),
        "connected": usage.is_connected(hub.pk),
        "helm": hub.cluster.deploy_mode == "helm",
        "users": summary.active_users(hub, day),
        "cost": cost.hub_cost(hub, day),
        "chart": chart_data(points),
        "chart_days": CHART_DAYS,
    }


def hub_panel(request: HttpRequest, hub: Hub) -> str:
    """The hub page's health, usage and cost panel (hubs.seams calls this)."""
    return render_to_string("monitoring/hub_panel.html", panel_context(hub), request=request)


def _csv(filename: str, header: list[str], rows: Any) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def series_rows(points: list[summary.Point]) -> list[list[Any]]:
    rows = []
    for point in points:
        values = point.as_dict()
        rows.append(["" if values[c] is None else values[c] for c in SERIES_COLUMNS])
    return rows


@login_required
def hub_series_csv(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """The hub's usage and uptime by day (or hour) as CSV; ?from=&to=&interval= as the API."""
    hub = visible_hub(request.user, cluster, name)
    try:
        asked = ranges.parse(request.GET, today())
    except ranges.RangeError as exc:
        return HttpResponse(f"{exc}\n", status=400, content_type="text/plain; charset=utf-8")
    points = summary.series(hub, asked.start, asked.end, asked.interval)
    filename = f"{hub.cluster.slug}-{hub.name}-{asked.interval}-{asked.start}-{asked.end}.csv"
    return _csv(filename, SERIES_COLUMNS, series_rows(points))


@login_required
def hub_incidents_csv(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    hub = visible_hub(request.user, cluster, name)
    rows = [
        [i.started_at.isoformat(), i.ended_at.isoformat() if i.ended_at else "",
         round(i.duration), i.error]
        for i in Incident.objects.filter(hub=hub)
    ]  # fmt: skip
    return _csv(
        f"{hub.cluster.slug}-{hub.name}-incidents.csv",
        ["started_at", "ended_at", "seconds_down", "error"],
        rows,
    )


# --- the fleet --------------------------------------------------------------------------


def fleet_context() -> dict[str, Any]:
    day = today()
    rows = summary.fleet(day)
    since = timezone.now() - dt.timedelta(days=30)
    incidents = dict(
        Incident.objects.filter(started_at__gte=since)
        .values_list("hub_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        row.incidents = incidents.get(row.hub.pk, 0)  # type: ignore[attr-defined]
    by_users = sorted(rows, key=lambda r: (-r.monthly_users, str(r.hub)))
    checked = [r for r in rows if r.monitor is not None and r.monitor.uptime_30d is not None]
    by_uptime = sorted(checked, key=lambda r: (r.monitor.uptime_30d, str(r.hub)))  # type: ignore[union-attr]
    top = by_users[:20]
    return {
        "rows": rows,
        "by_users": by_users,
        "by_uptime": by_uptime,
        "down": [r for r in rows if r.monitor is not None and r.monitor.health == "down"],
        "idle": [r for r in rows if r.monthly_users == 0],
        "over": cost.over_estimate([r.hub for r in rows], day),
        "currency": cost.settings.PORTAL_COST_CURRENCY,
        "chart": {
            "labels": [f"{r.hub.cluster.slug}/{r.hub.name}" for r in top],
            "monthly_users": [r.monthly_users for r in top],
        },
    }


@login_required
def fleet(request: HttpRequest) -> HttpResponse:
    """Every hub's health, use and cost against its estimate: for operators."""
    if not permissions.is_operator(request.user):
        raise PermissionDenied("Only operators see the fleet.")
    return render(request, "monitoring/fleet.html", fleet_context())


@login_required
def fleet_csv(request: HttpRequest) -> HttpResponse:
    if not permissions.is_operator(request.user):
        raise PermissionDenied("Only operators see the fleet.")
    rows = [
        [f"{r.hub.cluster.slug}/{r.hub.name}", r.monitor.health if r.monitor else "unknown",
         "" if r.monitor is None or r.monitor.uptime_7d is None else r.monitor.uptime_7d,
         "" if r.monitor is None or r.monitor.uptime_30d is None else r.monitor.uptime_30d,
         r.monthly_users, r.peak_servers, round(r.user_hours, 3)]
        for r in summary.fleet(today())
    ]  # fmt: skip
    return _csv(
        "fleet.csv",
        [
            "hub",
            "health",
            "uptime_7d",
            "uptime_30d",
            "monthly_users",
            "peak_servers",
            "user_hours_30d",
        ],
        rows,
    )


# --- statements -----------------------------------------------------------------------------


def statement_month(value: str | None) -> dt.date:
    """`YYYY-MM` (default: last month); Http404-free: a bad value raises ValueError."""
    if not value:
        return cost.months_back(cost.first_of(today()), 1)
    month = dt.datetime.strptime(value.strip(), "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    if month > today() or month.year < 2000:
        raise ValueError(value)
    return month


def _statement(request: HttpRequest, pk: int) -> tuple[Community, dt.date, Any, Any] | HttpResponse:
    community = get_object_or_404(Community, pk=pk)
    if not permissions.can_view_statement(request.user, community):
        raise Http404("No such community.")
    try:
        month = statement_month(request.GET.get("month"))
    except ValueError:
        return HttpResponse(
            "month: use YYYY-MM, a month from 2000 until this one.\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    lines, total = cost.statement(community, month)
    return community, month, lines, total


@login_required
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    """A community's monthly statement, print-friendly."""
    found = _statement(request, pk)
    if isinstance(found, HttpResponse):
        return found
    community, month, lines, total = found
    return render(
        request,
        "monitoring/statement.html",
        {
            "community": community,
            "month": month,
            "lines": lines,
            "total": total,
            "currency": cost.settings.PORTAL_COST_CURRENCY,
            "previous": cost.months_back(month, 1),
            "next": cost.next_month(month),
            "has_next": cost.next_month(month) <= today(),
        },
    )


@login_required
def statement_csv(request: HttpRequest, pk: int) -> HttpResponse:
    found = _statement(request, pk)
    if isinstance(found, HttpResponse):
        return found
    community, month, lines, total = found
    currency = cost.settings.PORTAL_COST_CURRENCY
    rows = [
        [f"{line.hub.cluster.slug}/{line.hub.name}", line.hub.offering.slug if line.hub.offering
         else "", line.fee, round(line.user_hours, 3), line.rate, line.usage, line.total, currency]
        for line in lines
    ]  # fmt: skip
    rows.append(["total", "", "", "", "", "", total, currency])
    return _csv(
        f"statement-{community.pk}-{month:%Y-%m}.csv",
        [
            "hub",
            "tier",
            "monthly_fee",
            "user_hours",
            "rate_per_user_hour",
            "usage",
            "total",
            "currency",
        ],
        rows,
    )
