"""`{% hub_progress hub %}`: a hub's latest deployment as a step list, for pages outside
provisioning (the request page shows how far the hub it asked for has got).

The domain's pages cannot import the pipeline (docs/architecture.md); a
template tag lets their templates show its progress all the same.
"""

from __future__ import annotations

from typing import Any

from django import template

from provisioning import progress
from provisioning.web.live import deployment_view

register = template.Library()


@register.inclusion_tag("provisioning/partials/hub_progress.html", takes_context=True)
def hub_progress(context: dict[str, Any], hub: Any) -> dict[str, Any]:
    latest = (
        hub.deployments.select_related("revision", "requested_by", "hub__cluster__deploy_target")
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None:
        return {"latest": None}
    user = context["request"].user
    return {
        "latest": latest,
        "hub": hub,
        **deployment_view(user, latest, running=progress.running_revision(hub)),
    }
