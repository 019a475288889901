"""One named function per change to an event: create, submit, approve, change, extend,
end early, override capacity, hand attendees on.

Each runs in a transaction and writes its AuditEvent; a hub change is a
revision and a deployment through provisioning/lifecycle.py. Pages, the API
and the seams (events/provisioner.py) call these; who may act comes from
hubs/permissions.py (can_manage_hub), so hub admins (issue 13) apply as they land.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from events import capacity, schedule
from events.models import Event, EventPolicy, EventStep
from hubs import actions as requests
from hubs import audit, permissions
from hubs.models import Hub, HubRequest
from hubs.spec import SpecError, check_draft, patched
from hubs.states import HubState, IllegalTransition, RequestState, StepState
from hubs.validation import Checked, validate_spec
from provisioning import lifecycle, revisions
from provisioning.models import Deployment


def _days(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"


def check_tier(checked: Checked) -> None:
    """An event within its tier's longest event (400 naming event.end)."""
    event = checked.spec.event
    assert event is not None  # noqa: S101 - callers pass event specs  # nosec B101
    policy = EventPolicy.for_offering(checked.offering)
    if event.end - event.start > policy.max_duration:
        raise SpecError(
            {
                "event.end": [
                    f"the {checked.offering.name} tier takes events of at most "
                    f"{_days(policy.max_duration)}"
                ]
            }
        )


def _fields(request: HubRequest, checked: Checked) -> dict[str, Any]:
    event = checked.spec.event
    assert event is not None  # noqa: S101  # nosec B101
    return {
        "organiser": request.requester,
        "cluster": checked.cluster,
        "offering": checked.offering,
        "name": checked.spec.name,
        "display_name": checked.spec.display_name,
        "start": event.start,
        "end": event.end,
        "timezone": event.timezone or "UTC",
        "attendees": checked.spec.expected_users,
        "updated_at": timezone.now(),
    }


@transaction.atomic
def create_event(user: Any, spec: Any, *, notes: str = "", review: bool = False) -> Event:
    """An organiser's event: its request submitted, approved at once where the tier's rule allows.

    Over the cluster's capacity it is refused (CapacityConflict, naming the
    overlapping events) unless `review` asks the reviewers to decide.
    """
    spec = check_draft({"purpose": "event", **spec} if isinstance(spec, dict) else spec)
    checked = validate_spec(spec)
    if checked.spec.event is None:
        raise SpecError({"event": ["an event needs its start and end"]})
    request = requests.create_request(user, spec, notes=notes)
    Event.objects.create(request=request, capacity_review=review, **_fields(request, checked))
    requests.submit_request(request, by=user)
    return Event.objects.select_related("request", "hub").get(request=request)


def submitted(request: HubRequest, checked: Checked) -> str:
    """On submission: the event recorded, checked; a reason to approve it at once, or ""."""
    check_tier(checked)
    event, _ = Event.objects.update_or_create(request=request, defaults=_fields(request, checked))
    spec_event = checked.spec.event
    assert spec_event is not None  # noqa: S101  # nosec B101
    conflict = capacity.check(
        checked.cluster, spec_event.start, spec_event.end, event.attendees, exclude=event.pk
    )
    if conflict is not None:
        if not event.capacity_review:
            raise capacity.CapacityConflict(conflict, event.attendees)
        return ""  # the reviewers see the conflict and decide
    return auto_approval(event, checked)


def auto_approval(event: Event, checked: Checked) -> str:
    """The tier's rule for approving an event without review: the reason, or ""."""
    policy = EventPolicy.for_offering(checked.offering)
    if not policy.auto_approve:
        return ""
    if event.attendees > policy.auto_approve_max_attendees:
        return ""
    if event.end - event.start > policy.auto_approve_max_duration:
        return ""
    if policy.auto_approve_returning_only and not (
        Event.objects.filter(organiser=event.organiser, request__state=RequestState.APPROVED)
        .exclude(pk=event.pk)
        .exists()
    ):
        return ""
    return (
        f"Approved automatically: at most {policy.auto_approve_max_attendees} attendees and "
        f"{_days(policy.auto_approve_max_duration)}"
        + (
            ", from an organiser who ran an approved event before."
            if policy.auto_approve_returning_only
            else "."
        )
    )


