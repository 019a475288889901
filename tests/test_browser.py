"""In a real browser (headless Chromium): a lead asks for a hub, a reviewer approves it.

Needs Debian's chromium (`.ci/run` installs it). Outside CI the test skips
when the browser is missing; under CI=1 it fails instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from hubs.models import HubRequest
from hubs.states import RequestState
from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("CI") == "1":
            pytest.fail(f"{CHROMIUM} is required under CI=1 (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium to run this test")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield browser
            browser.close()
            # The test's ORM calls ran in Playwright's context and opened their own
            # connection there; close it, or the test database cannot be dropped.
            connections.close_all()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Login").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{base}/")
    return page


@pytest.mark.django_db(transaction=True)
def test_a_lead_requests_and_a_reviewer_approves(live_server, browser, catalog, lead, reviewer):
    base = live_server.url

    alice = sign_in(browser, base, "alice")
    alice.get_by_role("link", name="Request your first hub").click()
    alice.get_by_label("Community name").fill("Berkeley City College")
    alice.get_by_label("Hub name").fill("bcc")
    alice.get_by_label("Display name").fill("BCC Data Science")
    alice.get_by_label("Purpose").select_option("education")
    alice.locator("#id_offering_education").check()  # a tier card
    alice.get_by_label("Cluster", exact=True).select_option("gcp-us-central1")
    alice.get_by_label("Expected users").fill("40")
    alice.get_by_label("How people log in").select_option("github")
    # The page script shows the GitHub fields once GitHub is chosen.
    alice.get_by_label("GitHub organisations").fill("bcc-org\nbcc-org:staff")
    alice.get_by_label("Hub admins").fill("alice-gh")
    alice.get_by_label("User image").select_option("scipy-notebook")
    alice.get_by_role("button", name="Submit for review").click()
    alice.wait_for_url(f"{base}/requests/*/")
    assert alice.locator("#request-state").inner_text() == "Waiting for review"
    request = HubRequest.objects.get()
    assert request.state == RequestState.SUBMITTED

    charlie = sign_in(browser, base, "charlie")
    charlie.get_by_role("link", name="Review queue").click()
    charlie.get_by_role("link", name="BCC Data Science").click()
    charlie.get_by_label("Comment to the requester").fill("Welcome aboard!")
    charlie.get_by_role("button", name="Approve").click()
    charlie.wait_for_selector("text=Approved. The hub is being set up.")

    alice.reload()
    assert alice.locator("#request-state").inner_text() == "Approved"
    assert "Welcome aboard!" in alice.locator("#history").inner_text()
    alice.get_by_role("link", name="Open hub page").click()
    assert alice.locator("h1").inner_text() == "BCC Data Science"
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED


WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.mark.django_db(transaction=True)
def test_it_loads_pages_without_content_security_policy_violations(
    live_server, browser, catalog, lead, reviewer
):
    from hubs.actions import approve_request, create_request
    from tests.conftest import github_spec

    request = create_request(lead, github_spec(name="waiting"), submit=True)
    hub = approve_request(create_request(lead, github_spec(), submit=True), by=reviewer)
    base = live_server.url
    page = sign_in(browser, base, "alice")
    page.add_init_script(WATCH_CSP)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    hub_page = f"/hubs/{hub.cluster.slug}/{hub.name}/"
    deployment = hub.deployments.get()
    for path in [
        "/", "/requests/new/", f"/requests/{request.pk}/", "/hubs/", hub_page,
        f"{hub_page}change/", "/profile/", f"/deployments/{deployment.pk}/",
    ]:  # fmt: skip
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        # The request form's script runs (it shows the GitHub fields): scripts load.
        violations = page.evaluate("window.__csp")
        assert violations == [], (path, violations)
    # The Content-Security-Policy header is there, and nothing was refused.
    assert not [line for line in console if "Content Security Policy" in line], console
    response = page.goto(f"{base}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
