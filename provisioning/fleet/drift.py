"""Drift: when the deploy repository and the portal's record of a hub disagree.

Someone may edit a hub's values file or its cluster.yaml entry by hand. The
portal compares each active gitops hub's current revision with the
repository's base branch and records what differs on `Hub.drift`, which the
operator dashboard lists. Values files are compared as data, so reformatting
or a new comment is not drift; a changed value is.

Each check also refreshes the clusters' snapshot of their shared values files
(`conventions["shared_values"]`), which validation merges into every hub as
2i2c's deployer does: what approval checks against stays what the repository has.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from hubs.models import Cluster, Hub, HubRevision
from hubs.states import HubState
from provisioning.deploy.forges import get_forge
from provisioning.deploy.git import Git, auth_config
from provisioning.layout import cluster_yaml, paths
from provisioning.layout.cluster_file import ENTRY_KEYS
from provisioning.render.deployer import shared_files
from provisioning.render.renderer import Rendered

log = logging.getLogger(__name__)


def _data(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return cluster_yaml.load(text)
    except yaml.YAMLError:
        return text


def differences(
    recorded: Rendered, files: Mapping[str, str | None], entry: dict[str, Any] | None
) -> list[str]:
    """What in the repository (`files`, `entry`) differs from `recorded`, in plain words."""
    found: list[str] = []
    if recorded.cluster_entry is not None:
        if entry is None:
            found.append("its entry is gone from cluster.yaml")
        else:
            changed = [
                key for key in ENTRY_KEYS if recorded.cluster_entry.get(key) != entry.get(key)
            ]
            if changed:
                found.append(f"cluster.yaml entry: {', '.join(changed)} changed")
    for path, text in sorted(recorded.files.items()):
        if paths.is_secret_file(path):
            continue
        now = files.get(path)
        if now is None:
            found.append(f"{Path(path).name} is missing")
        elif _data(now) != _data(text):
            found.append(f"{Path(path).name} was edited")
    return found


MAX_KEPT = 256 * 1024  # characters of one file kept for the diff; larger ones are not adoptable


def repository_version(
    files: Mapping[str, str | None], entry: dict[str, Any] | None
) -> dict[str, Any]:
    """What the repository has of a drifted hub: its own files (None: missing) and entry."""
    kept = {
        path: (text if text is None or len(text) <= MAX_KEPT else None)
        for path, text in files.items()
        if not paths.is_secret_file(path)
    }
    clean = {key: entry[key] for key in ENTRY_KEYS if key in entry} if entry else None
    return {"files": kept, "entry": clean}


def read_shared(folder: Path, filenames: Iterable[str]) -> dict[str, str]:
    """{filename: text} of the shared values files that `folder` (a cluster's) has."""
    found = {}
    for filename in filenames:
        path = folder / filename
        try:
            found[filename] = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue  # validation reports a listed file it cannot find
    return found


def refresh_shared(checkout: Path, clusters: QuerySet[Cluster]) -> list[str]:
    """Update gitops clusters' snapshot of their shared values files from `checkout`.

    Returns the slugs whose snapshot changed.
    """
    changed = []
    for cluster in clusters.filter(deploy_mode=Cluster.DeployMode.GITOPS):
        path = paths.on_disk(checkout, paths.cluster_file_path(cluster.slug))
        data = _data(path.read_text()) if path.is_file() else None
        if not isinstance(data, dict) or not isinstance(data.get("hubs"), list):
            continue
        entries = [e for e in data["hubs"] if isinstance(e, dict)]
        shared = read_shared(path.parent, shared_files(entries))
        conventions = cluster.conventions if isinstance(cluster.conventions, dict) else {}
        if conventions.get("shared_values") == shared:
            continue
        with transaction.atomic():
            # Re-read under a lock: an operator may be editing the inputs list.
            row = Cluster.objects.select_for_update().get(pk=cluster.pk)
            current = row.conventions if isinstance(row.conventions, dict) else {}
            row.conventions = {**current, "shared_values": shared}
            row.save(update_fields=["conventions"])
        changed.append(cluster.slug)
    return changed


def check_checkout(checkout: Path, hubs: QuerySet[Hub]) -> list[str]:
    """Compare `hubs` with a 2i2c-layout checkout; record and return what drifted.

    The snapshot of the shared values files of the hubs' clusters is refreshed too.
    """
    refresh_shared(checkout, Cluster.objects.filter(pk__in=hubs.values("cluster")))
    entries: dict[str, dict[str, dict[str, Any]]] = {}
    drifted: list[str] = []
    now = timezone.now()
    active = hubs.filter(state=HubState.ACTIVE)
    # Each hub's current revision, in one query rather than one per hub.
    revisions = HubRevision.objects.filter(
        hub__in=active, number=F("hub__current_revision")
    ).select_related("hub__cluster")
    for revision in revisions.order_by("hub__cluster__slug", "hub__name"):
        hub = revision.hub
        if not revision.files or "layout" not in revision.files:
            continue
        recorded = Rendered.from_json(revision.files)
        slug = hub.cluster.slug
        if slug not in entries:
            path = paths.on_disk(checkout, paths.cluster_file_path(slug))
            data = _data(path.read_text()) if path.exists() else None
            hubs_list = data.get("hubs") if isinstance(data, dict) else None
            entries[slug] = {str(e.get("name")): e for e in hubs_list or [] if isinstance(e, dict)}
        files: dict[str, str | None] = {}
        for relative in recorded.files:
            path = paths.on_disk(checkout, relative)
            files[relative] = path.read_text() if path.is_file() else None
        entry = entries[slug].get(hub.name)
        found = differences(recorded, files, entry)
        drift = (
            {
                "summary": "; ".join(found),
                "differences": found,
                # The repository's version, for the hub page's diff and "adopt it".
                "repository": repository_version(files, entry),
            }
            if found
            else {}
        )
        if drift != hub.drift or hub.drift_checked_at is None:
            Hub.objects.filter(pk=hub.pk).update(drift=drift, drift_checked_at=now)
        if found:
            drifted.append(f"{hub}: {'; '.join(found)}")
    return drifted


def check_target(target: Any) -> list[str]:
    """Drift of the hubs deployed through `target`, against a fresh shallow clone."""

    hubs = Hub.objects.filter(cluster__deploy_target=target, cluster__deploy_mode="gitops")
    if not hubs.exists():
        return []
    username, password = "", ""
    forge = get_forge(target)
    if forge is not None and target.repo_url.startswith("https://"):
        username, password = forge.git_credentials()
    with tempfile.TemporaryDirectory(prefix="portal-drift-") as tmp:
        git = Git(Path(tmp), config=auth_config(target.repo_url, username, password))
        git.run("clone", "-q", "--depth", "1", "--single-branch", "--branch",
                target.base_branch, "--", target.repo_url, "checkout")  # fmt: skip
        return check_checkout(Path(tmp) / "checkout", hubs)
