"""Latency of the hub page's status fragment while a deployment runs, and of a preview.

    .venv/bin/python bench/live_status.py [--runs 200] [--lines 300]

The fragment is what htmx polls every 2 s on every open hub page: a hub whose
deployment is running, with a long log. Targets: fragment p95 < 50 ms in a
constant number of queries; preview of a request (render + validate) p95 <
200 ms. Runs on SQLite (var/bench/) and, when it answers, Postgres
(`bench_live`, recreated; BENCH_POSTGRES_URL to choose another).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, on_each_database, percentiles, postgres_url

POSTGRES = postgres_url("bench_live")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--child", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.runs, args.lines)
        return
    on_each_database(
        __file__, "live_status", POSTGRES, ["--runs", str(args.runs), "--lines", str(args.lines)]
    )


def measure(backend: str, runs: int, lines: int) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from hubs import actions
    from portal.celery import app
    from provisioning import deployments, preview
    from provisioning.models import Deployment
    from tests.conftest import github_spec

    call_command("migrate", verbosity=0)
    call_command("seed_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    lead = User.objects.create_user("bench-lead", "l@example.org", "x")
    operator = User.objects.create_user("bench-op", "o@example.org", "x", is_superuser=True)
    request = actions.create_request(lead, github_spec(), submit=True)
    # Approved without running the deployment: it stays queued, then is claimed (running).
    app.conf.update(task_always_eager=False, broker_url="memory://")
    hub = actions.approve_request(request, by=operator)
    deployment = Deployment.objects.get(hub=hub)
    claimed = deployments.claim(deployment.pk, "bench")
    assert claimed is not None
    for i in range(lines):
        claimed.add_log(f"helm output line {i}", step="helm", level="output")
    client = Client()
    client.force_login(lead)
    url = f"/hubs/{hub.cluster.slug}/{hub.name}/status/"
    print(f"{backend}: a running deployment with {lines} log lines")
    for _ in range(5):
        assert client.get(url).status_code == 200
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        body = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in body
    timings = []
    for _ in range(runs):
        t0 = time.perf_counter()
        assert client.get(url).status_code == 200
        timings.append((time.perf_counter() - t0) * 1000)
    p50, p95 = percentiles(timings)
    verdict = "ok" if p95 < 50 else "OVER TARGET"
    print(f"  status fragment     p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
          f"({len(queries)} queries, {runs} runs) {verdict}")  # fmt: skip

    spec = github_spec(name="other")
    for _ in range(3):
        assert preview.preview_request(spec).ok
    timings = []
    for _ in range(max(20, runs // 4)):
        t0 = time.perf_counter()
        preview.preview_request(spec)
        timings.append((time.perf_counter() - t0) * 1000)
    p50, p95 = percentiles(timings)
    verdict = "ok" if p95 < 200 else "OVER TARGET"
    print(f"  request preview     p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
          f"({len(timings)} runs) {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
