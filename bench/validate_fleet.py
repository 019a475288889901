"""Every hub of real 2i2c cluster folders, validated the way 2i2c's deployer builds them.

    .venv/bin/python bench/validate_fleet.py [--runs 3]

Imports a checkout holding every cluster folder under ../shared/upstream/2i2c
(cloudbank: 95 hubs; jupyter-health: per-hub NFS on AWS; awi-ciroh: daskhub)
into a fresh SQLite database under var/bench/ (or DATABASE_URL), then
validates each hub's files as the deployer builds them (values.jsonnet for the
hub, the entry's values files in order with the cluster's shared files,
basehub's and z2jh's schemas). The schemas are loaded once before the clock
starts, as a running portal has them; the per-hub caches (values.jsonnet
renders, parsed files) are emptied before each run, so every hub pays for its
own values.jsonnet. Reports per-hub p50/p95 after the first hub of each
cluster, and each cluster's total.

Targets: p95 < 50 ms per hub after the first on a cluster; cloudbank < 3 s.
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
UPSTREAM = ROOT.parent / "shared" / "upstream" / "2i2c"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    bench = ROOT / "var" / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    database = bench / "validate_fleet.sqlite3"
    database.unlink(missing_ok=True)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{database}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from hubs.models import Cluster, HubRevision
    from provisioning.fleet.importer import import_checkout
    from provisioning.layout.paths import CLUSTERS_DIR
    from provisioning.render import deployer
    from provisioning.render.renderer import Rendered, cluster_values
    from provisioning.render.validate import upstream, upstream_dir, validate_rendered

    call_command("migrate", verbosity=0)
    call_command("seed_catalog", stdout=open(os.devnull, "w"))  # noqa: SIM115
    folders = sorted(p.parent for p in UPSTREAM.glob("**/cluster.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        for folder in folders:
            shutil.copytree(folder, Path(tmp) / CLUSTERS_DIR / folder.name)
        started = time.perf_counter()
        report = import_checkout(Path(tmp))
        imported = time.perf_counter() - started
    print(
        f"imported {len(report.clusters_created)} clusters, {len(report.hubs_created)} hubs "
        f"in {imported:.2f} s ({len(report.problems)} problems)"
    )
    upstream(str(upstream_dir()))  # the schemas, loaded and compiled once

    work = []
    for cluster in Cluster.objects.filter(slug__in=[f.name for f in folders]).order_by("slug"):
        revisions = HubRevision.objects.filter(hub__cluster=cluster, number=1).order_by("pk")
        work.append((cluster, [Rendered.from_json(r.files) for r in revisions]))

    after_first: list[float] = []
    totals: dict[str, list[float]] = {}
    firsts: dict[str, list[float]] = {}
    failures = 0
    for _ in range(args.runs):
        deployer._evaluate.cache_clear()
        deployer.parse_values.cache_clear()
        for cluster, hubs in work:
            values = cluster_values(cluster)
            times = []
            for rendered in hubs:
                started = time.perf_counter()
                try:
                    validate_rendered(rendered, cluster=values)
                except ValueError:
                    failures += 1
                times.append(time.perf_counter() - started)
            totals.setdefault(cluster.slug, []).append(sum(times))
            firsts.setdefault(cluster.slug, []).append(times[0])
            after_first += times[1:]

    print(f"{args.runs} runs; {failures} hubs failed validation")
    sizes = {cluster.slug: len(hubs) for cluster, hubs in work}
    for slug, runs in totals.items():
        print(
            f"  {slug:<15} {sizes[slug]:3d} hubs: total median {statistics.median(runs):.2f} s "
            f"(max {max(runs):.2f} s), first hub {statistics.median(firsts[slug]) * 1000:.1f} ms"
        )
    ms = [t * 1000 for t in after_first]
    p50, p95 = statistics.median(ms), percentile(ms, 0.95)
    print(f"per hub after the first on its cluster: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    cloudbank = max(totals.get("cloudbank", [0.0]))
    print(f"target p95 < 50 ms: {'met' if p95 < 50 else 'MISSED'}")
    print(f"target cloudbank < 3 s: {'met' if 0 < cloudbank < 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
