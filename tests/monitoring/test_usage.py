"""Usage polls against a fake paginated JupyterHub API: what a poll records, and when not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from hubs.models import Hub, HubSecret
from monitoring import usage
from monitoring.models import HubMonitor, UsageDay, UsageHour
from tests.monitoring.conftest import NOW, point_at, users
from tests.monitoring.fake_jupyterhub import FakeUsers

pytestmark = pytest.mark.django_db
TOKEN = "t" * 64


def connect(hub: Hub, httpserver: HTTPServer, fake: FakeUsers) -> None:
    httpserver.expect_request("/hub/api/users").respond_with_handler(fake)
    point_at(hub, httpserver.url_for("/"))
    HubSecret.objects.create(hub=hub, key=HubSecret.Key.USAGE_TOKEN, value=TOKEN)


def test_it_counts_users_from_their_last_activity() -> None:
    snap = usage.snapshot(users(10, now=NOW, active=4, servers=2), NOW)
    assert (snap.users, snap.active_hour, snap.active_day, snap.servers) == (10, 4, 4, 2)
    assert (snap.active_week, snap.active_month) == (4, 4)
    # A user last seen 3 days ago counts in the week and month, not today.
    three_days = [{"name": "x", "last_activity": (NOW - dt.timedelta(days=3)).isoformat()}]
    snap = usage.snapshot(three_days, NOW)
    assert (snap.active_day, snap.active_week, snap.active_month) == (0, 1, 1)
    # Never active, a stopped (not ready) server, junk: counted as nothing.
    odd: list[dict[str, Any]] = [
        {"name": "a", "last_activity": None, "servers": {"": {"ready": False}}},
        {"name": "b", "last_activity": "yesterday"},
    ]
    assert usage.snapshot(odd, NOW).active_month == 0
    assert usage.snapshot(odd, NOW).servers == 0


def test_it_reads_every_page_and_records_the_hour_and_the_day(
    hub: Hub, httpserver: HTTPServer
) -> None:
    fake = FakeUsers(users(450, now=NOW, active=30, servers=12), TOKEN)
    connect(hub, httpserver, fake)

    assert usage.poll(now=NOW) == {"polled": 1, "failed": 0}
    assert sorted(int(r["offset"]) for r in fake.requests) == [0, 200, 400]
    hour = UsageHour.objects.get(hub=hub)
    assert (hour.active_users, hour.peak_servers) == (30, 12)
    day = UsageDay.objects.get(hub=hub, day=NOW.date())
    assert (day.active_users, day.weekly_users, day.monthly_users, day.peak_servers) == (
        30, 30, 30, 12,
    )  # fmt: skip
    first = day.user_hours

    # Five minutes later, fewer servers: user-hours add up, the peak stays.
    fake.users = users(450, now=NOW, active=30, servers=6)
    usage.poll(now=NOW + dt.timedelta(minutes=5))
    day.refresh_from_db()
    assert day.peak_servers == 12
    assert day.user_hours == pytest.approx(first + 6 * 5 / 60)
    assert HubMonitor.objects.get(hub=hub).usage_polled == NOW + dt.timedelta(minutes=5)


def test_it_reads_a_hub_that_does_not_paginate(hub: Hub, httpserver: HTTPServer) -> None:
    class Plain(FakeUsers):
        def __call__(self, request: Any) -> Any:
            request.headers = {"Authorization": request.headers.get("Authorization")}
            return super().__call__(request)

    connect(hub, httpserver, Plain(users(20, now=NOW, active=5), TOKEN, max_limit=1000))
    usage.poll(now=NOW)
    assert UsageDay.objects.get(hub=hub).active_users == 5


def test_it_does_not_poll_a_hub_without_a_token(hub: Hub, httpserver: HTTPServer) -> None:
    point_at(hub, httpserver.url_for("/"))
    assert usage.poll(now=NOW) == {"polled": 0, "failed": 0}
    assert not usage.is_connected(hub.pk)
    assert not UsageDay.objects.exists()


def test_it_says_why_when_the_hub_refuses_the_token(hub: Hub, httpserver: HTTPServer) -> None:
    connect(hub, httpserver, FakeUsers(users(3, now=NOW), "another token"))
    assert usage.poll(now=NOW) == {"polled": 0, "failed": 1}
    monitor = HubMonitor.objects.get(hub=hub)
    assert "refused the portal's token (HTTP 403)" in monitor.usage_error
    assert "read:servers" in monitor.usage_error
    assert monitor.usage_lease is None


def test_it_says_why_when_the_answer_is_not_users(hub: Hub, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hub/api/users").respond_with_data("<html>", status=200)
    point_at(hub, httpserver.url_for("/"))
    HubSecret.objects.create(hub=hub, key=HubSecret.Key.USAGE_TOKEN, value=TOKEN)
    usage.poll(now=NOW)
    assert "could not read the hub's API" in HubMonitor.objects.get(hub=hub).usage_error


def test_it_caps_the_time_a_gap_counts_for(hub: Hub, httpserver: HTTPServer, settings: Any) -> None:
    settings.PORTAL_USAGE_INTERVAL = 300
    fake = FakeUsers(users(5, now=NOW, active=5, servers=5), TOKEN)
    connect(hub, httpserver, fake)
    usage.poll(now=NOW)
    fake.users = users(5, now=NOW + dt.timedelta(hours=5), active=5, servers=5)
    usage.poll(now=NOW + dt.timedelta(hours=5))
    # 5 servers x (one interval for the first poll + at most two for the gap) = 75 minutes.
    total = sum(UsageDay.objects.filter(hub=hub).values_list("user_hours", flat=True))
    assert total == pytest.approx(5 * 15 / 60)
