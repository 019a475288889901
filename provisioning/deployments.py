"""Every change to a deployment's state, as one named function each.

Like hubs/actions.py: each function checks the state table (hubs/states.py),
changes the row with an update conditional on the state it read (so a
webhook and the poller racing to finish the same deployment finish it once),
moves the hub along, writes AuditEvents, and enqueues work only after the
transaction commits. The task, the webhooks, the poller, the sweeper, the
API and the views call these; nothing else writes Deployment.state.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hubs import audit
from hubs.models import Hub
from hubs.states import DeploymentState, HubState, IllegalTransition, allowed, check
from provisioning.actions import enqueue, log
from provisioning.models import Deployment

# Fields a backend's Outcome may record on the row.
OUTCOME_FIELDS = frozenset({"branch", "commit_sha", "pr_number", "pr_url"})


def _move(deployment: Deployment, target: str, **fields: Any) -> None:
    """Move `deployment` from the state it was read in to `target`, or raise."""
    check("deployment", deployment.state, target)
    updated = Deployment.objects.filter(pk=deployment.pk, state=deployment.state).update(
        state=target, **fields
    )
    if updated != 1:
        current = Deployment.objects.values_list("state", flat=True).get(pk=deployment.pk)
        raise IllegalTransition(
            "deployment",
            current,
            target,
            f"Someone else changed this deployment meanwhile; it is now {current}.",
        )
    deployment.state = target
    for key, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(deployment, key, value)


def _outcome_fields(fields: dict[str, object] | None) -> dict[str, object]:
    fields = dict(fields or {})
    unknown = set(fields) - OUTCOME_FIELDS
    if unknown:
        raise ValueError(f"a backend may not record {sorted(unknown)}")
    return fields


def _move_hub(deployment: Deployment, target: str, *, by: Any, comment: str) -> None:
    """Move the deployment's hub to `target` where the hub state table allows it.

    A hub another change has already moved on (say, removed while its update
    was waiting for a merge) keeps its state; the deployment log says so.
    """
    hub = Hub.objects.get(pk=deployment.hub_id)
    if hub.state == target:
        return
    if not allowed("hub", hub.state, target):
        log(
            deployment,
            f"The hub is {hub.get_state_display().lower()}; it stays so.",
            step="hub",
            level="warning",
        )
        return
    check("hub", hub.state, target)
    moved = Hub.objects.filter(pk=hub.pk, state=hub.state).update(
        state=target, updated_at=timezone.now()
    )
    if moved:
        audit.record(
            by, hub, f"hub.{target}", from_state=hub.state, to_state=target, comment=comment
        )
        deployment.hub.state = target


def claim(deployment_id: int, task_id: str) -> Deployment | None:
    """Take a queued deployment for this worker; None if it is not (yet) ours to run.

    Not before its backoff has passed: a retry message that arrives early
    (or a duplicate) leaves the row alone.
    """
    now = timezone.now()
    # A second of slack: a countdown's ETA and not_before are set a moment apart.
    due = Q(not_before__isnull=True) | Q(not_before__lte=now + dt.timedelta(seconds=1))
    claimed = (
        Deployment.objects.filter(due, pk=deployment_id, state=DeploymentState.QUEUED).update(
            state=DeploymentState.RUNNING,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            task_id=task_id[:64],
            not_before=None,
        )
        == 1
    )
    if not claimed:
        return None
    return Deployment.objects.select_related(
        "hub__cluster__deploy_target", "hub__request__requester", "revision"
    ).get(pk=deployment_id)


@transaction.atomic
def mark_awaiting_merge(deployment: Deployment, fields: dict[str, object] | None = None) -> None:
    """The change is proposed (a pull request or a pushed branch); wait for it to merge."""
    previous = deployment.state
    _move(
        deployment,
        DeploymentState.AWAITING_MERGE,
        heartbeat_at=timezone.now(),
        error="",
        **_outcome_fields(fields),
    )
    where = deployment.pr_url or deployment.branch
    log(deployment, f"Waiting for {where} to be merged.", step="awaiting_merge")
    audit.record(
        None,
        deployment,
        "deployment.awaiting_merge",
        from_state=previous,
        to_state=deployment.state,
        comment=where,
    )


@transaction.atomic
def mark_succeeded(
    deployment: Deployment,
    fields: dict[str, object] | None = None,
    *,
    by: Any = None,
    comment: str = "",
) -> None:
    """The change is live: the deployment succeeded and the hub is active (or removed)."""
    previous = deployment.state
    now = timezone.now()
    _move(
        deployment,
        DeploymentState.SUCCEEDED,
        finished_at=now,
        heartbeat_at=now,
        error="",
        **_outcome_fields(fields),
    )
    log(deployment, comment or "Deployed.", step="succeeded")
    audit.record(
        by,
        deployment,
        "deployment.succeeded",
        from_state=previous,
        to_state=deployment.state,
        comment=comment,
    )
    removing = deployment.action == Deployment.Action.DECOMMISSION
    _move_hub(
        deployment,
        HubState.DECOMMISSIONED if removing else HubState.ACTIVE,
        by=by,
        comment=f"deployment {deployment.pk} succeeded",
    )


@transaction.atomic
def mark_failed(deployment: Deployment, error: str, *, by: Any = None, detail: str = "") -> None:
    """The deployment failed with a reason a person can act on; the hub is marked failed."""
    previous = deployment.state
    now = timezone.now()
    _move(deployment, DeploymentState.FAILED, finished_at=now, heartbeat_at=now, error=error)
    log(deployment, error, step="failed", level="error")
    if detail:
        log(deployment, detail, step="failed", level="output")
    audit.record(
        by,
        deployment,
        "deployment.failed",
        from_state=previous,
        to_state=deployment.state,
        comment=error,
    )
    _move_hub(deployment, HubState.FAILED, by=by, comment=error[:200])


@transaction.atomic
def schedule_retry(deployment: Deployment, error: str, *, countdown: float) -> None:
    """A transient fault: back to queued, not to run again before the backoff passes."""
    previous = deployment.state
    not_before = timezone.now() + dt.timedelta(seconds=countdown)
    # heartbeat_at = not_before: the sweeper looks at it only once the backoff
    # has passed and the retry message has had its chance.
    _move(
        deployment,
        DeploymentState.QUEUED,
        not_before=not_before,
        heartbeat_at=not_before,
        error=error,
    )
    log(
        deployment,
        f"{error} Trying again in {countdown:.0f} s "
        f"(attempt {deployment.attempts} of {settings.PORTAL_DEPLOY_MAX_ATTEMPTS}).",
        step="retry",
        level="warning",
    )
    audit.record(
        None,
        deployment,
        "deployment.retry_scheduled",
        from_state=previous,
        to_state=deployment.state,
        comment=error,
    )


@transaction.atomic
def retry_deployment(deployment: Deployment, by: Any) -> Deployment:
    """Staff try a failed deployment again: queued afresh, the hub back in progress."""
    deployment = Deployment.objects.select_related("hub", "revision").get(pk=deployment.pk)
    previous = deployment.state
    now = timezone.now()
    _move(
        deployment,
        DeploymentState.QUEUED,
        attempts=0,
        error="",
        not_before=None,
        finished_at=None,
        heartbeat_at=now,
    )
    log(deployment, f"Retried by {by.get_username()}.", step="queued")
    audit.record(
        by, deployment, "deployment.retried", from_state=previous, to_state=deployment.state
    )
    if deployment.action == Deployment.Action.DECOMMISSION:
        hub_state = HubState.DECOMMISSIONING
    elif deployment.revision.number == 1:
        hub_state = HubState.PROVISIONING
    else:
        hub_state = HubState.UPDATING
    if deployment.hub.state == HubState.FAILED:
        _move_hub(deployment, hub_state, by=by, comment=f"deployment {deployment.pk} retried")
    transaction.on_commit(partial(enqueue, deployment.pk), robust=True)
    return deployment


def requeue_stuck() -> int:
    """Re-queue what a lost message or a dead worker left behind; the number re-queued.

    A running deployment whose heartbeat stopped longer than PORTAL_SWEEP_AFTER
    ago goes back to queued (or fails, once out of attempts); a queued one
    nobody picked up that long is enqueued again. Claims are conditional, so
    a duplicate message is harmless.
    """
    cutoff = timezone.now() - dt.timedelta(seconds=settings.PORTAL_SWEEP_AFTER)
    quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    stuck = list(
        Deployment.objects.filter(
            quiet, state__in=[DeploymentState.QUEUED, DeploymentState.RUNNING]
        ).only("pk", "state", "attempts", "heartbeat_at", "action", "hub_id")
    )
    count = 0
    for deployment in stuck:
        with transaction.atomic():
            count += _requeue(deployment)
    return count


def _requeue(deployment: Deployment) -> int:
    now = timezone.now()
    if deployment.state == DeploymentState.RUNNING:
        if deployment.attempts >= settings.PORTAL_DEPLOY_MAX_ATTEMPTS:
            try:
                mark_failed(
                    deployment,
                    f"The worker stopped responding, and all {deployment.attempts} attempts are "
                    "used up. Check the worker's logs, then retry the deployment.",
                )
            except IllegalTransition:
                return 0
            return 0
        check("deployment", deployment.state, DeploymentState.QUEUED)
        moved = Deployment.objects.filter(
            pk=deployment.pk, state=DeploymentState.RUNNING, heartbeat_at=deployment.heartbeat_at
        ).update(state=DeploymentState.QUEUED, heartbeat_at=now, not_before=None)
        message = "The worker running this deployment went quiet; queued it again."
    else:
        moved = Deployment.objects.filter(
            pk=deployment.pk, state=DeploymentState.QUEUED, heartbeat_at=deployment.heartbeat_at
        ).update(heartbeat_at=now, not_before=None)
        message = "No worker picked this deployment up; queued it again."
    if not moved:
        return 0
    log(deployment, message, step="sweep", level="warning")
    audit.record(
        None,
        deployment,
        "deployment.requeued",
        from_state=deployment.state,
        to_state=DeploymentState.QUEUED,
        comment=message,
    )
    transaction.on_commit(partial(enqueue, deployment.pk), robust=True)
    return 1