def approve_event(
    request: HubRequest, checked: Checked, *, by: Any, inputs: Mapping[str, Any] | None = None
) -> Hub:
    """The approved event's hub, created with r1 and not deployed; its schedule planned.

    Its deploy step deploys it `deploy_ahead` before the start; until then the
    hub stays provisioning with nothing on the cluster.
    """
    event = Event.objects.select_for_update().filter(request=request).first()
    if event is None:  # submitted before the events app existed
        submitted_reason = submitted(request, checked)
        del submitted_reason
        event = Event.objects.select_for_update().get(request=request)
    spec_event = checked.spec.event
    assert spec_event is not None  # noqa: S101  # nosec B101
    check_tier(checked)
    capacity.refuse_if_full(
        event, start=spec_event.start, end=spec_event.end, attendees=checked.spec.expected_users
    )
    hub = lifecycle.create_hub(request, checked, by=by, deploy=False, inputs=inputs)
    Event.objects.filter(pk=event.pk).update(hub=hub, **_fields(request, checked))
    event.refresh_from_db()
    schedule.plan(event)
    audit.record(by, hub, "event.scheduled", comment=f"event {event.pk}")
    return hub


@transaction.atomic
def override_capacity(event: Event, *, by: Any, comment: str = "") -> Event:
    """A reviewer lets an event past its cluster's capacity (audited)."""
    if not permissions.is_reviewer(by):
        raise PermissionDenied("Only reviewers can override capacity.")
    Event.objects.filter(pk=event.pk).update(capacity_override=True, updated_at=timezone.now())
    event.capacity_override = True
    audit.record(by, event.request, "event.capacity_override", comment=comment[:5000])
    return event


# --- the organiser's changes --------------------------------------------------------


def can_manage(user: Any, event: Event) -> bool:
    """The organiser (and, through can_manage_hub, whoever may manage its hub)."""
    if not user.is_authenticated:
        return False
    if event.hub is not None:
        return permissions.can_manage_hub(user, event.hub)
    return bool(event.organiser_id == user.pk or permissions.is_operator(user))


def _check_manager(user: Any, event: Event) -> None:
    if not can_manage(user, event):
        raise PermissionDenied("Only the event's organiser and operators can change it.")


def _locked(event: Event) -> Event:
    """The event, its row locked (only it: its hub is a nullable join Postgres cannot lock)."""
    rows = Event.objects.select_for_update(of=("self",)).select_related("request", "hub")
    return rows.get(pk=event.pk)


def _revise(event: Event, spec: dict[str, Any], *, by: Any, reason: str) -> Deployment | None:
    """The event's hub takes `spec` as its next revision: deployed if the hub runs,
    recorded only while the schedule has not deployed it yet."""
    hubs = Hub.objects.select_for_update(of=("self",)).select_related("cluster", "offering")
    hub = hubs.get(pk=int(event.hub_id or 0))
    checked = validate_spec(spec, hub=hub)
    if checked.spec.dump() == hub.spec:
        return None
    if hub.state == HubState.PROVISIONING and not hub.deployments.exists():
        revisions.create_revision(hub, checked, author=by, reason=reason)
        audit.record(by, hub, "hub.edited", after=hub.spec, comment=reason)
        return None
    return lifecycle.apply_change(hub, checked, by=by, reason=reason)


def _retime(event: Event, checked: Checked, *, by: Any) -> None:
    Event.objects.filter(pk=event.pk).update(**_fields(event.request, checked))
    event.refresh_from_db()
    schedule.plan(event)


@transaction.atomic
def change_event(event: Event, changes: dict[str, Any], *, by: Any) -> Deployment | None:
    """PATCH an event: spec fields replace its hub's (or its request's, before approval).

    New dates or attendees are checked against the tier and the cluster's capacity,
    and the pending steps follow them.
    """
    event = _locked(event)
    _check_manager(by, event)
    for key in ("offering", "purpose", "cluster", "name"):
        if key in changes:
            raise SpecError({key: ["an event's tier, purpose, cluster and name stay"]})
    if event.hub is None:
        requests.update_request(event.request, by=by, spec=patched(event.request.spec, changes))
        return None
    if event.status in ("over", "removed"):
        raise IllegalTransition("event", event.status, "changed", "This event is over.")
    spec = patched(event.hub.spec, changes)
    checked = validate_spec(spec, hub=event.hub)
    check_tier(checked)
    new = checked.spec.event
    assert new is not None  # noqa: S101  # nosec B101
    now = timezone.now()
    if new.start != event.start and event.start <= now:
        raise SpecError({"event.start": ["the event has started; its start stays"]})
    if new.start != event.start and new.start <= now:
        raise SpecError({"event.start": ["the start must be in the future"]})
    capacity.refuse_if_full(
        event, start=new.start, end=new.end, attendees=checked.spec.expected_users
    )
    deployment = _revise(event, spec, by=by, reason="event changed")
    _retime(event, checked, by=by)
    return deployment


