"""What monitoring adds to every hub's page and API answer, installed into hubs.seams."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from hubs.models import Hub
from monitoring.models import Incident


class Extension:
    def prefetch(self, hubs: Any) -> Any:
        """The monitor joined and the last 30 days' incidents counted, in the list's query."""
        since = timezone.now() - dt.timedelta(days=30)
        recent = (
            Incident.objects.filter(hub=OuterRef("pk"), started_at__gte=since)
            .order_by()
            .values("hub")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return hubs.select_related("monitor").annotate(
            incidents_30d=Coalesce(Subquery(recent, output_field=IntegerField()), 0)
        )

    def summary(self, hub: Hub) -> dict[str, Any]:
        from monitoring.summary import health_summary

        return {"health": health_summary(hub)}

    def panels(self, request: Any, hub: Hub) -> str:
        from monitoring.pages import hub_panel

        return hub_panel(request, hub)


extension = Extension()
