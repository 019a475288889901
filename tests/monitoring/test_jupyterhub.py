"""Against a real JupyterHub process: the usage poller reads its users and servers with the
portal's service token, and the health sweep sees it stop (alerting once) and come back
(once). The hub runs without its proxy (tests/monitoring/jupyterhub_config.py)."""

from __future__ import annotations

import datetime as dt
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
import requests
from django.core import mail

from hubs.models import Hub, HubSecret
from monitoring import health, usage
from monitoring.models import Health, HubMonitor, Incident, UsageDay, UsageHour
from tests.monitoring.conftest import point_at

pytestmark = pytest.mark.django_db
CONFIG = Path(__file__).with_name("jupyterhub_config.py")
PORTAL_TOKEN = "portal-" + "p" * 40
ADMIN_TOKEN = "admin-" + "a" * 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RealHub:
    """A jupyterhub process that can be stopped and started again on the same port."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = state / "jupyterhub.log"

    def start(self) -> None:
        binary = shutil.which("jupyterhub", path=str(Path(sys.executable).parent))
        if binary is None:
            pytest.skip("jupyterhub is not installed (pip install -e .[dev])")
        env = {
            **os.environ,
            "HUB_STATE_DIR": str(self.state),
            "HUB_PORT": str(self.port),
            "HUB_PROXY_PORT": str(free_port()),
            "PORTAL_TOKEN": PORTAL_TOKEN,
            "ADMIN_TOKEN": ADMIN_TOKEN,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "-f", str(CONFIG)], cwd=self.state, env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyterhub exited:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/hub/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"jupyterhub did not answer:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        answer = requests.request(
            method,
            f"{self.url}/hub/api{path}",
            headers={"Authorization": f"token {ADMIN_TOKEN}"},
            timeout=20,
            **kwargs,
        )
        assert answer.status_code < 300, answer.text
        return answer


@pytest.fixture
def real_hub(tmp_path: Path) -> Iterator[RealHub]:
    hub = RealHub(tmp_path)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def test_it_records_users_and_servers_from_a_real_jupyterhub(hub: Hub, real_hub: RealHub) -> None:
    point_at(hub, real_hub.url)
    HubSecret.objects.create(hub=hub, key=HubSecret.Key.USAGE_TOKEN, value=PORTAL_TOKEN)
    names = [f"student{i}" for i in range(7)]
    real_hub.api("POST", "/users", json={"usernames": names})
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Five were active a minute ago (as their servers report it), two never.
    for name in names[:5]:
        seen = (now - dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
        real_hub.api("POST", f"/users/{name}/activity", json={"last_activity": seen})
    for name in names[:3]:
        real_hub.api("POST", f"/users/{name}/server")
    # The server start is done once the hub says it is ready.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        models = real_hub.api("GET", "/users", params={"limit": 200}).json()
        if sum(1 for u in models if (u.get("servers") or {}).get("", {}).get("ready")) == 3:
            break
        time.sleep(0.2)

    assert usage.poll(now=now) == {"polled": 1, "failed": 0}
    day = UsageDay.objects.get(hub=hub, day=now.date())
    assert day.active_users >= 5 and day.monthly_users >= 5
    assert day.peak_servers == 3
    assert UsageHour.objects.get(hub=hub).peak_servers == 3

    # One server stops: the next poll sees two, the peak stays three.
    real_hub.api("DELETE", f"/users/{names[0]}/server")
    later = now + dt.timedelta(minutes=5)
    usage.poll(now=later)
    day.refresh_from_db()
    assert day.peak_servers == 3
    assert day.user_hours == pytest.approx(3 * 5 / 60 + 2 * 5 / 60)
    assert HubMonitor.objects.get(hub=hub).usage_error == ""


def test_it_is_refused_without_the_portals_scopes(hub: Hub, real_hub: RealHub) -> None:
    point_at(hub, real_hub.url)
    HubSecret.objects.create(hub=hub, key=HubSecret.Key.USAGE_TOKEN, value="not-registered")
    assert usage.poll()["failed"] == 1
    assert "refused the portal's token" in HubMonitor.objects.get(hub=hub).usage_error


def test_it_alerts_once_when_the_hub_stops_and_once_when_it_is_back(
    hub: Hub, real_hub: RealHub, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    point_at(hub, real_hub.url)
    start = dt.datetime.now(dt.UTC)

    def sweep(minute: int) -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return health.sweep(now=start + dt.timedelta(minutes=minute))

    assert sweep(0)["checked"] == 1
    assert HubMonitor.objects.get(hub=hub).health == Health.UP

    real_hub.stop()
    downs = [sweep(minute)["down"] for minute in range(1, 7)]
    assert downs == [0, 0, 1, 0, 0, 0]
    assert HubMonitor.objects.get(hub=hub).health == Health.DOWN

    real_hub.start()
    ups = [sweep(minute)["recovered"] for minute in range(7, 10)]
    assert ups == [1, 0, 0]
    incident = Incident.objects.get(hub=hub)
    assert incident.ended_at == start + dt.timedelta(minutes=7)
    subjects = [m.subject for m in mail.outbox]
    assert sum("is down" in s for s in subjects) == 2  # alice (requester) and olive (operator)
    assert sum("is back up" in s for s in subjects) == 2
