"""What each kind of step does when it comes due, or why it is skipped.

Every step is idempotent: a deploy finds the deployment it already queued,
a pre-warm the revision it already made, a teardown a hub already going.
Each deploy-like step is a revision and a deployment through
provisioning/lifecycle.py like any other change. Called by events/schedule.py
inside the transaction that records the outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from events import notify
from events.models import Event, EventPolicy, EventStep
from hubs.models import Hub
from hubs.states import HubState, StepState
from hubs.validation import validate_spec
from portal.commit import after_commit
from provisioning import lifecycle
from provisioning.models import Deployment

Kind = EventStep.Kind
PREWARM_REASON = "pre-warm: {n} placeholders for the event"
COOLDOWN_REASON = "cool down: placeholders back to 0 after the event"
GONE = (HubState.DECOMMISSIONING, HubState.DECOMMISSIONED)


@dataclass(frozen=True)
class Outcome:
    state: str = StepState.DONE  # done, skipped, or pending (not ready yet: tried again)
    note: str = ""
    deployment: Deployment | None = None  # the step runs on until it finishes


def skipped(note: str) -> Outcome:
    return Outcome(StepState.SKIPPED, note)


def wait(note: str) -> Outcome:
    return Outcome(StepState.PENDING, note)


def deployed(deployment: Deployment, note: str) -> Outcome:
    return Outcome(StepState.RUNNING, note, deployment)


def teardown_at(event: Event) -> dt.datetime:
    return event.end + EventPolicy.for_offering(event.offering).teardown_grace


def _live_hub(event: Event) -> Hub | Outcome:
    """The event's hub, locked, if it is there to change; else what the step comes to."""
    if event.hub_id is None:
        return skipped("the event has no hub (it was not approved)")
    hub = Hub.objects.select_for_update().select_related("cluster").get(pk=event.hub_id)
    if hub.state in GONE:
        return skipped("the hub is removed")
    if hub.state in (HubState.PROVISIONING, HubState.UPDATING):
        return wait("waiting for the hub's deployment to finish")
    # Deployed but waiting for its login secrets (a GitOps hub): its schedule goes on.
    if hub.state not in (HubState.ACTIVE, HubState.AWAITING_CREDENTIALS):
        return Outcome(StepState.FAILED, f"the hub is {hub.state}")
    return hub


def deploy(step: EventStep, now: dt.datetime) -> Outcome:
    event = step.event
    if event.hub_id is None:
        return skipped("the event has no hub (it was not approved)")
    if now >= event.end or event.cancelled:
        return skipped("the event ended before its hub was deployed")
    hub = Hub.objects.select_for_update().select_related("cluster").get(pk=event.hub_id)
    already = hub.deployments.first()
    if already is not None:
        return Outcome(note=f"already deployed (deployment {already.pk})")
    if hub.state != HubState.PROVISIONING:
        return skipped(f"the hub is {hub.state}")
    revision = hub.revisions.get(number=hub.current_revision)
    deployment = lifecycle.queue_deployment(hub, revision, by=None)
    return deployed(deployment, f"deploying r{revision.number}")


def placeholders(spec: dict[str, Any]) -> int:
    """User pods' worth of room a warm event holds: its expected users, within the cap."""
    expected = int(spec.get("expected_users") or 0)
    return max(0, min(expected, int(settings.PORTAL_EVENT_MAX_PLACEHOLDERS)))


def prewarm(step: EventStep, now: dt.datetime) -> Outcome:
    event = step.event
    if now >= event.end or event.cancelled:
        return skipped("the event is over: no pre-warm after the end")
    hub = _live_hub(event)
    if isinstance(hub, Outcome):
        return hub
    count = placeholders(hub.spec)
    if count == 0:
        return skipped("no placeholders to hold")
    reason = PREWARM_REASON.format(n=count)
    if hub.revisions.filter(number=hub.current_revision, reason=reason).exists():
        return Outcome(note=f"r{hub.current_revision} already holds them")
    checked = validate_spec(hub.spec, hub=hub)
    deployment = lifecycle.prewarm_hub(hub, checked, reason=reason, placeholder_replicas=count)
    return deployed(deployment, f"r{deployment.revision.number}: {count} placeholders")


def cooldown(step: EventStep, now: dt.datetime) -> Outcome:
    event = step.event
    prewarmed = event.steps.filter(kind=Kind.PREWARM, state=StepState.DONE).exists()
    if not prewarmed:
        return skipped("nothing was pre-warmed")
    if now >= teardown_at(event):
        return skipped("the hub is being removed anyway")
    hub = _live_hub(event)
    if isinstance(hub, Outcome):
        return hub
    if hub.revisions.filter(number=hub.current_revision, reason=COOLDOWN_REASON).exists():
        return Outcome(note=f"r{hub.current_revision} already holds none")
    checked = validate_spec(hub.spec, hub=hub)
    deployment = lifecycle.prewarm_hub(hub, checked, reason=COOLDOWN_REASON, placeholder_replicas=0)
    return deployed(deployment, f"r{deployment.revision.number}: placeholders back to 0")


def reminder(step: EventStep, now: dt.datetime) -> Outcome:
    event = step.event
    if now >= event.start:
        return skipped("the event has started")
    if step.kind == Kind.REMINDER_WEEK and now >= event.start - dt.timedelta(hours=24):
        return skipped("the day-before reminder is next")
    if event.hub_id is None or event.cancelled:
        return skipped("the event is not going ahead")
    after_commit(notify.reminder, step.pk)
    return Outcome(note="sent to the organiser")


def teardown_notice(step: EventStep, now: dt.datetime) -> Outcome:
    event = step.event
    if now >= teardown_at(event):
        return skipped("too late: the hub is being removed")
    if event.hub_id is None or event.hub is None or event.hub.state in GONE:
        return skipped("the hub is removed")
    if not event.hub.deployments.exists():
        return skipped("the hub never ran: no work to download")
    after_commit(notify.teardown_notice, step.pk)
    return Outcome(note=f"work is deleted from {teardown_at(event):%Y-%m-%d %H:%M} UTC")


def teardown(step: EventStep, now: dt.datetime) -> Outcome:
    event = step.event
    if event.hub_id is None:
        return skipped("the event has no hub (it was not approved)")
    hub = Hub.objects.select_for_update().select_related("cluster").get(pk=event.hub_id)
    if hub.state in GONE:
        return Outcome(note="already removed")
    if hub.state == HubState.PROVISIONING and not hub.deployments.exists():
        # Never deployed (cancelled before its deploy step): nothing on a cluster to remove.
        lifecycle.close_undeployed_hub(hub, by=None, reason="event cancelled; never deployed")
        return Outcome(note="the hub was never deployed: closed")
    deployment = lifecycle.decommission_hub(hub, by=None, confirm_data_loss=True)
    return deployed(deployment, "removing the hub")


RUNNERS: dict[str, Callable[[EventStep, dt.datetime], Outcome]] = {
    Kind.DEPLOY: deploy,
    Kind.REMINDER_WEEK: reminder,
    Kind.REMINDER_DAY: reminder,
    Kind.PREWARM: prewarm,
    Kind.COOLDOWN: cooldown,
    Kind.TEARDOWN_NOTICE: teardown_notice,
    Kind.TEARDOWN: teardown,
}


def carry_out(step: EventStep, now: dt.datetime) -> Outcome:
    """Do (or skip) what `step` is for at `now`."""
    return RUNNERS[step.kind](step, now)
