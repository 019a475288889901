"""An enqueued deployment is run by a separate Celery worker process, through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from hubs.actions import approve_request, create_request
from hubs.states import DEPLOYMENT_FINAL, DeploymentState
from portal.celery import app
from provisioning.models import Deployment
from tests.conftest import github_spec

pytestmark = pytest.mark.worker
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
BASE_DIR = Path(__file__).resolve().parent.parent


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        if os.environ.get("CI") == "1":
            pytest.fail(f"Redis at {REDIS_URL} is required under CI=1: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")


def database_url() -> str:
    """The test database, as a URL the worker process can open."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def drop_connections() -> None:
    """Forget broker connections made with the previous broker URL (earlier tests)."""
    from kombu import pools

    celery: Any = app
    pools.reset()  # closes and forgets kombu's global connection and producer pools
    celery._pool = None
    celery.amqp._producer_pool = None


@pytest.fixture
def worker(transactional_db: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real `celery -A portal worker` on its own queue, and this process sending to it."""
    redis_or_skip()
    queue = f"test-worker-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DATABASE_URL": database_url(),
        "PORTAL_CLONE_DIR": str(tmp_path / "worker-clones"),
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue,
         "--pool", "solo", "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    saved = {
        key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")
    }
    app.conf.update(task_always_eager=False, broker_url=REDIS_URL, task_default_queue=queue)
    drop_connections()
    try:
        yield {"queue": queue, "process": process, "log": tmp_path / "worker.log"}
    finally:
        app.conf.update(saved)
        drop_connections()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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
    assert f"pid {worker['process'].pid}" in claimed
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
