"""A whole event with the clock moved (time-machine): create, approve, deploy, pre-warm,
cool down, reminders, teardown; and beat restarts or outages that neither skip nor
repeat a step. Deployments run in-process against a local deploy repository."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events import schedule
from events.models import Event, EventPolicy, EventStep
from hubs import actions
from hubs.models import Hub, Offering
from hubs.states import DeploymentState, HubState, StepState
from provisioning import lifecycle
from tests.conftest import api_client
from tests.events.conftest import ny_event

pytestmark = pytest.mark.django_db
Kind = EventStep.Kind
T0 = dt.datetime(2027, 2, 1, 12, 0, tzinfo=dt.UTC)


def states(event: Event) -> dict[str, str]:
    return dict(event.steps.values_list("kind", "state"))


def reasons(hub: Hub) -> list[str]:
    return list(hub.revisions.order_by("number").values_list("reason", flat=True))


def placeholders(hub: Hub) -> int:
    import yaml

    files = hub.revisions.get(number=hub.current_revision).files["files"]
    values = [yaml.safe_load(t) for p, t in files.items() if p.endswith(f"{hub.name}.values.yaml")]
    return int(values[0]["nodePlaceholder"]["replicas"])


def tick_at(when: dt.datetime, capture: Any) -> dict[str, int]:
    """Beat's tick at `when`, deployments it queues run (in-process), then one more to follow."""
    with time_machine.travel(when, tick=False):
        with capture(execute=True):
            counts = schedule.tick()
        with capture(execute=True):
            schedule.tick()
    return counts


@pytest.fixture
def created(demo_repo, lead, reviewer) -> Event:
    with time_machine.travel(T0, tick=False):
        response = api_client(lead).post(
            "/api/v1/events/", ny_event(T0 + dt.timedelta(days=10), expected_users=40),
            format="json",
        )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["steps"], body["hub"]) == ("awaiting review", [], None)
    return Event.objects.get(pk=body["id"])


def test_it_runs_a_whole_event_from_its_schedule(
    created, reviewer, lead, django_capture_on_commit_callbacks
):
    event, capture = created, django_capture_on_commit_callbacks
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        hub = actions.approve_request(event.request, by=reviewer)
    event.refresh_from_db()
    # Approved weeks early: r1 recorded, nothing deployed, every step planned.
    assert (hub.state, hub.current_revision, hub.deployments.count()) == ("provisioning", 1, 0)
    assert set(states(event).values()) == {StepState.PENDING}
    planned = dict(event.steps.values_list("kind", "planned_at"))
    assert planned[Kind.DEPLOY] == event.start - dt.timedelta(days=2)
    assert planned[Kind.PREWARM] == event.start - dt.timedelta(hours=2)
    assert planned[Kind.TEARDOWN] == event.end + dt.timedelta(hours=48)
    shown = api_client(lead).get(f"/api/v1/events/{event.pk}/").json()
    assert [s["kind"] for s in shown["steps"]][:2] == ["reminder_week", "deploy"]
    assert shown["start_local"].startswith(f"{event.start.astimezone(event.start.tzinfo):%Y}")
    assert shown["start_local"].endswith("T09:00:00-05:00")

    mail.outbox.clear()
    assert tick_at(event.start - dt.timedelta(days=8), capture)["run"] == 0

    tick_at(event.start - dt.timedelta(days=7), capture)
    assert states(event)[Kind.REMINDER_WEEK] == StepState.DONE
    [week] = mail.outbox
    assert week.to == ["alice@example.org"] and "starts in a week" in week.subject
    assert hub.url in week.body

    tick_at(event.start - dt.timedelta(days=2), capture)
    hub.refresh_from_db()
    assert states(event)[Kind.DEPLOY] == StepState.DONE
    assert hub.state == HubState.ACTIVE
    [deployment] = hub.deployments.all()
    assert (deployment.state, deployment.revision.number) == (DeploymentState.SUCCEEDED, 1)
    assert placeholders(hub) == 0

    tick_at(event.start - dt.timedelta(hours=24), capture)
    assert "starts tomorrow" in mail.outbox[-1].subject

    tick_at(event.start - dt.timedelta(hours=2), capture)
    hub.refresh_from_db()
    assert states(event)[Kind.PREWARM] == StepState.DONE
    assert reasons(hub) == ["initial", "pre-warm: 40 placeholders for the event"]
    assert placeholders(hub) == 40
    assert hub.deployments.filter(state=DeploymentState.SUCCEEDED).count() == 2

    # An organiser's change while warm keeps the placeholders (a standing extra).
    warm = event.start - dt.timedelta(hours=1)
    with time_machine.travel(warm, tick=False), capture(execute=True):
        lifecycle.update_hub(hub, {**hub.spec, "allowed_users": ["late-comer"]}, by=lead)
    hub.refresh_from_db()
    assert (hub.current_revision, placeholders(hub)) == (3, 40)

    tick_at(event.end, capture)
    hub.refresh_from_db()
    assert states(event)[Kind.COOLDOWN] == StepState.DONE
    assert reasons(hub)[-1] == "cool down: placeholders back to 0 after the event"
    assert placeholders(hub) == 0

    sent = len(mail.outbox)
    tick_at(event.end + dt.timedelta(hours=24), capture)
    notice = mail.outbox[sent]
    assert "download your work" in notice.subject
    assert f"{event.end + dt.timedelta(hours=48):%a %-d %b %Y, %H:%M}" in notice.body

    tick_at(event.end + dt.timedelta(hours=48), capture)
    hub.refresh_from_db()
    assert hub.state == HubState.DECOMMISSIONED
    assert set(states(event).values()) == {StepState.DONE}
    assert hub.deployments.filter(action="decommission", state="succeeded").count() == 1
    # Every step ran once.
    assert [a for a in reasons(hub) if a.startswith("pre-warm")] == [reasons(hub)[1]]
    assert sum("starts" in m.subject for m in mail.outbox) == 2


