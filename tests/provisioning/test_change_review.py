"""A lead may change a live hub within its tier; anything beyond it goes through review.

Through both doors: PATCH /api/v1/hubs/{cluster}/{name}/ and the hub's change page.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from hubs import actions
from hubs.models import Hub, HubRequest, HubRevision
from hubs.states import HubState, RequestState
from provisioning.models import Deployment
from tests.conftest import api_client, client_for, github_spec, live_hub

pytestmark = pytest.mark.django_db

EVIL_IMAGE = "docker.io/evil/miner:latest"


def url(hub: Hub, suffix: str = "") -> str:
    return f"/api/v1/hubs/{hub.cluster.slug}/{hub.name}/{suffix}"


def upgrade(**more: Any) -> dict[str, Any]:
    """An education hub turned into a research hub with a custom image and more users."""
    return {
        "offering": "research-shared",
        "purpose": "research",
        "image": {"custom": EVIL_IMAGE},
        "expected_users": 90,
        **more,
    }


def test_it_sends_a_change_of_tier_to_review_instead_of_deploying_it(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).patch(url(hub), upgrade(), format="json")

    assert response.status_code == 202
    data = response.json()
    assert "review" in data["detail"]
    assert data["request"]["state"] == RequestState.SUBMITTED
    assert data["request"]["target_hub"] == {
        "cluster": hub.cluster.slug,
        "name": "bcc",
        "state": HubState.ACTIVE,
    }
    hub.refresh_from_db()
    # Nothing about the hub changed, and nothing was deployed.
    assert hub.state == HubState.ACTIVE
    assert hub.offering is not None and hub.offering.slug == "education"
    assert hub.current_revision == 1
    assert hub.spec["image"] == {"catalog": "scipy-notebook"}
    assert Deployment.objects.filter(hub=hub).count() == 1


def test_it_sends_a_change_of_tier_from_the_change_page_to_review(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    page = client_for(lead).get(f"/hubs/{hub.cluster.slug}/bcc/change/")
    form = dict(page.context["form"].initial)
    form.update(
        offering="research-shared",
        purpose="research",
        image_catalog="",
        image_custom=EVIL_IMAGE,
        expected_users=90,
        auth_provider="github",
        github_organizations="bcc-org\nbcc-org:staff",
        admins="alice-gh",
    )
    form = {k: v for k, v in form.items() if v is not None}
    shown = client_for(lead).post(f"/hubs/{hub.cluster.slug}/bcc/change/", form)
    # The confirmation says the change goes to review rather than deploying.
    assert shown.context["preview"].needs_review == [
        "tier: education → research-shared",
        "purpose: education → research",
    ]
    assert HubRequest.objects.filter(target_hub=hub).count() == 0
    response = client_for(lead).post(
        f"/hubs/{hub.cluster.slug}/bcc/change/", {**form, "confirm": "1", "base": "1"}
    )

    change = HubRequest.objects.get(target_hub=hub)
    assert response.status_code == 302
    assert response["Location"] == change.get_absolute_url()
    assert change.state == RequestState.SUBMITTED
    hub.refresh_from_db()
    assert hub.current_revision == 1
    assert hub.spec["image"] == {"catalog": "scipy-notebook"}
    page = client_for(lead).get(change.get_absolute_url())
    assert b"change the live hub" in page.content


def test_it_deploys_a_change_within_the_tier_at_once(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).patch(url(hub), {"expected_users": 400}, format="json")

    assert response.status_code == 202
    assert response.json()["revision"] == 2
    assert not HubRequest.objects.filter(target_hub=hub).exists()


def test_it_still_refuses_a_custom_image_the_tier_does_not_allow(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).patch(url(hub), {"image": {"custom": EVIL_IMAGE}}, format="json")

    assert response.status_code == 400
    assert "catalog images only" in response.json()["errors"]["image.custom"][0]
    assert HubRevision.objects.filter(hub=hub).count() == 1


def test_it_deploys_a_reviewed_change_when_approved(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    api_client(lead).patch(url(hub), upgrade(), format="json")
    change = HubRequest.objects.get(target_hub=hub)
    # Meanwhile, a change within the tier was deployed: approving keeps it.
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    api_client(lead).patch(url(hub), {"display_name": "BCC Data Science"}, format="json")
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)

    response = api_client(reviewer).post(
        f"/api/v1/requests/{change.pk}/approve/", {"comment": "ok"}, format="json"
    )

    assert response.status_code == 200, response.json()
    hub.refresh_from_db()
    assert hub.state == HubState.UPDATING
    assert hub.current_revision == 3
    assert hub.offering is not None and hub.offering.slug == "research-shared"
    assert hub.spec["image"] == {"custom": EVIL_IMAGE}
    assert hub.spec["display_name"] == "BCC Data Science"
    revision = HubRevision.objects.get(hub=hub, number=3)
    assert revision.reason == f"change request #{change.pk} approved"
    # The lead asked for it, the reviewer approved and deployed it.
    assert revision.author == lead
    assert Deployment.objects.get(revision=revision).requested_by == reviewer
    assert Hub.objects.filter(name="bcc").count() == 1


def test_it_does_not_let_the_lead_approve_their_own_change(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    api_client(lead).patch(url(hub), upgrade(), format="json")
    change = HubRequest.objects.get(target_hub=hub)

    response = api_client(lead).post(f"/api/v1/requests/{change.pk}/approve/", {}, format="json")

    assert response.status_code == 403
    hub.refresh_from_db()
    assert hub.current_revision == 1


def test_it_keeps_a_change_requests_hub_name_and_cluster(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    change = actions.create_request(
        lead, github_spec(offering="research-shared", purpose="research"), target_hub=hub
    )
    actions.update_request(
        change, by=lead, spec=github_spec(name="other", offering="research-shared")
    )

    response = api_client(lead).post(f"/api/v1/requests/{change.pk}/submit/", {}, format="json")

    assert response.status_code == 400
    assert "cannot change" in response.json()["errors"]["name"][0]
