"""Render + validate throughput: N hubs in one process, no database.

    .venv/bin/python bench/render.py [--hubs 1000]

Each hub is a different spec (provider, tier and layout in turn, its own name
and users), parsed, rendered with the built-in templates and checked against
the charts in ../shared/upstream, as provisioning.revisions.render_files does.
Loading and compiling the schemas happens once, before the clock starts.
Reports hubs/s and p50/p95 per-hub latency. Target: >= 200 hubs/s.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from hubs import catalog  # noqa: E402
from hubs.spec import parse_spec  # noqa: E402
from provisioning.render.renderer import LAYOUTS, RenderContext, render  # noqa: E402
from provisioning.render.validate import upstream, upstream_dir, validate_rendered  # noqa: E402

AUTH: list[dict[str, Any]] = [
    {"provider": "github", "github": {"organizations": ["org-{i}", "org-{i}:staff"]}},
    {
        "provider": "cilogon",
        "cilogon": {
            "idps": [
                {"entity_id": "https://idp{i}.uni.edu/idp", "allowed_domains": ["uni{i}.edu"]},
                {"entity_id": "http://google.com/accounts/o8/id", "allow_all": True},
            ]
        },
    },
    {"provider": "google", "google": {"hosted_domains": ["uni{i}.edu"]}},
    {
        "provider": "generic-oidc",
        "generic-oidc": {
            "authorize_url": "https://login{i}.example.org/authorize",
            "token_url": "https://login{i}.example.org/token",
            "userdata_url": "https://login{i}.example.org/userinfo",
        },
    },
    {"provider": "tmp"},
    {"provider": "shared-password"},
]
ADMINS = {
    "github": "admin-{i}",
    "cilogon": "admin{i}@uni{i}.edu",
    "google": "admin{i}@uni{i}.edu",
    "generic-oidc": "admin{i}",
}


def fill(value: Any, i: int) -> Any:
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    if isinstance(value, dict):
        return {k: fill(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, i) for v in value]
    return value


def spec(i: int) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The i-th hub: its spec, its tier and its layout."""
    auth = fill(copy.deepcopy(AUTH[i % len(AUTH)]), i)
    provider = auth["provider"]
    event_only = provider in ("tmp", "shared-password")
    tiers = [o for o in catalog.OFFERINGS if ("event" in o["purposes"]) == event_only]
    tier = tiers[i % len(tiers)]
    purpose = tier["purposes"][0]
    data: dict[str, Any] = {
        "name": f"hub-{i}",
        "display_name": f"Hub {i}: a course",
        "purpose": purpose,
        "cluster": catalog.PLACEMENT[tier["slug"]][0],
        "offering": tier["slug"],
        "community": {"name": f"Community {i}", "url": f"https://c{i}.example.org"},
        "image": {"catalog": "scipy-notebook"},
        "auth": auth,
        "admins": [fill(ADMINS[provider], i)] if provider in ADMINS else [],
        "expected_users": 50,
    }
    if purpose == "event":
        data["event"] = {"start": "2030-03-01T09:00:00+00:00", "end": "2030-03-03T17:00:00+00:00"}
    return data, tier, LAYOUTS[(i // len(AUTH)) % len(LAYOUTS)]


def context(tier: dict[str, Any], cluster: str, name: str) -> RenderContext:
    return RenderContext(
        cluster=cluster,
        domain=f"{name}.hubs.example.org",
        image_reference="quay.io/jupyter/scipy-notebook:2025-10-20",
        offering=tier["slug"],
        template_set="",
        cpu_guarantee=tier["cpu_guarantee"],
        cpu_limit=tier["cpu_limit"],
        mem_guarantee=tier["mem_guarantee"],
        mem_limit=tier["mem_limit"],
        storage_capacity=tier["storage_capacity"],
        cull_timeout=tier["cull_timeout"],
        cull_max_age=tier.get("cull_max_age", 0),
        dask_gateway=tier.get("dask_gateway", False),
        gpu=tier.get("gpu", False),
        shared_directory=tier.get("shared_directory", False),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hubs", type=int, default=1000)
    args = parser.parse_args()

    started = time.perf_counter()
    upstream(str(upstream_dir()))  # load and compile the schemas once
    print(f"schemas loaded and compiled in {time.perf_counter() - started:.2f} s")
    inputs = [spec(i) for i in range(args.hubs)]

    latencies = []
    started = time.perf_counter()
    for data, tier, layout in inputs:
        t0 = time.perf_counter()
        hub = parse_spec(data)
        rendered = render(hub, context(tier, hub.cluster, hub.name), layout)
        validate_rendered(rendered)
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started

    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    rate = args.hubs / total
    print(f"{args.hubs} hubs rendered and validated in {total:.2f} s: {rate:.0f} hubs/s")
    print(f"per hub: p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms")
    print(f"target >= 200 hubs/s: {'met' if rate >= 200 else 'MISSED'}")


if __name__ == "__main__":
    main()