def test_it_neither_repeats_nor_skips_a_step_across_a_beat_restart(
    created, reviewer, django_capture_on_commit_callbacks
):
    event, capture = created, django_capture_on_commit_callbacks
    actions.approve_request(event.request, by=reviewer)
    event.refresh_from_db()
    tick_at(event.start - dt.timedelta(days=2), capture)  # deployed
    tick_at(event.start - dt.timedelta(hours=24), capture)  # reminded
    step = event.steps.get(kind=Kind.PREWARM)
    due = event.start - dt.timedelta(hours=2)
    # Beat claims the pre-warm and dies before doing it (nothing recorded).
    with time_machine.travel(due, tick=False):
        assert schedule.claim(step, due)
    # Restarted, it neither takes the step again while the claim holds...
    assert tick_at(due + dt.timedelta(minutes=5), capture)["run"] == 0
    assert states(event)[Kind.PREWARM] == StepState.RUNNING
    # ...nor loses it: once the lease runs out it is run, once.
    tick_at(due + dt.timedelta(minutes=11), capture)
    tick_at(due + dt.timedelta(minutes=16), capture)
    hub = Hub.objects.get(pk=event.hub_id)
    assert states(event)[Kind.PREWARM] == StepState.DONE
    assert reasons(hub).count("pre-warm: 40 placeholders for the event") == 1
    assert step.__class__.objects.get(pk=step.pk).attempts == 2


