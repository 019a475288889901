"""The rough edges a new user hit (issue 15), each pinned by a test that would fail again."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from hubs import actions
from hubs.forms import TIMEZONES, RequestForm
from hubs.models import HubRequest
from hubs.spec import SpecError
from hubs.timezones import zone_choices
from portal.text import sentence
from tests.conftest import client_for, event_spec, github_spec, live_hub, submitted
from tests.hubs.test_views import form_data

pytestmark = pytest.mark.django_db


def form_errors(lead: User, spec: dict[str, Any]) -> dict[str, list[str]]:
    response = client_for(lead).post("/requests/new/", {**form_data(spec), "submit": "1"})
    return dict(response.context["form"].errors)


def test_it_never_capitalises_a_slug(catalog: None, lead: User, reviewer: User) -> None:
    live_hub(lead, reviewer, cluster="gcp-europe-west2")
    errors = form_errors(lead, github_spec(cluster="gcp-europe-west2"))
    assert errors["name"] == ["There is already a hub named bcc on gcp-europe-west2"]
    assert sentence("gcp-europe-west2 is busy") == "gcp-europe-west2 is busy"
    assert sentence("'bob' is not a GitHub username") == "'bob' is not a GitHub username"
    assert sentence("must be at least 1") == "Must be at least 1"


def test_it_words_bounds_and_lists_plainly(catalog: None, lead: User) -> None:
    errors = form_errors(lead, github_spec(expected_users=0, admins=[]))
    assert errors["expected_users"] == ["Must be at least 1"]
    empty = github_spec(auth={"provider": "github", "github": {"organizations": []}})
    assert form_errors(lead, empty)["github_organizations"] == ["Needs at least one item"]


def test_it_says_what_is_wrong_with_a_logo_address(catalog: None, lead: User) -> None:
    spec = github_spec(community={"name": "BCC", "logo_url": "ftp://x"})
    assert form_errors(lead, spec)["community_logo_url"] == [
        "Must be an http:// or https:// address"
    ]


def test_it_puts_the_event_order_under_the_end(catalog: None, lead: User) -> None:
    spec = event_spec()
    spec["event"] = {"start": spec["event"]["end"], "end": spec["event"]["start"]}
    errors = form_errors(lead, spec)
    assert errors["event_end"] == ["Must be after the start"]
    assert "event_start" not in errors


def test_a_rejection_needs_a_reason(catalog: None, lead: User, reviewer: User) -> None:
    request = submitted(lead)
    with pytest.raises(SpecError):
        actions.reject_request(request, by=reviewer)
    client_for(reviewer).post(f"/requests/{request.pk}/reject/", {"comment": ""})
    assert HubRequest.objects.get(pk=request.pk).state == "submitted"


def test_the_lead_sees_what_reviewers_asked_while_editing(
    catalog: None, lead: User, reviewer: User
) -> None:
    request = submitted(lead)
    actions.request_changes(request, by=reviewer, comment="Please use CILogon instead.")
    page = client_for(lead).get(f"/requests/{request.pk}/edit/").content.decode()
    assert 'id="review-comments"' in page and "Please use CILogon instead." in page


def test_the_request_page_shows_values_as_people_read_them(
    catalog: None, lead: User, reviewer: User
) -> None:
    request = submitted(lead, image={"catalog": "pangeo-notebook"})
    page = client_for(reviewer).get(request.get_absolute_url()).content.decode()
    assert "Pangeo (pangeo/pangeo-notebook:2025.10.06)" in page
    assert "GitHub" in page and ">github<" not in page
    event = submitted(lead, **event_spec(event={
        "start": "2030-03-01T09:00:00-05:00", "end": "2030-03-02T17:30:00-05:00"
    }))  # fmt: skip
    page = client_for(reviewer).get(event.get_absolute_url()).content.decode()
    assert "1 Mar 2030, 09:00 (UTC-05:00) → 2 Mar 2030, 17:30 (UTC-05:00)" in page
    assert "2030-03-01T09:00:00-05:00" not in page


def test_the_form_offers_a_catalog_image_and_a_curated_zone_menu(catalog: None) -> None:
    form = RequestForm()
    # The first catalog image, not "a custom image".
    assert form.fields["image_catalog"].initial == "datascience-notebook"
    assert "US/Eastern" not in TIMEZONES and "Europe/Kiev" not in TIMEZONES
    assert "Europe/Kyiv" in TIMEZONES and "America/New_York" in TIMEZONES
    assert TIMEZONES[0] == "UTC" and len(TIMEZONES) < 450
    groups = dict(zone_choices()[1:])
    assert ("Europe/London", "London") in groups["Europe"]  # type: ignore[operator]


def test_tiers_are_cards_with_resources_and_an_estimate(catalog: None, lead: User) -> None:
    response = client_for(lead).post("/requests/new/", {"expected_users": "40", "preview": "1"})
    page = response.content.decode()
    assert 'id="tier-cards"' in page
    assert "CPU: 0.25 CPUs guaranteed, up to 1 CPU" in page
    assert "Up to 500 users" in page and "$250.00 a month" in page
    assert "For 40 users: $6.25 per user a month" in page
    assert "Google Cloud, us-central1" in page  # the cluster menu names region and provider


def test_the_admin_shows_help_texts_as_text_and_purposes_as_checkboxes(
    catalog: None, operator: User
) -> None:
    client = client_for(operator)
    cluster = client.get("/admin/hubs/cluster/add/").content.decode()
    assert "&lt;hub&gt;.&lt;base domain&gt;" in cluster
    offering = client.get("/admin/hubs/offering/add/").content.decode()
    assert 'type="checkbox" name="purposes" value="research"' in offering
