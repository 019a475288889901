"""In a real browser (headless Chromium): a hub's members and admins.

A lead pastes names, checks the preview, confirms and deploys, and sees the new
revision's deployment; then invites an admin by email, who accepts and manages
members. Like tests/test_browser.py: skipped without Chromium, failed under CI=1.
"""

# The fixtures come from tests/test_browser.py; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

import re

import pytest
from django.core import mail

from hubs.models import Hub
from tests.conftest import live_hub
from tests.test_browser import browser, sign_in  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_lead_pastes_members_and_deploys_them(live_server, browser, catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol"])
    base = live_server.url

    alice = sign_in(browser, base, "alice")
    alice.goto(f"{base}{hub.get_absolute_url()}")
    alice.get_by_role("link", name="Members").click()
    alice.get_by_label("Usernames").fill("@Dave, carol; erin\nnot/valid")
    alice.locator("#paste-form").get_by_role("button", name="Preview").click()
    counts = alice.locator("#preview-counts").inner_text()
    assert "2 to add" in counts and "1 already present" in counts and "1 invalid" in counts
    assert "not a GitHub username" in alice.locator("#preview-invalid").inner_text()
    alice.get_by_role("button", name="Confirm").click()
    assert "allowlist: +2" in alice.locator("#pending").inner_text()

    alice.get_by_role("link", name="Save and deploy").click()
    assert "dave" in alice.locator("#gain-access").inner_text()
    alice.get_by_role("button", name="Save and deploy").click()
    alice.wait_for_url(f"{base}{hub.get_absolute_url()}")

    latest = alice.locator("#deployments tbody tr").first.inner_text()
    assert "r2" in latest  # the new revision's deployment (it fails here: no deploy target)
    assert "allowlist: +2" in alice.locator("#revisions").inner_text()
    assert Hub.objects.get(pk=hub.pk).spec["allowed_users"] == ["carol", "dave", "erin"]


@pytest.mark.django_db(transaction=True)
def test_an_invited_admin_accepts_and_manages_members(
    live_server, browser, catalog, lead, reviewer, hub_admin
):
    hub = live_hub(lead, reviewer)
    base = live_server.url
    members = f"{base}/hubs/{hub.cluster.slug}/{hub.name}/members/"

    alice = sign_in(browser, base, "alice")
    alice.goto(members)
    alice.get_by_label("Invite by email").fill("hana@example.org")
    alice.get_by_role("button", name="Invite").click()
    assert "Invitation sent to hana@example.org" in alice.content()
    (message,) = [m for m in mail.outbox if "invited" in m.subject]
    link = re.search(r"https?://\S+/invitations/\S+/", str(message.body))
    assert link is not None

    hana = sign_in(browser, base, "hana")
    # The email's link is on PORTAL_BASE_URL; the live server listens elsewhere.
    hana.goto(base + "/invitations/" + link.group(0).split("/invitations/", 1)[1])
    hana.get_by_role("button", name="Accept").click()
    hana.wait_for_url(members)
    hana.get_by_label("Username", exact=True).fill("zoe")
    hana.locator("#add-one").get_by_role("button", name="Add").click()
    assert "1 to add" in hana.content()
    assert "zoe" in hana.locator("#members").inner_text()
    assert "hana" in hana.locator("#portal-admins").inner_text()
