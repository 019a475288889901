"""Import time of the cloudbank example (95 hubs) into a fresh database, then again.

    .venv/bin/python bench/import_repo.py [--runs 5]

Uses SQLite under var/bench/ (or DATABASE_URL). Target: < 2 s per 100-hub cluster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "upstream" / "2i2c" / "examples"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    bench = ROOT / "var" / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    database = bench / "import.sqlite3"
    database.unlink(missing_ok=True)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{database}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from hubs.models import Cluster, Hub
    from provisioning.fleet.importer import import_checkout
    from provisioning.layout.paths import CLUSTERS_DIR

    call_command("migrate", verbosity=0)
    call_command("seed_catalog", stdout=open(os.devnull, "w"))  # noqa: SIM115
    first, again = [], []
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(EXAMPLES / "cloudbank", Path(tmp) / CLUSTERS_DIR / "cloudbank")
        for _ in range(args.runs):
            Hub.objects.all().delete()
            Cluster.objects.filter(slug="cloudbank").delete()
            started = time.perf_counter()
            report = import_checkout(Path(tmp))
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            import_checkout(Path(tmp))
            again.append(time.perf_counter() - started)
    hubs = len(report.hubs_created)
    print(f"cloudbank: {hubs} hubs, {len(report.problems)} problems, {args.runs} runs")
    for label, times in (("fresh import", first), ("re-import", again)):
        median = statistics.median(times)
        verdict = "ok" if max(times) < 2 else "OVER TARGET"
        print(
            f"  {label:<13} median {median * 1000:7.1f} ms  max {max(times) * 1000:7.1f} ms  "
            f"({median / hubs * 1000:.2f} ms/hub) {verdict}"
        )


if __name__ == "__main__":
    main()
