"""Issue 12 item 3: a new hub on a cluster that needs per-hub infrastructure values
is approved only with them, through the page's form or the API's approve action;
changes and rollbacks keep them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from hubs import actions
from hubs.models import Cluster, Hub, HubRequest, HubRevision, Offering
from hubs.spec import SpecError
from hubs.states import RequestState
from provisioning import lifecycle
from provisioning.models import Deployment
from tests.conftest import api_client, client_for, github_spec, submitted

SERVER = {
    "key": "nfs.pv.serverIP",
    "type": "ip",
    "example": "10.100.254.159",
    "why": "each hub has its own NFS server for home directories",
}
BUCKET = {
    "key": "jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET",
    "type": "bucket-url",
    "example": "gs://bucket/path",
    "why": "each hub has its own scratch bucket",
    "list_item": True,
}


def needs_inputs(*specs: dict[str, Any]) -> Cluster:
    cluster = Cluster.objects.get(slug="gcp-us-central1")
    cluster.conventions = {**(cluster.conventions or {}), "inputs": list(specs or [SERVER])}
    cluster.save()
    return cluster


def own_file(hub: Hub, number: int | None = None) -> str:
    revision = HubRevision.objects.get(hub=hub, number=number or hub.current_revision)
    (text,) = revision.files["files"].values()
    return str(text)


@pytest.fixture
def pending(catalog: None, lead: User) -> HubRequest:
    needs_inputs()
    return submitted(lead)


def test_it_refuses_approval_naming_each_missing_input(pending: HubRequest, reviewer: User) -> None:
    needs_inputs(SERVER, BUCKET)
    with pytest.raises(SpecError) as info:
        actions.approve_request(pending, by=reviewer)
    errors = info.value.errors
    assert set(errors) == {f"inputs.{SERVER['key']}", f"inputs.{BUCKET['key']}"}
    assert "its own NFS server" in errors["inputs.nfs.pv.serverIP"][0]
    pending.refresh_from_db()
    assert pending.state == RequestState.SUBMITTED
    assert not Hub.objects.exists() and not Deployment.objects.exists()


def test_it_refuses_an_invalid_or_unknown_input(pending: HubRequest, reviewer: User) -> None:
    with pytest.raises(SpecError) as info:
        actions.approve_request(
            pending, by=reviewer, inputs={"nfs.pv.serverIP": "not-an-ip", "nfs.other": "x"}
        )
    assert "an IP address" in info.value.errors["inputs.nfs.pv.serverIP"][0]
    assert "no such input" in info.value.errors["inputs.nfs.other"][0]
    assert not Hub.objects.exists()


def test_it_writes_the_inputs_into_the_hubs_own_file(pending: HubRequest, reviewer: User) -> None:
    hub = actions.approve_request(pending, by=reviewer, inputs={"nfs.pv.serverIP": "10.0.0.5"})
    assert 'serverIP: "10.0.0.5"' in own_file(hub)


def test_it_keeps_the_inputs_through_a_change_and_a_rollback(
    pending: HubRequest, reviewer: User, lead: User
) -> None:
    hub = actions.approve_request(pending, by=reviewer, inputs={"nfs.pv.serverIP": "10.0.0.5"})
    Hub.objects.filter(pk=hub.pk).update(state="active")
    hub.refresh_from_db()
    lifecycle.update_hub(hub, github_spec(expected_users=41), by=lead)
    hub.refresh_from_db()
    assert hub.current_revision == 2
    assert 'serverIP: "10.0.0.5"' in own_file(hub)
    Hub.objects.filter(pk=hub.pk).update(state="active")
    lifecycle.rollback_hub(hub, 1, by=lead)
    hub.refresh_from_db()
    assert 'serverIP: "10.0.0.5"' in own_file(hub, 3)


def test_it_leaves_a_tier_without_review_to_the_reviewers_when_inputs_are_needed(
    catalog: None, lead: User
) -> None:
    needs_inputs()
    Offering.objects.filter(slug="education").update(requires_review=False)
    request = submitted(lead)
    assert request.state == RequestState.SUBMITTED
    assert not Hub.objects.exists()


# --- the page ------------------------------------------------------------------------


def test_it_shows_the_inputs_form_to_reviewers_only(
    pending: HubRequest, reviewer: User, lead: User
) -> None:
    page = client_for(reviewer).get(f"/requests/{pending.pk}/").content.decode()
    assert 'name="inputs-nfs.pv.serverIP"' in page
    assert "its own NFS server" in page and "10.100.254.159" in page
    mine = client_for(lead).get(f"/requests/{pending.pk}/").content.decode()
    assert "inputs-nfs.pv.serverIP" not in mine


def test_it_refuses_approval_on_the_page_without_the_inputs(
    pending: HubRequest, reviewer: User
) -> None:
    response = client_for(reviewer).post(
        f"/requests/{pending.pk}/approve/", {"comment": "", "inputs-nfs.pv.serverIP": ""}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "needed by this cluster" in page and "its own NFS server" in page
    bad = client_for(reviewer).post(
        f"/requests/{pending.pk}/approve/", {"inputs-nfs.pv.serverIP": "10.0.0"}
    )
    assert bad.status_code == 400 and "must be an IP address" in bad.content.decode()
    pending.refresh_from_db()
    assert pending.state == RequestState.SUBMITTED
    assert not Hub.objects.exists()


def test_it_approves_on_the_page_with_the_inputs(pending: HubRequest, reviewer: User) -> None:
    response = client_for(reviewer).post(
        f"/requests/{pending.pk}/approve/", {"inputs-nfs.pv.serverIP": "10.0.0.5"}
    )
    assert response.status_code == 302
    hub = Hub.objects.get()
    assert 'serverIP: "10.0.0.5"' in own_file(hub)


def test_it_still_rejects_without_the_inputs(pending: HubRequest, reviewer: User) -> None:
    response = client_for(reviewer).post(f"/requests/{pending.pk}/reject/", {"comment": "no"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == RequestState.REJECTED


# --- the API -------------------------------------------------------------------------


def test_it_refuses_approval_through_the_api_naming_each_key(
    pending: HubRequest, reviewer: User
) -> None:
    client = api_client(reviewer)
    response = client.post(f"/api/v1/requests/{pending.pk}/approve/", {}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert "inputs.nfs.pv.serverIP" in str(body) and "its own NFS server" in str(body)
    wrong = client.post(
        f"/api/v1/requests/{pending.pk}/approve/",
        {"inputs": {"nfs.pv.serverIP": "vol-1"}},
        format="json",
    )
    assert wrong.status_code == 400 and "must be an IP address" in str(wrong.json())
    typed = client.post(
        f"/api/v1/requests/{pending.pk}/approve/", {"inputs": ["10.0.0.5"]}, format="json"
    )
    assert typed.status_code == 400 and "inputs" in typed.json()["errors"]
    pending.refresh_from_db()
    assert pending.state == RequestState.SUBMITTED and not Hub.objects.exists()


def test_it_approves_through_the_api_with_the_inputs(pending: HubRequest, reviewer: User) -> None:
    response = api_client(reviewer).post(
        f"/api/v1/requests/{pending.pk}/approve/",
        {"inputs": {"nfs.pv.serverIP": "10.0.0.5"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert 'serverIP: "10.0.0.5"' in own_file(Hub.objects.get())


def test_it_refuses_inputs_on_other_actions(pending: HubRequest, reviewer: User) -> None:
    response = api_client(reviewer).post(
        f"/api/v1/requests/{pending.pk}/reject/",
        {"comment": "no", "inputs": {"nfs.pv.serverIP": "10.0.0.5"}},
        format="json",
    )
    assert response.status_code == 400 and "only approve" in str(response.json())


def test_it_previews_a_request_with_the_clusters_examples_saying_so(
    pending: HubRequest, reviewer: User
) -> None:
    from provisioning.preview import preview_request

    shown = preview_request(pending.spec, request=pending)
    assert not shown.problems
    (text,) = [t for path, t in shown.files.items() if path.endswith("bcc.values.yaml")]
    assert 'serverIP: "10.100.254.159"' in text
    assert any("approval asks for the real ones" in check for check in shown.checks)
