"""The hubs and deployments API, and the deployment pages, with the UI's permissions."""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hubs.models import Cluster
from hubs.states import DeploymentState
from provisioning import deployments
from provisioning.models import Deployment, DeployTarget
from provisioning.tasks import run_deployment
from tests.conftest import client_for
from tests.provisioning.gitops_fixtures import (
    bare_repo,  # noqa: F401 - fixture
    clones,  # noqa: F401 - fixture
    make_cluster,
    make_hub,
    make_target,
)


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def cluster(db: None, tmp_path: Path) -> Cluster:
    return make_cluster(make_target(tmp_path / "repo.git"))


def test_it_lists_only_the_hubs_a_user_may_see(
    cluster: Cluster, lead: User, other_lead: User, reviewer: User
) -> None:
    make_hub(cluster, "alices", requester=lead, approver=reviewer)
    make_hub(cluster, "bobs", requester=other_lead, approver=reviewer)

    mine = api(lead).get("/api/v1/hubs/").json()
    everything = api(reviewer).get("/api/v1/hubs/").json()

    assert [h["name"] for h in mine["results"]] == ["alices"]
    assert sorted(h["name"] for h in everything["results"]) == ["alices", "bobs"]
    first = mine["results"][0]
    assert first["cluster"] == "cloudbank"
    assert first["latest_deployment"]["state"] == DeploymentState.QUEUED
    assert api(None).get("/api/v1/hubs/").status_code in (401, 403)


def test_it_lists_hubs_in_constant_queries(cluster: Cluster, lead: User, reviewer: User) -> None:
    make_hub(cluster, "one", requester=lead, approver=reviewer)
    client = api(reviewer)
    client.get("/api/v1/hubs/")  # warm: the reviewer check is cached on the user
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/hubs/").status_code == 200
    for name in ("two", "three", "four", "five"):
        make_hub(cluster, name, requester=lead, approver=reviewer)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/hubs/")

    assert response.json()["count"] == 5
    assert len(many) == len(few) <= 3


def test_it_shows_a_hub_with_its_revision_and_latest_deployment(
    cluster: Cluster, lead: User, other_lead: User, reviewer: User
) -> None:
    _, deployment = make_hub(cluster, "alices", requester=lead, approver=reviewer)
    assert deployment is not None

    data = api(lead).get("/api/v1/hubs/cloudbank/alices/").json()

    assert data["state"] == "provisioning"
    assert data["revision"]["number"] == 1
    assert data["revision"]["files"] == ["config/clusters/cloudbank/alices.values.yaml"]
    assert data["latest_deployment"]["id"] == deployment.pk
    assert data["latest_deployment"]["state"] == "queued"
    assert "commit_sha" in data["latest_deployment"]
    assert "pr_url" in data["latest_deployment"]
    assert api(other_lead).get("/api/v1/hubs/cloudbank/alices/").status_code == 404
    assert api(lead).get("/api/v1/hubs/cloudbank/nope/").status_code == 404


def test_it_shows_a_deployment_with_its_log(
    cluster: Cluster, lead: User, other_lead: User, reviewer: User
) -> None:
    _, deployment = make_hub(cluster, "alices", requester=lead, approver=reviewer)
    assert deployment is not None

    data = api(lead).get(f"/api/v1/deployments/{deployment.pk}/").json()

    assert data["state"] == "queued"
    assert data["hub"] == "cloudbank/alices"
    assert data["revision"] == 1
    assert {"branch", "commit_sha", "pr_url", "pr_number", "error"} <= set(data)
    assert data["log"][0]["message"] == "Queued apply of r1."
    assert api(other_lead).get(f"/api/v1/deployments/{deployment.pk}/").status_code == 404


def test_it_retries_only_failed_deployments_and_only_for_staff(
    cluster: Cluster, lead: User, reviewer: User
) -> None:
    _, deployment = make_hub(cluster, "alices", requester=lead, approver=reviewer)
    assert deployment is not None
    url = f"/api/v1/deployments/{deployment.pk}/retry/"

    assert api(lead).post(url).status_code == 403
    conflict = api(reviewer).post(url)
    assert conflict.status_code == 409
    assert conflict.json()["state"] == "queued"

    claimed = deployments.claim(deployment.pk, "t")
    assert claimed is not None
    deployments.mark_failed(claimed, "The forge said no.")
    assert api(lead).post(url).status_code == 403
    response = api(reviewer).post(url)

    assert response.status_code == 202
    assert response.json()["state"] == "queued"
    assert Deployment.objects.get(pk=deployment.pk).state == DeploymentState.QUEUED


def test_it_serves_the_deployment_log_partial_to_viewers_only(
    cluster: Cluster, lead: User, other_lead: User, reviewer: User
) -> None:
    _, deployment = make_hub(cluster, "alices", requester=lead, approver=reviewer)
    assert deployment is not None
    url = f"/deployments/{deployment.pk}/log/"

    response = client_for(lead).get(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Queued apply of r1." in body
    assert 'hx-trigger="every 2s"' in body  # still live
    assert client_for(other_lead).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302


def test_it_shows_a_direct_commit_and_its_diff(bare_repo: Path, lead: User, reviewer: User) -> None:
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    _, deployment = make_hub(make_cluster(target), "alices", requester=lead, approver=reviewer)
    assert deployment is not None
    run_deployment.delay(deployment.pk)
    deployment.refresh_from_db()

    response = client_for(lead).get(f"/deployments/{deployment.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert deployment.commit_sha in body
    assert "Succeeded" in body
    assert "alices.values.yaml" in body
    # The diff is escaped: the values file's quotes arrive as entities.
    assert "&quot;Alices Community&quot;" in body
    assert 'hx-trigger="every 2s"' not in body  # finished


def test_the_hub_page_shows_the_live_log_then_the_commit_and_its_diff(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    hub, deployment = make_hub(make_cluster(target), "alices", requester=lead, approver=reviewer)
    assert deployment is not None
    url = hub.get_absolute_url()

    before = client_for(lead).get(url).content.decode()
    assert 'hx-trigger="every 2s"' in before  # queued: the log polls for news

    run_deployment.delay(deployment.pk)
    deployment.refresh_from_db()
    after = client_for(lead).get(url).content.decode()
    assert 'hx-trigger="every 2s"' not in after
    assert deployment.commit_sha[:12] in after
    assert 'id="commit-diff"' in after and "alices.values.yaml" in after
