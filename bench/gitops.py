"""GitOps throughput: N hubs approved at once, pushed by 2 Celery workers (Postgres + Redis).

    .venv/bin/python bench/gitops.py [--hubs 500] [--workers 2] [--commits 10000]
                                     [--policy direct|pull_request]

Builds a bare deploy repository with --commits commits of history (git
fast-import) whose config/clusters/cloudbank/ is 2i2c's cloudbank folder grown
to >= 100 hubs, creates --hubs hubs with a rendered revision each, queues all
their deployments in one go (the moment approval hands over to provisioning),
and lets --workers separate `celery worker` processes push them. Then checks
the repository: every hub exactly once (no duplicates, none lost).

Reports total time, p50/p95 latency from queueing to pushed, the mean time a
worker spends per hub, and a plain `git commit` + `git push` of the same files
from a clone of the same repository in the same run.
Targets: all pushed < 60 s, zero duplicates, zero lost, per hub <= 3x plain git.

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_gitops,
recreated); broker: REDIS_URL (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_gitops")
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CLOUDBANK = ROOT.parent / "shared" / "upstream" / "2i2c" / "examples" / "cloudbank"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        input=stdin,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().strip()


def grown_cluster_yaml(extra: int) -> str:
    """cloudbank's cluster.yaml with `extra` more hubs appended (hubs: is its last key)."""
    text = (CLOUDBANK / "cluster.yaml").read_text()
    for number in range(extra):
        name = f"grown{number:03d}"
        text += (
            f"- name: {name}\n"
            f"  display_name: Grown hub {number}\n"
            f"  domain: {name}.cloudbank.2i2c.cloud\n"
            "  helm_chart: basehub\n"
            "  helm_chart_values_files:\n"
            "  - common.values.yaml\n"
            f"  - {name}.values.yaml\n"
        )
    return text


def build_repository(root: Path, commits: int) -> Path:
    """A bare repository with `commits` commits; the last adds the grown cloudbank folder."""
    bare = root / "infrastructure.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    chunks: list[bytes] = []

    def blob(data: bytes) -> bytes:
        return b"data %d\n" % len(data) + data + b"\n"

    when = 1_600_000_000
    for number in range(1, commits):
        message = f"History {number}".encode()
        chunks.append(
            b"commit refs/heads/main\n"
            + b"committer Bench <bench@example.org> %d +0000\n" % (when + number)
            + blob(message)
            + b"M 644 inline docs/history/%d.md\n" % (number % 500)
            + blob(b"change %d\n" % number)
        )
    files = {"config/clusters/cloudbank/cluster.yaml": grown_cluster_yaml(10).encode()}
    for source in CLOUDBANK.iterdir():
        if source.name != "cluster.yaml":
            files[f"config/clusters/cloudbank/{source.name}"] = source.read_bytes()
    last = (
        b"commit refs/heads/main\n"
        + b"committer Bench <bench@example.org> %d +0000\n" % (when + commits)
        + blob(b"Add cloudbank")
    )
    for path, data in files.items():
        last += b"M 644 inline " + path.encode() + b"\n" + blob(data)
    chunks.append(last)
    git(bare, "fast-import", "--quiet", stdin=b"".join(chunks))
    return bare


def values(name: str) -> str:
    return (
        "jupyterhub:\n"
        "  custom:\n"
        "    homepage:\n"
        "      templateVars:\n"
        "        org:\n"
        f'          name: "{name} community"\n'
        "  hub:\n"
        "    config:\n"
        "      JupyterHub:\n"
        "        authenticator_class: github\n"
    )


def entry_text(name: str) -> str:
    return (
        f"- name: {name}\n"
        f"  display_name: {name} community\n"
        f"  domain: {name}.cloudbank.2i2c.cloud\n"
        "  helm_chart: basehub\n"
        "  helm_chart_values_files:\n"
        "  - common.values.yaml\n"
        f"  - {name}.values.yaml\n"
    )


