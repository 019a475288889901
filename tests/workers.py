"""Real Celery worker processes, for the tests that run one (test_worker.py, test_faults.py).

A worker is `celery -A portal worker` in its own process group (so a test can
kill it, and anything it started, with SIGKILL as a crash would), optionally
with beat embedded (-B) so the sweeper runs on its schedule. `PausingGit` is
a `git` executable put first on a worker's PATH that stops at a chosen git
command until the test kills the worker there: a real process boundary, like
tests/provisioning/fake_helm.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from portal.celery import app

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
BASE_DIR = Path(__file__).resolve().parent.parent
# Sweeper settings short enough for a test: beats every 0.5 s, re-queued after 3 s quiet.
FAST_SWEEP = {
    "PORTAL_HEARTBEAT_EVERY": "0.5",
    "PORTAL_SWEEP_AFTER": "3",
    "PORTAL_SWEEP_EVERY": "1",
    "PORTAL_RETRY_BASE_DELAY": "1",
    "PORTAL_RETRY_MAX_DELAY": "2",
    "PORTAL_DEPLOY_MAX_ATTEMPTS": "10",
}


def redis_or_skip(url: str = REDIS_URL) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        if os.environ.get("CI") == "1":
            pytest.fail(f"Redis at {url} is required under CI=1: {exc}")
        pytest.skip(f"Redis at {url} is not reachable: {exc}")


def database_url() -> str:
    """The test database, as a URL a worker process can open."""
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


@contextmanager
def sending_to(broker: str, queue: str) -> Iterator[None]:
    """This process enqueues on `broker`'s `queue` instead of running tasks eagerly."""
    saved = {
        key: app.conf[key] for key in ("task_always_eager", "broker_url", "task_default_queue")
    }
    app.conf.update(task_always_eager=False, broker_url=broker, task_default_queue=queue)
    drop_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        drop_connections()


def new_queue() -> str:
    return f"test-worker-{uuid.uuid4().hex[:10]}"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(lambda: " ready." in self.output(), timeout, lambda: self.output()[-3000:])

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (its beat, a git push): a crash."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(
    folder: Path,
    queue: str,
    *,
    broker: str = REDIS_URL,
    name: str = "worker",
    beat: bool = False,
    env: dict[str, str] | None = None,
    path_first: Path | None = None,
    pool: str = "solo",
) -> Worker:
    """A worker (and, with `beat`, the beat schedule) on `queue`, logging to folder/<name>.log.

    `pool="prefork"` runs tasks in forked children, as `make run` and production do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DATABASE_URL": database_url(),
        "PORTAL_CLONE_DIR": str(folder / "worker-clones"),
        **(env or {}),
    }
    if path_first is not None:
        environment["PATH"] = f"{path_first}{os.pathsep}{environment.get('PATH', '')}"
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "-n",
        f"{name}-{uuid.uuid4().hex[:6]}@%h", "--pool", pool, "--concurrency", "1",
        "--without-gossip", "--without-mingle", "-l", "info",
    ]  # fmt: skip
    if beat:
        command += ["-B", "-s", str(folder / f"{name}-beat-schedule")]
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes its children too
        )
    return Worker(process, log)


def wait_for(
    condition: Callable[[], bool], timeout: float, explain: Callable[[], str] = lambda: ""
) -> float:
    """Poll until `condition()`; the seconds it took. Fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s: {explain()}")
        time.sleep(0.1)
    return time.monotonic() - started


GIT_SCRIPT = r"""#!{python}
import json, os, sys, time
from pathlib import Path

here = Path(__file__).resolve().parent
args = sys.argv[1:]
control = here / "pause.json"
plan = json.loads(control.read_text()) if control.exists() else {{}}

def wait():
    (here / "paused").write_text(" ".join(args))
    # Wait to be killed with the worker (or released by the test).
    while control.exists():
        time.sleep(0.05)


if args and args[0] == plan.get("at") and plan.get("when") == "after":
    import subprocess
    code = subprocess.call([{git!r}, *args])
    wait()
    sys.exit(code)
if args and args[0] == plan.get("at"):
    wait()
os.execv({git!r}, ["git", *args])
"""


@dataclass
class PausingGit:
    """`git` that stops at one command (e.g. "push") until released or killed."""

    folder: Path

    @classmethod
    def create(cls, folder: Path) -> PausingGit:
        folder.mkdir(parents=True, exist_ok=True)
        real = shutil.which("git")
        assert real is not None, "git is needed"
        script = folder / "git"
        script.write_text(GIT_SCRIPT.format(python=sys.executable, git=real))
        script.chmod(0o755)
        return cls(folder)

    def pause_at(self, command: str, when: str = "before") -> None:
        """Stop before (or after) the next `git <command>`."""
        (self.folder / "paused").unlink(missing_ok=True)
        (self.folder / "pause.json").write_text(json.dumps({"at": command, "when": when}))

    def release(self) -> None:
        (self.folder / "pause.json").unlink(missing_ok=True)

    @property
    def paused(self) -> bool:
        return (self.folder / "paused").exists()


def claimed_by(process: subprocess.Popen[bytes], message: str) -> bool:
    """Whether a deployment's "claimed" log `message` names `process` or a child it forked."""
    pid = int(message.split("(pid ")[1].split(")")[0])
    if pid == process.pid:
        return True
    try:  # a prefork pool's child: its parent is the worker process
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
    return int(parent.split()[1]) == process.pid
