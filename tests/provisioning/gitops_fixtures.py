"""Fixtures for the GitOps tests: real bare repositories seeded in the 2i2c layout.

Imported by the test modules that need them (`from tests.provisioning.gitops_fixtures
import *`), so they stay out of the shared conftest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from hubs.models import Cluster, Community, Hub, HubRequest, HubRevision, Offering
from hubs.states import RequestState
from provisioning.lifecycle import queue_deployment
from provisioning.models import Deployment, DeployTarget
from provisioning.render.renderer import Rendered

CLOUDBANK = "cloudbank"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Someone Else",
    "GIT_AUTHOR_EMAIL": "someone@example.org",
    "GIT_COMMITTER_NAME": "Someone Else",
    "GIT_COMMITTER_EMAIL": "someone@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git as a person (or another tool) would, outside the portal's code."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def upstream_cloudbank() -> Path:
    path = Path(settings.PORTAL_UPSTREAM_DIR) / "2i2c" / "examples" / "cloudbank"
    if not (path / "cluster.yaml").exists():
        if os.environ.get("CI") == "1":
            pytest.fail(f"{path} is missing (required under CI=1)")
        pytest.skip(f"{path} is missing")
    return path


def seed_bare_repo(root: Path, name: str = "infrastructure.git") -> Path:
    """A bare repository whose main branch holds config/clusters/cloudbank from upstream."""
    source = upstream_cloudbank()
    bare = root / name
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    work = root / f"{name}-seed"
    git(root, "clone", "-q", str(bare), str(work))
    shutil.copytree(source, work / "config" / "clusters" / CLOUDBANK)
    for file in (work / "config" / "clusters" / CLOUDBANK).iterdir():
        file.chmod(0o644)  # upstream files are read-only
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Seed: cloudbank from 2i2c-org/infrastructure")
    git(work, "push", "-q", "origin", "main")
    return bare


def move_base(bare: Path, root: Path, path: str, text: str, message: str = "Someone else") -> str:
    """Push an unrelated commit to main, as another person would; its sha."""
    work = root / f"other-{abs(hash((path, message)))}"
    if not work.exists():
        git(root, "clone", "-q", str(bare), str(work))
    git(work, "pull", "-q", "origin", "main")
    file = work / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def install_hook(bare: Path, name: str, script: str) -> None:
    hook = bare / "hooks" / name
    hook.write_text(script)
    hook.chmod(0o755)


def rendered_for(hub_name: str, cluster: str = CLOUDBANK, extra: str = "") -> Rendered:
    """What the renderer makes of a hub in the 2i2c layout (hand-written for these tests).

    Valid as 2i2c's deployer builds it with cloudbank's common.values.yaml: the
    GitOps backend checks that before it pushes.
    """
    who = "url: https://example.org/\n"
    values = (
        "jupyterhub:\n"
        "  custom:\n"
        "    homepage:\n"
        "      templateVars:\n"
        "        org:\n"
        f'          name: "{hub_name.title()} Community"\n'
        "          logo_url: https://example.org/logo.png\n"
        f"          {who}"
        + "".join(f"        {role}:\n          name: Someone\n          {who}"
                  for role in ("designed_by", "operated_by", "funded_by"))
        + "  hub:\n"
        "    config:\n"
        "      JupyterHub:\n"
        "        authenticator_class: github\n"
        "      GitHubOAuthenticator:\n"
        f"        allowed_organizations: [{hub_name}-org]\n"
        f"{extra}"
    )  # fmt: skip
    return Rendered(
        layout="2i2c",
        files={f"config/clusters/{cluster}/{hub_name}.values.yaml": values},
        cluster_entry={
            "name": hub_name,
            "display_name": f"{hub_name.title()} Community",
            "domain": f"{hub_name}.{cluster}.2i2c.cloud",
            "helm_chart": "basehub",
            "helm_chart_values_files": ["common.values.yaml", f"{hub_name}.values.yaml"],
        },
    )


@pytest.fixture
def clones(settings: Any, tmp_path: Path) -> Path:
    """Each test gets its own clone directory."""
    settings.PORTAL_CLONE_DIR = tmp_path / "clones"
    return Path(settings.PORTAL_CLONE_DIR)


@pytest.fixture
def bare_repo(tmp_path: Path, clones: Path) -> Path:
    return seed_bare_repo(tmp_path)


def make_target(bare: Path, **fields: Any) -> DeployTarget:
    defaults: dict[str, Any] = {
        "name": f"infra-{bare.name}",
        "repo_url": f"file://{bare}",
        "base_branch": "main",
        "forge": DeployTarget.Forge.NONE,
        "merge_policy": DeployTarget.MergePolicy.PULL_REQUEST,
        "commit_author_name": "Portal Bot",
        "commit_author_email": "bot@portal.example.org",
    }
    defaults.update(fields)
    return DeployTarget.objects.create(**defaults)


def make_cluster(target: DeployTarget, slug: str = CLOUDBANK) -> Cluster:
    cluster = Cluster.objects.create(
        slug=slug,
        name="CloudBank",
        provider="gcp",
        base_domain=f"{slug}.2i2c.cloud",
        deploy_mode=Cluster.DeployMode.GITOPS,
        deploy_target=target,
        conventions={"helm_chart": "basehub", "shared_values_files": ["common.values.yaml"]},
    )
    return cluster


def make_hub(
    cluster: Cluster,
    name: str,
    *,
    requester: User,
    approver: User | None,
    rendered: Rendered | None = None,
    queue: bool = True,
) -> tuple[Hub, Deployment | None]:
    """An approved request's hub with revision r1, and its queued deployment."""
    offering, _ = Offering.objects.get_or_create(
        slug="education", defaults={"name": "Education", "purposes": ["education"]}
    )
    request = HubRequest.objects.create(
        requester=requester,
        state=RequestState.APPROVED,
        spec={"name": name},
        name=name,
        cluster=cluster,
        offering=offering,
        decided_by=approver,
        decided_at=timezone.now(),
    )
    community = Community.objects.create(name=f"{name.title()} Community")
    community.leads.add(requester)
    hub = Hub.objects.create(
        name=name,
        cluster=cluster,
        offering=offering,
        community=community,
        request=request,
        display_name=f"{name.title()} Community",
        domain=f"{name}.{cluster.base_domain}",
        spec={"name": name},
        current_revision=1,
    )
    revision = HubRevision.objects.create(
        hub=hub,
        number=1,
        spec={"name": name},
        files=(rendered or rendered_for(name, cluster.slug)).to_json(),
        author=requester,
        reason="initial",
    )
    deployment = queue_deployment(hub, revision, by=approver) if queue else None
    return hub, deployment


def branch_commits(bare: Path, branch: str, base: str = "main") -> list[str]:
    out = git(bare, "rev-list", f"{base}..{branch}")
    return out.split() if out else []


def remote_branches(bare: Path, prefix: str = "refs/heads/hub/") -> list[str]:
    out = git(bare, "for-each-ref", "--format=%(refname:short)", prefix)
    return out.split() if out else []
