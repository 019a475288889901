"""Issue 12 item 5: secrets the portal cannot write.

A GitOps hub whose login needs an OAuth client or a shared password keeps it
in a sops-encrypted file only the operators can write. Until it is in, the hub
waits for credentials (never shown active): its page and API name the file and
keys and who acts, the pull request carries the same checklist, and an operator
(button, API) or the merged pull request that carried the file marks them added.
"""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from pytest_httpserver import HTTPServer

from hubs import actions
from hubs.models import AuditEvent, Cluster, Hub, HubRevision
from hubs.states import DeploymentState, HubState
from provisioning import credentials, deployments, lifecycle
from provisioning.layout import paths
from provisioning.models import Deployment, PendingCredentials
from provisioning.render.credentials import needed_keys
from provisioning.tasks import run_deployment
from provisioning.web import live
from tests.conftest import api_client, client_for, github_spec, submitted
from tests.provisioning.gitops_fixtures import (
    CLOUDBANK,
    bare_repo,  # noqa: F401 - fixture
    clones,  # noqa: F401 - fixture
    make_cluster,
    make_hub,
    rendered_for,
)
from tests.provisioning.test_forges import FakeGitHub, github_target
from tests.provisioning.test_webhooks import github_event, post_github

GITHUB_KEYS = [
    "jupyterhub.hub.config.GitHubOAuthenticator.client_id",
    "jupyterhub.hub.config.GitHubOAuthenticator.client_secret",
]
SECRET_FILE = "config/clusters/gcp-us-central1/enc-bcc.secret.values.yaml"


# --- the rules, on their own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "chart", "keys"),
    [
        ("github", "basehub", GITHUB_KEYS),
        ("cilogon", "daskhub", [
            "basehub.jupyterhub.hub.config.CILogonOAuthenticator.client_id",
            "basehub.jupyterhub.hub.config.CILogonOAuthenticator.client_secret",
        ]),
        ("shared-password", "basehub", [
            "jupyterhub.hub.config.SharedPasswordAuthenticator.user_password",
        ]),
        ("tmp", "basehub", []),
    ],
)  # fmt: skip
def test_it_names_the_keys_a_login_needs(provider: str, chart: str, keys: list[str]) -> None:
    assert needed_keys(provider, chart) == keys


def test_it_finds_the_secret_file_a_hubs_entry_lists() -> None:
    entry = {"helm_chart_values_files": ["common.values.yaml", "a.values.yaml",
                                         "enc-a.secret.values.yaml"]}  # fmt: skip
    assert paths.secret_files("c", entry) == ["config/clusters/c/enc-a.secret.values.yaml"]
    assert paths.secret_files("c", {"helm_chart_values_files": ["a.values.yaml"]}) == []


@pytest.fixture
def approved(catalog: None, lead: User, reviewer: User) -> Hub:
    return actions.approve_request(submitted(lead), by=reviewer)


def merge(hub: Hub) -> Deployment:
    deployment = hub.deployments.get()
    Deployment.objects.filter(pk=deployment.pk).update(state=DeploymentState.AWAITING_MERGE)
    deployment.refresh_from_db()
    deployments.mark_succeeded(deployment, comment="Merged (webhook).")
    hub.refresh_from_db()
    return deployment


def test_it_records_what_a_gitops_hubs_login_needs_at_approval(approved: Hub) -> None:
    (row,) = PendingCredentials.objects.filter(hub=approved)
    assert row.pending and row.provider == "github"
    assert row.path == SECRET_FILE and row.keys == GITHUB_KEYS
    assert row.revision is not None and row.revision.number == 1
    assert AuditEvent.objects.filter(action="hub.credentials_needed").exists()