@transaction.atomic
def extend_event(event: Event, end: dt.datetime, *, by: Any) -> Deployment | None:
    """A later end, within the tier's longest event and the cluster's capacity."""
    event = _locked(event)
    _check_manager(by, event)
    if event.hub is None:
        raise IllegalTransition("event", "unapproved", "extended", "Approve the event first.")
    if end.tzinfo is None:
        raise SpecError({"end": ["needs a time zone, e.g. 2027-03-05T17:00:00-05:00"]})
    now = timezone.now()
    if event.end <= now or event.ended_early_at is not None:
        raise IllegalTransition("event", "over", "extended", "This event is over.")
    if end <= event.end:
        raise SpecError({"end": ["an extension ends after the current end"]})
    spec_event = {**event.hub.spec["event"], "end": end.isoformat()}
    deployment = change_event(event, {"event": spec_event}, by=by)
    audit.record(by, event.hub, "event.extended", comment=f"to {end.isoformat()}")
    return deployment


@transaction.atomic
def end_event(event: Event, *, by: Any) -> Event:
    """End now. Before the start this cancels it; the schedule moves up (cool down,
    the notice and teardown after the tier's grace; nothing is deployed any more)."""
    event = _locked(event)
    _check_manager(by, event)
    now = timezone.now()
    if event.hub is None:
        raise IllegalTransition("event", "unapproved", "ended", "Withdraw the request instead.")
    if event.ended_early_at is not None or event.end <= now:
        raise IllegalTransition("event", "over", "ended", "This event is over.")
    started = event.start <= now
    fields: dict[str, Any] = {"ended_early_at": now, "updated_at": now}
    if started:
        end = now.replace(microsecond=0) + dt.timedelta(seconds=1)
        spec_event = {**event.hub.spec["event"], "end": end.isoformat()}
        _revise(event, patched(event.hub.spec, {"event": spec_event}), by=by, reason="ended early")
        fields["end"] = end
    else:
        # Cancelled: nothing to keep, so no grace: removed at once.
        fields["end"] = event.start
    Event.objects.filter(pk=event.pk).update(**fields)
    event.refresh_from_db()
    schedule.plan(event)
    if not started:
        _cancel_steps(event, now)
    audit.record(
        by, event.hub, "event.ended", comment="cancelled" if not started else "ended early"
    )
    return event


def _cancel_steps(event: Event, now: dt.datetime) -> None:
    """A cancelled event: teardown now; the rest is skipped when it comes due."""
    EventStep.objects.filter(
        event=event, kind=EventStep.Kind.TEARDOWN, state=StepState.PENDING
    ).update(planned_at=now, updated_at=now)


# --- attendees -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    username: str
    role: str  # admin or allowed
    last_login: str  # an ISO time, or "not available"


def attendee_list(event: Event) -> list[Attendee]:
    """Who may log in to the event's hub, with when they last did where that is known.

    Logins come from the hub's JupyterHub API once usage collection (issue 16)
    gives the portal a token; until then they are "not available".
    """
    spec = event.hub.spec if event.hub is not None else event.request.spec
    people = [Attendee(u, "admin", "not available") for u in spec.get("admins", [])]
    people += [Attendee(u, "allowed", "not available") for u in spec.get("allowed_users", [])]
    return people


@transaction.atomic
def move_attendees(event: Event, target: Hub, usernames: list[str], *, by: Any) -> Any:
    """Add continuing attendees to a lasting hub's allowlist (one `by` manages), in one change."""
    _check_manager(by, event)
    if not permissions.can_manage_hub(by, target):
        raise PermissionDenied("You can only add users to a hub you manage.")
    if target.event_start is not None or target.state != HubState.ACTIVE:
        raise SpecError({"hub": ["choose an active hub that is not an event hub"]})
    known = {a.username for a in attendee_list(event)}
    unknown = [u for u in usernames if u not in known]
    if unknown:
        raise SpecError({"usernames": [f"not attendees of this event: {', '.join(unknown)}"]})
    current = list(target.spec.get("allowed_users", []))
    lowered = {u.lower() for u in current}
    added = [u for u in usernames if u.lower() not in lowered]
    if not added:
        raise SpecError({"usernames": ["they are all on that hub's allowlist already"]})
    reason = f"allowlist: +{len(added)} from event {event.display_name}"
    return lifecycle.update_hub(
        target, patched(target.spec, {"allowed_users": current + added}), by=by, reason=reason
    )
