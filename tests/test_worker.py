"""An enqueued deployment is run by a separate Celery worker process, through Redis."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from hubs.actions import approve_request, create_request
from hubs.states import DEPLOYMENT_FINAL, DeploymentState
from provisioning.models import Deployment
from tests.conftest import github_spec
from tests.workers import (
    FAST_SWEEP,
    REDIS_URL,
    PausingGit,
    claimed_by,
    new_queue,
    redis_or_skip,
    sending_to,
    start_worker,
    wait_for,
)

pytestmark = pytest.mark.worker


@pytest.fixture(params=["solo", "prefork"])
def worker(
    request: pytest.FixtureRequest, transactional_db: None, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """A real `celery -A portal worker` on its own queue, and this process sending to it.

    Both pools: prefork forks its children after the parent imported the portal, which
    is where a library that cannot survive a fork (go-jsonnet's runtime) hangs a task.
    """
    redis_or_skip()
    queue = new_queue()
    with sending_to(REDIS_URL, queue):
        process = start_worker(tmp_path, queue, pool=request.param)
        try:
            yield {
                "queue": queue, "process": process.process, "log": process.log,
                "pool": request.param,
            }  # fmt: skip
        finally:
            process.stop()


def test_it_runs_an_approved_hub_in_a_separate_worker(
    worker: dict[str, Any], catalog: None, lead: Any, reviewer: Any, settings: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings.PORTAL_DEMO_REPO = tmp_path / "infrastructure.git"
    settings.PORTAL_CLONE_DIR = tmp_path / "clones"
    call_command("demo_repo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    request = create_request(lead, github_spec(), submit=True)

    hub = approve_request(request, by=reviewer)

    deployment = Deployment.objects.get(hub=hub)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        deployment.refresh_from_db()
        if deployment.state in DEPLOYMENT_FINAL or deployment.state == "awaiting_merge":
            break
        time.sleep(0.2)
    output = worker["log"].read_text()
    assert deployment.state not in (DeploymentState.QUEUED, DeploymentState.RUNNING), output
    assert deployment.attempts == 1
    claimed = deployment.log.get(step="claimed").message
    assert f"(pid {os.getpid()})" not in claimed  # another process ran it
    assert claimed_by(worker["process"], claimed), claimed
    assert deployment.task_id
    # The worker committed the rendered files to the demo repository.
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert len(deployment.commit_sha) == 40
    shown = subprocess.run(
        ["git", "-C", str(django_settings.PORTAL_DEMO_REPO), "log", "-1", "--format=%B",
         deployment.commit_sha],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Hub-Portal-Revision: gcp-us-central1/bcc/r1" in shown


def commits_for(repo: Path, trailer: str) -> list[str]:
    """The commits of `repo`'s main branch whose message carries `trailer`."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "main", "--format=%H", "-F", f"--grep={trailer}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out.split()


def test_it_resumes_a_deployment_whose_worker_was_killed(
    transactional_db: None, catalog: None, lead: Any, reviewer: Any, settings: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    """kill -9 of the worker mid-deployment: the sweeper re-queues it once the heartbeat
    is older than PORTAL_SWEEP_AFTER, another worker finishes it, and one commit results.

    Short settings here (beats every 0.5 s, re-queued after 3 s, swept every 1 s); the
    defaults (15 s, 60 s, 30 s) resume lost work within 60-90 s the same way.
    """
    redis_or_skip()
    settings.PORTAL_DEMO_REPO = tmp_path / "infrastructure.git"
    settings.PORTAL_CLONE_DIR = tmp_path / "clones"
    call_command("demo_repo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    git = PausingGit.create(tmp_path / "git-bin")
    git.pause_at("push")
    queue = new_queue()
    workers = []
    with sending_to(REDIS_URL, queue):
        try:
            first = start_worker(
                tmp_path, queue, name="first", beat=True, env=FAST_SWEEP, path_first=git.folder
            )
            workers.append(first)
            hub = approve_request(create_request(lead, github_spec(), submit=True), by=reviewer)
            deployment = Deployment.objects.get(hub=hub)
            wait_for(lambda: git.paused, 90, first.output)

            first.kill()  # mid-deployment: the change is committed, not yet pushed
            killed = time.monotonic()
            git.release()
            second = start_worker(tmp_path, queue, name="second", beat=True, env=FAST_SWEEP)
            workers.append(second)

            def finished() -> bool:
                deployment.refresh_from_db()
                return deployment.state in DEPLOYMENT_FINAL

            wait_for(finished, 90, second.output)
            resumed_after = time.monotonic() - killed
            print(f"killed mid-push; deployed by another worker {resumed_after:.1f} s later")
        finally:
            for worker in workers:
                worker.stop()

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert deployment.attempts == 2
    assert deployment.log.filter(step="sweep").count() == 1
    assert resumed_after < 30, resumed_after
    trailer = "Hub-Portal-Revision: gcp-us-central1/bcc/r1"
    assert commits_for(settings.PORTAL_DEMO_REPO, trailer) == [deployment.commit_sha]