def test_it_catches_up_after_an_outage_and_skips_what_no_longer_makes_sense(
    created, reviewer, django_capture_on_commit_callbacks
):
    event, capture = created, django_capture_on_commit_callbacks
    actions.approve_request(event.request, by=reviewer)
    event.refresh_from_db()
    mail.outbox.clear()
    # Beat down from before the deploy until an hour into the event.
    tick_at(event.start + dt.timedelta(hours=1), capture)
    tick_at(event.start + dt.timedelta(hours=1, minutes=1), capture)
    done = states(event)
    assert done[Kind.DEPLOY] == done[Kind.PREWARM] == StepState.DONE
    skipped = dict(event.steps.filter(state=StepState.SKIPPED).values_list("kind", "note"))
    assert skipped == {
        Kind.REMINDER_WEEK: "the event has started",
        Kind.REMINDER_DAY: "the event has started",
    }
    # No reminder for a start already past (the hub's own "it is live" email is not one).
    assert [m.subject for m in mail.outbox if "starts" in m.subject] == []
    # Down again until after the end: no pre-warm after the end, cool-down skipped, removed.
    tick_at(event.end + dt.timedelta(days=3), capture)
    assert states(event)[Kind.TEARDOWN] == StepState.DONE
    notes = dict(event.steps.values_list("kind", "note"))
    assert notes[Kind.COOLDOWN] == "the hub is being removed anyway"
    assert notes[Kind.TEARDOWN_NOTICE] == "too late: the hub is being removed"


def test_it_ticks_over_many_events_in_a_constant_number_of_queries(created, reviewer):
    actions.approve_request(created.request, by=reviewer)
    created.refresh_from_db()
    with CaptureQueriesContext(connection) as one:
        schedule.tick(T0)
    for i in range(20):
        Event.objects.create(
            request=created.request.__class__.objects.create(requester=created.organiser),
            organiser=created.organiser, cluster=created.cluster, offering=created.offering,
            name=f"e{i}", display_name=f"E{i}", start=created.start, end=created.end,
            attendees=10,
        )  # fmt: skip
    for other in Event.objects.exclude(pk=created.pk):
        schedule.plan(other)
    with CaptureQueriesContext(connection) as many:
        schedule.tick(T0)
    assert len(many) == len(one) == 3


def test_it_moves_pending_steps_when_the_event_is_extended(created, reviewer, lead):
    actions.approve_request(created.request, by=reviewer)
    created.refresh_from_db()
    policy = EventPolicy.objects.create(
        offering=Offering.objects.get(slug="events"), max_duration=dt.timedelta(days=5)
    )
    end = created.end + dt.timedelta(days=1)
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        response = api_client(lead).post(
            f"/api/v1/events/{created.pk}/extend/", {"end": end.isoformat()}, format="json"
        )
    assert response.status_code == 200, response.json()
    created.refresh_from_db()
    assert created.end == end
    teardown = created.steps.get(kind=Kind.TEARDOWN)
    assert teardown.planned_at == end + policy.teardown_grace
    assert Hub.objects.get(pk=created.hub_id).revisions.count() == 2  # recorded, not deployed
    too_long = created.start + dt.timedelta(days=6)
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        response = api_client(lead).post(
            f"/api/v1/events/{created.pk}/extend/", {"end": too_long.isoformat()}, format="json"
        )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["event.end"]


def test_staff_hear_of_a_failed_prewarm_and_run_it_again(
    created, reviewer, lead, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from tests.conftest import client_for

    event, capture = created, django_capture_on_commit_callbacks
    actions.approve_request(event.request, by=reviewer)
    event.refresh_from_db()
    tick_at(event.start - dt.timedelta(days=2), capture)
    # The hub failed meanwhile (its latest deployment did): the pre-warm cannot run.
    Hub.objects.filter(pk=event.hub_id).update(state=HubState.FAILED)
    mail.outbox.clear()
    tick_at(event.start - dt.timedelta(hours=2), capture)
    step = event.steps.get(kind=Kind.PREWARM)
    assert (step.state, step.note) == (StepState.FAILED, "the hub is failed")
    [alert] = [m for m in mail.outbox if m.to == ["charlie@example.org"]]  # staff
    assert "pre-warm" in alert.subject.lower() and "the hub is failed" in alert.body
    url = reverse("events:step_retry", args=[event.pk, "prewarm"])
    assert client_for(lead).post(url).status_code == 403
    Hub.objects.filter(pk=event.hub_id).update(state=HubState.ACTIVE)
    with time_machine.travel(event.start - dt.timedelta(hours=1), tick=False):
        assert client_for(reviewer).post(url).status_code == 302
    tick_at(event.start - dt.timedelta(hours=1), capture)
    assert event.steps.get(kind=Kind.PREWARM).state == StepState.DONE