def plain_git(bare: Path, root: Path, count: int) -> float:
    """Mean seconds for `git add` + `git commit` + `git push` of one hub's files."""
    work = root / "plain"
    git(root, "clone", "-q", str(bare), str(work))
    cluster_yaml = work / "config" / "clusters" / "cloudbank" / "cluster.yaml"
    started = time.perf_counter()
    for number in range(count):
        name = f"plain{number:03d}"
        (work / "config" / "clusters" / "cloudbank" / f"{name}.values.yaml").write_text(
            values(name)
        )
        with cluster_yaml.open("a") as handle:
            handle.write(entry_text(name))
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", f"Add {name}")
        git(work, "push", "-q", "origin", "HEAD:refs/heads/plain")
    return (time.perf_counter() - started) / count


def recreate_database() -> None:
    import psycopg

    base, _, name = DATABASE.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hubs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--policy", choices=["direct", "pull_request"], default="direct")
    parser.add_argument("--plain", type=int, default=50, help="hubs in the plain git baseline")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-gitops-"))
    queue = f"bench-gitops-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        DATABASE_URL=DATABASE,
        DJANGO_SETTINGS_MODULE="portal.settings",
        PORTAL_DEMO="1",
        PORTAL_VAR_DIR=str(root / "var"),
        PORTAL_CLONE_DIR=str(root / "clones"),
        CELERY_BROKER_URL=REDIS,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_TASK_ALWAYS_EAGER="0",
        LOG_LEVEL="WARNING",
    )
    started = time.perf_counter()
    bare = build_repository(root, args.commits)
    history = int(git(bare, "rev-list", "--count", "main"))
    hubs_before = git(bare, "show", "main:config/clusters/cloudbank/cluster.yaml").count(
        "\n- name: "
    )
    print(
        f"repository: {history} commits, {hubs_before + 1} hubs in cluster.yaml "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )
    recreate_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ
    )

    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from hubs.models import Cluster, Hub, HubRevision, Offering
    from provisioning.lifecycle import queue_deployment
    from provisioning.models import Deployment, DeployTarget
    from provisioning.render.renderer import Rendered

    target = DeployTarget.objects.create(
        name="bench", repo_url=f"file://{bare}", forge="none", merge_policy=args.policy
    )
    cluster = Cluster.objects.create(
        slug="cloudbank", name="CloudBank", provider="gcp", base_domain="cloudbank.2i2c.cloud",
        deploy_target=target,
    )  # fmt: skip
    offering = Offering.objects.create(slug="education", name="Education", purposes=["education"])
    names = [f"bench{number:04d}" for number in range(args.hubs)]
    hubs = Hub.objects.bulk_create(
        Hub(name=name, cluster=cluster, offering=offering, display_name=f"{name} community",
            domain=f"{name}.cloudbank.2i2c.cloud", spec={"name": name}, current_revision=1)
        for name in names
    )  # fmt: skip
    revisions = HubRevision.objects.bulk_create(
        HubRevision(
            hub=hub, number=1, spec={"name": hub.name}, reason="initial",
            files=Rendered(
                layout="2i2c",
                files={f"config/clusters/cloudbank/{hub.name}.values.yaml": values(hub.name)},
                cluster_entry={
                    "name": hub.name, "display_name": f"{hub.name} community",
                    "domain": hub.domain, "helm_chart": "basehub",
                    "helm_chart_values_files": ["common.values.yaml", f"{hub.name}.values.yaml"],
                },
            ).to_json(),
        )
        for hub in hubs
    )  # fmt: skip

    logs = [(root / f"worker-{n}.log").open("w") for n in range(args.workers)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                queue,
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
                "-n",
                f"bench{n}@%h",
            ],
            cwd=ROOT,
            env=os.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for n, log in enumerate(logs)
    ]
    try:
        time.sleep(4)  # let the workers connect before the burst
        began = timezone.now()
        for hub, revision in zip(hubs, revisions, strict=True):
            with transaction.atomic():
                queue_deployment(hub, revision, by=None)
        queued_in = (timezone.now() - began).total_seconds()
        print(f"queued {args.hubs} deployments in {queued_in:.1f} s")
        final = {"succeeded", "failed", "awaiting_merge"}
        deadline = time.monotonic() + max(300, args.hubs)
        while time.monotonic() < deadline:
            done = Deployment.objects.filter(state__in=final).count()
            if done == args.hubs:
                break
            time.sleep(0.5)
        rows: list[dict[str, Any]] = [
            dict(row)
            for row in Deployment.objects.values(
                "state", "created_at", "started_at", "finished_at", "heartbeat_at", "error"
            )
        ]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        for log in logs:
            log.close()

    states = Counter(row["state"] for row in rows)
    # Pushed: finished_at (direct), or when it started waiting for a merge.
    done_rows = [row for row in rows if row["state"] in final]
    ended = [row["finished_at"] or row["heartbeat_at"] for row in done_rows]
    latencies = sorted(
        (end - row["created_at"]).total_seconds() for row, end in zip(done_rows, ended, strict=True)
    )
    service = [
        (end - row["started_at"]).total_seconds()
        for row, end in zip(done_rows, ended, strict=True)
        if row["started_at"]
    ]
    total = (max(ended) - began).total_seconds() if ended else float("nan")
    errors = Counter(row["error"][:80] for row in rows if row["state"] == "failed")

    # Check the repository itself: each hub's revision exactly once.
    if args.policy == "direct":
        messages = git(bare, "log", "--format=%B", "main")
        trailers = Counter(
            line.split("/")[1]
            for line in messages.splitlines()
            if line.startswith("Hub-Portal-Revision: cloudbank/bench")
        )
        cluster_yaml = git(bare, "show", "main:config/clusters/cloudbank/cluster.yaml")
        entries = Counter(
            line.removeprefix("- name: ").strip()
            for line in cluster_yaml.splitlines()
            if line.startswith("- name: bench")
        )
    else:
        branches = git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/hub/")
        trailers = Counter(b.split("/")[2] for b in branches.split())
        entries = Counter(
            branch.split("/")[2]
            for branch in branches.split()
            if int(git(bare, "rev-list", "--count", f"main..{branch}")) == 1
        )
    duplicates = sum(1 for n in trailers.values() if n > 1) + sum(
        1 for n in entries.values() if n > 1
    )
    lost = sum(1 for name in names if trailers[name] == 0 or entries[name] == 0)

    plain = plain_git(bare, root, args.plain)
    mean_service = statistics.mean(service) if service else float("nan")
    # One repository's pushes take turns (one lock per clone, and one base
    # branch), so a hub costs the wall time divided by the hubs; a worker's own
    # time also counts the turns it waited.
    per_hub = total / args.hubs
    print(f"states: {dict(states)}")
    if errors:
        print(f"errors: {dict(errors)}")
    print(f"total: {total:.1f} s for {args.hubs} hubs ({args.workers} workers, {args.policy})")
    print(
        f"queued -> pushed latency: p50 {statistics.median(latencies):.2f} s, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.2f} s, max {latencies[-1]:.2f} s"
    )
    print(
        f"per hub: {per_hub * 1000:.0f} ms (wall / hubs; a worker's mean time incl. waiting "
        f"for its turn {mean_service * 1000:.0f} ms); plain git add+commit+push "
        f"{plain * 1000:.0f} ms -> {per_hub / plain:.1f}x"
    )
    print(f"duplicates: {duplicates}, lost: {lost}")
    targets = {
        "all pushed < 60 s": total < 60 and states.get("failed", 0) == 0,
        "zero duplicates": duplicates == 0,
        "zero lost": lost == 0,
        "per hub <= 3x plain git": per_hub <= 3 * plain,
    }
    for name, met in targets.items():
        print(f"  {'met ' if met else 'MISSED'}  {name}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
