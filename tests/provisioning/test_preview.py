"""Previews: the files a change would write, their diff against what runs, and in plain words."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.urls import reverse

from hubs.models import Hub
from hubs.states import HubState
from provisioning import deployments, lifecycle, preview
from provisioning.models import Deployment
from tests.conftest import api_client, client_for, github_spec, live_hub
from tests.hubs.test_views import form_data


def succeed(hub: Hub) -> None:
    """Finish the hub's latest deployment successfully (as a worker would)."""
    deployment = Deployment.objects.filter(hub=hub).first()
    assert deployment is not None
    claimed = deployments.claim(deployment.pk, "t")
    assert claimed is not None
    deployments.mark_succeeded(claimed)


def test_it_previews_a_request_with_its_files_and_checks(catalog: None) -> None:
    shown = preview.preview_request(github_spec())

    assert shown.ok
    assert "config/clusters/gcp-us-central1/bcc.values.yaml" in shown.files
    assert all(d.status == "added" for d in shown.file_diffs)
    assert "members of the GitHub organisation bcc-org" in shown.access_gained
    assert "members of the team staff of the GitHub organisation bcc-org" in shown.access_gained
    assert any("valid for 2i2c's basehub chart" in check for check in shown.checks)


def test_it_lists_a_requests_problems_by_field(catalog: None) -> None:
    shown = preview.preview_request(github_spec(expected_users=0, cluster="nowhere"))

    assert not shown.ok
    assert shown.files == {}
    assert shown.problems["expected_users"] == ["must be at least 1"]


def test_it_says_in_plain_words_what_a_change_does(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer, active=False)
    succeed(hub)
    spec = github_spec(
        auth={"provider": "github", "github": {"organizations": ["bcc-org", "new-org"]}},
        admins=["alice-gh", "bob-gh"],
        image={"catalog": "pangeo-notebook"},
        expected_users=80,
    )

    shown = preview.preview_change(hub, spec)

    assert shown.ok and shown.against == 1
    assert shown.access_gained == ["members of the GitHub organisation new-org", "bob-gh (admin)"]
    assert shown.access_lost == ["members of the team staff of the GitHub organisation bcc-org"]
    assert shown.image_change is not None
    assert shown.image_change[1] == "Pangeo (pangeo/pangeo-notebook:2025.10.06)"
    assert ("expected users", "40", "80") in shown.resource_changes
    [values] = shown.changed_files
    assert values.status == "changed" and "pangeo/pangeo-notebook" in values.diff


def test_it_compares_a_change_with_the_running_revision_not_a_failed_one(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer, active=False)
    succeed(hub)
    hub.refresh_from_db()
    lifecycle.update_hub(hub, github_spec(display_name="Broken"), by=lead)
    failing = Deployment.objects.filter(hub=hub).first()
    assert failing is not None
    deployments.mark_failed(failing, "The forge said no.")
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    hub.refresh_from_db()

    shown = preview.preview_rollback(hub, 1)

    assert shown.against == 1  # r2 never ran
    assert shown.changed_files == []  # rolling back to what runs changes no file


def test_the_api_previews_a_spec_and_a_hub_change_without_changing_anything(
    catalog: None, lead: User, reviewer: User
) -> None:
    answer = api_client(lead).post("/api/v1/requests/preview/", github_spec(), format="json")
    assert answer.status_code == 200
    assert answer.json()["ok"] is True
    assert "config/clusters/gcp-us-central1/bcc.values.yaml" in answer.json()["files"]
    unknown = api_client(lead).post("/api/v1/requests/preview/", {"colour": 1}, format="json")
    assert unknown.status_code == 400

    hub = live_hub(lead, reviewer)
    url = f"/api/v1/hubs/{hub.cluster.slug}/{hub.name}/"
    dry = api_client(lead).patch(f"{url}?dry_run=1", {"expected_users": 60}, format="json")
    rollback = api_client(lead).post(f"{url}rollback/?dry_run=1", {"revision": 5}, format="json")
    removal = api_client(lead).post(f"{url}decommission/?dry_run=1", {}, format="json")

    assert dry.status_code == 200
    assert {"what": "expected users", "before": "40", "after": "60"} in dry.json()[
        "resource_changes"
    ]
    assert rollback.json()["ok"] is False and "revision" in rollback.json()["problems"]
    assert removal.json()["access_lost"][0] == "members of the GitHub organisation bcc-org"
    hub.refresh_from_db()
    assert (hub.current_revision, hub.state) == (1, HubState.ACTIVE)
    assert Deployment.objects.filter(hub=hub).count() == 1


def test_rolling_back_goes_through_a_confirmation_with_the_diff(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    lifecycle.update_hub(hub, github_spec(display_name="Changed", expected_users=90), by=lead)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    url = reverse("hubs:hub_rollback", args=[hub.cluster.slug, hub.name])
    client = client_for(lead)

    page = client.get(f"{url}?revision=1")

    assert page.status_code == 200
    body = page.content.decode()
    assert "Roll back to r1" in body and 'id="files"' in body
    hub.refresh_from_db()
    assert hub.current_revision == 2  # nothing happened yet
    client.post(url, {"revision": "1"})
    hub.refresh_from_db()
    assert hub.current_revision == 3


def test_the_request_form_previews_then_submits(catalog: None, lead: User) -> None:
    client = client_for(lead)
    data = form_data(github_spec())

    shown = client.post("/requests/new/", {**data, "preview": "1"})

    assert shown.status_code == 200
    body = shown.content.decode()
    assert 'id="request-preview"' in body and "bcc.values.yaml" in body
    assert not lead.hub_requests.exists()  # a preview saves nothing
    bad = client.post(
        "/requests/new/", {**form_data(github_spec(expected_users=0)), "preview": "1"}
    )
    assert bad.context["form"].errors["expected_users"] == ["Must be at least 1"]
    client.post("/requests/new/", {**data, "submit": "1"})
    assert lead.hub_requests.get().state == "submitted"


def test_reviewers_see_the_files_approval_would_write(
    catalog: None, lead: User, reviewer: User
) -> None:
    from tests.conftest import submitted

    request = submitted(lead)
    body = client_for(reviewer).get(request.get_absolute_url()).content.decode()
    assert 'id="review-preview"' in body and "bcc.values.yaml" in body
    mine = client_for(lead).get(request.get_absolute_url()).content.decode()
    assert 'id="review-preview"' not in mine
