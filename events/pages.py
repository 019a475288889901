"""Event pages: the list, a new event, an event with its schedule and the organiser's
controls, the attendee list, and the staff timeline of events against capacity.

Views check access and call events/actions.py, the same functions the API
(events/api.py) calls.
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from events import actions, capacity, schedule
from events.api import visible_events
from events.forms import EventForm, ExtendForm, MoveForm
from events.models import Event, EventPolicy
from hubs import permissions
from hubs.forms import event_zone
from hubs.models import Hub
from hubs.spec import SpecError
from hubs.states import HubState, IllegalTransition

TIMELINE_WEEKS = 8


def _event(request: HttpRequest, pk: int) -> Event:
    event = visible_events(request.user).filter(pk=pk).first()
    if event is None:
        raise Http404("No such event.")
    return event


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    events = visible_events(request.user).exclude(hub__state=HubState.DECOMMISSIONED)
    return render(request, "events/event_list.html", {"events": events[:200]})


@login_required
def event_new(request: HttpRequest) -> HttpResponse:
    form = EventForm(request.POST if request.method == "POST" else None)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            event = actions.create_event(
                request.user,
                form.spec(),
                notes=form.cleaned_data.get("notes") or "",
                review=bool(form.cleaned_data.get("review")),
            )
        except capacity.CapacityConflict as exc:
            conflict = exc.conflict
            form.add_spec_errors(exc)
        except SpecError as exc:
            form.add_spec_errors(exc)
        else:
            messages.success(request, f"Event created: {event.status}.")
            return redirect(event)
    return render(request, "events/event_form.html", {"form": form, "conflict": conflict})


def _local(event: Event, when: dt.datetime) -> dt.datetime:
    return when.astimezone(zoneinfo.ZoneInfo(event.timezone))


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    can_manage = actions.can_manage(request.user, event)
    spec_event = (event.hub.spec if event.hub else event.request.spec).get("event") or {}
    zone = event_zone(spec_event)
    managed = (
        permissions.visible_hubs(request.user)
        .filter(state=HubState.ACTIVE, event_start__isnull=True)
        .order_by("cluster__slug", "name")
    )
    hubs = [(str(h.pk), str(h)) for h in managed if permissions.can_manage_hub(request.user, h)]
    conflict = None
    if event.hub is None and permissions.is_reviewer(request.user):
        conflict = capacity.check(
            event.cluster, event.start, event.end, event.attendees, exclude=event.pk
        )
    return render(
        request,
        "events/event_detail.html",
        {
            "event": event,
            "steps": [(s, _local(event, s.planned_at)) for s in event.steps.all()],
            "start": _local(event, event.start),
            "end": _local(event, event.end),
            "zone": zone,
            "policy": EventPolicy.for_offering(event.offering),
            "can_manage": can_manage,
            "extend_form": ExtendForm.for_event(spec_event, zone),
            "move_form": MoveForm(hubs=hubs) if hubs else None,
            "conflict": conflict,
            "is_reviewer": permissions.is_reviewer(request.user),
            "running": event.status in ("scheduled", "running"),
            "is_staff": permissions.can_retry_deployment(request.user),
        },
    )


def _managed(request: HttpRequest, pk: int) -> Event:
    event = _event(request, pk)
    if not actions.can_manage(request.user, event):
        raise PermissionDenied("Only the event's organiser and operators can change it.")
    return event


@login_required
@require_POST
def event_extend(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    form = ExtendForm(request.POST, zone=event.timezone)
    if not form.is_valid():
        messages.error(request, "Enter the new end.")
        return redirect(event)
    try:
        actions.extend_event(event, form.new_end(), by=request.user)
    except (SpecError, IllegalTransition) as exc:
        for line in exc.lines() if isinstance(exc, SpecError) else [str(exc)]:
            messages.error(request, line)
    else:
        messages.success(request, "Extended; the schedule follows the new end.")
    return redirect(event)


@login_required
@require_POST
def event_end(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    try:
        event = actions.end_event(event, by=request.user)
    except (SpecError, IllegalTransition) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Ended. {event.status.capitalize()}.")
    return redirect(event)


@login_required
@require_POST
def event_override(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event(request, pk)
    actions.override_capacity(event, by=request.user, comment=request.POST.get("comment", ""))
    messages.success(request, "Capacity overridden for this event; approve its request now.")
    return redirect(event.request)


@login_required
@require_POST
def step_retry(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Staff: run a failed step again (due at once)."""
    event = _event(request, pk)
    if not permissions.can_retry_deployment(request.user):
        raise PermissionDenied("Only staff can run a step again.")
    step = event.steps.filter(kind=kind).first()
    if step is None:
        raise Http404("No such step.")
    try:
        schedule.retry_step(step, by=request.user)
    except IllegalTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "It runs again at beat's next tick.")
    return redirect(event)


@login_required
def event_attendees(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendee list as CSV (who may log in; when they last did, where known)."""
    event = _managed(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.name}-attendees.csv"'
    writer = csv.writer(response)
    writer.writerow(["username", "role", "last_login"])
    for person in actions.attendee_list(event):
        # A leading =, +, - or @ would be a formula in a spreadsheet.
        name = "'" + person.username if person.username[:1] in "=+-@" else person.username
        writer.writerow([name, person.role, person.last_login])
    return response


@login_required
@require_POST
def event_move(request: HttpRequest, pk: int) -> HttpResponse:
    event = _managed(request, pk)
    hub_ids = permissions.visible_hubs(request.user).values_list("pk", flat=True)
    form = MoveForm(request.POST, hubs=[(str(i), str(i)) for i in hub_ids])
    if not form.is_valid():
        messages.error(request, "Choose a hub and who continues.")
        return redirect(event)
    target = Hub.objects.select_related("cluster").get(pk=int(form.cleaned_data["hub"]))
    try:
        actions.move_attendees(event, target, form.names(), by=request.user)
    except (SpecError, IllegalTransition) as exc:
        for line in exc.lines() if isinstance(exc, SpecError) else [str(exc)]:
            messages.error(request, line)
    else:
        messages.success(request, f"Added to {target}'s allowlist in a new revision.")
    return redirect(event)


@login_required
def timeline(request: HttpRequest) -> HttpResponse:
    """Staff: upcoming and running events per cluster against its capacity."""
    if not permissions.is_reviewer(request.user):
        raise PermissionDenied("Only staff see the events timeline.")
    start = timezone.now()
    end = start + dt.timedelta(weeks=TIMELINE_WEEKS)
    return render(
        request,
        "events/timeline.html",
        {
            "rows": capacity.timeline(start, end),
            "start": start,
            "end": end,
            "weeks": TIMELINE_WEEKS,
        },
    )
