"""An event's schedule: its steps planned from the tier's policy, and beat's tick that runs them.

Beat runs `tick()` every PORTAL_EVENT_CHECK_EVERY seconds. The schedule lives
in the database, not in beat: a step is due when its planned time has passed
and it is still pending, so a tick after a restart or a long outage catches
up on what it missed, and a step is claimed once (pending → running with a
lease, through hubs/transitions.move), so no two ticks run it. A step that no
longer makes sense when it comes due (a pre-warm after the end) is skipped
with its reason (events/steps.py decides).

A tick costs a constant number of queries however many events are
scheduled: one for running steps whose deployment has finished, one for
leases that ran out, one for due steps; then the work of the steps that are due.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from events import notify, steps
from events.models import Event, EventPolicy, EventStep
from hubs import transitions
from hubs.models import Hub
from hubs.spec import SpecError
from hubs.states import DEPLOYMENT_FINAL, DeploymentState, IllegalTransition, StepState
from portal.commit import after_commit

log = logging.getLogger(__name__)
Kind = EventStep.Kind
REMINDER_WEEK = dt.timedelta(days=7)
DAY = dt.timedelta(hours=24)
# Steps whose failure staff hear about (a reminder's failure is only logged).
WATCHED = frozenset({Kind.DEPLOY, Kind.PREWARM, Kind.COOLDOWN, Kind.TEARDOWN})


def planned_times(event: Event, policy: EventPolicy) -> dict[str, dt.datetime]:
    """When each step is due, from the event's dates and its tier's policy."""
    teardown = event.end + policy.teardown_grace
    return {
        Kind.DEPLOY: event.start - policy.deploy_ahead,
        Kind.REMINDER_WEEK: event.start - REMINDER_WEEK,
        Kind.REMINDER_DAY: event.start - DAY,
        Kind.PREWARM: event.start - policy.prewarm_lead,
        Kind.COOLDOWN: event.end,
        Kind.TEARDOWN_NOTICE: max(event.end, teardown - DAY),
        Kind.TEARDOWN: teardown,
    }


def plan(event: Event) -> None:
    """Create the event's steps, or move the pending ones to follow new dates.

    Steps already running or finished keep their times: they happened.
    """
    times = planned_times(event, EventPolicy.for_offering(event.offering))
    existing = {step.kind: step for step in event.steps.all()}
    new = [
        EventStep(event=event, kind=kind, planned_at=when)
        for kind, when in times.items()
        if kind not in existing
    ]
    EventStep.objects.bulk_create(new)
    for kind, step in existing.items():
        if step.state == StepState.PENDING and step.planned_at != times[kind]:
            EventStep.objects.filter(pk=step.pk, state=StepState.PENDING).update(
                planned_at=times[kind], updated_at=timezone.now()
            )


def standing_extras(hub: Hub) -> dict[str, Any]:
    """Template extras while the event is warm (pre-warmed and not cooled down), so any
    revision made meanwhile (an organiser adding users) keeps its placeholders."""
    if hub.event_start is None:
        return {}
    states = dict(
        EventStep.objects.filter(
            event__hub=hub, kind__in=(Kind.PREWARM, Kind.COOLDOWN)
        ).values_list("kind", "state")
    )
    started = (StepState.RUNNING, StepState.DONE)
    if states.get(Kind.PREWARM) in started and states.get(Kind.COOLDOWN) not in started:
        return {"placeholder_replicas": steps.placeholders(hub.spec)}
    return {}


# --- the tick ---------------------------------------------------------------------------


def tick(now: dt.datetime | None = None) -> dict[str, int]:
    """Follow finished deployments, release lapsed leases, run the due steps; counts."""
    now = now or timezone.now()
    counts = {"followed": follow(), "released": release(now), "run": 0}
    due = (
        EventStep.objects.filter(state=StepState.PENDING, planned_at__lte=now)
        .select_related("event__hub__cluster", "event__offering", "event__organiser")
        .order_by("planned_at", "pk")[: settings.PORTAL_EVENT_BATCH]
    )
    for step in due:
        if run(step, now):
            counts["run"] += 1
    return counts


def claim(step: EventStep, now: dt.datetime) -> bool:
    """pending → running with a lease, only if still pending and due; False if lost."""
    try:
        transitions.move(
            step,
            StepState.RUNNING,
            where=Q(planned_at__lte=now),
            lease_until=now + dt.timedelta(seconds=settings.PORTAL_EVENT_STEP_LEASE),
            started_at=now,
            attempts=F("attempts") + 1,
        )
    except IllegalTransition:
        return False
    return True


def run(step: EventStep, now: dt.datetime) -> bool:
    """Claim and carry out one due step; False if another tick had it."""
    if not claim(step, now):
        return False
    try:
        with transaction.atomic():
            outcome = steps.carry_out(step, now)
            finish(step, outcome, now)
    except (SpecError, IllegalTransition) as exc:
        fail(step, str(exc), now)
    except Exception as exc:
        log.exception("event step %s failed unexpectedly", step.pk)
        fail(step, f"Unexpected error ({type(exc).__name__}); see the worker's log.", now)
    return True


def finish(step: EventStep, outcome: steps.Outcome, now: dt.datetime) -> None:
    """Record what a step's work came to, in the same transaction as the work."""
    if outcome.deployment is not None:
        # Running until its deployment finishes (follow()); no lease needed meanwhile.
        EventStep.objects.filter(pk=step.pk).update(
            deployment=outcome.deployment, note=outcome.note, lease_until=None, updated_at=now
        )
        step.deployment = outcome.deployment
        return
    transitions.move(
        step,
        outcome.state,
        comment=outcome.note,
        note=outcome.note,
        lease_until=None,
        finished_at=None if outcome.state == StepState.PENDING else now,
    )
    if outcome.state == StepState.FAILED and step.kind in WATCHED:
        after_commit(notify.step_failed, step.pk)


