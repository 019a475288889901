"""In a real browser (headless Chromium): a hub page's monitoring charts draw, from
npm's Chart.js and the page's json_script data, with no Content-Security-Policy error."""

# The browser fixture comes from test_browser; naming it as a parameter shadows it.
# ruff: noqa: F811
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from monitoring import health
from monitoring.models import HealthDay, UsageDay
from tests.conftest import live_hub
from tests.test_browser import browser, sign_in  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_hub_page_draws_its_charts(
    live_server: Any, browser: Any, catalog: None, lead: Any, reviewer: Any, operator: Any
) -> None:
    hub = live_hub(lead, reviewer)
    health.ensure_monitors()
    today = timezone.now().astimezone(dt.UTC).date()
    for n in range(30):
        day = today - dt.timedelta(days=n)
        UsageDay.objects.create(hub=hub, day=day, active_users=20 + n % 7, peak_servers=5)
        HealthDay.objects.create(hub=hub, day=day, checks_total=1440, failures_total=n % 3)

    page = sign_in(browser, live_server.url, "alice")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}{hub.get_absolute_url()}")
    page.wait_for_function(
        "() => ['usage-chart', 'uptime-chart'].every(id => {"
        "  const c = document.getElementById(id);"
        "  return window.Chart && c && Chart.getChart(c) && c.width > 0 && c.height > 0; })"
    )
    # Something was drawn: the canvas is not blank.
    painted = page.evaluate(
        "() => { const c = document.getElementById('usage-chart');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; }"
    )
    assert painted
    assert page.locator("#health-status").is_visible()
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert problems == []

    fleet = sign_in(browser, live_server.url, "olive")
    fleet.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    fleet.goto(f"{live_server.url}/operations/fleet/")
    fleet.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('fleet-chart'))"
    )
    assert problems == []
