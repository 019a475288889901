"""A hub's past, and what a change would do before it is made: the history page (any
two revisions compared), the activity page (its audit trail), the confirmation
pages of a rollback and of "save and deploy", and the Right to Replicate bundle.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hubs import permissions
from hubs.models import AuditEvent, Hub, HubRevision
from provisioning import bundle
from provisioning.web.access import visible_hub
from provisioning.web.compare import revisions_compared

PAGE = 50
# The most of an audit row's before/after a page shows (the API gives all of it).
SHOWN_JSON = 20_000


def _number(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def audit_events(hub: Hub) -> Any:
    """The hub's audit trail, newest first."""
    return (
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Hub), object_id=str(hub.pk)
        )
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )


@login_required
def hub_history(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Every revision, and the difference between any two (`?a=3&b=5`)."""
    hub = visible_hub(request.user, cluster, name)
    revisions = hub.revisions.select_related("author").order_by("-number")
    page = Paginator(revisions.defer("spec", "files"), PAGE).get_page(request.GET.get("page"))
    newest = hub.current_revision
    b = _number(request.GET.get("b"), newest)
    a = _number(request.GET.get("a"), b - 1)
    pair = {r.number: r for r in HubRevision.objects.filter(hub=hub, number__in=[a, b])}
    comparison = None
    if a in pair and b in pair and a != b:
        older, newer = (pair[a], pair[b]) if a < b else (pair[b], pair[a])
        comparison = revisions_compared(older, newer)
    elif request.GET.get("a") or request.GET.get("b"):
        messages.error(request, f"Choose two different revisions between r1 and r{newest}.")
    return render(
        request,
        "hubs/hub_history.html",
        {
            "hub": hub,
            "page": page,
            "numbers": list(range(newest, 0, -1)),
            "a": a,
            "b": b,
            "comparison": comparison,
            "can_manage": permissions.can_manage_hub(request.user, hub),
        },
    )


@login_required
def hub_activity(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Who changed what on the hub, with before and after."""
    hub = visible_hub(request.user, cluster, name)
    page = Paginator(audit_events(hub), PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "event": event,
            "before": _shown(event.before),
            "after": _shown(event.after),
        }
        for event in page
    ]
    return render(request, "hubs/hub_activity.html", {"hub": hub, "page": page, "rows": rows})


def _shown(value: Any) -> str:
    if value in (None, "", {}, []):
        return ""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_JSON else text[:SHOWN_JSON] + "\n… (the API has the rest)"


@login_required
def hub_bundle(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """The hub as a zip to run it anywhere with Helm (Right to Replicate)."""
    hub = visible_hub(request.user, cluster, name)
    return HttpResponse(
        bundle.bundle(hub),
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{hub.name}-bundle.zip"'},
    )


# --- confirmation pages ---------------------------------------------------------------
