"""Managing a live hub in the browser: change it, roll it back, set its secrets, remove it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hubs.models import Cluster, Hub, HubSecret
from hubs.states import HubState
from provisioning.models import Deployment
from tests.conftest import client_for, github_spec, live_hub, make_hub_admin
from tests.hubs.test_views import form_data

pytestmark = pytest.mark.django_db


def url(name: str, hub: Hub) -> str:
    return reverse(f"hubs:{name}", args=[hub.cluster.slug, hub.name])


def change_confirmed(client: Client, hub: Hub, data: dict[str, Any]) -> Any:
    """Post a change to the change page, then confirm the preview it answers with."""
    preview = client.post(url("hub_edit", hub), data)
    assert preview.status_code == 200
    assert preview.context["preview"].ok, preview.context["preview"].problems
    hub.refresh_from_db()
    return client.post(url("hub_edit", hub), {**data, "confirm": "1", "base": hub.current_revision})


def test_a_lead_changes_their_hub_and_it_is_deployed(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    client = client_for(lead)
    page = client.get(url("hub_edit", hub))
    assert page.context["form"].initial["display_name"] == "Berkeley City College"
    # The name and cluster are shown but fixed: what the browser sends for them is ignored.
    data = form_data(github_spec(display_name="BCC Data 8", name="other", expected_users=80))
    response = change_confirmed(client, hub, data)
    assert response.status_code == 302
    hub.refresh_from_db()
    assert (hub.name, hub.display_name, hub.current_revision) == ("bcc", "BCC Data 8", 2)
    assert hub.state == HubState.UPDATING
    revision = hub.revisions.get(number=2)
    assert revision.spec["expected_users"] == 80
    assert Deployment.objects.filter(hub=hub, revision=revision, state="queued").exists()


def test_a_change_the_tier_refuses_is_shown_and_changes_nothing(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    data = form_data(github_spec(expected_users=100000))
    response = client_for(lead).post(url("hub_edit", hub), data)
    assert response.context["form"].errors["expected_users"] == [
        "The Education tier serves at most 500 users"
    ]
    hub.refresh_from_db()
    assert (hub.current_revision, hub.state) == (1, HubState.ACTIVE)


def test_only_the_hubs_admins_and_operators_manage_it(
    catalog, lead, other_lead, hub_admin, reviewer, operator
):
    hub = live_hub(lead, reviewer)
    make_hub_admin(hub, hub_admin, by=lead)
    users = (None, lead, other_lead, hub_admin, reviewer, operator)
    for page, expected in (
        ("hub", [302, 200, 404, 200, 200, 200]),
        ("hub_edit", [302, 200, 404, 200, 403, 200]),
        ("hub_export", [302, 200, 404, 200, 200, 200]),
        # Removing a hub (its users' data goes too) is for its requester and operators.
        ("hub_decommission", [302, 200, 404, 403, 403, 200]),
        ("hub_secrets", [302, 302, 404, 302, 403, 302]),  # GitOps: back to the hub page
    ):
        got = [client_for(u).get(url(page, hub)).status_code for u in users]
        assert got == expected, page
    assert client_for(reviewer).post(url("hub_rollback", hub), {"revision": 1}).status_code == 403


def test_it_rolls_back_to_an_earlier_revision(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    client = client_for(lead)
    change_confirmed(client, hub, form_data(github_spec(display_name="Changed")))
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    page = client.get(url("hub", hub)).content.decode()
    assert "roll back to r1" in page
    # The link shows what rolling back changes first; the confirmation posts the rollback.
    confirm = client.get(url("hub_rollback", hub), {"revision": 1})
    assert ("display_name", "Changed", "Berkeley City College") in confirm.context[
        "preview"
    ].spec_changes
    assert 'name="revision" value="1"' in confirm.content.decode()
    hub.refresh_from_db()
    assert hub.current_revision == 2
    client.post(url("hub_rollback", hub), {"revision": "1"})
    hub.refresh_from_db()
    assert hub.current_revision == 3
    assert hub.revisions.get(number=3).reason == "rollback to r1"
    assert hub.spec["display_name"] == "Berkeley City College"


def test_removal_needs_the_data_loss_confirmed(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    client = client_for(lead)
    response = client.post(url("hub_decommission", hub), {})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    hub.refresh_from_db()
    assert hub.state == HubState.ACTIVE
    client.post(url("hub_decommission", hub), {"confirm_data_loss": "on"})
    hub.refresh_from_db()
    assert hub.state == HubState.DECOMMISSIONING
    assert Deployment.objects.get(hub=hub, action="decommission").options == {
        "confirm_data_loss": True
    }


def test_secrets_are_write_only_and_for_helm_clusters(helm_cluster, lead, reviewer):
    hub = live_hub(lead, reviewer, cluster="k3d-local")
    client = client_for(lead)
    client.post(
        url("hub_secrets", hub),
        {"oauth_client_id": "the-client-id", "oauth_client_secret": "s3cret-value"},
    )
    assert HubSecret.objects.get(hub=hub, key="oauth_client_secret").value == "s3cret-value"
    for page in ("hub_secrets", "hub"):
        body = client.get(url(page, hub)).content.decode()
        assert "s3cret-value" not in body and "the-client-id" not in body
    client.post(url("hub_secrets", hub), {"remove": ["oauth_client_secret"]})
    assert list(HubSecret.objects.filter(hub=hub).values_list("key", flat=True)) == [
        "oauth_client_id"
    ]
    gitops_hub = live_hub(lead, reviewer, name="other")
    response = client.get(url("hub_secrets", gitops_hub), follow=True)
    assert "encrypted secret file" in response.content.decode()


def test_setting_secrets_runs_a_deployment_that_failed_for_want_of_them_again(
    helm_cluster, lead, reviewer, django_capture_on_commit_callbacks
):
    hub = live_hub(lead, reviewer, cluster="k3d-local")
    deployment = Deployment.objects.get(hub=hub)
    Deployment.objects.filter(pk=deployment.pk).update(state="failed", error="no secrets yet")
    client = client_for(lead)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            url("hub_secrets", hub), {"oauth_client_id": "id", "oauth_client_secret": "s"},
            follow=True,
        )  # fmt: skip
    deployment.refresh_from_db()
    assert deployment.state == "queued" and len(callbacks) == 1  # enqueued after commit
    assert f"Deployment {deployment.pk} runs again with them." in response.content.decode()


def test_an_adopted_hub_is_changed_in_its_repository_not_here(catalog, operator):
    cluster = Cluster.objects.get(slug="gcp-us-central1")
    hub = Hub.objects.create(
        name="adopted", cluster=cluster, domain="adopted.example.org", state=HubState.ACTIVE,
        imported=True, spec={"name": "adopted", "cluster": cluster.slug}, current_revision=1,
    )  # fmt: skip
    client = client_for(operator)
    page = client.get(url("hub", hub)).content.decode()
    assert url("hub_edit", hub) not in page and url("hub_export", hub) not in page
    assert url("hub_decommission", hub) in page  # it can still be removed
    response = client.get(url("hub_edit", hub), follow=True)
    assert "adopted from the deploy repository" in response.content.decode()
