"""Tracking deployments: claiming, retries, the sweeper, the state-change functions."""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from hubs.models import AuditEvent, Hub
from hubs.states import DeploymentState, HubState, IllegalTransition
from provisioning import deployments, lifecycle
from provisioning.models import Deployment
from provisioning.tasks import Heartbeat, backoff, run_deployment, sweep_deployments
from tests.provisioning.gitops_fixtures import (
    bare_repo,  # noqa: F401 - fixture
    clones,  # noqa: F401 - fixture
    make_cluster,
    make_hub,
    make_target,
)


@pytest.fixture
def queued(db: None, tmp_path: Path, lead: User, reviewer: User) -> Deployment:
    """A queued deployment whose repository does not matter (the tests never reach it)."""
    target = make_target(tmp_path / "repo.git")
    _, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    return deployment


def test_it_claims_a_queued_deployment_once(queued: Deployment) -> None:
    first = deployments.claim(queued.pk, "task-1")
    second = deployments.claim(queued.pk, "task-2")

    assert first is not None and second is None
    assert (first.state, first.attempts, first.task_id) == (DeploymentState.RUNNING, 1, "task-1")
    assert first.heartbeat_at is not None and first.started_at is not None


def test_it_skips_gone_final_and_not_yet_due_deployments(queued: Deployment) -> None:
    assert run_deployment.delay(999_999).get() == "skipped"
    Deployment.objects.filter(pk=queued.pk).update(
        not_before=timezone.now() + dt.timedelta(minutes=5)
    )
    assert run_deployment.delay(queued.pk).get() == "skipped"
    Deployment.objects.filter(pk=queued.pk).update(state=DeploymentState.SUCCEEDED)
    assert run_deployment.delay(queued.pk).get() == "skipped"
    queued.refresh_from_db()
    assert queued.attempts == 0


