"""A hub's members at classroom scale: importing 10,000, the members page, GitHub checks.

    .venv/bin/python bench/members.py [--users 10000] [--runs 200] [--names 1000]

Runs once on SQLite (a file under var/bench/) and, when Postgres answers on
127.0.0.1:5432 (or BENCH_POSTGRES_URL), once on Postgres (database
`bench_members`, recreated). Measures:

- import: a CSV of 10,000 new users into a hub (Google login, emails): the
  preview, queueing the confirmed change, and deploying it as a revision (the
  values file rendered and checked against the chart's schema; the deployment
  is recorded, not run). Target: < 2 s.
- the members page (and GET .../members/) of that hub, first page, a later
  page and a search: p50/p95 and queries. Target: p95 < 100 ms.
- checking 1,000 new GitHub names against a local server that answers each in
  50 ms (tests/fake_github.py), then again from the cache. Target: < 5 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, on_each_database, percentiles, postgres_url

POSTGRES = postgres_url("bench_members")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--names", type=int, default=1000)
    parser.add_argument("--child", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.users, args.runs, args.names)
        return
    on_each_database(
        __file__,
        "members",
        POSTGRES,
        ["--users", str(args.users), "--runs", str(args.runs), "--names", str(args.names)],
    )


def measure(backend: str, users: int, runs: int, names: int) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, locmem email
    # Deployments are recorded and enqueued, never run, here.
    current_app.conf.task_always_eager = False
    current_app.conf["broker_url"] = "memory://"
    from django.contrib.auth.models import Group, User
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from hubs import actions, identities
    from hubs import members as people
    from hubs.models import Hub
    from hubs.permissions import REVIEWERS_GROUP
    from hubs.spec import parse_spec
    from provisioning import members
    from tests.conftest import github_spec
    from tests.fake_github import TOKEN

    call_command("migrate", verbosity=0)
    call_command("seed_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    lead = User.objects.create_user("bench-lead", "lead@example.org", "x")
    reviewer = User.objects.create_user("bench-reviewer", "r@example.org", "x")
    reviewer.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    spec = github_spec(
        auth={"provider": "google", "google": {"hosted_domains": ["students.uni.edu"]}},
        admins=["prof@students.uni.edu"],
    )
    request = actions.create_request(lead, spec, submit=True)
    hub = actions.approve_request(request, by=reviewer)
    Hub.objects.filter(pk=hub.pk).update(state="active")
    hub.refresh_from_db()
    print(f"{backend}:")

    # --- import 10,000 ------------------------------------------------------------------
    text = "username,role\n" + "".join(
        f"first.last{i:05d}@students.uni.edu,allowed\n" for i in range(users)
    )
    t0 = time.perf_counter()
    plan = members.preview(hub, people.parse_csv(text), mode="add")
    t1 = time.perf_counter()
    members.apply_plan(hub, plan, by=lead)
    t2 = time.perf_counter()
    deployment = members.deploy_pending(hub.pk, by=lead, force=True)
    t3 = time.perf_counter()
    assert deployment is not None and plan.counts["added"] == users
    total = t3 - t0
    print(
        f"  import {users} users: preview {t1 - t0:.2f} s + apply {t2 - t1:.2f} s + render and "
        f"record r{deployment.revision.number} {t3 - t2:.2f} s = {total:.2f} s "
        f"{'ok' if total < 2 else 'OVER TARGET'} (< 2 s; reason {deployment.revision.reason!r})"
    )

    # --- the members page -----------------------------------------------------------------
    Hub.objects.filter(pk=hub.pk).update(state="active")
    client = Client()
    client.force_login(lead)
    base = f"/hubs/{hub.cluster.slug}/{hub.name}/members/"
    pages = {
        "members page": base,
        "members page 150": base + "?page=150",
        "members search": base + "?q=last0999",
        "GET api members": f"/api/v1/hubs/{hub.cluster.slug}/{hub.name}/members/",
    }
    for label, url in pages.items():
        for _ in range(5):
            assert client.get(url).status_code == 200
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        p50, p95 = percentiles(timings)
        print(
            f"  {label:<18} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({len(queries)} queries, "
            f"{runs} runs) {'ok' if p95 < 100 else 'OVER TARGET'}"
        )

    # --- GitHub lookups -----------------------------------------------------------------
    # The fake GitHub runs in its own process, as GitHub would not share our interpreter.
    context = multiprocessing.get_context("fork")
    ports: Any = context.Queue()
    calls: Any = context.Value("i", 0)
    server = context.Process(target=serve_github, args=(ports, calls, names), daemon=True)
    server.start()
    try:
        url = ports.get(timeout=30)
        settings.PORTAL_GITHUB_LOOKUP_TOKEN = TOKEN
        settings.PORTAL_GITHUB_API_URL = url
        cache.clear()
        github = parse_spec(github_spec())
        wanted = [f"student-{i}" for i in range(names)]
        started = time.perf_counter()
        found = identities.lookup_users(github, wanted)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        identities.lookup_users(github, wanted)
        warm = time.perf_counter() - started
        verified = sum(1 for ok, _ in found.answers.values() if ok)
        print(
            f"  GitHub check of {names} new names (50 ms each, "
            f"{settings.PORTAL_GITHUB_LOOKUP_CONCURRENCY} at a time): {cold:.2f} s "
            f"{'ok' if cold < 5 else 'OVER TARGET'} (< 5 s; {verified} found, "
            f"{calls.value} requests); again from the cache: {warm * 1000:.0f} ms"
        )
    finally:
        server.terminate()


def serve_github(ports: Any, calls: Any, names: int) -> None:
    """A process serving the fake GitHub (each answer takes 50 ms) until terminated."""
    from pytest_httpserver import HTTPServer

    from tests.fake_github import FakeGitHub

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()

    def count() -> None:
        with calls.get_lock():
            calls.value += 1

    users = {f"student-{i}" for i in range(names)}
    fake = FakeGitHub(server, users=users, delay=0.05, counter=count)
    ports.put(fake.url)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
