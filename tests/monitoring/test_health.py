"""Health sweeps against local HTTP servers: counts, statuses, alerts once each way, leases."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.core import mail
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hubs.models import AuditEvent, Hub
from monitoring import health
from monitoring.models import Health, HealthDay, HubMonitor, Incident
from notifications.models import Webhook, WebhookDelivery
from tests.monitoring.conftest import NOW, point_at

pytestmark = pytest.mark.django_db


def sweep_at(minutes: int) -> dict[str, int]:
    return health.sweep(now=NOW + dt.timedelta(minutes=minutes))


def test_it_records_a_check_in_the_hour_it_was_made(hub: Hub, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hub/health").respond_with_data("")
    point_at(hub, httpserver.url_for("/"))

    assert sweep_at(0) == {"checked": 1, "down": 0, "recovered": 0}

    monitor = HubMonitor.objects.get(hub=hub)
    assert monitor.health == Health.UP
    assert monitor.last_checked == NOW
    day = HealthDay.objects.get(hub=hub, day=NOW.date())
    assert day.checks[12] == 1 and day.checks_total == 1 and day.failures_total == 0
    assert monitor.health_lease is None and monitor.health_claim == ""


def test_it_does_not_check_a_hub_twice_within_half_an_interval(
    hub: Hub, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hub/health").respond_with_data("")
    point_at(hub, httpserver.url_for("/"))
    sweep_at(0)
    assert health.sweep(now=NOW + dt.timedelta(seconds=10))["checked"] == 0
    assert sweep_at(1)["checked"] == 1
    assert HealthDay.objects.get(hub=hub).checks_total == 2


def test_it_alerts_once_when_down_and_once_when_back(
    hub: Hub,
    hub_admin: Any,
    operator: Any,
    httpserver: HTTPServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tests.conftest import make_hub_admin

    def sweep_at(minutes: int) -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return health.sweep(now=NOW + dt.timedelta(minutes=minutes))

    settings.PORTAL_WEBHOOK_ALLOW_PRIVATE = True
    assert hub.request is not None
    requester = hub.request.requester
    make_hub_admin(hub, hub_admin, by=requester)
    receiver = HTTPServer()
    receiver.start()
    try:
        receiver.expect_request("/hook").respond_with_data("ok")
        Webhook.objects.create(url=receiver.url_for("/hook"), events=["hub.*"], secret="s" * 32)
        answer = {"status": 200}
        httpserver.expect_request("/hub/health").respond_with_handler(
            lambda request: Response("", status=answer["status"])
        )
        point_at(hub, httpserver.url_for("/"))
        sweep_at(0)
        mail.outbox.clear()

        answer["status"] = 503
        assert sweep_at(1)["down"] == 0  # failing, not down yet
        assert HubMonitor.objects.get(hub=hub).health == Health.FAILING
        assert sweep_at(2)["down"] == 0
        assert sweep_at(3)["down"] == 1  # the third failure in a row
        for minute in range(4, 8):
            assert sweep_at(minute)["down"] == 0  # said once
        monitor = HubMonitor.objects.get(hub=hub)
        assert monitor.health == Health.DOWN and monitor.failures == 7
        assert monitor.last_error == "HTTP 503"
        incident = Incident.objects.get(hub=hub)
        assert incident.started_at == NOW + dt.timedelta(minutes=1) and incident.ended_at is None
        down_mail = [m for m in mail.outbox if "is down" in m.subject]
        assert sorted(a for m in down_mail for a in m.to) == sorted(
            {requester.email, hub_admin.email, operator.email}
        )

        answer["status"] = 200
        assert sweep_at(8)["recovered"] == 1
        assert sweep_at(9)["recovered"] == 0
        incident.refresh_from_db()
        assert incident.ended_at == NOW + dt.timedelta(minutes=8)
        back_mail = [m for m in mail.outbox if "back up" in m.subject]
        assert len(back_mail) == len(down_mail) == 3

        events = list(WebhookDelivery.objects.values_list("event", flat=True).order_by("pk"))
        assert events == ["hub.down", "hub.recovered"]
        bodies = [json.loads(r.get_data()) for r, _ in receiver.log]
        assert [b["event"] for b in bodies] == ["hub.down", "hub.recovered"]
        assert bodies[0]["data"]["hub"]["name"] == "bcc"
        actions = AuditEvent.objects.filter(action__in=["hub.down", "hub.recovered"])
        assert sorted(actions.values_list("action", flat=True)) == ["hub.down", "hub.recovered"]
    finally:
        receiver.clear()
        receiver.stop()


def test_it_counts_no_answer_in_time_as_a_failure(
    hub: Hub, httpserver: HTTPServer, settings: Any
) -> None:
    settings.PORTAL_HEALTH_TIMEOUT = 0.2

    def slow(request: Request) -> Response:
        time.sleep(1)
        return Response("")

    httpserver.expect_request("/hub/health").respond_with_handler(slow)
    point_at(hub, httpserver.url_for("/"))
    sweep_at(0)
    monitor = HubMonitor.objects.get(hub=hub)
    assert monitor.health == Health.FAILING
    assert monitor.last_error == "no answer in time"


def test_it_counts_a_refused_connection_as_a_failure(hub: Hub) -> None:
    point_at(hub, "http://127.0.0.1:9")  # discard: nothing listens
    sweep_at(0)
    assert HubMonitor.objects.get(hub=hub).failures == 1


def test_it_leaves_a_hub_another_sweep_holds(hub: Hub, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hub/health").respond_with_data("")
    point_at(hub, httpserver.url_for("/"))
    health.ensure_monitors()
    _token, claimed = health.claim(NOW)
    assert [m.hub_id for m in claimed] == [hub.pk]
    # A second sweep, at once: nothing for it.
    assert health.claim(NOW)[1] == []
    assert sweep_at(0)["checked"] == 0
    # The first sweep died; once its lease lapses the hub is taken again.
    lease = HubMonitor.objects.get(hub=hub).health_lease
    assert lease is not None
    later = lease + dt.timedelta(seconds=1)
    assert health.sweep(now=later)["checked"] == 1


def test_it_checks_only_active_hubs(hub: Hub, httpserver: HTTPServer) -> None:
    Hub.objects.filter(pk=hub.pk).update(state="decommissioned")
    assert sweep_at(0)["checked"] == 0


def test_it_rolls_uptime_up_over_7_and_30_days(hub: Hub) -> None:
    health.ensure_monitors()
    today = NOW.date()
    HealthDay.objects.create(hub=hub, day=today, checks_total=100, failures_total=10)
    HealthDay.objects.create(
        hub=hub, day=today - dt.timedelta(days=20), checks_total=100, failures_total=0
    )
    assert health.refresh_uptime(NOW) == 1
    monitor = HubMonitor.objects.get(hub=hub)
    assert monitor.uptime_7d == 90.0
    assert monitor.uptime_30d == 95.0


def test_it_stores_a_day_of_checks_in_one_small_row(hub: Hub, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hub/health").respond_with_data("")
    point_at(hub, httpserver.url_for("/"))
    for minute in range(0, 24 * 60, 60):
        sweep_at(minute)
    day = HealthDay.objects.get(hub=hub, day=(NOW + dt.timedelta(hours=1)).date())
    assert HealthDay.objects.filter(hub=hub).count() == 2  # noon to noon spans two days
    assert len(json.dumps(day.checks)) + len(json.dumps(day.failures)) < 200
    assert day.checks_total == sum(day.checks)


def test_it_reads_the_url_from_the_cluster_template(hub: Hub) -> Any:
    hub.cluster.hub_url_template = "https://{hub}.internal.example/"
    assert hub.address == "https://bcc.internal.example"
