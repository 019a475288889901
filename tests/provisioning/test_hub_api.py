"""Changing a live hub over the API: update, rollback, decommission and secrets.

Hubs are requested and approved through hubs.actions. Deployments stay queued:
they are enqueued on commit, and these tests do not run commit callbacks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from hubs.models import Hub, HubRevision, HubSecret
from hubs.states import DeploymentState, HubState
from provisioning import lifecycle
from provisioning.models import Deployment
from tests.conftest import api_client, github_spec, live_hub, make_hub_admin

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "lead", "other_lead", "hub_admin", "reviewer", "operator")
CLIENT_ID = "Iv1.0123456789abcdef"
CLIENT_SECRET = "s3cr3t-0f-the-0auth-app-5e1f"


def url(hub: Hub, suffix: str = "") -> str:
    return f"/api/v1/hubs/{hub.cluster.slug}/{hub.name}/{suffix}"


# --- update ------------------------------------------------------------------


def test_it_updates_a_hub_as_a_new_revision(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).patch(
        url(hub), {"display_name": "BCC Data Science", "reason": "new name"}, format="json"
    )

    assert response.status_code == 202
    data = response.json()
    assert data["revision"] == 2
    assert data["state"] == DeploymentState.QUEUED
    assert data["action"] == Deployment.Action.APPLY
    assert data["hub"] == f"{hub.cluster.slug}/bcc"
    hub.refresh_from_db()
    assert hub.state == HubState.UPDATING
    assert hub.current_revision == 2
    assert hub.spec["display_name"] == "BCC Data Science"
    assert hub.spec["expected_users"] == 40  # fields not given stay
    revision = HubRevision.objects.get(hub=hub, number=2)
    assert revision.reason == "new name"
    assert revision.spec == hub.spec
    assert Deployment.objects.get(pk=data["id"]).revision == revision


def test_it_gives_an_update_a_default_reason(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).patch(url(hub), {"expected_users": 60}, format="json")

    assert response.status_code == 202
    assert HubRevision.objects.get(hub=hub, number=2).reason == "edited"


def test_it_refuses_to_change_a_hubs_name_or_cluster(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).patch(
        url(hub), {"name": "other", "cluster": "elsewhere"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "cannot change" in errors["name"][0]
    assert "cannot change" in errors["cluster"][0]
    hub.refresh_from_db()
    assert (hub.current_revision, hub.state) == (1, HubState.ACTIVE)


@pytest.mark.parametrize(
    "body", [{}, {"display_name": "Berkeley City College"}, {"reason": "why not"}]
)
def test_it_refuses_an_update_that_changes_nothing(
    catalog: None, lead: User, reviewer: User, body: dict[str, Any]
) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).patch(url(hub), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"": ["nothing changed"]}
    assert not Deployment.objects.filter(hub=hub, revision__number=2).exists()


def test_it_refuses_an_update_while_the_hub_is_provisioning(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer, active=False)

    response = api_client(lead).patch(url(hub), {"expected_users": 60}, format="json")

    assert response.status_code == 409
    assert response.json()["state"] == HubState.PROVISIONING
    assert Hub.objects.get(pk=hub.pk).current_revision == 1


def test_it_refuses_unknown_fields_and_bodies_that_are_not_objects(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    client = api_client(lead)

    patch = client.patch(url(hub), {"colour": "blue", "expected_users": 60}, format="json")
    rollback = client.post(url(hub, "rollback/"), {"revision": 1, "force": True}, format="json")
    decommission = client.post(
        url(hub, "decommission/"), {"confirm_data_loss": True, "now": 1}, format="json"
    )
    secrets = client.put(url(hub, "secrets/"), {"api_token": "x"}, format="json")
    listed = client.patch(url(hub), b"[1, 2]", content_type="application/json")

    assert patch.status_code == 400 and list(patch.json()["errors"]) == ["colour"]
    assert rollback.status_code == 400 and list(rollback.json()["errors"]) == ["force"]
    assert decommission.status_code == 400 and list(decommission.json()["errors"]) == ["now"]
    assert secrets.status_code == 400 and list(secrets.json()["errors"]) == ["api_token"]
    assert listed.status_code == 400
    hub.refresh_from_db()
    assert (hub.current_revision, hub.state) == (1, HubState.ACTIVE)


# --- rollback ----------------------------------------------------------------


def test_it_rolls_back_to_an_earlier_revision(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer)
    first = HubRevision.objects.get(hub=hub, number=1)
    assert (
        api_client(lead).patch(url(hub), {"expected_users": 60}, format="json").status_code == 202
    )
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)  # the update went through

    response = api_client(lead).post(url(hub, "rollback/"), {"revision": 1}, format="json")

    assert response.status_code == 202
    data = response.json()
    assert data["revision"] == 3
    assert data["state"] == DeploymentState.QUEUED
    hub.refresh_from_db()
    assert hub.current_revision == 3
    assert hub.spec == first.spec
    third = HubRevision.objects.get(hub=hub, number=3)
    assert (third.files, third.reason) == (first.files, "rollback to r1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"revision": 1}, "choose an earlier revision"),  # r1 is the current one
        ({"revision": 0}, "greater than or equal to 1"),
        ({"revision": "latest"}, "valid integer"),
        ({}, "required"),
    ],
)
def test_it_refuses_a_rollback_to_no_earlier_revision(
    catalog: None, lead: User, reviewer: User, body: dict[str, Any], message: str
) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).post(url(hub, "rollback/"), body, format="json")

    assert response.status_code == 400
    assert message in response.json()["errors"]["revision"][0]
    assert Hub.objects.get(pk=hub.pk).current_revision == 1


# --- decommission --------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"confirm_data_loss": False}])
def test_it_decommissions_only_with_confirmation(
    catalog: None, lead: User, reviewer: User, body: dict[str, Any]
) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).post(url(hub, "decommission/"), body, format="json")

    assert response.status_code == 400
    assert "home directories" in response.json()["errors"]["confirm_data_loss"][0]
    assert Hub.objects.get(pk=hub.pk).state == HubState.ACTIVE


def test_it_decommissions_a_hub_and_supersedes_a_queued_update(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    update = api_client(lead).patch(url(hub), {"expected_users": 60}, format="json").json()

    response = api_client(lead).post(
        url(hub, "decommission/"), {"confirm_data_loss": True}, format="json"
    )

    assert response.status_code == 202
    data = response.json()
    assert data["action"] == Deployment.Action.DECOMMISSION
    assert data["state"] == DeploymentState.QUEUED
    assert Hub.objects.get(pk=hub.pk).state == HubState.DECOMMISSIONING
    assert Deployment.objects.get(pk=update["id"]).state == DeploymentState.SUPERSEDED
    again = api_client(lead).post(
        url(hub, "decommission/"), {"confirm_data_loss": True}, format="json"
    )
    assert again.status_code == 409


# --- secrets -------------------------------------------------------------------


def test_it_sets_and_removes_secrets_without_ever_showing_them(
    helm_cluster: Any, lead: User, reviewer: User, operator: User
) -> None:
    hub = live_hub(lead, reviewer, cluster="k3d-local")
    client = api_client(lead)
    responses = []

    responses.append(client.get(url(hub, "secrets/")))
    assert responses[-1].json() == {"set": []}
    responses.append(
        client.put(
            url(hub, "secrets/"),
            {"oauth_client_id": CLIENT_ID, "oauth_client_secret": CLIENT_SECRET},
            format="json",
        )
    )
    assert responses[-1].status_code == 200
    assert responses[-1].json() == {"set": ["oauth_client_id", "oauth_client_secret"]}
    responses.append(api_client(operator).get(url(hub, "secrets/")))
    assert responses[-1].json() == {"set": ["oauth_client_id", "oauth_client_secret"]}
    responses.append(client.get(url(hub)))
    responses.append(client.patch(url(hub), {"expected_users": 60}, format="json"))
    responses.append(client.get(f"/api/v1/deployments/{responses[-1].json()['id']}/"))
    responses.append(client.get("/api/v1/hubs/"))
    responses.append(client.put(url(hub, "secrets/"), {"oauth_client_id": ""}, format="json"))
    assert responses[-1].json() == {"set": ["oauth_client_secret"]}
    responses.append(client.get(url(hub, "secrets/")))
    assert responses[-1].json() == {"set": ["oauth_client_secret"]}

    assert all(r.status_code in (200, 202) for r in responses)
    for response in responses:
        body = response.content.decode()
        assert CLIENT_ID not in body
        assert CLIENT_SECRET not in body
    assert HubSecret.objects.get(hub=hub).value == CLIENT_SECRET
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM hubs_hubsecret WHERE hub_id = %s", [hub.pk])
        (stored,) = cursor.fetchone() or (None,)
    assert stored and CLIENT_SECRET not in stored  # encrypted at rest


def test_it_refuses_secrets_it_cannot_keep(helm_cluster: Any, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer, cluster="k3d-local")

    multiline = api_client(lead).put(
        url(hub, "secrets/"), {"shared_password": "a\nb"}, format="json"
    )
    null = api_client(lead).put(url(hub, "secrets/"), {"shared_password": None}, format="json")

    assert multiline.status_code == 400 and "shared_password" in multiline.json()["errors"]
    assert null.status_code == 400 and "shared_password" in null.json()["errors"]
    assert not HubSecret.objects.filter(hub=hub).exists()


def test_it_refuses_over_the_api_what_the_page_refuses(
    helm_cluster: Any, lead: User, reviewer: User
) -> None:
    helm_hub = live_hub(lead, reviewer, cluster="k3d-local")
    gitops_hub = live_hub(lead, reviewer, name="other")

    admin_password = api_client(lead).put(
        url(helm_hub, "secrets/"), {"admin_password": "hunter2-hunter2"}, format="json"
    )
    gitops = api_client(lead).put(
        url(gitops_hub, "secrets/"), {"oauth_client_id": CLIENT_ID}, format="json"
    )

    assert admin_password.status_code == 400
    assert "admin_password" in admin_password.json()["errors"]
    assert gitops.status_code == 400
    assert "encrypted secret file" in gitops.json()["errors"][""][0]
    assert not HubSecret.objects.exists()


def test_it_runs_a_deployment_that_failed_for_want_of_secrets_again(
    helm_cluster: Any, lead: User, reviewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    hub = live_hub(lead, reviewer, cluster="k3d-local")
    deployment = Deployment.objects.get(hub=hub)
    Deployment.objects.filter(pk=deployment.pk).update(state="failed", error="no secrets yet")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client(lead).put(
            url(hub, "secrets/"),
            {"oauth_client_id": CLIENT_ID, "oauth_client_secret": CLIENT_SECRET},
            format="json",
        )

    assert response.status_code == 200
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.QUEUED
    assert len(callbacks) == 1  # enqueued after commit


# --- who may do what -----------------------------------------------------------

# (method, path after the hub's URL, body, answers for PERSONAS)
# The hub admin administers each hub (invited, accepted): everything but removing it.
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("get", "", None, (401, 200, 404, 200, 200, 200)),
    ("patch", "", {"expected_users": 60}, (401, 202, 404, 202, 403, 202)),
    ("post", "rollback/", {"revision": 1}, (401, 202, 404, 202, 403, 202)),
    ("post", "decommission/", {"confirm_data_loss": True}, (401, 202, 404, 403, 403, 202)),
    ("get", "secrets/", None, (401, 200, 404, 200, 403, 200)),
    # A GitOps hub: its secrets are the operators' encrypted file, so even those who
    # manage the hub are refused (400) rather than allowed (see the helm tests above).
    ("put", "secrets/", {"oauth_client_id": "an-id"}, (401, 400, 404, 400, 403, 400)),
    # What the operators must add to the hub's encrypted file: all who see the hub see it;
    # only operators mark it added (#12 item 5).
    ("get", "credentials/", None, (401, 200, 404, 200, 200, 200)),
    ("post", "credentials/", {"note": "in"}, (401, 403, 404, 403, 403, 200)),
    # Drift (#12 item 7): all who see the hub see the diff; operators resolve it (this
    # hub has not drifted: 400).
    ("get", "drift/", None, (401, 200, 404, 200, 200, 200)),
    ("post", "drift/", {"action": "repush"}, (401, 403, 404, 403, 403, 400)),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body", "expected"),
    MATRIX,
    ids=[f"{m} {s or 'hub'}" for m, s, *_ in MATRIX],
)
def test_it_answers_each_persona_as_the_matrix_says(
    request: pytest.FixtureRequest,
    catalog: None,
    lead: User,
    reviewer: User,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
    expected: tuple[int, ...],
) -> None:
    answers = []
    for i, persona in enumerate(PERSONAS):
        user = None if persona == "anonymous" else request.getfixturevalue(persona)
        # A fresh active hub at r2 for each persona: a change moves it on.
        hub = live_hub(lead, reviewer, name=f"hub-{i}")
        lifecycle.update_hub(hub, github_spec(name=hub.name, expected_users=50), by=lead)
        Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
        if persona == "hub_admin":
            assert user is not None
            make_hub_admin(hub, user, by=lead)
        response = getattr(api_client(user), method)(url(hub, suffix), body, format="json")
        answers.append(response.status_code)

    assert dict(zip(PERSONAS, answers, strict=True)) == dict(zip(PERSONAS, expected, strict=True))


def test_it_documents_the_hub_endpoints_in_the_schema(lead: User) -> None:
    response = api_client(lead).get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    paths = json.loads(response.content)["paths"]
    hub = "/api/v1/hubs/{cluster}/{name}/"
    assert set(paths[hub]) == {"get", "patch"}
    assert "202" in paths[hub]["patch"]["responses"]
    assert set(paths[hub + "rollback/"]) == {"post"}
    assert set(paths[hub + "decommission/"]) == {"post"}
    assert set(paths[hub + "secrets/"]) == {"get", "put"}
