"""A deployment's own steps, as one named function each: claimed, waiting for a merge,
succeeded, failed, retried after a transient fault, re-queued by the sweeper.

Each moves the row with hubs/transitions.py (compare-and-set against the
state table, audited), so a webhook and the poller racing to finish the same
deployment finish it once. What a deployment's end means for its hub is
provisioning/lifecycle.py's to decide. The task, the webhooks, the poller and
the sweeper call these; nothing else writes Deployment.state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hubs import transitions
from hubs.spec import SpecError
from hubs.states import DeploymentState, IllegalTransition
from portal.commit import after_commit
from provisioning import announce, credentials, lifecycle
from provisioning.deploy import health
from provisioning.deploy.backends import get_backend
from provisioning.deploy.errors import DeployError
from provisioning.models import Deployment
from provisioning.queue import enqueue

# Fields a backend's Outcome may record on the row.
OUTCOME_FIELDS = frozenset({"branch", "commit_sha", "pr_number", "pr_url"})


def _outcome_fields(fields: dict[str, object] | None) -> dict[str, Any]:
    fields = dict(fields or {})
    unknown = set(fields) - OUTCOME_FIELDS
    if unknown:
        raise ValueError(f"a backend may not record {sorted(unknown)}")
    return fields


def claim(deployment_id: int, task_id: str) -> Deployment | None:
    """Take a queued deployment for this worker; None if it is not (yet) ours to run.

    Not before its backoff has passed: a retry message that arrives early
    (or a duplicate) leaves the row alone.
    """
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None or deployment.state != DeploymentState.QUEUED:
        return None
    now = timezone.now()
    # A second of slack: a countdown's ETA and not_before are set a moment apart.
    due = Q(not_before__isnull=True) | Q(not_before__lte=now + dt.timedelta(seconds=1))
    try:
        transitions.move(
            deployment,
            DeploymentState.RUNNING,
            where=due,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            task_id=task_id[:64],
            not_before=None,
        )
    except IllegalTransition:
        return None  # not due yet, or another worker took it
    return Deployment.objects.select_related(
        "hub__cluster__deploy_target", "hub__request__requester", "revision"
    ).get(pk=deployment_id)


def _fence(attempt: int | None) -> Q | None:
    """Only while the row is still this attempt's.

    A worker the sweeper gave up on (its heartbeat stopped, say, while the
    database was unreachable) may still finish; by then another worker has
    claimed the deployment again, and only that attempt may finish it.
    """
    return None if attempt is None else Q(attempts=attempt)


@transaction.atomic
def mark_awaiting_merge(
    deployment: Deployment, fields: dict[str, object] | None = None, *, attempt: int | None = None
) -> None:
    """The change is proposed (a pull request or a pushed branch); wait for it to merge."""
    outcome = _outcome_fields(fields)
    where = str(outcome.get("pr_url") or outcome.get("branch") or deployment.pr_url or "")
    transitions.move(
        deployment,
        DeploymentState.AWAITING_MERGE,
        where=_fence(attempt),
        comment=where,
        heartbeat_at=timezone.now(),
        error="",
        **outcome,
    )
    deployment.add_log(
        f"Waiting for {deployment.pr_url or deployment.branch} to be merged.",
        step="awaiting_merge",
    )
    announce.deployment_event(deployment, "awaiting_merge")


@transaction.atomic
def mark_succeeded(
    deployment: Deployment,
    fields: dict[str, object] | None = None,
    *,
    by: Any = None,
    comment: str = "",
    attempt: int | None = None,
) -> None:
    """The change is live: the deployment succeeded, and its hub follows (lifecycle)."""
    now = timezone.now()
    transitions.move(
        deployment,
        DeploymentState.SUCCEEDED,
        where=_fence(attempt),
        by=by,
        comment=comment,
        finished_at=now,
        heartbeat_at=now,
        error="",
        **_outcome_fields(fields),
    )
    deployment.add_log(comment or "Deployed.", step="succeeded")
    announce.deployment_event(deployment, "succeeded")
    lifecycle.deployment_finished(
        deployment, succeeded=True, by=by, comment=f"deployment {deployment.pk} succeeded"
    )


def health_url_for(deployment: Deployment) -> str:
    """Where a GitOps hub must answer before its applied change counts as deployed ("" if
    its cluster names no such place, or the deployment removes the hub)."""
    if (
        not deployment.hub.cluster.wait_for_health
        or deployment.backend != Deployment.Backend.GITOPS
        or deployment.action != Deployment.Action.APPLY
    ):
        return ""
    return health.health_url(deployment.hub.address)


@transaction.atomic
def mark_merged(
    deployment: Deployment,
    fields: dict[str, object] | None = None,
    *,
    by: Any = None,
    comment: str = "",
    attempt: int | None = None,
) -> None:
    """The change is on the base branch (a merge seen by the webhook or the poller, or a
    direct commit): deployed now, or once the hub answers.

    Where the hub's cluster names a health URL, the deployment waits for
    /hub/health (`check_health`, from beat's poll); else it succeeded.
    """
    url = health_url_for(deployment)
    if not url:
        mark_succeeded(deployment, fields, by=by, comment=comment, attempt=attempt)
        return
    transitions.move(
        deployment,
        DeploymentState.AWAITING_HEALTH,
        where=_fence(attempt),
        by=by,
        comment=comment,
        heartbeat_at=timezone.now(),
        error="",
        **_outcome_fields(fields),
    )
    deployment.add_log(
        f"{comment or 'On the base branch.'} Waiting for {url} to answer while the repository's "
        "pipeline deploys it.",
        step="merged",
    )


def check_health(deployment: Deployment, *, now: dt.datetime | None = None) -> str:
    """A merged deployment whose hub must answer: "succeeded" once it does, "failed" past
    PORTAL_GITOPS_HEALTH_TIMEOUT after the merge, else "waiting"."""
    url = health_url_for(deployment)
    ok, why = health.answers(url) if url else (True, "")
    if ok:
        mark_succeeded(deployment, comment=f"{url or 'The hub'} answered 200: deployed.")
        return "succeeded"
    merged_at = (
        deployment.log.filter(step="merged")
        .order_by("pk")
        .values_list("created_at", flat=True)
        .first()
        or deployment.created_at
    )
    waited = ((now or timezone.now()) - merged_at).total_seconds()
    if waited < settings.PORTAL_GITOPS_HEALTH_TIMEOUT:
        return "waiting"
    minutes = settings.PORTAL_GITOPS_HEALTH_TIMEOUT / 60
    mark_failed(
        deployment,
        f"Merged, but {url} did not answer 200 within {minutes:.0f} minutes ({why}). Check the "
        "repository's deploy pipeline, then retry the deployment.",
    )
    return "failed"


def close_replaced(deployment: Deployment) -> int:
    """A newer revision's pull request is open: older ones of the hub still waiting for a
    merge are closed on the forge (with a comment linking the new one) and superseded."""
    older = Deployment.objects.filter(
        hub_id=deployment.hub_id,
        state=DeploymentState.AWAITING_MERGE,
        action=Deployment.Action.APPLY,
        revision__number__lt=deployment.revision.number,
    ).exclude(pk=deployment.pk)
    backend = get_backend(deployment.backend)
    closed = 0
    for old in older.select_related("hub__cluster__deploy_target", "revision"):
        link = deployment.pr_url or deployment.branch
        comment = (
            f"Replaced by r{deployment.revision.number} of this hub: {link}. "
            "Closed by the Hub Portal; merge the newer one instead."
        )
        if old.pr_number and old.pr_number != deployment.pr_number:
            try:
                backend.close_pull_request(old, comment)  # type: ignore[attr-defined]
            except DeployError as exc:
                old.add_log(
                    f"Could not close pull request #{old.pr_number} ({exc.message}); close it "
                    "by hand.",
                    step="superseded",
                    level="warning",
                )
        try:
            with transaction.atomic():
                transitions.move(
                    old,
                    DeploymentState.SUPERSEDED,
                    comment=f"replaced by deployment {deployment.pk}",
                    finished_at=timezone.now(),
                )
        except IllegalTransition:
            continue  # merged or closed meanwhile
        old.add_log(f"Superseded: {comment}", step="superseded")
        closed += 1
    return closed


@transaction.atomic
def mark_failed(
    deployment: Deployment,
    error: str,
    *,
    by: Any = None,
    detail: str = "",
    attempt: int | None = None,
) -> None:
    """The deployment failed with a reason a person can act on; its hub is marked failed."""
    now = timezone.now()
    transitions.move(
        deployment,
        DeploymentState.FAILED,
        where=_fence(attempt),
        by=by,
        comment=error,
        finished_at=now,
        heartbeat_at=now,
        error=error,
    )
    deployment.add_log(error, step="failed", level="error")
    if detail:
        deployment.add_log(detail, step="failed", level="output")
    announce.deployment_event(deployment, "failed")
    lifecycle.deployment_finished(deployment, succeeded=False, by=by, comment=error[:200])


@transaction.atomic
def schedule_retry(
    deployment: Deployment, error: str, *, countdown: float, attempt: int | None = None
) -> None:
    """A transient fault: back to queued, not to run again before the backoff passes."""
    not_before = timezone.now() + dt.timedelta(seconds=countdown)
    # heartbeat_at = not_before: the sweeper looks at it only once the backoff
    # has passed and the retry message has had its chance.
    transitions.move(
        deployment,
        DeploymentState.QUEUED,
        where=_fence(attempt),
        action="deployment.retry_scheduled",
        comment=error,
        not_before=not_before,
        heartbeat_at=not_before,
        error=error,
    )
    deployment.add_log(
        f"{error} Trying again in {countdown:.0f} s "
        f"(attempt {deployment.attempts} of {settings.PORTAL_DEPLOY_MAX_ATTEMPTS}).",
        step="retry",
        level="warning",
    )


def note_merged_credentials(deployment: Deployment) -> bool:
    """A merged pull request that carried the hub's pending secret file marks it added;
    True if it did. (The webhook and the poller ask before marking the merge.)

    Asks the forge for the pull request's files; if it cannot answer, the
    credentials stay pending for an operator to mark.
    """
    pending = credentials.pending_credentials(deployment.hub_id)
    if not pending or deployment.backend != Deployment.Backend.GITOPS:
        return False
    backend = get_backend(deployment.backend)
    try:
        files = backend.merged_files(deployment)  # type: ignore[attr-defined]
    except DeployError as exc:
        deployment.add_log(
            f"Could not read the pull request's files ({exc.message}); an operator marks "
            "the credentials added.",
            step="credentials",
            level="warning",
        )
        return False
    if not files or not all(row.path in files for row in pending):
        return False
    where = f"pull request #{deployment.pr_number}" if deployment.pr_number else "the merge"
    try:
        credentials.mark_credentials_added(deployment.hub, by=None, note=f"added in {where}")
    except SpecError:
        return False  # marked meanwhile (an operator, or the poller racing the webhook)
    deployment.add_log(f"The hub's secret file came with {where}.", step="credentials")
    return True


def closed_message(deployment: Deployment) -> str:
    what = f"pull request #{deployment.pr_number}" if deployment.pr_number else "branch"
    return (
        f"The {what} was closed without merging, so the change was not deployed. "
        "Retry the deployment to propose it again."
    )


def requeue_stuck() -> int:
    """Re-queue what a lost message or a dead worker left behind; the number re-queued.

    A running deployment whose heartbeat stopped longer than PORTAL_SWEEP_AFTER
    ago goes back to queued (or fails, once out of attempts); a queued one
    nobody picked up that long is enqueued again. A worker that is alive
    heartbeats every PORTAL_HEARTBEAT_EVERY however slow its step, and the
    re-queue is conditional on the heartbeat read, so a live worker's
    deployment is never taken from it. Claims are conditional, so a duplicate
    message is harmless.
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
        message = "The worker running this deployment went quiet; queued it again."
        try:
            transitions.move(
                deployment,
                DeploymentState.QUEUED,
                action="deployment.requeued",
                comment=message,
                # Only if no heartbeat came in since it was read: the worker is gone.
                where=Q(heartbeat_at=deployment.heartbeat_at),
                heartbeat_at=now,
                not_before=None,
            )
        except IllegalTransition:
            return 0
    else:
        # Still queued: not a state change, only the doorbell rung again.
        moved = Deployment.objects.filter(
            pk=deployment.pk, state=DeploymentState.QUEUED, heartbeat_at=deployment.heartbeat_at
        ).update(heartbeat_at=now, not_before=None)
        if not moved:
            return 0
        message = "No worker picked this deployment up; queued it again."
    deployment.add_log(message, step="sweep", level="warning")
    after_commit(enqueue, deployment.pk)
    return 1
