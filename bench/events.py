"""A summer-school season: 200 event hubs created through the API with capacity checks,
then beat's tick over 1,000 scheduled events.

    .venv/bin/python bench/events.py [--events 200] [--scheduled 1000] [--runs 50]

Runs on SQLite (a file under var/bench/) and, when Postgres answers on
127.0.0.1:5432 (or BENCH_POSTGRES_URL), on Postgres (database `bench_events`,
recreated). Prints the time per create and the tick's p50/p95 and query
count. Target: a tick under 200 ms with a constant number of queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, on_each_database, postgres_url

POSTGRES = postgres_url("bench_events")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--scheduled", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--child", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.events, args.scheduled, args.runs)
        return
    on_each_database(
        __file__,
        "events",
        POSTGRES,
        [
            "--events",
            str(args.events),
            "--scheduled",
            str(args.scheduled),
            "--runs",
            str(args.runs),
        ],
    )


def measure(backend: str, count: int, scheduled: int, runs: int) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    from accounts.tokens import create_token
    from events import schedule
    from events.models import ClusterCapacity, Event, EventPolicy, EventStep
    from hubs.models import HubRequest, Offering
    from tests.conftest import event_spec

    call_command("migrate", verbosity=0)
    call_command("seed_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    offering = Offering.objects.get(slug="events")
    EventPolicy.objects.create(offering=offering, auto_approve=True,
                               auto_approve_returning_only=False)  # fmt: skip
    clusters = list(offering.clusters.all())
    for cluster in clusters:
        ClusterCapacity.objects.create(cluster=cluster, concurrent_users=2000)
    organiser = User.objects.create_user("organiser", "o@example.org", "x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(organiser, 'bench')[1]}")
    season = timezone.now().replace(microsecond=0) + dt.timedelta(days=30)
    timings = []
    for i in range(count):
        start = season + dt.timedelta(days=i % 60, hours=i % 7)
        spec = event_spec(
            name=f"school-{i}", display_name=f"Summer school {i}", expected_users=40,
            cluster=clusters[i % len(clusters)].slug,
            event={"start": start.isoformat(), "end": (start + dt.timedelta(days=4)).isoformat(),
                   "timezone": "Europe/Berlin"},
        )  # fmt: skip
        t0 = time.perf_counter()
        response = client.post("/api/v1/events/", spec, format="json")
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 201, response.json()
        assert response.json()["request"]["state"] == "approved"
    timings.sort()
    print(
        f"{backend}: {count} events created through the API (capacity checked, auto-approved): "
        f"p50 {statistics.median(timings):.0f} ms, p95 {timings[int(len(timings) * 0.95) - 1]:.0f}"
        f" ms, {sum(timings) / 1000:.1f} s in all"
    )
    # Pad to `scheduled` events, each with its seven steps, none due yet.
    template = Event.objects.select_related("request").first()
    assert template is not None
    extra = scheduled - Event.objects.count()
    requests = HubRequest.objects.bulk_create(
        [HubRequest(requester=organiser, state="approved") for _ in range(extra)]
    )
    events = Event.objects.bulk_create(
        [
            Event(request=r, organiser=organiser, cluster=template.cluster,
                  offering=template.offering, name=f"pad-{r.pk}", display_name="pad",
                  start=template.start, end=template.end, attendees=1)
            for r in requests
        ]
    )  # fmt: skip
    steps = []
    for event in events:
        for kind, when in schedule.planned_times(event, EventPolicy.for_offering(offering)).items():
            steps.append(EventStep(event=event, kind=kind, planned_at=when))
    EventStep.objects.bulk_create(steps, batch_size=1000)
    total = EventStep.objects.count()
    queries: list[str] = []

    def record(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        schedule.tick()
    ticks = []
    for _ in range(runs):
        t0 = time.perf_counter()
        schedule.tick()
        ticks.append((time.perf_counter() - t0) * 1000)
    ticks.sort()
    p95 = ticks[int(len(ticks) * 0.95) - 1]
    print(
        f"  tick over {Event.objects.count()} events ({total} steps): "
        f"p50 {statistics.median(ticks):.1f} ms, p95 {p95:.1f} ms, {len(queries)} queries "
        + ("ok" if p95 < 200 else "OVER TARGET")
    )


if __name__ == "__main__":
    main()
