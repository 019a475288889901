"""Latency of the review queue page and GET /api/v1/requests/ with 10,000 requests.

    .venv/bin/python bench/review_queue.py [--rows 10000] [--runs 200]

Runs once on SQLite (a file under var/bench/) and, when Postgres answers on
127.0.0.1:5432 (or BENCH_POSTGRES_URL), once on Postgres (database
`bench_review`, recreated). Prints p50/p95 per page and backend. Target: p95 < 100 ms.
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

POSTGRES = postgres_url("bench_review")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--child", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.rows, args.runs)
        return
    on_each_database(
        __file__, "review_queue", POSTGRES, ["--rows", str(args.rows), "--runs", str(args.runs)]
    )


def measure(backend: str, rows: int, runs: int) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, locmem email
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from hubs.models import Cluster, HubRequest, Offering
    from hubs.permissions import REVIEWERS_GROUP
    from tests.conftest import github_spec

    call_command("migrate", verbosity=0)
    call_command("seed_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    reviewer = User.objects.create_user("bench-reviewer", "r@example.org", "x")
    reviewer.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    leads = User.objects.bulk_create(
        [User(username=f"lead{i}", email=f"lead{i}@example.org") for i in range(200)]
    )
    clusters, offerings = list(Cluster.objects.all()), list(Offering.objects.all())
    states = ["submitted"] * 6 + ["draft", "changes_requested", "approved", "rejected"]
    now = timezone.now()
    started = time.perf_counter()
    HubRequest.objects.bulk_create(
        [
            HubRequest(
                requester=leads[i % len(leads)],
                state=states[i % len(states)],
                spec=github_spec(name=f"hub-{i}", display_name=f"Hub number {i}"),
                name=f"hub-{i}",
                cluster=clusters[i % len(clusters)],
                offering=offerings[i % len(offerings)],
                submitted_at=now - dt.timedelta(minutes=i),
                submission_count=1,
            )
            for i in range(rows)
        ],
        batch_size=1000,
    )
    seeded = time.perf_counter() - started
    client = Client()
    client.force_login(reviewer)
    pages = {"review queue": "/review/", "GET /api/v1/requests/": "/api/v1/requests/"}
    print(f"{backend}: {rows} requests seeded in {seeded:.1f} s")
    for label, url in pages.items():
        for _ in range(5):  # warm up caches and connections
            assert client.get(url).status_code == 200
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        timings = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        timings.sort()
        p50 = statistics.median(timings)
        p95 = timings[int(len(timings) * 0.95) - 1]
        verdict = "ok" if p95 < 100 else "OVER TARGET"
        print(
            f"  {label:<24} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
            f"({len(queries)} queries, {runs} runs) {verdict}"
        )


if __name__ == "__main__":
    main()
