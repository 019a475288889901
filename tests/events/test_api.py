"""The events API and pages: capacity, auto-approval, ending early, attendees, the timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import ClusterCapacity, Event, EventPolicy, EventStep
from hubs import actions
from hubs.models import Cluster, Hub, Offering
from hubs.spec import SpecError
from hubs.states import HubState, RequestState, StepState
from tests.conftest import api_client, client_for, event_spec, live_hub
from tests.events.conftest import ny_event

pytestmark = pytest.mark.django_db
SOON = timezone.now() + dt.timedelta(days=20)


@pytest.fixture
def small_cluster(catalog) -> Cluster:
    cluster = Cluster.objects.get(slug="gcp-us-central1")
    ClusterCapacity.objects.create(cluster=cluster, node_pool_limit=10, users_per_node=10)
    return cluster


def approved(lead, reviewer, **overrides) -> Event:
    response = api_client(lead).post("/api/v1/events/", ny_event(SOON, **overrides), format="json")
    assert response.status_code == 201, response.json()
    event = Event.objects.get(pk=response.json()["id"])
    actions.approve_request(event.request, by=reviewer)
    event.refresh_from_db()
    return event


def test_it_refuses_an_event_over_capacity_naming_the_overlapping_ones(
    small_cluster, lead, other_lead, reviewer
):
    first = approved(lead, reviewer, expected_users=60)
    spec = ny_event(SOON + dt.timedelta(days=1), name="second", expected_users=60)
    response = api_client(other_lead).post("/api/v1/events/", spec, format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["capacity"], body["peak"]) == (100, 120)
    assert [c["id"] for c in body["conflicts"]] == [first.pk]
    assert "hackweek" in body["errors"]["event"][0]
    assert not Event.objects.filter(name="second").exists()
    # Another week is free.
    later = ny_event(SOON + dt.timedelta(days=8), name="third", expected_users=60)
    assert api_client(other_lead).post("/api/v1/events/", later, format="json").status_code == 201


def test_reviewers_see_a_conflict_and_may_override_it(small_cluster, lead, other_lead, reviewer):
    approved(lead, reviewer, expected_users=60)
    spec = {**ny_event(SOON, name="second", expected_users=60), "review": True}
    response = api_client(other_lead).post("/api/v1/events/", spec, format="json")
    assert response.status_code == 201
    event = Event.objects.get(pk=response.json()["id"])
    assert event.request.state == RequestState.SUBMITTED
    page = client_for(reviewer).get(reverse("events:event", args=[event.pk]))
    assert b"capacity-conflict" in page.content
    with pytest.raises(SpecError):
        actions.approve_request(event.request, by=reviewer)
    response = api_client(reviewer).post(
        f"/api/v1/events/{event.pk}/override-capacity/", {"comment": "bigger nodes"}, format="json"
    )
    assert response.json()["capacity_override"] is True
    hub = actions.approve_request(event.request, by=reviewer)
    assert hub.state == HubState.PROVISIONING


def test_it_approves_within_the_tiers_rule_for_returning_organisers(catalog, lead, reviewer):
    EventPolicy.objects.create(
        offering=Offering.objects.get(slug="events"),
        auto_approve=True,
        auto_approve_max_attendees=100,
        auto_approve_max_duration=dt.timedelta(days=5),
    )
    first = api_client(lead).post("/api/v1/events/", ny_event(SOON), format="json").json()
    assert first["request"]["state"] == RequestState.SUBMITTED  # a first event is reviewed
    actions.approve_request(Event.objects.get(pk=first["id"]).request, by=reviewer)
    again = ny_event(SOON + dt.timedelta(days=30), name="again")
    second = api_client(lead).post("/api/v1/events/", again, format="json").json()
    assert second["request"]["state"] == RequestState.APPROVED
    assert {s["kind"] for s in second["steps"]} == set(EventStep.Kind.values)
    big = ny_event(SOON + dt.timedelta(days=60), name="big", expected_users=150)
    third = api_client(lead).post("/api/v1/events/", big, format="json").json()
    assert third["request"]["state"] == RequestState.SUBMITTED


def test_it_cancels_an_event_ended_before_it_starts(catalog, lead, reviewer, other_lead):
    event = approved(lead, reviewer)
    assert api_client(other_lead).post(f"/api/v1/events/{event.pk}/end/").status_code == 404
    response = api_client(lead).post(f"/api/v1/events/{event.pk}/end/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    from events import schedule

    schedule.tick()
    event.refresh_from_db()
    assert Hub.objects.get(event=event).state == HubState.DECOMMISSIONED
    assert event.steps.get(kind="teardown").note == "the hub was never deployed: closed"
    schedule.tick(event.start)
    assert event.steps.get(kind="deploy").state == StepState.SKIPPED
    assert api_client(lead).post(f"/api/v1/events/{event.pk}/end/").status_code == 409


def test_it_exports_attendees_and_moves_continuing_ones(catalog, lead, reviewer):
    event = approved(lead, reviewer, allowed_users=["ada", "=cmd"])
    csv = client_for(lead).get(reverse("events:event_attendees", args=[event.pk])).content
    assert csv.decode().splitlines() == [
        "username,role,last_login", "ada,allowed,not available", "'=cmd,allowed,not available"
    ]  # fmt: skip
    lasting = live_hub(lead, reviewer, auth={"provider": "github",
                       "github": {"organizations": ["bcc-org"]}})  # fmt: skip
    response = client_for(lead).post(
        reverse("events:event_move", args=[event.pk]), {"hub": lasting.pk, "usernames": "ada"}
    )
    assert response.status_code == 302
    lasting.refresh_from_db()
    assert lasting.spec["allowed_users"] == ["ada"]
    assert lasting.revisions.get(number=2).reason.startswith("allowlist: +1 from event")


def test_the_pages_show_the_schedule_and_the_timeline(small_cluster, lead, reviewer):
    event = approved(lead, reviewer)
    page = client_for(lead).get(reverse("events:event", args=[event.pk]))
    assert page.status_code == 200
    assert b'data-kind="prewarm"' in page.content and b"America/New_York" in page.content
    # Shown in the organiser's zone: 09:00 to 17:00 in New York, not the UTC hours.
    when = page.content.decode().split('id="event-when">')[1].split("<span")[0]
    assert ", 09:00 → " in when and when.strip().endswith(", 17:00"), when
    # Until its deploy step, the hub and request pages say when it will be deployed.
    assert event.hub is not None
    for url in (event.hub.get_absolute_url(), event.request.get_absolute_url()):
        shown = client_for(lead).get(url).content.decode()
        assert 'id="event-scheduled"' in shown and "America/New_York" in shown, url
    assert client_for(lead).get(reverse("events:timeline")).status_code == 403
    for i in range(3):
        approved(lead, reviewer, name=f"more{i}", expected_users=10)
    staff = client_for(reviewer)
    with CaptureQueriesContext(connection) as queries:
        page = staff.get(reverse("events:timeline"))
    assert page.status_code == 200
    assert b"peak 70 / 100" in page.content
    assert len(queries) == 5  # session, user, reviewer?, clusters, events
    assert client_for(lead).get(reverse("events:event_new")).status_code == 200


def test_it_creates_an_event_from_the_page(catalog, lead):
    from tests.hubs.test_views import form_data

    data = form_data(event_spec(expected_users=30))
    response = client_for(lead).post(reverse("events:event_new"), data)
    assert response.status_code == 302, response.context["form"].errors
    assert Event.objects.get().attendees == 30


def test_it_lists_events_in_a_constant_number_of_queries(catalog, lead, reviewer):
    approved(lead, reviewer)
    client = api_client(lead)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/events/").json()["results"]) == 1
    for i in range(3):
        approved(lead, reviewer, name=f"more{i}")
    with CaptureQueriesContext(connection) as four:
        assert len(client.get("/api/v1/events/").json()["results"]) == 4
    assert len(four) == len(one)


def test_the_event_form_has_its_only_tier_chosen(catalog):
    from events.forms import EventForm

    radios = str(EventForm()["offering"])
    assert 'value=""' not in radios  # no empty "Choose…" button
    assert radios.count('type="radio"') == 1 and "checked" in radios
