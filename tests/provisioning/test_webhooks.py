"""Forge webhooks: signed deliveries finish deployments; anything else changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from hubs.models import AuditEvent, Hub
from hubs.states import DeploymentState, HubState
from provisioning.models import Deployment, DeployTarget
from tests.provisioning.gitops_fixtures import make_cluster, make_hub, make_target

SECRET = "webhook-secret-for-tests"
BRANCH = "hub/cloudbank/newhub/r1"


@pytest.fixture
def waiting(db: None, tmp_path: Path, lead: User, reviewer: User) -> Deployment:
    """A deployment whose pull request #7 is open."""
    target = make_target(
        tmp_path / "repo.git",
        forge=DeployTarget.Forge.GITHUB,
        forge_repository="example-org/infrastructure",
        token="t",
        webhook_secret=SECRET,
    )
    _, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    Deployment.objects.filter(pk=deployment.pk).update(
        state=DeploymentState.AWAITING_MERGE, branch=BRANCH, pr_number=7, commit_sha="a" * 40
    )
    deployment.refresh_from_db()
    return deployment


def github_event(merged: bool, *, branch: str = BRANCH, number: int = 7) -> dict[str, Any]:
    return {
        "action": "closed",
        "number": number,
        "pull_request": {
            "number": number,
            "state": "closed",
            "merged": merged,
            "head": {"ref": branch},
            "base": {"ref": "main"},
        },
        "repository": {"full_name": "example-org/infrastructure"},
    }


def post_github(deployment: Deployment, payload: dict[str, Any], *, secret: str = SECRET,
                signature: str | None = None, event: str = "pull_request") -> Any:  # fmt: skip
    body = json.dumps(payload).encode()
    headers: dict[str, Any] = {"HTTP_X_GITHUB_EVENT": event}
    if signature is None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signature:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    target = deployment.hub.cluster.deploy_target
    assert target is not None
    return Client().post(
        f"/webhooks/github/{target.pk}/", body, content_type="application/json", **headers
    )


def test_it_finishes_a_deployment_when_its_pull_request_merges(waiting: Deployment) -> None:
    response = post_github(waiting, github_event(merged=True))

    assert response.status_code == 200
    assert response.json()["updated"] == 1
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.SUCCEEDED
    assert Hub.objects.get(pk=waiting.hub_id).state == HubState.ACTIVE
    assert AuditEvent.objects.filter(action="deployment.succeeded").count() == 1


def test_it_fails_a_deployment_whose_pull_request_closed_unmerged(waiting: Deployment) -> None:
    response = post_github(waiting, github_event(merged=False))

    assert response.status_code == 200
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.FAILED
    assert "pull request #7 was closed without merging" in waiting.error
    assert Hub.objects.get(pk=waiting.hub_id).state == HubState.FAILED


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", "not-a-signature"],
    ids=["missing", "wrong", "sha1", "garbage"],
)
def test_it_refuses_a_bad_github_signature(waiting: Deployment, signature: str) -> None:
    response = post_github(waiting, github_event(merged=True), signature=signature)

    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.AWAITING_MERGE
    assert Hub.objects.get(pk=waiting.hub_id).state == HubState.PROVISIONING


def test_it_refuses_a_signature_made_with_another_secret(waiting: Deployment) -> None:
    response = post_github(waiting, github_event(merged=True), secret="someone-elses")

    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.AWAITING_MERGE


def test_it_refuses_everything_when_the_target_has_no_secret(waiting: Deployment) -> None:
    target = waiting.hub.cluster.deploy_target
    assert target is not None
    DeployTarget.objects.filter(pk=target.pk).update(webhook_secret="")
    response = post_github(waiting, github_event(merged=True), secret="")

    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.AWAITING_MERGE


def test_it_ignores_other_events_branches_and_repositories(waiting: Deployment) -> None:
    assert post_github(waiting, {"zen": "hi"}, event="ping").json()["detail"] == "pong"
    opened = {**github_event(merged=False), "action": "opened"}
    assert post_github(waiting, opened).json()["updated"] == 0
    other_branch = github_event(merged=True, branch="hub/cloudbank/other/r1")
    assert post_github(waiting, other_branch).json()["updated"] == 0
    other_repo = {**github_event(merged=True), "repository": {"full_name": "evil/infra"}}
    assert post_github(waiting, other_repo).json()["updated"] == 0
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.AWAITING_MERGE


def test_it_finishes_once_when_the_delivery_repeats(waiting: Deployment) -> None:
    assert post_github(waiting, github_event(merged=True)).json()["updated"] == 1
    assert post_github(waiting, github_event(merged=True)).json()["updated"] == 0
    assert AuditEvent.objects.filter(action="deployment.succeeded").count() == 1


def post_gitlab(deployment: Deployment, state: str, token: str | None) -> Any:
    payload = {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "project": {"path_with_namespace": "example-org/infrastructure"},
        "object_attributes": {
            "iid": 7,
            "state": state,
            "action": "merge" if state == "merged" else "close",
            "source_branch": BRANCH,
            "target_branch": "main",
        },
    }
    headers: dict[str, Any] = {"HTTP_X_GITLAB_EVENT": "Merge Request Hook"}
    if token is not None:
        headers["HTTP_X_GITLAB_TOKEN"] = token
    target = deployment.hub.cluster.deploy_target
    assert target is not None
    return Client().post(
        f"/webhooks/gitlab/{target.pk}/",
        json.dumps(payload),
        content_type="application/json",
        **headers,
    )


def test_it_takes_gitlab_merges_with_the_right_token(waiting: Deployment) -> None:
    target = waiting.hub.cluster.deploy_target
    assert target is not None
    DeployTarget.objects.filter(pk=target.pk).update(forge=DeployTarget.Forge.GITLAB)
    assert post_gitlab(waiting, "merged", token=None).status_code == 403
    assert post_gitlab(waiting, "merged", token="wrong").status_code == 403
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.AWAITING_MERGE

    response = post_gitlab(waiting, "merged", token=SECRET)

    assert response.status_code == 200
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.SUCCEEDED


def test_it_fails_on_a_gitlab_merge_request_closed_unmerged(waiting: Deployment) -> None:
    response = post_gitlab(waiting, "closed", token=SECRET)

    assert response.status_code == 200
    waiting.refresh_from_db()
    assert waiting.state == DeploymentState.FAILED
    assert "closed without merging" in waiting.error


def test_it_only_accepts_post(waiting: Deployment) -> None:
    target = waiting.hub.cluster.deploy_target
    assert target is not None
    assert Client().get(f"/webhooks/github/{target.pk}/").status_code == 405
