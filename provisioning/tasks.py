"""Celery tasks. Each takes a primary key, re-reads the row and claims it first.

The Deployment row is the record of work, the broker only a doorbell: a
task that finds its row gone, final or not yet due does nothing, so a
duplicate or early message is harmless, and the sweeper re-sends what a
lost message left behind.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from types import TracebackType
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connections
from django.utils import timezone

from hubs import notify
from hubs.states import DeploymentState, IllegalTransition
from provisioning import deployments, members
from provisioning.deploy.backends import get_backend
from provisioning.deploy.backends.gitops import maintain
from provisioning.deploy.errors import DeployError
from provisioning.deploy.git import GitError
from provisioning.fleet.drift import check_target
from provisioning.models import Deployment, DeployTarget

logger = logging.getLogger(__name__)


def backoff(attempt: int) -> float:
    """Seconds before try `attempt + 1`: exponential, capped, with jitter.

    "Equal jitter" keeps at least half the delay, so workers that failed
    together (the forge was down) do not all come back at once.
    https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
    """
    delay = min(
        settings.PORTAL_RETRY_MAX_DELAY, settings.PORTAL_RETRY_BASE_DELAY * 2 ** (attempt - 1)
    )
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - not for security  # nosec B311


class Heartbeat:
    """Touch the row's heartbeat_at while this attempt holds it (the sweeper watches it).

    A beat that fails (the database restarting, say) is logged and the next
    one tried: the thread stops only with the work, so a slow but live worker
    keeps its deployment.
    """

    def __init__(self, deployment_id: int, attempt: int) -> None:
        self.deployment_id = deployment_id
        self.attempt = attempt
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat, daemon=True, name="heartbeat")

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def beat(self) -> None:
        try:
            while not self.stop.wait(settings.PORTAL_HEARTBEAT_EVERY):
                try:
                    Deployment.objects.filter(
                        pk=self.deployment_id, state=DeploymentState.RUNNING, attempts=self.attempt
                    ).update(heartbeat_at=timezone.now())
                except Exception:
                    logger.warning(
                        "heartbeat of deployment %s failed; trying again", self.deployment_id,
                        exc_info=True,
                    )  # fmt: skip
                    connections.close_all()  # a fresh connection for the next beat
        finally:
            # This thread's own database connection.
            connections.close_all()


@shared_task(bind=True, acks_late=True)
def run_deployment(self: Any, deployment_id: int) -> str:
    """Carry out one deployment; a no-op if it is gone, not queued, or not yet due."""
    deployment = deployments.claim(deployment_id, self.request.id or "")
    if deployment is None:
        logger.info("deployment %s is not queued or not due; nothing to do", deployment_id)
        return "skipped"
    deployment.add_log(
        f"Picked up by worker {socket.gethostname()} (pid {os.getpid()}), "
        f"attempt {deployment.attempts}.",
        step="claimed",
    )

    try:
        return _run(self, deployment)
    except IllegalTransition as exc:
        # Another attempt owns the row now (the sweeper re-queued it while this
        # worker could not heartbeat); it finishes the deployment, not this one.
        logger.warning("deployment %s: %s; leaving it to the newer attempt", deployment_id, exc)
        return "superseded"


def _run(task: Any, deployment: Deployment) -> str:
    attempt = deployment.attempts

    def step(message: str, *, step: str = "", level: str = "info") -> None:
        deployment.add_log(message, step=step, level=level)

    try:
        backend = get_backend(deployment.backend)
        with Heartbeat(deployment.pk, attempt):
            if deployment.action == Deployment.Action.DECOMMISSION:
                outcome = backend.decommission(deployment, step)
            else:
                outcome = backend.apply(deployment, step)
    except DeployError as exc:
        if exc.permanent or deployment.attempts >= settings.PORTAL_DEPLOY_MAX_ATTEMPTS:
            message = exc.message
            if not exc.permanent:
                message += f" Gave up after {deployment.attempts} attempts; retry when it is fixed."
            deployments.mark_failed(deployment, message, detail=exc.detail, attempt=attempt)
            return "failed"
        countdown = backoff(deployment.attempts)
        deployments.schedule_retry(deployment, exc.message, countdown=countdown, attempt=attempt)
        if exc.detail:
            deployment.add_log(exc.detail, step="retry", level="output")
        if task.request.is_eager:
            # Run in-process (tests): nothing would deliver a delayed retry;
            # the row says when it is due and the sweeper would re-send it.
            return "retry_scheduled"
        # The row bounds the attempts (PORTAL_DEPLOY_MAX_ATTEMPTS), not Celery.
        raise task.retry(countdown=countdown, max_retries=None) from exc
    except Exception as exc:
        logger.exception("deployment %s failed unexpectedly", deployment.pk)
        deployments.mark_failed(
            deployment,
            f"Unexpected error ({type(exc).__name__}); an operator should read the worker's "
            "log, then retry the deployment.",
            attempt=attempt,
        )
        return "failed"
    if outcome.done:
        # A direct commit: on the base branch now (deployed, or once the hub answers).
        deployments.mark_merged(deployment, outcome.fields, attempt=attempt)
        deployment.refresh_from_db()
        return str(deployment.state)
    deployments.mark_awaiting_merge(deployment, outcome.fields, attempt=attempt)
    deployment.refresh_from_db()
    if deployment.pr_number:
        # One open pull request per hub: a newer revision's replaces the older ones.
        deployments.close_replaced(deployment)
    return "awaiting_merge"


@shared_task(acks_late=True)
def poll_pull_requests() -> int:
    """Fallback for missed webhooks: ask about every change waiting to be merged."""
    finished = 0
    waiting = Deployment.objects.filter(state=DeploymentState.AWAITING_MERGE).select_related(
        "hub__cluster__deploy_target", "revision"
    )
    for deployment in waiting[: settings.PORTAL_POLL_BATCH]:
        backend = get_backend(deployment.backend)
        poll = getattr(backend, "poll", None)
        if poll is None:
            continue

        def step(message: str, *, step: str = "", level: str = "info", d: Any = deployment) -> None:
            d.add_log(message, step=step, level=level)

        try:
            state = poll(deployment, step)
        except DeployError as exc:
            logger.warning("polling deployment %s: %s", deployment.pk, exc.message)
            continue
        try:
            if state == "merged":
                deployments.note_merged_credentials(deployment)
                deployments.mark_merged(deployment, comment="Merged (found by polling).")
                finished += 1
            elif state == "closed":
                deployments.mark_failed(deployment, deployments.closed_message(deployment))
                finished += 1
        except IllegalTransition:
            continue  # a webhook got there first
    # Merged GitOps changes whose hub must answer /hub/health before it counts as deployed.
    merged = Deployment.objects.filter(state=DeploymentState.AWAITING_HEALTH).select_related(
        "hub__cluster", "revision"
    )
    for deployment in merged[: settings.PORTAL_POLL_BATCH]:
        try:
            if deployments.check_health(deployment) != "waiting":
                finished += 1
        except IllegalTransition:
            continue
    return finished


@shared_task(acks_late=True)
def sweep_deployments() -> int:
    """Re-queue deployments a lost message or a dead worker left behind."""
    return deployments.requeue_stuck()


@shared_task(acks_late=True)
def maintain_clones() -> int:
    """Pack the persistent clones' objects (deployments never pay for a repack)."""

    packed = 0
    for target in DeployTarget.objects.all():
        try:
            packed += maintain(target)
        except DeployError as exc:
            logger.warning("maintaining the clone of %s: %s", target.name, exc.message)
    return packed


@shared_task(acks_late=True)
def check_drift() -> int:
    """Record which hubs' files in their deploy repository were changed by hand."""

    drifted = 0
    for target in DeployTarget.objects.all():
        try:
            drifted += len(check_target(target))
        except (DeployError, GitError) as exc:
            logger.warning("checking %s for drift: %s", target.name, exc)
    return drifted


@shared_task(acks_late=True)
def deploy_member_changes(hub_id: int | None = None) -> int:
    """Deploy a hub's batch of member changes once it is due (or, from beat, every due one)."""
    if hub_id is None:
        return members.deploy_due()
    try:
        return int(members.deploy_pending(hub_id) is not None)
    except IllegalTransition:
        return 0  # the hub moved meanwhile; beat looks again


@shared_task(acks_late=True)
def review_digest() -> int:
    """Each morning, the reviewers' list of requests waiting for review (hubs/notify.py)."""

    return notify.review_digest()
