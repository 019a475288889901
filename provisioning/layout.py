"""The 2i2c repository layout: where a hub's files go and its entry in cluster.yaml.

    config/clusters/<cluster>/cluster.yaml      (name, provider, ..., hubs: [...])
    config/clusters/<cluster>/<hub>.values.yaml (basehub values)

cluster.yaml files are written by people: comments, hand-chosen key order and
indentation all matter to them. Edits here go through ruamel.yaml's
round-trip loader and dumper, with the file's own indentation, so that adding
a hub shows up in a diff as the new entry's lines and nothing else.
"""

from __future__ import annotations

import io
import os
import posixpath
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from provisioning.render import Rendered

CLUSTERS_DIR = "config/clusters"
# The keys of a hub entry the portal owns; any other key a person added stays.
ENTRY_KEYS = ("name", "display_name", "domain", "helm_chart", "helm_chart_values_files")


class LayoutError(Exception):
    """The checkout cannot take the change (missing or unreadable cluster.yaml)."""


def cluster_dir(checkout: Path, cluster: str) -> Path:
    return Path(checkout) / CLUSTERS_DIR / cluster


def cluster_file(checkout: Path, cluster: str) -> Path:
    return cluster_dir(checkout, cluster) / "cluster.yaml"


def hub_values_path(cluster: str, hub: str) -> str:
    """The repository-relative path of a hub's own values file."""
    return f"{CLUSTERS_DIR}/{cluster}/{hub}.values.yaml"


class ClusterFile:
    """A cluster.yaml loaded for a round-trip edit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.text = path.read_text()
        except FileNotFoundError as exc:
            raise LayoutError(f"{path.name} is missing from {path.parent}") from exc
        try:
            _, indent, block_seq_indent = load_yaml_guess_indent(self.text)
        except YAMLError as exc:
            raise LayoutError(f"{path} is not valid YAML: {exc}") from exc
        self.yaml = YAML()
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never re-wrap a long line someone wrote
        indent = indent or 2
        offset = block_seq_indent or 0
        self.yaml.indent(mapping=indent, sequence=indent + offset, offset=offset)
        self.data = self.yaml.load(self.text)
        if not isinstance(self.data, CommentedMap):
            raise LayoutError(f"{path} is not a mapping")

    @property
    def hubs(self) -> CommentedSeq:
        hubs = self.data.get("hubs")
        if hubs is None:
            hubs = CommentedSeq()
            self.data["hubs"] = hubs
        if not isinstance(hubs, CommentedSeq):
            raise LayoutError(f"{self.path}: `hubs` is not a list")
        return hubs

    def find(self, name: str) -> int | None:
        for i, entry in enumerate(self.hubs):
            if isinstance(entry, dict) and entry.get("name") == name:
                return i
        return None

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()

    def save(self) -> None:
        write_atomic(self.path, self.dump())


def merged_entry(existing: dict[str, Any] | None, entry: dict[str, Any]) -> dict[str, Any]:
    """The hub's entry with the portal's keys set; keys and files a person added stay.

    An existing entry keeps its key order and its values files (an
    `enc-<hub>.secret.values.yaml` the operators encrypted, say); files the
    render names that it lacks are added.
    """
    result: dict[str, Any] = CommentedMap() if existing is None else existing
    for key in ENTRY_KEYS:
        if key not in entry:
            continue
        value = entry[key]
        if key == "helm_chart_values_files" and existing is not None:
            files = existing.get(key)
            if isinstance(files, list):
                for name in value:
                    if name not in files:
                        files.append(name)
                continue
        if key == "helm_chart_values_files":
            value = CommentedSeq(value)
        if result.get(key) != value:
            result[key] = value
    return result


def upsert_entry(checkout: Path, cluster: str, entry: dict[str, Any]) -> bool:
    """Add the hub's entry to cluster.yaml, or update it in place; True if the file changed."""
    file = ClusterFile(cluster_file(checkout, cluster))
    index = file.find(entry["name"])
    if index is None:
        file.hubs.append(merged_entry(None, entry))
    else:
        merged_entry(file.hubs[index], entry)
    text = file.dump()
    if text == file.text:
        return False
    write_atomic(file.path, text)
    return True


def remove_entry(checkout: Path, cluster: str, name: str) -> dict[str, Any] | None:
    """Take the hub's entry out of cluster.yaml; the entry as it was, or None if absent."""
    file = ClusterFile(cluster_file(checkout, cluster))
    index = file.find(name)
    if index is None:
        return None
    entry = dict(file.hubs[index])
    del file.hubs[index]
    file.save()
    return entry


def safe_path(checkout: Path, relative: str, cluster: str) -> Path:
    """`relative` inside the cluster's folder of `checkout`, or LayoutError."""
    folder = f"{CLUSTERS_DIR}/{cluster}/"
    if posixpath.normpath(relative) != relative or not relative.startswith(folder):
        raise LayoutError(f"{relative!r} is not a file inside {folder}")
    return Path(checkout) / relative


def write_hub(checkout: Path, cluster: str, rendered: Rendered) -> None:
    """Write a rendered hub (2i2c layout) into a checkout: its files and its entry."""
    if rendered.layout != "2i2c" or rendered.cluster_entry is None:
        raise LayoutError("only files rendered for the 2i2c layout go into a 2i2c checkout")
    if not cluster_file(checkout, cluster).exists():
        raise LayoutError(
            f"{CLUSTERS_DIR}/{cluster}/cluster.yaml is missing: the cluster has no folder in "
            "this repository yet"
        )
    for relative, text in rendered.files.items():
        write_atomic(safe_path(checkout, relative, cluster), text)
    upsert_entry(checkout, cluster, rendered.cluster_entry)


def remove_hub(checkout: Path, cluster: str, name: str) -> list[str]:
    """Remove a hub's entry and its own files; the repository-relative paths removed.

    A hub's own files are those of its entry's values files that name it
    (`<hub>.values.yaml`, `enc-<hub>.secret.values.yaml`); shared files such
    as common.values.yaml stay.
    """
    entry = remove_entry(checkout, cluster, name)
    removed: list[str] = []
    files = (entry or {}).get("helm_chart_values_files") or [f"{name}.values.yaml"]
    for filename in files:
        if not isinstance(filename, str) or name not in Path(filename).name:
            continue
        relative = posixpath.normpath(f"{CLUSTERS_DIR}/{cluster}/{filename}")
        path = safe_path(checkout, relative, cluster)
        if path.exists():
            path.unlink()
            removed.append(relative)
    return removed


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
