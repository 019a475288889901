"""Monitoring at fleet scale: a health sweep of 1,000 hubs on two workers, a day of checks
stored, and one hub's 5,000 users read and recorded.

    .venv/bin/python bench/health.py [--hubs 1000] [--users 5000]

Local aiohttp servers stand in for the hubs (a separate process): each hub's
/hub/health answers in 100 ms; 2% are slow (they answer after 30 s, past
PORTAL_HEALTH_TIMEOUT=5), 3% answer 503, and one cluster's port has nothing
listening (1%: connection refused). The servers count requests per hub in
flight, so an overlap (two sweeps checking one hub at once) is seen.

1. Two worker processes run `monitoring.health.sweep()` at the same moment on
   one database; the wall time until both finish, every hub checked exactly
   once, no overlap. Then again with the second worker starting while the
   first holds its claims.
2. A day of checks (one a minute) for 50 hubs through claim() and record(),
   with failures and incidents: the health tables' bytes per hub per day
   (SQLite: dbstat; Postgres: pg_total_relation_size).
3. `monitoring.usage.poll()` of one hub whose fake /hub/api/users serves 5,000
   users in pages of 200 (JupyterHub's pagination), recorded.

Runs on SQLite (var/bench/health.sqlite3) and, when Postgres answers on
127.0.0.1:5432 (or BENCH_POSTGRES_URL), on Postgres (database `bench_health`,
recreated). Targets: sweep < 30 s, < 1 KB per hub per day, ingestion < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, postgres_url, recreate_postgres

POSTGRES = postgres_url("bench_health")
TOKEN = "bench-" + "t" * 40
SLOW_EVERY, DOWN_EVERY = 50, 33  # 2% slow, ~3% answering 503


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the fake hubs (a process of their own) ------------------------------------------


def serve(ports: list[int], users: int, ready: Any) -> None:
    from aiohttp import web

    inflight: dict[str, int] = {}
    stats = {"requests": 0, "overlaps": 0, "max_inflight": 0}
    now = dt.datetime.now(dt.UTC)
    people = [
        {
            "kind": "user",
            "name": f"user{i}",
            "last_activity": (now - dt.timedelta(hours=i % 900)).isoformat(),
            "servers": {"": {"name": "", "ready": True}} if i % 10 == 0 else {},
        }
        for i in range(users)
    ]

    async def health(request: web.Request) -> web.Response:
        hub = request.match_info["hub"]
        inflight[hub] = inflight.get(hub, 0) + 1
        stats["requests"] += 1
        stats["overlaps"] += inflight[hub] > 1
        stats["max_inflight"] = max(stats["max_inflight"], sum(inflight.values()))
        try:
            number = int(hub.rsplit("-", 1)[1])
            await asyncio.sleep(30 if number % SLOW_EVERY == 1 else 0.1)
            return web.Response(status=503 if number % DOWN_EVERY == 2 else 200, text="")
        finally:
            inflight[hub] -= 1

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def reset(request: web.Request) -> web.Response:
        stats.update(requests=0, overlaps=0, max_inflight=0)
        return web.json_response(stats)

    async def list_users(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"token {TOKEN}":
            return web.json_response({"status": 403}, status=403)
        offset = int(request.query.get("offset", 0))
        limit = min(int(request.query.get("limit", 50)), 200)
        return web.json_response(
            {
                "items": people[offset : offset + limit],
                "_pagination": {"offset": offset, "limit": limit, "total": len(people)},
            }
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{hub}/hub/health", health)
        app.router.add_get("/{hub}/hub/api/users", list_users)
        app.router.add_get("/_stats", get_stats)
        app.router.add_post("/_reset", reset)
        # A check the client gave up on (its timeout) ends here too, so a slow hub's
        # abandoned request is not counted as in flight when the next sweep checks it.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        for port in ports:
            await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def fetch(port: int, path: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own server
        return dict(json.loads(answer.read()))


# --- the parent: databases, servers, children ----------------------------------------------


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser()
    parser.add_argument("--hubs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--child", choices=["setup", "reset", "sweep", "day", "usage"])
    parser.add_argument("--ports", default="")
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="run on one database")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    ports = [free_port(), free_port()]
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(ports, args.users, ready), daemon=True)
    server.start()
    ready.wait(30)
    targets = {"sqlite": f"sqlite:///{ROOT / 'var' / 'bench' / 'health.sqlite3'}"}
    if recreate_postgres(POSTGRES):
        targets["postgres"] = POSTGRES
    else:
        print("postgres: not reachable, skipped")
    if args.only:
        targets = {k: v for k, v in targets.items() if k == args.only}
    try:
        for backend, url in targets.items():
            if backend == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            run_backend(backend, url, ports, args)
    finally:
        server.terminate()


def env_for(url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PORTAL_HEALTH_TIMEOUT": "5",
        "PORTAL_HEALTH_CONCURRENCY": "100",
        "PORTAL_HEALTH_INTERVAL": "60",
    }
    env.pop("REDIS_URL", None)
    return env


def run_child(kind: str, url: str, ports: list[int], args: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--ports", ",".join(map(str, ports)),
         "--hubs", str(args.hubs), "--users", str(args.users), "--backend",
         "postgres" if url.startswith("postgres") else "sqlite"],
        env=env_for(url), cwd=ROOT,
    )  # fmt: skip


def run_backend(backend: str, url: str, ports: list[int], args: Any) -> None:
    print(f"== {backend}")
    if run_child("setup", url, ports, args).wait() != 0:
        raise SystemExit("setup failed")
    for round_name, delay in (("at once", 0.0), ("second starts 1 s into the first", 1.0)):
        # Every hub due again (the previous round checked them all).
        if run_child("reset", url, ports, args).wait() != 0:
            raise SystemExit("reset failed")
        fetch(ports[0], "/_reset", "POST")
        started = time.perf_counter()
        first = run_child("sweep", url, ports, args)
        time.sleep(delay)
        second = run_child("sweep", url, ports, args)
        codes = (first.wait(), second.wait())
        elapsed = time.perf_counter() - started
        stats = fetch(ports[0], "/_stats")
        print(
            f"sweep of {args.hubs} hubs on 2 workers ({round_name}): {elapsed:.1f} s "
            f"(target < 30 s); requests to live servers {stats['requests']}, "
            f"overlapping checks of one hub {stats['overlaps']}, most in flight "
            f"{stats['max_inflight']}; exit codes {codes}"
        )
        if codes != (0, 0) or stats["overlaps"]:
            raise SystemExit("a sweep failed or two sweeps checked one hub at once")
    run_child("reset", url, ports, args).wait()
    for kind in ("day", "usage"):
        if run_child(kind, url, ports, args).wait() != 0:
            raise SystemExit(f"{kind} failed")


# --- the children ----------------------------------------------------------------------------


def child(args: Any) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    ports = [int(p) for p in args.ports.split(",")]
    children = {"setup": setup, "reset": reset, "sweep": sweep, "day": day, "usage": ingest}
    children[args.child](args, ports)


def setup(args: Any, ports: list[int]) -> None:
    from django.core.management import call_command

    from hubs.models import Cluster, Hub

    call_command("migrate", verbosity=0)
    dead = free_port()  # nothing will listen here
    clusters = [
        Cluster.objects.create(
            slug=f"bench-{n}",
            name=f"Bench {n}",
            provider="kubeconfig",
            base_domain=f"c{n}.example.org",
            hub_url_template=f"http://127.0.0.1:{port}/{{hub}}",
        )
        for n, port in enumerate([*ports, dead])
    ]
    hubs = []
    for i in range(args.hubs):
        # 1% on the cluster whose port is closed, the rest shared between the two servers.
        cluster = clusters[2] if i % 100 == 99 else clusters[i % 2]
        hubs.append(
            Hub(name=f"hub-{i}", cluster=cluster, domain=f"hub-{i}.example.org", state="active")
        )
    Hub.objects.bulk_create(hubs, batch_size=500)
    # The usage hub: its users served by the fake API.
    usage_hub = Hub.objects.create(
        name="users-0", cluster=clusters[0], domain="users.example.org", state="provisioning"
    )
    from hubs.models import HubSecret

    HubSecret.objects.create(hub=usage_hub, key="usage_token", value=TOKEN)


def reset(args: Any, ports: list[int]) -> None:
    from django.db.models import Count

    from monitoring.models import HealthDay, HubMonitor

    seen = dict(
        HubMonitor.objects.exclude(last_checked=None)
        .values_list("health")
        .annotate(n=Count("pk"))
        .order_by()
    )
    errors = dict(
        HubMonitor.objects.exclude(last_error="")
        .values_list("last_error")
        .annotate(n=Count("pk"))
        .order_by()
    )
    if seen:
        print(f"  previous round: {seen}; errors {errors}", flush=True)

    HubMonitor.objects.update(last_checked=None, health_lease=None, health_claim="")
    HealthDay.objects.all().delete()


def sweep(args: Any, ports: list[int]) -> None:
    from monitoring import health

    started = time.perf_counter()
    outcome = health.sweep()
    print(
        f"  worker {os.getpid()}: {outcome['checked']} hubs checked in "
        f"{time.perf_counter() - started:.1f} s (after start-up)",
        flush=True,
    )


def table_bytes(tables: list[str], *, vacuum: bool = False) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if vacuum:
            # Rows as they stay: Postgres keeps each update's old row version until
            # (auto)vacuum reclaims it; SQLite's free pages until VACUUM.
            if connection.vendor == "postgresql":
                cursor.execute(f"VACUUM FULL {', '.join(tables)}")
            else:
                cursor.execute("VACUUM")
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relname = ANY(%s)",
                [tables],
            )
            return int(cursor.fetchone()[0] or 0)
        connection.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        names = ",".join("?" * len(tables))
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name IN "  # noqa: S608
            f"({names})",
            tables,
        )
        everything = tables + [row[0] for row in cursor.fetchall()]
        names = ",".join("?" * len(everything))
        cursor.execute(
            f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({names})",  # noqa: S608
            everything,
        )
        return int(cursor.fetchone()[0] or 0)


def day(args: Any, ports: list[int]) -> None:
    from hubs.models import Hub
    from monitoring import health
    from monitoring.models import HealthDay, HubMonitor, Incident

    hubs = list(Hub.objects.filter(state="active").order_by("pk")[:50])
    Hub.objects.exclude(pk__in=[h.pk for h in hubs]).filter(state="active").update(state="failed")
    HealthDay.objects.all().delete()
    Incident.objects.all().delete()
    HubMonitor.objects.update(last_checked=None, health_lease=None, health_claim="")
    tables = ["monitoring_healthday", "monitoring_incident"]
    before = table_bytes(tables, vacuum=True)
    start = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    started = time.perf_counter()
    for minute in range(24 * 60):
        now = start + dt.timedelta(minutes=minute)
        token, claimed = health.claim(now)
        # Each hub down for ten minutes twice a day (two incidents), else up.
        checks = [
            health.Check(
                m.hub_id, not (m.hub_id % 7 == 0 and (minute // 10) % 72 in (3, 40)), "HTTP 503"
            )
            for m in claimed
        ]
        health.record(token, checks, now)
    elapsed = time.perf_counter() - started
    written = table_bytes(tables) - before
    kept = table_bytes(tables, vacuum=True) - before
    rows = HealthDay.objects.count()
    from django.db import connection

    with connection.cursor() as cursor:
        size = "pg_column_size(t.*)" if connection.vendor == "postgresql" else "0"
        cursor.execute(
            f"SELECT (SELECT COALESCE(SUM({size}), 0) FROM monitoring_healthday t)"  # noqa: S608
            f" + (SELECT COALESCE(SUM({size}), 0) FROM monitoring_incident t)"
        )
        row_bytes = int(cursor.fetchone()[0])
    if row_bytes:
        print(
            f"  rows alone (Postgres, no page or index overhead): {row_bytes / len(hubs):.0f} "
            "bytes per hub per day",
            flush=True,
        )
    print(
        f"a day of checks (1,440 per hub) for {len(hubs)} hubs: {kept / len(hubs):.0f} bytes "
        f"per hub per day kept (target < 1024; {rows} day rows, {Incident.objects.count()} "
        f"incidents, indexes included); {written / len(hubs):.0f} bytes per hub before vacuum "
        f"(update churn); recording took {elapsed:.1f} s"
    )


def ingest(args: Any, ports: list[int]) -> None:
    from hubs.models import Hub
    from monitoring import usage
    from monitoring.models import UsageDay

    Hub.objects.filter(state="active").update(state="failed")
    Hub.objects.filter(name="users-0").update(state="active")
    started = time.perf_counter()
    outcome = usage.poll()
    elapsed = time.perf_counter() - started
    row = UsageDay.objects.get(hub__name="users-0")
    print(
        f"usage ingestion of one hub with {args.users} users: {elapsed:.2f} s (target < 2 s); "
        f"{outcome}; daily {row.active_users}, monthly {row.monthly_users}, "
        f"peak servers {row.peak_servers}"
    )


if __name__ == "__main__":
    main()
