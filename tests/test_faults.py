"""Fault injection: workers killed mid-step, Redis flushed, PostgreSQL restarted.

After each fault every revision is deployed exactly once (one commit in the
deploy repository, one release on the cluster), none is lost, and nothing is
left queued or running. Real processes throughout: Celery workers with beat
embedded (the sweeper, on short settings), a `git` that stops at a chosen
command and `helm`/Kubernetes fakes that stop at a chosen call, so the worker
is killed (SIGKILL, with everything it started) exactly there; a private
redis-server and a private PostgreSQL cluster for the faults that would
disturb the machine's shared ones.
"""

# Fixtures come from fake_kube / fake_helm; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.db import transaction

from hubs.actions import approve_request, create_request
from hubs.models import Cluster, Hub, HubSecret, Offering
from hubs.states import DEPLOYMENT_ACTIVE, DEPLOYMENT_FINAL, DeploymentState, HubState
from provisioning.models import Deployment, DeploymentLogEntry
from tests.conftest import github_spec
from tests.provisioning.fake_helm import FakeHelm, fake_helm  # noqa: F401 - fixture
from tests.provisioning.fake_kube import FakeKube, fake_kube  # noqa: F401 - fixture
from tests.workers import (
    BASE_DIR,
    FAST_SWEEP,
    REDIS_URL,
    PausingGit,
    Worker,
    new_queue,
    redis_or_skip,
    sending_to,
    start_worker,
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CI = os.environ.get("CI") == "1"
PG_BIN = Path(os.environ.get("PORTAL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def commits(repo: Path, trailer: str) -> list[str]:
    """Commits on main whose message carries `trailer` (the revision's marker)."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "main", "--format=%H", "-F", f"--grep={trailer}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out.split()


def finished(deployment: Deployment) -> bool:
    deployment.refresh_from_db()
    return deployment.state in DEPLOYMENT_FINAL


@pytest.fixture
def demo_repo(settings: Any, tmp_path: Path, catalog: None) -> Path:
    settings.PORTAL_DEMO_REPO = tmp_path / "infrastructure.git"
    settings.PORTAL_CLONE_DIR = tmp_path / "clones"
    call_command("demo_repo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return Path(settings.PORTAL_DEMO_REPO)


class Workers:
    """The one live worker of a test, replaced by a new one after each kill."""

    def __init__(self, folder: Path, queue: str, **options: Any) -> None:
        self.folder, self.queue, self.options = folder, queue, options
        self.count = 0
        self.current: Worker | None = None

    def start(self) -> Worker:
        self.count += 1
        self.current = start_worker(
            self.folder, self.queue, name=f"worker{self.count}", beat=True, **self.options
        )
        return self.current

    def kill(self) -> None:
        assert self.current is not None
        self.current.kill()

    def output(self) -> str:
        return self.current.output()[-4000:] if self.current else ""

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()


# --- killed at each step -------------------------------------------------------------


# The git commands of a direct-to-main GitOps deployment, in order.
GITOPS_STEPS = [
    ("ls-remote", "before"),  # the first deployment asks for the base of its fresh clone
    ("cat-file", "before"),  # reading cluster.yaml and the hub's files at the base
    ("fast-import", "before"),  # writing the commit
    ("push", "before"),
    ("push", "after"),  # pushed, not yet recorded as deployed
]


def test_it_deploys_once_when_a_gitops_worker_is_killed_at_each_step(
    demo_repo: Path, lead: Any, reviewer: Any, tmp_path: Path
) -> None:
    redis_or_skip()
    git = PausingGit.create(tmp_path / "git-bin")
    queue = new_queue()
    workers = Workers(tmp_path, queue, env=FAST_SWEEP, path_first=git.folder)
    deployed: list[tuple[str, Deployment]] = []
    with sending_to(REDIS_URL, queue):
        try:
            workers.start()
            for number, (command, when) in enumerate(GITOPS_STEPS):
                git.pause_at(command, when)
                name = f"kill-{number}"
                request = create_request(lead, github_spec(name=name), submit=True)
                hub = approve_request(request, by=reviewer)
                deployment = Deployment.objects.get(hub=hub)
                wait_for(lambda: git.paused, 60, workers.output)
                workers.kill()
                git.release()
                workers.start()
                wait_for(lambda d=deployment: finished(d), 60, workers.output)  # type: ignore[misc]
                deployed.append((name, deployment))
        finally:
            workers.stop()

    for name, deployment in deployed:
        assert deployment.state == DeploymentState.SUCCEEDED, (name, deployment.error)
        assert deployment.attempts == 2, name
        trailer = f"Hub-Portal-Revision: gcp-us-central1/{name}/r1"
        assert commits(demo_repo, trailer) == [deployment.commit_sha], name
    assert not Deployment.objects.filter(state__in=DEPLOYMENT_ACTIVE).exists()


@pytest.fixture
def helm_cluster(catalog: None, fake_kube: FakeKube, fake_helm: FakeHelm, settings: Any) -> Cluster:
    cluster = Cluster.objects.create(
        slug="kind-local", name="kind", provider=Cluster.Provider.KUBECONFIG,
        base_domain="hubs.test", deploy_mode=Cluster.DeployMode.HELM,
        kubeconfig=fake_kube.kubeconfig(), helm_binary=str(fake_helm.path), helm_timeout=120,
        readiness_timeout=30, hub_url_template=f"{fake_kube.url}/hubs/{{hub}}",
    )  # fmt: skip
    education = Offering.objects.get(slug="education")
    education.clusters.add(cluster)
    education.resource_quota = {"requests.cpu": "20"}
    education.save()
    return cluster


def helm_steps(fake_kube: FakeKube, fake_helm: FakeHelm) -> list[tuple[str, Any, Any]]:
    """(step, pause it, is it paused) for each step of a helm install."""

    def kube(method: str, pattern: str) -> tuple[Any, Any]:
        def pause() -> None:
            fake_kube.paused.clear()
            fake_kube.go.clear()
            fake_kube.pause_on = (method, pattern)

        return pause, fake_kube.paused.is_set

    return [
        ("namespace", *kube("GET", r"/api/v1/namespaces/[^/]+$")),
        ("secret", *kube("POST", r"/secrets$")),
        ("quota", *kube("POST", r"/resourcequotas$")),
        ("helm upgrade", lambda: fake_helm.pause("upgrade"), lambda: fake_helm.paused("upgrade")),
        ("readiness", *kube("GET", r"/deployments/hub$")),
    ]


def test_it_deploys_once_when_a_helm_worker_is_killed_at_each_step(
    helm_cluster: Cluster,
    fake_kube: FakeKube,
    fake_helm: FakeHelm,
    lead: Any,
    reviewer: Any,
    tmp_path: Path,
) -> None:
    redis_or_skip()
    queue = new_queue()
    workers = Workers(tmp_path, queue, env={**FAST_SWEEP, "PORTAL_HELM_POLL_EVERY": "0.1"})
    deployed: list[tuple[str, Hub, Deployment]] = []
    with sending_to(REDIS_URL, queue):
        try:
            workers.start()
            for number, (step, pause, paused) in enumerate(helm_steps(fake_kube, fake_helm)):
                pause()
                name = f"helm-{number}"
                # The hub and its OAuth client in one commit: the worker sees both.
                with transaction.atomic():
                    spec = github_spec(name=name, cluster=helm_cluster.slug)
                    hub = approve_request(create_request(lead, spec, submit=True), by=reviewer)
                    for key, value in [("oauth_client_id", "id-1"), ("oauth_client_secret", "s3")]:
                        HubSecret.objects.create(hub=hub, key=key, value=value)
                deployment = Deployment.objects.get(hub=hub)
                wait_for(paused, 60, workers.output)
                workers.kill()
                fake_kube.go.set()
                fake_helm.reset("upgrade")
                workers.start()
                wait_for(lambda d=deployment: finished(d), 60, workers.output)  # type: ignore[misc]
                deployed.append((step, hub, deployment))
        finally:
            fake_kube.go.set()
            workers.stop()

    releases = json.loads((fake_helm.folder / "releases.json").read_text())
    for step, hub, deployment in deployed:
        assert deployment.state == DeploymentState.SUCCEEDED, (step, deployment.error)
        assert deployment.attempts == 2, step
        hub.refresh_from_db()
        assert hub.state == HubState.ACTIVE, step
        assert releases.count(hub.name) == 1, step  # installed once
        assert fake_kube.get("deployments", "hub", hub.name) is not None, step
    assert not Deployment.objects.filter(state__in=DEPLOYMENT_ACTIVE).exists()


# --- Redis flushed mid-way -----------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test's own (the machine's is shared): its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        if CI:
            pytest.fail("redis-server is required under CI=1")
        pytest.skip("no redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: _answers(url), 20)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_it_loses_no_approval_when_redis_is_flushed_midway(
    demo_repo: Path, private_redis: str, lead: Any, reviewer: Any, tmp_path: Path
) -> None:
    queue = new_queue()
    git = PausingGit.create(tmp_path / "git-bin")
    git.pause_at("push")  # the first deployment holds the worker: messages pile up
    workers = Workers(tmp_path, queue, broker=private_redis, env=FAST_SWEEP, path_first=git.folder)
    names = [f"flush-{number}" for number in range(50)]
    with sending_to(private_redis, queue):
        try:
            workers.start().wait_ready()
            for number, name in enumerate(names):
                if number == 25:
                    # Every message not yet taken, and the worker's unacknowledged one, gone.
                    assert git.paused
                    redis.Redis.from_url(private_redis).flushall()
                    git.release()
                request = create_request(lead, github_spec(name=name), submit=True)
                approve_request(request, by=reviewer)

            def all_done() -> bool:
                return not Deployment.objects.filter(state__in=DEPLOYMENT_ACTIVE).exists()

            wait_for(all_done, 120, workers.output)
        finally:
            workers.stop()

    deployments = Deployment.objects.filter(hub__name__in=names)
    assert deployments.count() == 50
    # The sweeper re-sent the 24 lost messages (the database is the record of work).
    swept = {entry.deployment.hub.name for entry in DeploymentLogEntry.objects.filter(step="sweep")}
    assert {f"flush-{number}" for number in range(1, 25)} <= swept
    assert set(deployments.values_list("state", flat=True)) == {DeploymentState.SUCCEEDED}
    for name in names:
        trailer = f"Hub-Portal-Revision: gcp-us-central1/{name}/r1"
        assert len(commits(demo_repo, trailer)) == 1, name


# --- PostgreSQL restarted under a running worker ----------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder, on a free port, owned by `postgres`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portal"

    def run(self, *command: str) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    def pg_ctl(self, *args: str) -> None:
        self.run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "pg.log"),
            "-w", "-t", "60", *args,
        )  # fmt: skip

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-o", options, "start")
        self.run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                 "postgres", "portal")  # fmt: skip

    def restart(self) -> None:
        # Fast shutdown: every open connection (the worker's) is cut.
        self.pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("-m", "immediate", "stop")


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        if CI:
            pytest.fail(f"PostgreSQL's initdb is required under CI=1 (looked in {PG_BIN})")
        pytest.skip(f"no initdb in {PG_BIN}")
    folder = Path(f"/tmp/portal-pg-{os.getpid()}-{time.monotonic_ns()}")
    pg = PrivatePostgres(folder)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


SCRIPT = """
import json, sys
from django.contrib.auth.models import Group, User
from hubs.actions import approve_request, create_request
from hubs.permissions import REVIEWERS_GROUP
from provisioning.models import Deployment, DeploymentLogEntry
from tests.conftest import github_spec

command = sys.argv[1]
if command == "approve":
    lead, _ = User.objects.get_or_create(username="alice")
    reviewer, made = User.objects.get_or_create(username="charlie", defaults={"is_staff": True})
    reviewer.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    for name in sys.argv[2:]:
        approve_request(create_request(lead, github_spec(name=name), submit=True), by=reviewer)
elif command == "report":
    rows = Deployment.objects.values("hub__name", "state", "attempts", "commit_sha")
    print(json.dumps(list(rows)))
"""


def test_it_deploys_once_when_postgres_restarts_under_the_worker(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    redis_or_skip()
    queue = new_queue()
    repo = tmp_path / "infrastructure.git"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_DEMO": "1",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": private_postgres.url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PORTAL_DEMO_REPO": str(repo),
        "PORTAL_CLONE_DIR": str(tmp_path / "clones"),
        **FAST_SWEEP,
    }

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def manage(*args: str) -> str:
        return run("manage.py", *args)

    def script(*args: str) -> str:
        return run("-c", f"import django; django.setup()\n{SCRIPT}", *args)

    manage("migrate", "--no-input", "-v0")
    manage("seed_catalog")
    manage("demo_repo")
    git = PausingGit.create(tmp_path / "git-bin")
    git.pause_at("push")
    worker_env = {k: env[k] for k in env if k.startswith(("PORTAL_", "DJANGO_", "DATABASE_"))}
    workers = Workers(tmp_path, queue, env=worker_env, path_first=git.folder)
    names = [f"pg-{number}" for number in range(6)]
    try:
        workers.start()
        script("approve", *names)
        wait_for(lambda: git.paused, 60, workers.output)  # a deployment is mid-push
        private_postgres.restart()
        git.release()

        def report() -> list[dict[str, Any]]:
            return list(json.loads(script("report")))

        def all_done() -> bool:
            rows = report()
            return len(rows) == len(names) and all(r["state"] in DEPLOYMENT_FINAL for r in rows)

        wait_for(all_done, 120, workers.output)
        rows = report()
    finally:
        workers.stop()

    assert {r["state"] for r in rows} == {DeploymentState.SUCCEEDED}, rows
    # The deployment caught mid-push lost its connection, and ran again.
    assert max(r["attempts"] for r in rows) == 2, rows
    for row in rows:
        trailer = f"Hub-Portal-Revision: gcp-us-central1/{row['hub__name']}/r1"
        assert commits(repo, trailer) == [row["commit_sha"]], row
