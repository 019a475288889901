"""Editing an event never moves it: the organiser's zone is kept with it (issue 14).

Saved for 09:00-17:00 America/New_York, an event opened for editing shows
09:00 in New York, and saving it unchanged (or with another change) keeps the
same instants, through the request form, the hub's change form and the API.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from hubs import actions
from hubs.forms import RequestForm
from hubs.models import Hub, HubRequest
from hubs.states import HubState
from tests.conftest import api_client, client_for, event_spec
from tests.events.conftest import NEW_YORK, ny_event
from tests.hubs.test_views import form_data

pytestmark = pytest.mark.django_db


def instants(spec: dict) -> tuple[dt.datetime, dt.datetime]:
    return tuple(dt.datetime.fromisoformat(spec["event"][k]) for k in ("start", "end"))  # type: ignore[return-value]


def test_it_shows_and_saves_a_request_in_its_own_zone(catalog, lead):
    spec = ny_event(dt.datetime.now(dt.UTC) + dt.timedelta(days=20))
    request = actions.create_request(lead, spec)
    client = client_for(lead)
    page = client.get(reverse("hubs:request_edit", args=[request.pk]))
    initial = page.context["form"].initial
    assert initial["event_timezone"] == "America/New_York"
    assert initial["event_start"].hour == 9

    response = client.post(reverse("hubs:request_edit", args=[request.pk]), form_data(spec))
    assert response.status_code == 302
    request.refresh_from_db()
    assert instants(request.spec) == instants(spec)
    assert request.spec["event"]["timezone"] == "America/New_York"
    start = instants(request.spec)[0].astimezone(NEW_YORK)
    assert (start.hour, start.minute) == (9, 0)


def test_it_keeps_the_instants_of_an_old_spec_without_a_zone(catalog):
    # Written before the spec had `timezone`: shown in UTC, the same instant.
    spec = event_spec(
        event={"start": "2027-03-01T09:00:00-05:00", "end": "2027-03-05T17:00:00-05:00"}
    )
    initial = RequestForm.initial_from(spec)
    assert (initial["event_timezone"], initial["event_start"].hour) == ("UTC", 14)
    form = RequestForm(form_data(spec))
    assert form.is_valid(), form.errors
    assert instants(form.spec()) == instants(spec)


def test_it_keeps_the_times_when_a_hub_is_changed_in_its_change_form(catalog, lead, reviewer):
    spec = ny_event(dt.datetime.now(dt.UTC) + dt.timedelta(days=20), admins=[])
    hub = actions.approve_request(actions.create_request(lead, spec, submit=True), by=reviewer)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    url = reverse("hubs:hub_edit", args=[hub.cluster.slug, hub.name])
    client = client_for(lead)
    assert client.get(url).context["form"].initial["event_start"].hour == 9

    changed = {**spec, "allowed_users": ["new-attendee"]}
    # Through the change's confirmation page (what it changes, shown first).
    shown = client.post(url, form_data(changed))
    assert shown.status_code == 200 and "preview" in shown.context
    response = client.post(url, {**form_data(changed), "confirm": "1", "base": "1"})
    assert response.status_code == 302, response.context["form"].errors
    hub.refresh_from_db()
    assert hub.current_revision == 2
    assert hub.spec["allowed_users"] == ["new-attendee"]
    assert instants(hub.spec) == instants(spec)
    assert hub.event_start == instants(spec)[0]


def test_it_refuses_moving_an_event_through_the_hub_change(catalog, lead, reviewer):
    spec = ny_event(dt.datetime.now(dt.UTC) + dt.timedelta(days=20))
    hub = actions.approve_request(actions.create_request(lead, spec, submit=True), by=reviewer)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    end = dt.datetime.fromisoformat(spec["event"]["end"]) + dt.timedelta(days=1)
    later = {**spec["event"], "end": end.isoformat()}
    response = api_client(lead).patch(
        f"/api/v1/hubs/{hub.cluster.slug}/{hub.name}/", {"event": later}, format="json"
    )
    assert response.status_code == 400
    assert "event" in response.json()["errors"]


def test_it_round_trips_the_zone_through_the_api(catalog, lead):
    spec = ny_event(dt.datetime.now(dt.UTC) + dt.timedelta(days=20))
    client = api_client(lead)
    created = client.post("/api/v1/requests/", spec, format="json")
    assert created.status_code == 201, created.json()
    shown = client.get(f"/api/v1/requests/{created.json()['id']}/").json()
    assert shown["spec"]["event"] == spec["event"]
    # PATCH with what was read changes nothing.
    client.patch(f"/api/v1/requests/{created.json()['id']}/", {"event": shown["spec"]["event"]},
                 format="json")  # fmt: skip
    assert HubRequest.objects.get().spec["event"] == spec["event"]


def test_it_names_the_field_of_an_event_ending_before_it_starts(catalog, lead):
    spec = event_spec(
        event={"start": "2099-03-05T09:00:00+00:00", "end": "2099-03-01T09:00:00+00:00"}
    )
    response = api_client(lead).post("/api/v1/events/", spec, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"event.end": ["must be after the start"]}
    bad_zone = event_spec()
    bad_zone["event"]["timezone"] = "Mars/Olympus"
    response = api_client(lead).post("/api/v1/events/", bad_zone, format="json")
    assert list(response.json()["errors"]) == ["event.timezone"]
