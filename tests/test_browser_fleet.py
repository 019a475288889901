"""In a real browser (headless Chromium), issue 12: the approval page asks for the values a
cluster needs for each new hub, and an operator marks a hub's credentials added.

Skips without Chromium outside CI (see tests/test_browser.py).
"""

# The browser fixture comes from tests/test_browser.py; naming it as a parameter shadows it.
# ruff: noqa: F811
from __future__ import annotations

from typing import Any

import pytest

from hubs.models import Cluster, Hub, HubRequest
from hubs.states import DeploymentState, HubState, RequestState
from provisioning import deployments
from provisioning.models import Deployment
from tests.conftest import submitted
from tests.test_browser import browser, sign_in  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

SERVER = {
    "key": "nfs.pv.serverIP",
    "type": "ip",
    "example": "10.100.254.159",
    "why": "each hub has its own NFS server for home directories",
}


@pytest.mark.django_db(transaction=True)
def test_a_reviewer_gives_the_clusters_inputs_on_the_approval_page(
    live_server: Any,
    browser: Any,
    catalog: None,
    lead: Any,
    reviewer: Any,
) -> None:
    cluster = Cluster.objects.get(slug="gcp-us-central1")
    cluster.conventions = {**(cluster.conventions or {}), "inputs": [SERVER]}
    cluster.save()
    request = submitted(lead)
    base = live_server.url

    charlie = sign_in(browser, base, "charlie")
    charlie.goto(f"{base}/requests/{request.pk}/")
    field = charlie.get_by_label("nfs.pv.serverIP")
    assert "its own NFS server" in charlie.locator("#inputs").inner_text()
    assert "10.100.254.159" in charlie.locator("#inputs").inner_text()

    # Refused without it: the key is named with why the cluster needs it; nothing written.
    charlie.get_by_role("button", name="Approve").click()
    charlie.wait_for_selector("text=Not approved: the cluster needs the values marked below.")
    assert "needed by this cluster" in charlie.locator("#inputs").inner_text()
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED and not Hub.objects.exists()

    field = charlie.get_by_label("nfs.pv.serverIP")
    field.fill("10.0.0")
    charlie.get_by_role("button", name="Approve").click()
    charlie.wait_for_selector("text=must be an IP address")
    assert not Hub.objects.exists()

    charlie.get_by_label("nfs.pv.serverIP").fill("10.0.0.5")
    charlie.get_by_role("button", name="Approve").click()
    charlie.wait_for_selector("text=Approved. The hub is being set up.")
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    hub = Hub.objects.get()
    revision = hub.revisions.get(number=1)
    (text,) = revision.files["files"].values()
    assert 'serverIP: "10.0.0.5"' in text


@pytest.mark.django_db(transaction=True)
def test_an_operator_marks_credentials_added_and_the_hub_becomes_active(
    live_server: Any,
    browser: Any,
    catalog: None,
    lead: Any,
    reviewer: Any,
    operator: Any,
) -> None:
    from hubs import actions

    hub = actions.approve_request(submitted(lead), by=reviewer)
    # As if its pull request had merged: the hub waits for its OAuth client.
    Hub.objects.filter(pk=hub.pk).update(state=HubState.PROVISIONING)
    deployment = Deployment.objects.get(hub=hub)
    Deployment.objects.filter(pk=deployment.pk).update(state=DeploymentState.AWAITING_MERGE)
    deployment.refresh_from_db()
    deployments.mark_succeeded(deployment, comment="Merged (webhook).")
    hub.refresh_from_db()
    assert hub.state == HubState.AWAITING_CREDENTIALS
    base = live_server.url

    alice = sign_in(browser, base, "alice")
    alice.goto(f"{base}/hubs/{hub.cluster.slug}/{hub.name}/")
    notice = alice.locator("#credentials").inner_text()
    assert "Waiting for credentials" in notice and "Who acts: the operators" in notice
    assert "enc-bcc.secret.values.yaml" in notice
    assert alice.locator("#mark-credentials").count() == 0
    assert alice.locator("#hub-state").inner_text() == "Waiting for credentials"

    olive = sign_in(browser, base, "olive")
    olive.goto(f"{base}/hubs/{hub.cluster.slug}/{hub.name}/")
    olive.get_by_label("Note (optional)").fill("sops file merged in #12")
    olive.locator("#mark-credentials").click()
    olive.wait_for_selector("text=Credentials marked added; the hub is active.")
    assert olive.locator("#hub-state").inner_text() == "Active"
    assert olive.locator("#credentials").count() == 0
    hub.refresh_from_db()
    assert hub.state == HubState.ACTIVE
    assert HubRequest.objects.get().state == RequestState.APPROVED
