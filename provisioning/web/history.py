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
from django.shortcuts import redirect, render
from django.urls import reverse

from hubs import identities, permissions
from hubs.models import AuditEvent, Hub, HubRevision
from hubs.spec import SpecError
from provisioning import bundle, lifecycle
from provisioning.web.access import visible_hub
from provisioning.web.compare import current_revision, proposed, revisions_compared

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


def rollback_confirmation(request: HttpRequest, hub: Hub, number: int) -> HttpResponse:
    """What rolling back to r`number` changes (who loses access), before it is done."""
    old = HubRevision.objects.filter(hub=hub, number=number).first()
    current = current_revision(hub)
    if old is None or current is None or number >= hub.current_revision:
        messages.error(request, f"Choose an earlier revision (r1 to r{hub.current_revision - 1}).")
        return redirect(hub)
    comparison = revisions_compared(current, old)
    comparison.before, comparison.after = f"r{current.number} (now)", f"r{old.number}"
    return render(
        request,
        "hubs/hub_confirm.html",
        {
            "hub": hub,
            "comparison": comparison,
            "title": f"Roll back to r{number}",
            "intro": (
                f"A new revision, r{hub.current_revision + 1}, brings back r{number} as it was "
                "(its files are copied, not rendered again)."
            ),
            "action": reverse("hubs:hub_rollback", args=[hub.cluster.slug, hub.name]),
            "button": f"Roll back to r{number}",
            "fields": [("revision", str(number))],
            "cancel": reverse("hubs:hub_history", args=[hub.cluster.slug, hub.name]),
        },
    )


def change_confirmation(request: HttpRequest, hub: Hub, spec: dict[str, Any]) -> HttpResponse:
    """What "save and deploy" on the change page would do; the form's data posted again.

    Raises SpecError as the change itself would, so the form shows it.
    """
    checked, comparison = proposed(hub, spec)
    lookups = identities.refuse_unknown(checked.spec, previous=hub.spec)
    if not comparison.changes_anything and checked.spec.dump() == hub.spec:
        raise SpecError({"": ["nothing changed"]})
    beyond = lifecycle.beyond_tier(hub, checked)
    fields = [
        (key, value)
        for key, values in request.POST.lists()
        if key not in ("csrfmiddlewaretoken", "confirmed")
        for value in values
    ]
    fields.append(("confirmed", "1"))
    intro = (
        f"Saving makes revision r{hub.current_revision + 1} and deploys it."
        if not beyond
        else "This goes beyond the hub's tier ("
        + "; ".join(beyond)
        + "): it becomes a request to change the hub, for the reviewers, and nothing is "
        "deployed until they approve it."
    )
    if lookups.note:
        intro += f" {lookups.note}"
    return render(
        request,
        "hubs/hub_confirm.html",
        {
            "hub": hub,
            "comparison": comparison,
            "title": f"Change {hub.display_name or hub.name}",
            "intro": intro,
            "action": reverse("hubs:hub_edit", args=[hub.cluster.slug, hub.name]),
            "button": "Save and deploy" if not beyond else "Send for review",
            "fields": fields,
            "cancel": hub.get_absolute_url(),
        },
    )
