"""Monitoring's pages, CSV files and API: who sees what, what they say, bad parameters,
and list views in a constant number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hubs.models import Hub, HubSecret, Offering
from monitoring import cost, health
from monitoring.models import Health, HealthDay, HubMonitor, Incident, UsageDay
from tests.conftest import api_client, client_for, live_hub, make_hub_admin

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def with_history(hub: Hub, days: int = 10) -> None:
    """`days` days of usage and checks up to today, one hour down yesterday."""
    health.ensure_monitors()
    for n in range(days):
        day = today() - dt.timedelta(days=n)
        UsageDay.objects.create(
            hub=hub, day=day, active_users=10 + n, weekly_users=30, monthly_users=50,
            peak_servers=5, user_hours=8.0,
        )  # fmt: skip
        failures = 60 if n == 1 else 0
        HealthDay.objects.create(
            hub=hub, day=day, checks_total=1440, failures_total=failures,
            checks=[60] * 24, failures=[60] + [0] * 23 if failures else [0] * 24,
        )  # fmt: skip
    started = timezone.now() - dt.timedelta(days=1)
    Incident.objects.create(hub=hub, started_at=started, ended_at=started + dt.timedelta(hours=1))
    HubMonitor.objects.filter(hub=hub).update(
        health=Health.UP, health_since=started, last_checked=timezone.now()
    )
    health.refresh_uptime()


def test_it_shows_health_usage_and_cost_on_the_hub_page(hub: Hub, lead: Any) -> None:
    with_history(hub)
    Offering.objects.filter(hubs=hub).update(user_hour_rate=Decimal("0.10"))
    page = client_for(lead).get(hub.get_absolute_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="monitoring"' in text
    assert "Not connected" in text  # no usage token yet (a GitOps cluster)
    assert "99.58%" in text  # 7 days: 60 of 10,080 checks failed
    assert 'id="monitoring-data"' in text and "usage-chart" in text
    assert "vendor/chart.js/chart.umd.min.js" in text and "js/hub_monitoring.js" in text
    assert "<script>" not in text  # the CSP allows no inline script
    assert "Down from" in text
    assert "against an estimate of" in text


def test_it_shows_the_panel_to_the_hub_admins_and_hides_the_hub_from_others(
    hub: Hub, lead: Any, hub_admin: Any, other_lead: Any
) -> None:
    make_hub_admin(hub, hub_admin, by=lead)
    HubSecret.objects.create(hub=hub, key=HubSecret.Key.USAGE_TOKEN, value="x" * 64)
    page = client_for(hub_admin).get(hub.get_absolute_url())
    assert "Active users:" in page.content.decode()
    assert client_for(other_lead).get(hub.get_absolute_url()).status_code == 404
    url = f"/hubs/{hub.cluster.slug}/{hub.name}/usage.csv"
    assert client_for(other_lead).get(url).status_code == 404
    assert api_client(other_lead).get("/api/v1/hubs/gcp-us-central1/bcc/usage/").status_code == 404


def test_it_exports_each_series_as_csv(hub: Hub, lead: Any) -> None:
    with_history(hub, days=3)
    answer = client_for(lead).get(f"/hubs/{hub.cluster.slug}/{hub.name}/usage.csv")
    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert len(rows) == 90
    assert rows[-1]["active_users"] == "10" and rows[-1]["uptime"] == "100.0"
    assert rows[-2]["uptime"] == "95.833"
    assert rows[0]["active_users"] == "0" and rows[0]["uptime"] == ""
    hourly = client_for(lead).get(f"/hubs/{hub.cluster.slug}/{hub.name}/usage.csv?interval=hour")
    assert len(hourly.content.decode().splitlines()) == 1 + 48
    incidents = client_for(lead).get(f"/hubs/{hub.cluster.slug}/{hub.name}/incidents.csv")
    assert incidents.content.decode().splitlines()[1].split(",")[2] == "3600"
    bad = client_for(lead).get(f"/hubs/{hub.cluster.slug}/{hub.name}/usage.csv?from=soon")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()


def test_it_answers_the_usage_series_in_the_api(hub: Hub, lead: Any) -> None:
    with_history(hub, days=3)
    start = (today() - dt.timedelta(days=6)).isoformat()
    answer = api_client(lead).get(f"/api/v1/hubs/gcp-us-central1/bcc/usage/?from={start}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["interval"] == "day" and body["connected"] is False
    assert [p["active_users"] for p in body["points"]] == [0, 0, 0, 0, 12, 11, 10]
    csv_answer = api_client(lead).get(f"/api/v1/hubs/gcp-us-central1/bcc/usage.csv?from={start}")
    assert csv_answer["Content-Type"].startswith("text/csv")
    assert len(csv_answer.content.decode().splitlines()) == 8


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("from=yesterday", "from", "is not a date"),
        ("to=2999-01-01", "to", "is in the future"),
        ("interval=minute", "interval", "Use one of day, hour"),
        ("from=2026-11-30&to=2026-11-01", "from", "is after to"),
        ("from=2001-01-01&interval=hour", "from", "At most 92 days by hour"),
        ("from=1999-12-31", "from", "Dates start at 2000-01-01"),
    ],
)
def test_it_refuses_bad_parameters_with_a_clear_400(
    hub: Hub, lead: Any, query: str, field: str, words: str
) -> None:
    answer = api_client(lead).get(f"/api/v1/hubs/gcp-us-central1/bcc/usage/?{query}")
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("application/json")
    assert words in answer.json()["errors"][field][0]


def test_it_says_health_uptime_incidents_and_cost_in_the_api(hub: Hub, lead: Any) -> None:
    with_history(hub, days=3)
    body = api_client(lead).get("/api/v1/hubs/gcp-us-central1/bcc/health/").json()
    assert body["status"] == "up"
    assert body["uptime_7d"] == pytest.approx(98.611, abs=0.001)
    assert len(body["incidents"]) == 1 and body["incidents"][0]["seconds_down"] == 3600
    assert body["currency"] == "USD"
    hub_body = api_client(lead).get("/api/v1/hubs/gcp-us-central1/bcc/").json()
    assert hub_body["health"]["status"] == "up"
    assert hub_body["health"]["incidents_30d"] == 1


def test_it_lists_hubs_with_their_health_in_a_constant_number_of_queries(
    catalog: None, lead: Any, reviewer: Any
) -> None:
    def count() -> int:
        client = api_client(reviewer)
        with CaptureQueriesContext(connection) as queries:
            answer = client.get("/api/v1/hubs/")
        assert answer.status_code == 200
        assert all("health" in h for h in answer.json()["results"])
        return len(queries)

    live_hub(lead, reviewer, name="one")
    health.ensure_monitors()
    few = count()
    for n in range(5):
        live_hub(lead, reviewer, name=f"hub{n}")
    health.ensure_monitors()
    assert count() == few


def test_it_shows_the_fleet_to_operators_in_a_constant_number_of_queries(
    catalog: None, lead: Any, reviewer: Any, operator: Any
) -> None:
    def count() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            page = client_for(operator).get("/operations/fleet/")
        assert page.status_code == 200
        return len(queries), page.content.decode()

    busy = live_hub(lead, reviewer, name="busy")
    with_history(busy)
    few, _ = count()
    for n in range(5):
        live_hub(lead, reviewer, name=f"idle{n}")
    health.ensure_monitors()
    many, text = count()
    assert many == few
    assert text.count("/idle") >= 5 and 'id="idle"' in text
    assert "fleet-chart" in text
    assert client_for(reviewer).get("/operations/fleet/").status_code == 403
    assert "/operations/fleet/" in client_for(operator).get("/operations/").content.decode()
    fleet_csv = client_for(operator).get("/operations/fleet.csv").content.decode()
    assert "gcp-us-central1/busy,up" in fleet_csv


def test_it_lists_hubs_over_their_estimate(hub: Hub, operator: Any) -> None:
    Offering.objects.filter(hubs=hub).update(user_hour_rate=Decimal("1.00"))
    hub.refresh_from_db()
    expected = cost.estimate(hub)
    assert expected is not None
    UsageDay.objects.create(hub=hub, day=today(), user_hours=float(expected) + 100)
    over = cost.over_estimate([hub], today())
    assert [h.pk for h, _, _ in over] == [hub.pk]
    assert "Over their estimate" in client_for(operator).get("/operations/fleet/").content.decode()


def test_it_sums_a_community_statement(hub: Hub, lead: Any, other_lead: Any) -> None:
    Offering.objects.filter(hubs=hub).update(
        monthly_fee=Decimal("100.00"), user_hour_rate=Decimal("0.50")
    )
    last_month = cost.months_back(cost.first_of(today()), 1)
    UsageDay.objects.create(hub=hub, day=last_month, user_hours=10.0)
    UsageDay.objects.create(hub=hub, day=last_month + dt.timedelta(days=3), user_hours=30.0)
    UsageDay.objects.create(hub=hub, day=cost.first_of(today()), user_hours=999.0)  # not last month
    Hub.objects.filter(pk=hub.pk).update(created_at=timezone.now() - dt.timedelta(days=90))
    community = hub.community
    assert community is not None
    community.leads.add(lead)
    page = client_for(lead).get(f"/communities/{community.pk}/statement/")
    assert page.status_code == 200
    assert "120.00" in page.content.decode()  # 100 + 40 h x 0.50
    rows = list(
        csv.reader(
            io.StringIO(
                client_for(lead).get(f"/communities/{community.pk}/statement.csv").content.decode()
            )
        )
    )
    assert rows[1][0] == "gcp-us-central1/bcc" and rows[1][6] == "120.00"
    assert rows[-1][:1] == ["total"] and rows[-1][6] == "120.00"
    assert client_for(other_lead).get(f"/communities/{community.pk}/statement/").status_code == 404
    bad = client_for(lead).get(f"/communities/{community.pk}/statement/?month=13")
    assert bad.status_code == 400


def test_it_estimates_a_tier_with_its_rate_on_the_request_form(catalog: None, lead: Any) -> None:
    Offering.objects.filter(slug="education").update(
        monthly_fee=Decimal("0"), user_hour_rate=Decimal("0.25")
    )
    page = client_for(lead).get("/requests/new/?expected_users=40")
    assert page.status_code == 200
    text = page.content.decode()
    assert '"rate": 0.25' in text and '"hours": 20.0' in text


def test_it_charges_no_month_before_the_hub_was_made(hub: Hub) -> None:
    # A hub made this month showed the tier's fee for each of the three months before.
    made = today().replace(day=1) - dt.timedelta(days=40)  # in the month before last
    Hub.objects.filter(pk=hub.pk).update(
        created_at=dt.datetime.combine(made, dt.time(12), tzinfo=dt.UTC)
    )
    hub.refresh_from_db()

    shown = cost.hub_cost(hub, today())

    assert [m.month for m in shown.previous] == [
        cost.months_back(cost.first_of(today()), n) for n in (1, 2)
    ]
    fresh = cost.hub_cost(live_hub_made_today(hub), today())
    assert fresh.previous == []


def live_hub_made_today(hub: Hub) -> Hub:
    Hub.objects.filter(pk=hub.pk).update(created_at=timezone.now())
    hub.refresh_from_db()
    return hub
