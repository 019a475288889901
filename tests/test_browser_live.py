"""In a real browser: the status updates itself after approval, the request form's
Preview step, and the confirmation (with its diff) before a rollback.

Like tests/test_browser.py: needs Debian's chromium; skips without it outside
CI, fails under CI=1.
"""

# Fixtures come from gitops_fixtures and test_browser; naming them as parameters shadows them.
# ruff: noqa: F811
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from hubs import actions
from hubs.models import Hub, HubRequest, Offering
from hubs.states import HubState
from provisioning import deployments, lifecycle
from provisioning.models import Deployment, DeployTarget
from tests.conftest import github_spec, submitted
from tests.provisioning.gitops_fixtures import (
    bare_repo,  # noqa: F401 - fixture
    clones,  # noqa: F401 - fixture
    make_cluster,
    make_target,
)
from tests.test_browser import browser, sign_in  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_status_updates_without_a_reload_after_approval(
    live_server: Any, browser: Any, bare_repo: Path, catalog: None, lead: User, reviewer: User
) -> None:
    # Push-only: approval deploys at once up to the pushed branch, which then
    # waits to be merged by hand (here: by the test, as the forge webhook would).
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.PULL_REQUEST)
    cluster = make_cluster(target)
    Offering.objects.get(slug="education").clusters.add(cluster)
    request = submitted(lead, cluster=cluster.slug)
    base = live_server.url

    charlie = sign_in(browser, base, "charlie")
    charlie.goto(f"{base}{request.get_absolute_url()}")
    charlie.get_by_label("Comment to the requester").fill("Welcome aboard!")
    charlie.get_by_role("button", name="Approve").click()
    charlie.wait_for_selector("text=Approved. The hub is being set up.")
    hub_state = charlie.locator("#hub-summary [data-state]").first
    assert hub_state.inner_text() == "Provisioning"
    assert charlie.locator('[data-step="pushed"]').get_attribute("data-state") == "done"

    deployment = Deployment.objects.get(hub__request=request)
    assert deployment.state == "awaiting_merge"
    deployments.mark_succeeded(deployment, comment="Merged.")

    # No reload: the fragment polls and swaps itself in. A GitHub login on a GitOps
    # cluster waits for the operators' encrypted file (#12): deployed, not yet active.
    charlie.wait_for_function(
        "() => document.querySelector('#hub-summary [data-state]').dataset.state"
        " === 'awaiting_credentials'",
        timeout=15_000,
    )
    assert charlie.locator('[data-step="merged"]').get_attribute("data-state") == "done"
    assert charlie.locator('[data-step="credentials"]').get_attribute("data-state") == "current"
    # Nothing is in progress any more: the fragment stopped polling.
    assert charlie.locator("#request-status").get_attribute("hx-trigger") is None
    polls: list[str] = []
    charlie.on("request", lambda r: polls.append(r.url) if "/status/" in r.url else None)
    time.sleep(4)
    assert polls == []


@pytest.mark.django_db(transaction=True)
def test_a_lead_previews_then_submits(
    live_server: Any, browser: Any, catalog: None, lead: User
) -> None:
    base = live_server.url
    alice = sign_in(browser, base, "alice")
    alice.goto(f"{base}/requests/new/")
    alice.get_by_label("Community name").fill("Berkeley City College")
    alice.get_by_label("Hub name").fill("bcc")
    alice.get_by_label("Display name").fill("BCC Data Science")
    alice.get_by_label("Purpose").select_option("education")
    alice.locator("#id_offering_education").check()
    alice.get_by_label("Cluster", exact=True).select_option("gcp-us-central1")
    alice.get_by_label("Expected users").fill("0")
    alice.get_by_label("How people log in").select_option("github")
    alice.get_by_label("GitHub organisations").fill("bcc-org")
    alice.get_by_label("Hub admins").fill("alice-gh")

    alice.get_by_role("button", name="Preview", exact=True).click()
    assert "Must be at least 1" in alice.locator("#group-expected_users").inner_text()
    alice.get_by_label("Expected users").fill("40")
    assert "For 40 users: $6.25 per user a month" in alice.locator("#tier-cards").inner_text()
    alice.get_by_role("button", name="Preview", exact=True).click()

    panel = alice.locator("#request-preview")
    assert "Everything checks out" in panel.inner_text()
    assert "config/clusters/gcp-us-central1/bcc.values.yaml" in panel.inner_text()
    assert "members of the GitHub organisation bcc-org" in panel.inner_text()
    assert not HubRequest.objects.exists()
    panel.get_by_role("button", name="Submit for review").click()
    alice.wait_for_url(f"{base}/requests/*/")
    assert alice.locator("#request-state").inner_text() == "Waiting for review"
    assert HubRequest.objects.get().state == "submitted"


@pytest.mark.django_db(transaction=True)
def test_a_rollback_shows_its_diff_before_it_deploys(
    live_server: Any, browser: Any, catalog: None, lead: User, reviewer: User
) -> None:
    hub = actions.approve_request(submitted(lead), by=reviewer)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    hub.refresh_from_db()
    lifecycle.update_hub(
        hub,
        github_spec(
            auth={"provider": "github", "github": {"organizations": ["bcc-org", "new-org"]}}
        ),
        by=lead,
    )
    # (No deploy target here: its deployments fail at once; the hub is set active by hand.)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    hub.refresh_from_db()
    base = live_server.url

    alice = sign_in(browser, base, "alice")
    alice.goto(f"{base}{hub.get_absolute_url()}")
    alice.get_by_role("link", name="roll back to r1").click()
    alice.wait_for_url("**/rollback/?revision=1")
    assert "members of the GitHub organisation new-org" in alice.locator("#access").inner_text()
    assert "new-org" in alice.locator("#files").inner_text()
    hub.refresh_from_db()
    assert hub.current_revision == 2  # the link changed nothing
    alice.get_by_role("button", name="Roll back to r1").click()
    alice.wait_for_url(f"{base}{hub.get_absolute_url()}")
    hub.refresh_from_db()
    assert hub.current_revision == 3
    assert hub.revisions.get(number=3).reason == "rollback to r1"
