"""Live pages: one status fragment per page, polled only while work is in progress."""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hubs.models import Hub
from provisioning import deployments, lifecycle
from provisioning.models import Deployment, DeployTarget
from provisioning.tasks import run_deployment
from tests.conftest import client_for, github_spec, live_hub
from tests.provisioning.gitops_fixtures import (
    bare_repo,  # noqa: F401 - fixture
    clones,  # noqa: F401 - fixture
    make_cluster,
    make_hub,
    make_target,
)


def test_the_hub_status_polls_while_deploying_and_stops_when_done(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    hub, deployment = make_hub(make_cluster(target), "alices", requester=lead, approver=reviewer)
    assert deployment is not None
    url = f"/hubs/{hub.cluster.slug}/{hub.name}/status/"

    before = client_for(lead).get(url, HTTP_HX_REQUEST="true").content.decode()
    run_deployment.delay(deployment.pk)
    after = client_for(lead).get(url, HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 2s"' in before and 'data-step="queued" data-state="done"' in before
    assert 'data-step="claimed" data-state="current"' in before
    assert 'hx-trigger="every' not in after  # nothing in progress: no more polling
    assert 'data-state="active"' in after  # the badge, in the same fragment
    assert 'data-step="deployed" data-state="done"' in after
    assert 'id="commit-diff"' in after


def test_the_status_fragments_answer_in_constant_queries(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    target = make_target(bare_repo)
    hub, deployment = make_hub(make_cluster(target), "alices", requester=lead, approver=reviewer)
    assert deployment is not None
    client = client_for(lead)
    urls = [f"/hubs/{hub.cluster.slug}/{hub.name}/status/", f"/deployments/{deployment.pk}/status/"]

    counts = []
    for lines in (1, 200):
        for i in range(lines):
            deployment.add_log(f"line {i}", step="helm", level="output")
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts.append(len(queries))

    assert counts[:2] == counts[2:]  # as many queries with 201 log lines as with 2
    assert max(counts) <= 15


def test_the_request_page_follows_its_hub(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer, active=False)
    assert hub.request is not None
    url = f"/requests/{hub.request.pk}/status/"

    busy = client_for(lead).get(url).content.decode()
    assert 'hx-trigger="every 3s"' in busy and 'id="hub-progress"' in busy
    Hub.objects.filter(pk=hub.pk).update(state="active")
    done = client_for(lead).get(url).content.decode()
    assert "hx-trigger" not in done


def test_a_failure_is_explained_to_the_lead_and_shown_raw_to_staff(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer, active=False)
    deployment = Deployment.objects.get(hub=hub)
    claimed = deployments.claim(deployment.pk, "t")
    assert claimed is not None
    deployments.mark_failed(claimed, "git push failed", detail="fatal: remote hung up: 403")
    url = hub.get_absolute_url()

    lead_page = client_for(lead).get(url).content.decode()
    staff_page = client_for(reviewer).get(url).content.decode()

    assert "Your hub is not running yet." in lead_page
    assert "operators have been told" in lead_page
    assert "fatal: remote hung up" not in lead_page and "git push failed" not in lead_page
    assert "fatal: remote hung up" in staff_page and 'id="deployment-error"' in staff_page
    assert "Retry this deployment" in staff_page and "Retry this deployment" not in lead_page


def test_the_header_names_the_running_revision_not_a_failed_one(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer, active=False)
    first = Deployment.objects.get(hub=hub)
    claimed = deployments.claim(first.pk, "t")
    assert claimed is not None
    deployments.mark_succeeded(claimed)
    hub.refresh_from_db()
    lifecycle.update_hub(hub, github_spec(display_name="A Name That Failed"), by=lead)
    second = Deployment.objects.filter(hub=hub).first()
    assert second is not None and second.pk != first.pk
    deployments.mark_failed(second, "The cluster said no.")

    page = client_for(lead).get(hub.get_absolute_url()).content.decode()

    assert '<h1 class="h3 mb-1" id="hub-title">Berkeley City College</h1>' in page
    assert "Running r1; r2 did not deploy." in page