def fail(step: EventStep, message: str, now: dt.datetime) -> None:
    step.refresh_from_db()
    if step.state != StepState.RUNNING:
        return
    transitions.move(
        step, StepState.FAILED, comment=message, note=message, lease_until=None, finished_at=now
    )
    if step.kind in WATCHED:
        after_commit(notify.step_failed, step.pk)


def follow() -> int:
    """Running steps whose deployment finished: done, or failed (staff are told)."""
    finished = EventStep.objects.filter(
        state=StepState.RUNNING, deployment__state__in=DEPLOYMENT_FINAL
    ).select_related("deployment__revision", "event")
    count = 0
    for step in finished:
        deployment = step.deployment
        assert deployment is not None  # noqa: S101 - filtered on it  # nosec B101
        now = timezone.now()
        try:
            if deployment.state == DeploymentState.FAILED:
                fail(step, f"Deployment {deployment.pk} failed: {deployment.error}", now)
            else:
                note = f"Deployment {deployment.pk} of r{deployment.revision.number} " + (
                    "succeeded."
                    if deployment.state == DeploymentState.SUCCEEDED
                    else "was replaced by a later revision, which carries it."
                )
                transitions.move(step, StepState.DONE, note=note, comment=note, finished_at=now)
        except IllegalTransition:
            continue  # another tick followed it first
        count += 1
    return count


def release(now: dt.datetime) -> int:
    """Steps claimed by a tick that died before recording anything: pending again."""
    lapsed = EventStep.objects.filter(
        state=StepState.RUNNING, deployment__isnull=True, lease_until__lt=now
    ).select_related("event")
    count = 0
    for step in lapsed:
        try:
            transitions.move(
                step,
                StepState.PENDING,
                where=Q(lease_until__lt=now),
                comment="lease ran out; tried again",
                lease_until=None,
            )
        except IllegalTransition:
            continue
        count += 1
    return count


def retry_step(step: EventStep, *, by: Any) -> EventStep:
    """Staff: a failed step pending again, due at the next tick."""
    transitions.move(
        step,
        StepState.PENDING,
        by=by,
        action="step.retried",
        comment="retried",
        note="",
        finished_at=None,
        deployment=None,
        planned_at=min(step.planned_at, timezone.now()),
    )
    return step
