"""What the benchmarks share: one child process per database, a fresh Postgres database,
and percentiles.

A benchmark's `main()` parses its own options, then calls `on_each_database(...)`,
which runs the script again with `--child sqlite|postgres` and DATABASE_URL pointing
at a fresh SQLite file under var/bench/ and, when it answers, a recreated Postgres
database (BENCH_POSTGRES_URL, else the script's default name).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def postgres_url(default_name: str) -> str:
    return os.environ.get(
        "BENCH_POSTGRES_URL", f"postgres://postgres@127.0.0.1:5432/{default_name}"
    )


def recreate_postgres(url: str) -> bool:
    """Drop and create `url`'s database; False when Postgres does not answer."""
    import psycopg

    base, _, dbname = url.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            conn.execute(f'CREATE DATABASE "{dbname}"')
    except psycopg.OperationalError:
        return False
    return True


def on_each_database(script: str, name: str, postgres: str, options: list[str]) -> None:
    """Run `script --child <backend> *options` once per database, with the test settings."""
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    sqlite = ROOT / "var" / "bench" / f"{name}.sqlite3"
    targets = {"sqlite": f"sqlite:///{sqlite}"}
    if recreate_postgres(postgres):
        targets["postgres"] = postgres
    else:
        print("postgres: not reachable, skipped")
    for backend, url in targets.items():
        if backend == "sqlite":
            sqlite.unlink(missing_ok=True)
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        env.pop("REDIS_URL", None)
        subprocess.run(
            [sys.executable, script, "--child", backend, *options], env=env, check=True, cwd=ROOT
        )


def percentiles(timings: list[float]) -> tuple[float, float]:
    """(p50, p95) of `timings`."""
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]
