"""Load: gunicorn (4 workers) on PostgreSQL, 50 users for 2 minutes, locust headless.

    .venv/bin/python bench/load.py [--duration 120] [--users 50] [--workers 4]

Recreates the database `portal_load` (BENCH_POSTGRES_URL to use another),
migrates and seeds it (the catalog, 40 leads with a request each, 10
reviewers, an API token each), collects the static files, starts gunicorn
with production settings (DEBUG off, demo secrets under var/load/) and runs
bench/locustfile.py: leads browse their pages, read the API and create and
submit requests; reviewers work the queue and approve. Prints requests per
second, p50/p95 and errors per request type, measured once every user is in
(10 s of ramp-up, which also warms each worker's caches, are not counted);
exits non-zero on any error or a p95 of 300 ms or more. Each user waits 2-5 s
between requests, as a person reads a page before the next click.
Deployments are queued, not run (no worker): the bench measures the web
tier. Not a unit test (it takes minutes).

Users start signed in (a session made by the seed, as the sign-in page makes
one): signing in hashes the password (PBKDF2, deliberately about half a
second of CPU), which once per session is no part of a page's latency.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/portal_load")
VAR = ROOT / "var" / "load"
PASSWORD = "load-bench-password-0f-its-own"
P95_LIMIT_MS = 300


def spec(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "display_name": f"Load {name}",
        "purpose": "education",
        "cluster": "gcp-us-central1",
        "offering": "education",
        "community": {"name": "Load test", "url": "https://load.example.edu"},
        "image": {"catalog": "scipy-notebook"},
        "auth": {"provider": "github", "github": {"organizations": ["load-org"]}},
        "admins": ["load-admin"],
        "expected_users": 30,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    base, _, name = POSTGRES.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_env() -> dict[str, str]:
    ours = ("PORTAL_", "DJANGO_", "DATABASE_URL", "REDIS_URL", "CELERY_", "DEBUG", "SECRET_KEY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_DEMO": "1",  # secrets generated under var/load/
        "PORTAL_VAR_DIR": str(VAR),
        "DEBUG": "0",
        "DATABASE_URL": POSTGRES,
        "LOG_LEVEL": "WARNING",
        # Email is not the web tier's latency (and would flood the log).
        "EMAIL_URL": "dummymail://",
    }


def seed() -> None:
    """Child process: the catalog, the accounts and their tokens, a request per lead."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from accounts.tokens import create_token
    from hubs.actions import create_request
    from hubs.permissions import REVIEWERS_GROUP

    call_command("seed_catalog", stdout=open(os.devnull, "w"))  # noqa: SIM115
    reviewers_group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    users: dict[str, object] = {"password": PASSWORD, "leads": [], "reviewers": []}
    for kind, count in (("leads", 40), ("reviewers", 10)):
        for number in range(count):
            username = f"{kind[:-1]}-{number}"
            user = User.objects.create_user(
                username, f"{username}@example.org", PASSWORD, is_staff=kind == "reviewers"
            )
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
            entry: dict[str, object] = {
                "username": username,
                "token": create_token(user, "load bench")[1],
                "session": signed_in(user),
            }
            if kind == "reviewers":
                user.groups.add(reviewers_group)
            else:
                entry["request"] = create_request(user, spec(f"seed-{number}"), submit=True).pk
            users[kind].append(entry)  # type: ignore[attr-defined]
    (VAR / "users.json").write_text(json.dumps(users))


def signed_in(user: Any) -> str:
    """A session key for `user`, as the sign-in page would make (without its password hash)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=120, help="seconds (default 120)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed()
        return 0
    VAR.mkdir(parents=True, exist_ok=True)
    env = server_env()
    python = sys.executable
    print(f"database: {POSTGRES} (recreated)")
    recreate_database()
    run([python, "manage.py", "migrate", "--no-input", "-v0"], env)
    run([python, "manage.py", "collectstatic", "--no-input", "-v0"], env)
    run([python, __file__, "--seed"], env)
    port = free_port()
    log = (VAR / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=2)  # noqa: S310 - ours
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print("gunicorn did not start; see var/load/gunicorn.log")
                    return 1
                time.sleep(0.5)
        print(f"gunicorn: {args.workers} workers on {base}; {args.users} users, {args.duration} s")
        stats = VAR / "locust"
        subprocess.run(
            [python, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(max(1, args.users // 10)),
             # Measured once all users are in (the first seconds warm each worker's caches).
             "--reset-stats",
             "--run-time", f"{args.duration}s", "--host", base, "--csv", str(stats),
             "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"],
            cwd=ROOT, env={**os.environ, "BENCH_USERS": str(VAR / "users.json")}, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return report(stats.with_name("locust_stats.csv"))


def report(path: Path) -> int:
    rows = list(csv.DictReader(path.open()))
    print(f"\n{'request':<46} {'count':>7} {'errors':>6} {'rps':>7} {'p50':>6} {'p95':>6}")
    total = None
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        line = (
            f"{(row['Type'] + ' ' + name).strip()[:46]:<46} {row['Request Count']:>7} "
            f"{row['Failure Count']:>6} {float(row['Requests/s']):>7.1f} "
            f"{row['50%']:>6} {row['95%']:>6}"
        )
        print(line)
        if row["Name"] == "Aggregated":
            total = row
    assert total is not None, "locust wrote no aggregate row"
    errors, p95 = int(total["Failure Count"]), float(total["95%"])
    print(
        f"\n{float(total['Requests/s']):.1f} requests/s, p50 {total['50%']} ms, "
        f"p95 {p95:.0f} ms, {errors} errors (target: 0 errors, p95 < {P95_LIMIT_MS} ms)"
    )
    return 0 if errors == 0 and p95 < P95_LIMIT_MS else 1


if __name__ == "__main__":
    sys.exit(main())
