"""Requests and hubs as webhook payloads (notifications/webhooks.py sends them as JSON).

Only what a receiver needs to act and to find the rest through the API:
ids, names, states, links. Never secrets, never email addresses.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hubs.models import Hub, HubRequest


def request_data(request: HubRequest, *, by: Any = None, comment: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {
        "request": {
            "id": request.pk,
            "state": request.state,
            "name": request.name,
            "display_name": request.display_name,
            "cluster": request.cluster.slug if request.cluster_id and request.cluster else None,
            "offering": request.offering.slug if request.offering_id and request.offering else None,
            "requester": request.requester.get_username(),
            "target_hub": request.target_hub_id,
            "url": f"{settings.PORTAL_BASE_URL}{request.get_absolute_url()}",
            "api_url": f"{settings.PORTAL_BASE_URL}/api/v1/requests/{request.pk}/",
        },
        "actor": by.get_username() if by is not None and by.is_authenticated else None,
    }
    if comment:
        data["comment"] = comment
    return data


def hub_data(hub: Hub) -> dict[str, Any]:
    return {
        "id": hub.pk,
        "name": hub.name,
        "cluster": hub.cluster.slug,
        "display_name": hub.display_name,
        "domain": hub.domain,
        "url": hub.url,
        "state": hub.state,
        "revision": hub.current_revision,
        "page": f"{settings.PORTAL_BASE_URL}{hub.get_absolute_url()}",
        "api_url": f"{settings.PORTAL_BASE_URL}/api/v1/hubs/{hub.cluster.slug}/{hub.name}/",
    }
