"""Monitoring over the API, with the pages' permissions (whoever may see the hub).

`GET /api/v1/hubs/{cluster}/{name}/usage/?from=&to=&interval=` is the series the
hub page charts and its CSV file holds; `…/health/` the status, uptime and
incidents. Bad parameters answer 400 with `errors` per parameter.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes, renderer_classes
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from monitoring import cost, ranges, summary, usage
from monitoring.models import Incident
from monitoring.pages import SERIES_COLUMNS, _csv, series_rows, today
from portal.api import JSONBodyParser
from provisioning.web.access import visible_hub


class CSVRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; the view answers the CSV itself,
    and an error (a dict) is written as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, context: Any = None) -> bytes:
        if isinstance(data, bytes | str):
            return data.encode() if isinstance(data, str) else data
        return JSONRenderer().render(data)


class PointSerializer(serializers.Serializer[dict[str, Any]]):
    start = serializers.DateTimeField()
    active_users = serializers.IntegerField(help_text="Users active in the interval.")
    weekly_users = serializers.IntegerField(allow_null=True, help_text="By day only.")
    monthly_users = serializers.IntegerField(allow_null=True, help_text="By day only.")
    peak_servers = serializers.IntegerField(help_text="Most servers running at once.")
    user_hours = serializers.FloatField(help_text="Servers running x hours.")
    checks = serializers.IntegerField(help_text="Health checks made.")
    uptime = serializers.FloatField(allow_null=True, help_text="% of checks answered.")


class UsageSerializer(serializers.Serializer[dict[str, Any]]):
    hub = serializers.CharField()
    connected = serializers.BooleanField(help_text="Whether the portal has a token to read usage.")
    interval = serializers.ChoiceField(choices=ranges.INTERVALS)
    # Named from/to in the answer, as in the query.
    start = serializers.DateField()
    end = serializers.DateField()
    points = PointSerializer(many=True)


class IncidentSerializer(serializers.Serializer[dict[str, Any]]):
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    seconds_down = serializers.IntegerField()
    error = serializers.CharField()


class MonthSerializer(serializers.Serializer[dict[str, Any]]):
    month = serializers.DateField()
    user_hours = serializers.FloatField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)


class HealthSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=["unknown", "up", "failing", "down"])
    since = serializers.DateTimeField(allow_null=True)
    last_checked = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    uptime_7d = serializers.FloatField(allow_null=True)
    uptime_30d = serializers.FloatField(allow_null=True)
    incidents = IncidentSerializer(many=True)
    currency = serializers.CharField()
    cost_estimate = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    cost_month_to_date = MonthSerializer()
    cost_previous_months = MonthSerializer(many=True)


RANGE_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (UTC), YYYY-MM-DD."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (UTC); default today."),
    OpenApiParameter("interval", OpenApiTypes.STR, enum=list(ranges.INTERVALS)),
]


def _range(request: Request) -> ranges.Range:
    try:
        return ranges.parse(request.query_params, today())
    except ranges.RangeError as exc:
        raise ValidationError(exc.errors) from exc


@extend_schema(
    operation_id="hub_usage",
    parameters=RANGE_PARAMETERS,
    responses=UsageSerializer,
    description="The hub's usage and uptime per day (default: the last 90 days) or per hour.",
)
@api_view(["GET"])
@parser_classes([JSONBodyParser])
def hub_usage(request: Request, cluster: str, name: str) -> Response:
    hub = visible_hub(request.user, cluster, name)
    asked = _range(request)
    points = summary.series(hub, asked.start, asked.end, asked.interval)
    return Response(
        UsageSerializer(
            {
                "hub": f"{hub.cluster.slug}/{hub.name}",
                "connected": usage.is_connected(hub.pk),
                "interval": asked.interval,
                "start": asked.start,
                "end": asked.end,
                "points": [p.as_dict() for p in points],
            }
        ).data
    )


@extend_schema(
    operation_id="hub_usage_csv",
    parameters=RANGE_PARAMETERS,
    responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The series.")},
    description="The same series as CSV: " + ", ".join(SERIES_COLUMNS) + ".",
)
@api_view(["GET"])
@parser_classes([JSONBodyParser])
@renderer_classes([JSONRenderer, CSVRenderer])
def hub_usage_csv(request: Request, cluster: str, name: str) -> Any:
    hub = visible_hub(request.user, cluster, name)
    asked = _range(request)
    points = summary.series(hub, asked.start, asked.end, asked.interval)
    return _csv(f"{hub.cluster.slug}-{hub.name}.csv", SERIES_COLUMNS, series_rows(points))


@extend_schema(operation_id="hub_health", responses=HealthSerializer)
@api_view(["GET"])
@parser_classes([JSONBodyParser])
def hub_health(request: Request, cluster: str, name: str) -> Response:
    """The hub's health now, its uptime over 7 and 30 days, its last incidents and its cost."""
    hub = visible_hub(request.user, cluster, name)
    day = today()
    monitor = summary._monitor(hub)
    costs = cost.hub_cost(hub, day)

    def month(m: cost.Month) -> dict[str, Any]:
        return {"month": m.month, "user_hours": round(m.user_hours, 3), "cost": m.cost}

    data = {
        "status": monitor.health if monitor else "unknown",
        "since": monitor.health_since if monitor else None,
        "last_checked": monitor.last_checked if monitor else None,
        "last_error": monitor.last_error if monitor else "",
        "uptime_7d": summary.uptime_since(hub, 7, day),
        "uptime_30d": summary.uptime_since(hub, 30, day),
        "incidents": [
            {
                "started_at": i.started_at,
                "ended_at": i.ended_at,
                "seconds_down": round(i.duration),
                "error": i.error,
            }
            for i in Incident.objects.filter(hub=hub)[:20]
        ],
        "currency": costs.currency,
        "cost_estimate": costs.estimate,
        "cost_month_to_date": month(costs.month_to_date),
        "cost_previous_months": [month(m) for m in costs.previous],
    }
    return Response(HealthSerializer(data).data)
