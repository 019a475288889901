"""A whole event with a real Celery worker (through Redis) running its deployments, while
this process plays beat with a moved clock (time-machine), restarting it midway."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import time_machine
from django.core import mail

from events import schedule
from events.models import Event, EventStep
from hubs import actions
from hubs.models import Hub
from hubs.states import DEPLOYMENT_FINAL, HubState, StepState
from provisioning.models import Deployment
from tests.conftest import api_client
from tests.events.conftest import ny_event
from tests.test_worker import worker  # noqa: F401 - the real worker fixture
from tests.workers import claimed_by

pytestmark = pytest.mark.worker
Kind = EventStep.Kind
T0 = dt.datetime(2027, 2, 1, 12, 0, tzinfo=dt.UTC)


def settle(hub: Hub, log: Any) -> None:
    """Wait (real time) until the worker has finished every deployment of the hub."""
    for _ in range(450):
        if not Deployment.objects.filter(hub=hub).exclude(state__in=DEPLOYMENT_FINAL).exists():
            return
        time.sleep(0.2)
    raise AssertionError(f"deployments still running:\n{log.read_text()}")


def beat(when: dt.datetime, hub: Hub, log: Any) -> None:
    """Beat's tick at `when`; the worker runs what it queues; the next tick follows it."""
    with time_machine.travel(when, tick=True):
        schedule.tick()
    settle(hub, log)
    with time_machine.travel(when + dt.timedelta(minutes=1), tick=True):
        schedule.tick()


def test_it_runs_a_whole_event_with_a_real_worker(
    worker: dict[str, Any],  # noqa: F811
    demo_repo: Any,
    lead: Any,
    reviewer: Any,
) -> None:
    log = worker["log"]
    with time_machine.travel(T0, tick=True):
        response = api_client(lead).post(
            "/api/v1/events/", ny_event(T0 + dt.timedelta(days=10), expected_users=30),
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.json()
        event = Event.objects.get(pk=response.json()["id"])
        hub = actions.approve_request(event.request, by=reviewer)
    event.refresh_from_db()
    assert hub.deployments.count() == 0

    def states() -> dict[str, str]:
        return dict(event.steps.values_list("kind", "state"))

    beat(event.start - dt.timedelta(days=7), hub, log)
    assert states()[Kind.REMINDER_WEEK] == StepState.DONE
    assert [m.subject for m in mail.outbox][-1].endswith("starts in a week")

    beat(event.start - dt.timedelta(days=2), hub, log)
    hub.refresh_from_db()
    assert (hub.state, states()[Kind.DEPLOY]) == (HubState.ACTIVE, StepState.DONE)
    first = hub.deployments.get()
    assert first.state == "succeeded" and len(first.commit_sha) == 40
    assert claimed_by(worker["process"], first.log.get(step="claimed").message)

    beat(event.start - dt.timedelta(hours=24), hub, log)
    assert "starts tomorrow" in mail.outbox[-1].subject

    # Beat restarts mid-event: a claimed pre-warm it never finished is neither
    # repeated while its lease holds nor lost after.
    due = event.start - dt.timedelta(hours=2)
    step = event.steps.get(kind=Kind.PREWARM)
    with time_machine.travel(due, tick=True):
        assert schedule.claim(step, dt.datetime.now(dt.UTC))
    beat(due + dt.timedelta(minutes=5), hub, log)
    assert states()[Kind.PREWARM] == StepState.RUNNING
    beat(due + dt.timedelta(minutes=15), hub, log)
    hub.refresh_from_db()
    assert states()[Kind.PREWARM] == StepState.DONE
    assert hub.revisions.filter(reason__startswith="pre-warm").count() == 1
    assert hub.deployments.filter(state="succeeded").count() == 2

    beat(event.end, hub, log)
    hub.refresh_from_db()
    assert states()[Kind.COOLDOWN] == StepState.DONE
    assert hub.revisions.get(number=hub.current_revision).reason.startswith("cool down")

    beat(event.end + dt.timedelta(hours=24), hub, log)
    assert "download your work" in mail.outbox[-1].subject

    beat(event.end + dt.timedelta(hours=48), hub, log)
    hub.refresh_from_db()
    assert hub.state == HubState.DECOMMISSIONED
    assert set(states().values()) == {StepState.DONE}
    assert [d.action for d in hub.deployments.order_by("pk")] == [
        "apply", "apply", "apply", "decommission"
    ]  # fmt: skip
