"""Issue 12 item 6: "active" means deployed.

A GitOps hub is active once its pull request merged (webhook or poll) and,
where its cluster names where hubs answer, /hub/health answered 200; until then
its page shows which step is pending. A newer revision's pull request closes the
older one still open, with a comment linking the new one.
"""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Response

from hubs.models import Hub, HubRevision
from hubs.states import DeploymentState, HubState
from provisioning import deployments, lifecycle
from provisioning.models import Deployment
from provisioning.tasks import poll_pull_requests, run_deployment
from provisioning.web import live
from tests.conftest import client_for
from tests.provisioning.gitops_fixtures import (
    CLOUDBANK,
    bare_repo,  # noqa: F401 - fixture
    clones,  # noqa: F401 - fixture
    make_cluster,
    make_hub,
    rendered_for,
)
from tests.provisioning.test_forges import FakeGitHub, FakeGitLab, github_target, gitlab_target
from tests.provisioning.test_webhooks import github_event, post_github


class Health:
    """The hub's /hub/health on the local server: 503 until told to answer."""

    def __init__(self, server: HTTPServer) -> None:
        self.status = 503
        self.calls = 0
        server.expect_request("/newhub/hub/health").respond_with_handler(self.answer)

    def answer(self, request: Any) -> Response:
        self.calls += 1
        return Response("{}", status=self.status, content_type="application/json")


@pytest.fixture
def proposed(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> tuple[FakeGitHub, Health, Hub, Deployment]:
    fake = FakeGitHub(httpserver)
    health = Health(httpserver)
    target = github_target(bare_repo, httpserver)
    target.webhook_secret = "webhook-secret-for-tests"
    target.save()
    cluster = make_cluster(target)
    cluster.hub_url_template = httpserver.url_for("/") + "{hub}"
    cluster.wait_for_health = True
    cluster.save()
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"
    deployment.refresh_from_db()
    return fake, health, hub, deployment


def merged_by_webhook(deployment: Deployment) -> None:
    event = github_event(merged=True, branch=deployment.branch, number=deployment.pr_number or 0)
    assert post_github(deployment, event).status_code == 200
    deployment.refresh_from_db()


def test_it_waits_for_the_hub_to_answer_after_the_merge(
    proposed: tuple[FakeGitHub, Health, Hub, Deployment], lead: User, operator: User
) -> None:
    _, health, hub, deployment = proposed
    merged_by_webhook(deployment)
    assert deployment.state == DeploymentState.AWAITING_HEALTH
    hub.refresh_from_db()
    assert hub.state == HubState.PROVISIONING
    steps = {s.key: s.state for s in live.deployment_view(lead, deployment, running=None)["steps"]}
    assert steps["merged"] == "done" and steps["answering"] == "current"
    page = client_for(lead).get(f"/hubs/{CLOUDBANK}/newhub/status/").content.decode()
    assert 'data-step="answering" data-state="current"' in page
    assert "Waiting for the hub to answer" in page

    assert poll_pull_requests.delay().get() == 0  # 503: still waiting
    assert health.calls == 1
    health.status = 200
    assert poll_pull_requests.delay().get() == 1
    deployment.refresh_from_db()
    hub.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED
    assert hub.state == HubState.ACTIVE
    steps = {s.key: s.state for s in live.deployment_view(lead, deployment, running=None)["steps"]}
    assert steps["answering"] == "done"


def test_it_fails_a_merged_hub_that_never_answers(
    proposed: tuple[FakeGitHub, Health, Hub, Deployment], settings: Any
) -> None:
    _, _, hub, deployment = proposed
    merged_by_webhook(deployment)
    settings.PORTAL_GITOPS_HEALTH_TIMEOUT = 60
    later = timezone.now() + dt.timedelta(minutes=5)
    assert deployments.check_health(deployment, now=later) == "failed"
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert "did not answer 200 within 1 minutes (answered 503)" in deployment.error
    hub.refresh_from_db()
    assert hub.state == HubState.FAILED


def test_it_is_active_at_the_merge_without_a_health_url(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    FakeGitHub(httpserver)
    target = github_target(bare_repo, httpserver)
    target.webhook_secret = "webhook-secret-for-tests"
    target.save()
    hub, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    run_deployment.delay(deployment.pk).get()
    deployment.refresh_from_db()
    merged_by_webhook(deployment)
    assert deployment.state == DeploymentState.SUCCEEDED
    hub.refresh_from_db()
    assert hub.state == HubState.ACTIVE


def second_revision(hub: Hub, by: User) -> Deployment:
    rendered = rendered_for("newhub", extra="        scope: [read:org]\n")
    revision = HubRevision.objects.create(
        hub=hub, number=2, spec={"name": "newhub"}, files=rendered.to_json(), author=by,
        reason="edited",
    )  # fmt: skip
    Hub.objects.filter(pk=hub.pk).update(current_revision=2)
    return lifecycle.queue_deployment(hub, revision, by=by)


def test_it_closes_an_older_revisions_pull_request_when_a_newer_one_opens(
    proposed: tuple[FakeGitHub, Health, Hub, Deployment], reviewer: User
) -> None:
    fake, _, hub, first = proposed
    second = second_revision(hub, reviewer)
    assert run_deployment.delay(second.pk).get() == "awaiting_merge"
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.pr_number == 2
    assert first.state == DeploymentState.SUPERSEDED
    assert fake.pulls[0]["state"] == "closed" and fake.pulls[1]["state"] == "open"
    [(number, comment)] = fake.comments
    assert number == 1 and second.pr_url in comment and "r2" in comment
    assert first.log.filter(step="superseded").exists()


def test_it_closes_an_older_gitlab_merge_request_too(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    fake = FakeGitLab(httpserver)
    hub, first = make_hub(make_cluster(gitlab_target(bare_repo, httpserver)), "newhub",
                          requester=lead, approver=reviewer)  # fmt: skip
    assert first is not None
    run_deployment.delay(first.pk).get()
    second = second_revision(hub, reviewer)
    run_deployment.delay(second.pk).get()
    second.refresh_from_db()
    first.refresh_from_db()
    assert first.state == DeploymentState.SUPERSEDED
    assert fake.requests[0]["state"] == "closed"
    [(iid, note)] = fake.notes
    assert iid == 1 and second.pr_url in note


def test_it_waits_for_the_hub_after_a_direct_commit_too(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    from provisioning.models import DeployTarget
    from tests.provisioning.gitops_fixtures import make_target

    health = Health(httpserver)
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    cluster = make_cluster(target)
    cluster.hub_url_template = httpserver.url_for("/") + "{hub}"
    cluster.wait_for_health = True
    cluster.save()
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    assert run_deployment.delay(deployment.pk).get() == DeploymentState.AWAITING_HEALTH
    steps = {s.key: s.state for s in live.deployment_view(lead, deployment, running=None)["steps"]}
    assert steps["deployed"] == "done" and steps["answering"] == "current"
    health.status = 200
    assert poll_pull_requests.delay().get() == 1
    hub.refresh_from_db()
    assert hub.state == HubState.ACTIVE
