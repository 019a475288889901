"""The 2i2c repository layout: where a hub's files go and its entry in cluster.yaml.

    config/clusters/<cluster>/cluster.yaml      (name, provider, ..., hubs: [...])
    config/clusters/<cluster>/<hub>.values.yaml (basehub values)

cluster.yaml files are written by people: comments, hand-chosen key order and
indentation all matter to them. Edits here go through ruamel.yaml's
round-trip loader and dumper, with the file's own indentation, so that adding
a hub shows up in a diff as the new entry's lines and nothing else.
"""

from __future__ import annotations

import copy
import io
import os
import posixpath
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from provisioning.layout import cluster_yaml
from provisioning.render.renderer import Rendered

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
    """A cluster.yaml's text loaded for a whole-file round-trip edit (the slow, general way)."""

    def __init__(self, text: str, name: str = "cluster.yaml") -> None:
        self.name = name
        self.text = text
        try:
            _, indent, block_seq_indent = load_yaml_guess_indent(self.text)
        except YAMLError as exc:
            raise LayoutError(f"{name} is not valid YAML: {exc}") from exc
        self.yaml = YAML()
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never re-wrap a long line someone wrote
        indent = indent or 2
        offset = block_seq_indent or 0
        self.yaml.indent(mapping=indent, sequence=indent + offset, offset=offset)
        self.data = self.yaml.load(self.text)
        if not isinstance(self.data, CommentedMap):
            raise LayoutError(f"{name} is not a mapping")

    @property
    def hubs(self) -> CommentedSeq:
        hubs = self.data.get("hubs")
        if hubs is None:
            hubs = CommentedSeq()
            self.data["hubs"] = hubs
        if not isinstance(hubs, CommentedSeq):
            raise LayoutError(f"{self.name}: `hubs` is not a list")
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


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError as exc:
        raise LayoutError(f"{path.name} is missing from {path.parent}") from exc


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


def upsert_entry_text(text: str, entry: dict[str, Any], name: str = "cluster.yaml") -> str:
    """cluster.yaml's `text` with the hub's entry added, or updated in place."""
    # The quick way first (splicing the entry's lines), the whole-file round trip if not.
    try:
        current = cluster_yaml.entry(text, entry["name"])
    except yaml.YAMLError as exc:
        raise LayoutError(f"{name} is not valid YAML: {exc}") from exc
    if current is not None:
        spliced = cluster_yaml.update(
            text, entry["name"], merged_entry(copy.deepcopy(current), entry)
        )
    else:
        spliced = cluster_yaml.add(text, dict(merged_entry(None, entry)))
    if spliced is not None:
        return spliced
    file = ClusterFile(text, name)
    index = file.find(entry["name"])
    if index is None:
        file.hubs.append(merged_entry(None, entry))
    else:
        merged_entry(file.hubs[index], entry)
    return file.dump()


def remove_entry_text(
    text: str, hub: str, name: str = "cluster.yaml"
) -> tuple[str, dict[str, Any] | None]:
    """cluster.yaml's `text` without the hub's entry, and the entry (None if it had none)."""
    try:
        spliced = cluster_yaml.remove(text, hub)
    except yaml.YAMLError as exc:
        raise LayoutError(f"{name} is not valid YAML: {exc}") from exc
    if spliced is not None:
        return spliced
    file = ClusterFile(text, name)
    index = file.find(hub)
    if index is None:
        return text, None
    entry = dict(file.hubs[index])
    del file.hubs[index]
    return file.dump(), entry


def upsert_entry(checkout: Path, cluster: str, entry: dict[str, Any]) -> bool:
    """Add the hub's entry to cluster.yaml, or update it in place; True if the file changed."""
    path = cluster_file(checkout, cluster)
    text = _read(path)
    changed = upsert_entry_text(text, entry, str(path))
    if changed == text:
        return False
    write_atomic(path, changed)
    return True


def remove_entry(checkout: Path, cluster: str, name: str) -> dict[str, Any] | None:
    """Take the hub's entry out of cluster.yaml; the entry as it was, or None if absent."""
    path = cluster_file(checkout, cluster)
    changed, entry = remove_entry_text(_read(path), name, str(path))
    if entry is not None:
        write_atomic(path, changed)
    return entry


def hub_own_files(cluster: str, name: str, entry: dict[str, Any] | None) -> list[str]:
    """The repository paths of a hub's own files: those of its values files that name it.

    (`<hub>.values.yaml`, `enc-<hub>.secret.values.yaml`); shared files such
    as common.values.yaml are not the hub's.
    """
    files = (entry or {}).get("helm_chart_values_files") or [f"{name}.values.yaml"]
    own = []
    for filename in files:
        if isinstance(filename, str) and name in Path(filename).name:
            relative = posixpath.normpath(f"{CLUSTERS_DIR}/{cluster}/{filename}")
            if relative.startswith(f"{CLUSTERS_DIR}/{cluster}/"):
                own.append(relative)
    return own


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
    """Remove a hub's entry and its own files; the repository-relative paths removed."""
    entry = remove_entry(checkout, cluster, name)
    removed: list[str] = []
    for relative in hub_own_files(cluster, name, entry):
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