def test_it_backs_off_exponentially_with_jitter(settings: object) -> None:
    settings.PORTAL_RETRY_BASE_DELAY = 10  # type: ignore[attr-defined]
    settings.PORTAL_RETRY_MAX_DELAY = 100  # type: ignore[attr-defined]
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {backoff(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt
        assert len(delays) > 1  # jittered


def test_it_requeues_a_deployment_whose_worker_went_quiet(
    queued: Deployment, settings: object
) -> None:
    settings.PORTAL_SWEEP_AFTER = 60  # type: ignore[attr-defined]
    claimed = deployments.claim(queued.pk, "task-1")
    assert claimed is not None
    fresh = deployments.requeue_stuck()
    Deployment.objects.filter(pk=queued.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )

    assert fresh == 0
    assert sweep_deployments.delay().get() == 1

    queued.refresh_from_db()
    assert queued.state == DeploymentState.QUEUED
    assert queued.log.filter(step="sweep").exists()
    assert AuditEvent.objects.filter(action="deployment.requeued").count() == 1
    # Swept once: the next sweep leaves it to the message just sent.
    assert deployments.requeue_stuck() == 0


def test_it_resends_a_queued_deployment_nobody_took(queued: Deployment, settings: object) -> None:
    settings.PORTAL_SWEEP_AFTER = 60  # type: ignore[attr-defined]
    Deployment.objects.filter(pk=queued.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=5)
    )

    assert deployments.requeue_stuck() == 1

    queued.refresh_from_db()
    assert queued.state == DeploymentState.QUEUED
    assert queued.heartbeat_at is not None


def test_it_leaves_a_deployment_backing_off_alone(queued: Deployment, settings: object) -> None:
    settings.PORTAL_SWEEP_AFTER = 60  # type: ignore[attr-defined]
    claimed = deployments.claim(queued.pk, "task-1")
    assert claimed is not None
    deployments.schedule_retry(claimed, "The forge is down.", countdown=600)

    assert deployments.requeue_stuck() == 0
    claimed.refresh_from_db()
    assert claimed.state == DeploymentState.QUEUED
    assert claimed.not_before is not None and claimed.not_before > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_it_never_requeues_a_slow_worker_that_heartbeats(
    queued: Deployment, settings: object
) -> None:
    """A step slower than PORTAL_SWEEP_AFTER keeps its deployment while its heartbeat runs."""
    settings.PORTAL_HEARTBEAT_EVERY = 0.1  # type: ignore[attr-defined]
    settings.PORTAL_SWEEP_AFTER = 0.5  # type: ignore[attr-defined]
    # Committed at once here, the approval's eager task already ran (and failed: the
    # fixture's repository does not exist); queue it again by hand.
    Deployment.objects.filter(pk=queued.pk).update(state=DeploymentState.QUEUED, attempts=0)
    claimed = deployments.claim(queued.pk, "task-1")
    assert claimed is not None
    requeued = 0
    with Heartbeat(claimed.pk, claimed.attempts):  # the worker's step takes 2 s
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            requeued += deployments.requeue_stuck()
            time.sleep(0.1)

    assert requeued == 0
    queued.refresh_from_db()
    assert (queued.state, queued.attempts) == (DeploymentState.RUNNING, 1)
    # Once it stops beating (the worker died), the sweeper takes it back.
    time.sleep(0.6)
    assert deployments.requeue_stuck() == 1


def test_it_lets_only_the_newest_attempt_finish_a_deployment(queued: Deployment) -> None:
    """Only the newest claim finishes a deployment: at most one commit and one outcome."""
    first = deployments.claim(queued.pk, "task-1")
    assert first is not None
    Deployment.objects.filter(pk=queued.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert deployments.requeue_stuck() == 1
    second = deployments.claim(queued.pk, "task-2")
    assert second is not None and second.attempts == 2

    with pytest.raises(IllegalTransition):
        deployments.mark_succeeded(first, attempt=1)
    deployments.mark_succeeded(second, attempt=2)

    queued.refresh_from_db()
    assert queued.state == DeploymentState.SUCCEEDED


def test_it_fails_a_stuck_deployment_out_of_attempts(queued: Deployment, settings: object) -> None:
    settings.PORTAL_SWEEP_AFTER = 60  # type: ignore[attr-defined]
    settings.PORTAL_DEPLOY_MAX_ATTEMPTS = 1  # type: ignore[attr-defined]
    deployments.claim(queued.pk, "task-1")
    Deployment.objects.filter(pk=queued.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )

    deployments.requeue_stuck()

    queued.refresh_from_db()
    assert queued.state == DeploymentState.FAILED
    assert "stopped responding" in queued.error
    assert Hub.objects.get(pk=queued.hub_id).state == HubState.FAILED


def test_it_retries_a_failed_deployment_for_staff(
    queued: Deployment, reviewer: User, django_capture_on_commit_callbacks: object
) -> None:
    claimed = deployments.claim(queued.pk, "task-1")
    assert claimed is not None
    deployments.mark_failed(claimed, "Something broke.")
    assert Hub.objects.get(pk=queued.hub_id).state == HubState.FAILED

    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        retried = lifecycle.retry_deployment(claimed, by=reviewer)

    assert retried.state == DeploymentState.QUEUED
    assert (retried.attempts, retried.error) == (0, "")
    assert Hub.objects.get(pk=queued.hub_id).state == HubState.PROVISIONING
    assert len(callbacks) == 1  # the enqueue, after commit
    event = AuditEvent.objects.get(action="deployment.retried")
    assert event.actor == reviewer
    with pytest.raises(IllegalTransition):
        lifecycle.retry_deployment(retried, by=reviewer)


def test_it_finishes_a_deployment_once(queued: Deployment) -> None:
    claimed = deployments.claim(queued.pk, "task-1")
    assert claimed is not None
    deployments.mark_awaiting_merge(claimed, {"branch": "hub/x", "pr_number": 3})
    stale = Deployment.objects.get(pk=queued.pk)
    deployments.mark_succeeded(claimed)

    with pytest.raises(IllegalTransition):
        deployments.mark_failed(stale, "closed")
    assert Deployment.objects.get(pk=queued.pk).state == DeploymentState.SUCCEEDED
    assert Hub.objects.get(pk=queued.hub_id).state == HubState.ACTIVE
    with pytest.raises(ValueError, match="may not record"):
        deployments.mark_awaiting_merge(claimed, {"state": "succeeded"})


def test_it_fails_a_cluster_without_a_deploy_target(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    cluster = make_cluster(make_target(bare_repo))
    cluster.deploy_target = None
    cluster.save()
    _, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None

    assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    assert "has no deploy target" in deployment.error
