"""What monitoring adds to every hub's page and API answer, installed into hubs.seams."""

from __future__ import annotations

from typing import Any

from hubs.models import Hub


class Extension:
    def prefetch(self, hubs: Any) -> Any:
        return hubs.select_related("monitor")

    def summary(self, hub: Hub) -> dict[str, Any]:
        from monitoring.summary import health_summary

        return {"health": health_summary(hub)}

    def panels(self, request: Any, hub: Hub) -> str:
        from monitoring.pages import hub_panel

        return hub_panel(request, hub)


extension = Extension()