def test_it_tells_the_operators_what_to_add(
    catalog: None,
    lead: User,
    reviewer: User,
    operator: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        actions.approve_request(submitted(lead), by=reviewer)
    sent = [m for m in mail.outbox if operator.email in m.to and "login secrets" in m.subject]
    assert len(sent) == 1
    assert SECRET_FILE in sent[0].body and GITHUB_KEYS[1] in sent[0].body


def test_it_never_shows_a_merged_hub_active_while_its_credentials_are_missing(
    approved: Hub,
) -> None:
    deployment = merge(approved)
    assert deployment.state == DeploymentState.SUCCEEDED
    assert approved.state == HubState.AWAITING_CREDENTIALS
    assert deployment.log.filter(step="credentials").exists()


def test_it_becomes_active_once_an_operator_marks_them_added(approved: Hub, operator: User) -> None:
    merge(approved)
    credentials.mark_credentials_added(approved, by=operator, note="sops file in #12")
    approved.refresh_from_db()
    assert approved.state == HubState.ACTIVE
    row = PendingCredentials.objects.get(hub=approved)
    assert row.done_by == operator and row.done_note == "sops file in #12"


def test_it_goes_straight_to_active_when_marked_before_the_merge(
    approved: Hub, operator: User
) -> None:
    credentials.mark_credentials_added(approved, by=operator)
    merge(approved)
    assert approved.state == HubState.ACTIVE


def test_it_refuses_to_mark_twice_or_with_a_bad_note(approved: Hub, operator: User) -> None:
    from hubs.spec import SpecError

    with pytest.raises(SpecError) as info:
        credentials.mark_credentials_added(approved, by=operator, note="two\nlines")
    assert "note" in info.value.errors
    credentials.mark_credentials_added(approved, by=operator)
    with pytest.raises(SpecError):
        credentials.mark_credentials_added(approved, by=operator)


def test_it_becomes_active_at_once_when_nothing_is_pending(approved: Hub) -> None:
    PendingCredentials.objects.filter(hub=approved).delete()  # as if its file were in
    merge(approved)
    assert approved.state == HubState.ACTIVE


def test_it_asks_nothing_of_a_helm_hub(helm_cluster: Cluster, lead: User, reviewer: User) -> None:
    hub = actions.approve_request(submitted(lead, cluster=helm_cluster.slug), by=reviewer)
    assert not PendingCredentials.objects.filter(hub=hub).exists()


def test_it_keeps_added_credentials_through_a_change_and_asks_again_for_another_provider(
    approved: Hub, operator: User, lead: User
) -> None:
    merge(approved)
    credentials.mark_credentials_added(approved, by=operator)
    approved.refresh_from_db()
    lifecycle.update_hub(approved, github_spec(expected_users=41), by=lead)
    assert not PendingCredentials.objects.filter(hub=approved, done_at__isnull=True).exists()
    Hub.objects.filter(pk=approved.pk).update(state=HubState.ACTIVE)
    approved.refresh_from_db()
    google = {"provider": "google", "google": {"hosted_domains": ["bcc.example.edu"]}}
    lifecycle.update_hub(
        approved,
        github_spec(auth=google, admins=["a@bcc.example.edu"], allowed_users=[]),
        by=lead,
    )
    (row,) = PendingCredentials.objects.filter(hub=approved, done_at__isnull=True)
    assert row.keys[0].endswith("GoogleOAuthenticator.client_id")


def test_it_shows_the_step_in_the_deployments_step_list(approved: Hub, operator: User) -> None:
    deployment = merge(approved)
    view = live.deployment_view(operator, deployment, running=None)
    step = view["steps"][-1]
    assert step.key == "credentials" and step.state == "current"
    assert SECRET_FILE in step.note
    credentials.mark_credentials_added(approved, by=operator)
    step = live.deployment_view(operator, deployment, running=None)["steps"][-1]
    assert step.state == "done"


# --- the page and the API -------------------------------------------------------------


def hub_url(hub: Hub) -> str:
    return f"/hubs/{hub.cluster.slug}/{hub.name}/"


def test_it_shows_what_is_pending_and_who_acts_on_the_hub_page(
    approved: Hub, lead: User, operator: User
) -> None:
    merge(approved)
    page = client_for(lead).get(hub_url(approved)).content.decode()
    assert "Waiting for credentials" in page and "Who acts: the operators" in page
    assert SECRET_FILE in page and GITHUB_KEYS[0] in page
    assert "mark-credentials" not in page
    assert "mark-credentials" in client_for(operator).get(hub_url(approved)).content.decode()
    fragment = client_for(lead).get(hub_url(approved) + "status/").content.decode()
    assert "Waiting for credentials" in fragment
    # The lead's open page keeps asking (slowly), so it turns active when the operators act.
    assert 'hx-trigger="every 10s"' in fragment


def test_it_lets_only_operators_mark_them_on_the_page(
    approved: Hub, lead: User, reviewer: User, operator: User
) -> None:
    merge(approved)
    for who in (lead, reviewer):
        assert client_for(who).post(hub_url(approved) + "credentials/").status_code == 403
    response = client_for(operator).post(hub_url(approved) + "credentials/", {"note": "done"})
    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.state == HubState.ACTIVE
    again = client_for(operator).post(hub_url(approved) + "credentials/", follow=True)
    assert "nothing is waiting for credentials" in again.content.decode()


def test_it_says_waiting_for_credentials_in_the_api(
    approved: Hub, lead: User, operator: User
) -> None:
    merge(approved)
    url = f"/api/v1{hub_url(approved)}"
    detail = api_client(lead).get(url).json()
    assert detail["state"] == "awaiting_credentials"
    (row,) = detail["credentials"]
    assert row["file"] == SECRET_FILE and row["keys"] == GITHUB_KEYS
    assert row["pending"] is True and row["who_acts"] == "operators"
    listing = api_client(lead).get(url + "credentials/").json()
    assert listing["waiting_for_credentials"] is True
    refused = api_client(lead).post(url + "credentials/", {}, format="json")
    assert refused.status_code == 403
    bad = api_client(operator).post(url + "credentials/", {"note": 5, "x": 1}, format="json")
    assert bad.status_code == 400
    done = api_client(operator).post(url + "credentials/", {"note": "in"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "active"
    assert done.json()["credentials"][0]["done_by"] == "olive"
    twice = api_client(operator).post(url + "credentials/", {}, format="json")
    assert twice.status_code == 400


# --- the pull request and the merge ------------------------------------------------------


@pytest.fixture
def proposed(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> tuple[FakeGitHub, Hub, Deployment]:
    """A GitHub-login hub on a GitOps cluster, its pull request #1 open on a local GitHub."""
    fake = FakeGitHub(httpserver)
    target = github_target(bare_repo, httpserver)
    target.webhook_secret = "webhook-secret-for-tests"
    target.save()
    cluster = make_cluster(target)
    rendered = rendered_for("newhub")
    assert rendered.cluster_entry is not None
    rendered.cluster_entry["helm_chart_values_files"].append("enc-newhub.secret.values.yaml")
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer,
                               rendered=rendered, queue=False)  # fmt: skip
    revision = HubRevision.objects.get(hub=hub, number=1)
    HubRevision.objects.filter(pk=revision.pk).update(
        spec={"name": "newhub", "auth": {"provider": "github"}}
    )
    revision.refresh_from_db()
    credentials.note_credentials(hub, revision)
    deployment = lifecycle.queue_deployment(hub, revision, by=reviewer)
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"
    deployment.refresh_from_db()
    return fake, hub, deployment


def test_it_puts_the_checklist_in_the_pull_request(
    proposed: tuple[FakeGitHub, Hub, Deployment],
) -> None:
    fake, _, _ = proposed
    body = fake.pulls[0]["body"]
    assert "Waiting for credentials" in body
    assert f"`config/clusters/{CLOUDBANK}/enc-newhub.secret.values.yaml`" in body
    assert f"- [ ] `{GITHUB_KEYS[0]}`" in body and f"- [ ] `{GITHUB_KEYS[1]}`" in body


def test_it_waits_for_credentials_after_a_merge_without_the_file_then_ends_active(
    proposed: tuple[FakeGitHub, Hub, Deployment], operator: User
) -> None:
    fake, hub, deployment = proposed
    fake.files[1] = [f"config/clusters/{CLOUDBANK}/newhub.values.yaml"]
    assert post_github(deployment, github_event(merged=True, branch=deployment.branch,
                                                number=1)).status_code == 200  # fmt: skip
    hub.refresh_from_db()
    assert hub.state == HubState.AWAITING_CREDENTIALS
    done = api_client(operator).post(
        f"/api/v1/hubs/{CLOUDBANK}/newhub/credentials/", {}, format="json"
    )
    assert done.status_code == 200 and done.json()["state"] == "active"


def test_it_marks_them_added_when_the_merged_pull_request_carried_the_file(
    proposed: tuple[FakeGitHub, Hub, Deployment],
) -> None:
    fake, hub, deployment = proposed
    secret = f"config/clusters/{CLOUDBANK}/enc-newhub.secret.values.yaml"
    fake.files[1] = [f"config/clusters/{CLOUDBANK}/newhub.values.yaml", secret]
    response = post_github(deployment, github_event(merged=True, branch=deployment.branch,
                                                    number=1))  # fmt: skip
    assert response.status_code == 200
    hub.refresh_from_db()
    assert hub.state == HubState.ACTIVE
    row = PendingCredentials.objects.get(hub=hub)
    assert row.done_note == "added in pull request #1" and row.done_by is None


def test_it_lists_hubs_waiting_for_credentials_for_the_operators(
    approved: Hub, operator: User
) -> None:
    merge(approved)
    page = client_for(operator).get("/operations/").content.decode()
    assert 'id="waiting-credentials"' in page and "gcp-us-central1/bcc" in page


def test_it_takes_an_imported_hubs_secret_file_as_there(
    tmp_path: Path, catalog: None, lead: User
) -> None:
    import shutil

    from provisioning.fleet.importer import import_checkout
    from provisioning.layout.paths import CLUSTERS_DIR
    from tests.provisioning.test_import import EXAMPLES

    if not (EXAMPLES / "cloudbank" / "cluster.yaml").exists():
        pytest.skip(f"{EXAMPLES} is missing")
    shutil.copytree(EXAMPLES / "cloudbank", tmp_path / CLUSTERS_DIR / "cloudbank")
    import_checkout(tmp_path)
    hub = Hub.objects.get(name="bcc")
    revision = HubRevision.objects.get(hub=hub, number=1)
    entry = revision.files["cluster_entry"]
    if not paths.secret_files("cloudbank", entry):
        pytest.skip("bcc lists no encrypted file upstream")
    provider = str((revision.spec.get("auth") or {}).get("provider") or "cilogon")
    HubRevision.objects.filter(pk=revision.pk).update(
        spec={**revision.spec, "auth": {**(revision.spec.get("auth") or {}), "provider": provider}}
    )
    revision.refresh_from_db()
    row = credentials.note_credentials(hub, revision)
    if row is not None:  # a login with a secret: taken as there, never pending
        assert not row.pending and "imported" in row.done_note
    assert not credentials.pending_credentials(hub.pk)
