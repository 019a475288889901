"""A hub's entry in cluster.yaml, and its files written into (or out of) a checkout.

cluster.yaml files are written by people: comments, hand-chosen key order and
indentation all matter to them. Edits here go through ruamel.yaml's
round-trip loader and dumper, with the file's own indentation, so that adding
a hub shows up in a diff as the new entry's lines and nothing else.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from provisioning.layout import cluster_yaml, paths
from provisioning.layout.paths import LayoutError

# The keys of a hub entry the portal owns; any other key a person added stays.
ENTRY_KEYS = ("name", "display_name", "domain", "helm_chart", "helm_chart_values_files")


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
        self.data = self.yaml.load(self.text)  # ruamel round-trip loader: no Python objects  # nosec B506
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
    path = paths.on_disk(checkout, paths.cluster_file_path(cluster))
    text = _read(path)
    changed = upsert_entry_text(text, entry, str(path))
    if changed == text:
        return False
    write_atomic(path, changed)
    return True


def remove_entry(checkout: Path, cluster: str, name: str) -> dict[str, Any] | None:
    """Take the hub's entry out of cluster.yaml; the entry as it was, or None if absent."""
    path = paths.on_disk(checkout, paths.cluster_file_path(cluster))
    changed, entry = remove_entry_text(_read(path), name, str(path))
    if entry is not None:
        write_atomic(path, changed)
    return entry


def write_hub(
    checkout: Path, cluster: str, files: dict[str, str], entry: dict[str, Any] | None
) -> None:
    """Write a hub's rendered 2i2c files and its cluster.yaml entry into a checkout."""
    if entry is None:
        raise LayoutError("only files rendered for the 2i2c layout go into a 2i2c checkout")
    if not paths.on_disk(checkout, paths.cluster_file_path(cluster)).exists():
        raise LayoutError(
            f"{paths.cluster_file_path(cluster)} is missing: the cluster has no folder in "
            "this repository yet"
        )
    for relative, text in files.items():
        write_atomic(paths.on_disk(checkout, paths.check_inside(relative, cluster)), text)
    upsert_entry(checkout, cluster, entry)


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
