"""Every path of the 2i2c layout, in one place (the repository, a checkout, a revision).

    config/clusters/<cluster>/cluster.yaml                 the cluster and its `hubs:` list
    config/clusters/<cluster>/common.values.yaml           values files the hubs share
    config/clusters/<cluster>/<hub>.values.yaml            a hub's own values
    config/clusters/<cluster>/enc-<hub>.secret.values.yaml a hub's sops-encrypted secrets

Paths are repository-relative with forward slashes (as git and HubRevision.files
hold them); `cluster.yaml` names its values files relative to the cluster's folder.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

CLUSTERS_DIR = "config/clusters"
CLUSTER_FILE = "cluster.yaml"


class LayoutError(Exception):
    """The checkout cannot take the change (missing or unreadable cluster.yaml, a bad path)."""


def cluster_folder(cluster: str) -> str:
    """`config/clusters/<cluster>`."""
    return f"{CLUSTERS_DIR}/{cluster}"


def cluster_file_path(cluster: str) -> str:
    """`config/clusters/<cluster>/cluster.yaml`."""
    return f"{cluster_folder(cluster)}/{CLUSTER_FILE}"


def in_cluster(cluster: str, filename: str) -> str:
    """The repository path of `filename`, as cluster.yaml names it (relative to the folder)."""
    return posixpath.normpath(f"{cluster_folder(cluster)}/{filename}")


def own_values_file(hub: str) -> str:
    """A hub's own values file, as cluster.yaml lists it: `<hub>.values.yaml`."""
    return f"{hub}.values.yaml"


def hub_values_path(cluster: str, hub: str) -> str:
    """The repository path of a hub's own values file."""
    return in_cluster(cluster, own_values_file(hub))


def is_secret_file(path: str) -> bool:
    """sops-encrypted files (`enc-<hub>.secret.values.yaml`): never read, written or compared."""
    return ".secret." in posixpath.basename(path)


def hub_own_files(cluster: str, name: str, entry: dict[str, Any] | None) -> list[str]:
    """The repository paths of a hub's own files: those of its values files that name it.

    (`<hub>.values.yaml`, `enc-<hub>.secret.values.yaml`); shared files such
    as common.values.yaml are not the hub's.
    """
    files = (entry or {}).get("helm_chart_values_files") or [own_values_file(name)]
    own = []
    for filename in files:
        if isinstance(filename, str) and name in posixpath.basename(filename):
            relative = in_cluster(cluster, filename)
            if relative.startswith(f"{cluster_folder(cluster)}/"):
                own.append(relative)
    return own


def secret_files(cluster: str, entry: dict[str, Any] | None) -> list[str]:
    """The repository paths of the encrypted files a hub's cluster.yaml entry lists."""
    files = (entry or {}).get("helm_chart_values_files") or []
    return [
        in_cluster(cluster, filename)
        for filename in files
        if isinstance(filename, str) and is_secret_file(filename)
    ]


def check_inside(relative: str, cluster: str) -> str:
    """`relative` if it is a normalised path inside the cluster's folder, else LayoutError."""
    folder = f"{cluster_folder(cluster)}/"
    if posixpath.normpath(relative) != relative or not relative.startswith(folder):
        raise LayoutError(f"{relative!r} is not a file inside {folder}")
    return relative


def on_disk(checkout: Path, relative: str) -> Path:
    """A repository path inside a checkout."""
    return Path(checkout) / relative


def cluster_files(checkout: Path) -> list[tuple[str, Path]]:
    """[(cluster folder name, its cluster.yaml)] of a checkout, or of a folder of cluster
    folders laid out like `config/clusters/` (such as 2i2c's examples)."""
    root = Path(checkout)
    found = sorted(root.glob(f"{CLUSTERS_DIR}/*/{CLUSTER_FILE}")) or sorted(
        root.glob(f"*/{CLUSTER_FILE}")
    )
    return [(path.parent.name, path) for path in found]
