"""What changed between two versions of a spec, for reviewers."""

from __future__ import annotations

import difflib
import json
from typing import Any


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"auth.github.organizations[0]": "my-org", ...}: one entry per leaf."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and data:
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def spec_changes(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """[(path, old, new)] for every leaf that differs; None where absent."""
    old, new = flatten(before or {}), flatten(after or {})
    return [
        (path, old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path)
    ]


# --- comparing revisions (issue 13) --------------------------------------------------

# The spec fields that list people; compared as sets of names, not item by item.
PEOPLE = {"admins": "admin", "allowed_users": "allowed"}


def _names(spec: Any, key: str) -> list[str]:
    values = (spec or {}).get(key) or []
    return [str(v) for v in values] if isinstance(values, list) else []


def people_changes(before: Any, after: Any) -> dict[str, dict[str, list[str]]]:
    """{"admins": {"added": [...], "removed": [...]}, "allowed_users": {...}}, case-insensitive."""
    out = {}
    for key in PEOPLE:
        old, new = _names(before, key), _names(after, key)
        old_set, new_set = {n.lower() for n in old}, {n.lower() for n in new}
        out[key] = {
            "added": [n for n in new if n.lower() not in old_set],
            "removed": [n for n in old if n.lower() not in new_set],
        }
    return out


def access_changes(before: Any, after: Any) -> dict[str, list[str]]:
    """Who can log in by name after the change who could not before, and who no longer can.

    Admins can always log in; the provider's own rules (organisations,
    domains) are reported by other_changes().
    """
    old = {n.lower(): n for key in PEOPLE for n in _names(before, key)}
    new = {n.lower(): n for key in PEOPLE for n in _names(after, key)}
    return {
        "gain": [new[k] for k in new if k not in old],
        "lose": [old[k] for k in old if k not in new],
    }


def other_changes(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """spec_changes() of everything but the lists of people."""
    strip = dict.fromkeys(PEOPLE)
    return spec_changes({**(before or {}), **strip}, {**(after or {}), **strip})


def files_diff(before: Any, after: Any) -> list[tuple[str, str]]:
    """[(path, unified diff)] of two revisions' rendered files (HubRevision.files), changed
    files only; the cluster.yaml entry (GitOps) is compared as a file of its own."""

    def texts(files: Any) -> dict[str, str]:
        files = files if isinstance(files, dict) else {}
        out = {str(k): str(v) for k, v in (files.get("files") or {}).items()}
        entry = files.get("cluster_entry")
        if entry:
            out["cluster.yaml (this hub's entry)"] = json.dumps(entry, indent=2, sort_keys=True)
        return out

    old, new = texts(before), texts(after)
    diffs = []
    for path in sorted(old.keys() | new.keys()):
        if old.get(path) == new.get(path):
            continue
        lines = difflib.unified_diff(
            (old.get(path) or "").splitlines(keepends=True),
            (new.get(path) or "").splitlines(keepends=True),
            fromfile=f"a/{path}" if path in old else "/dev/null",
            tofile=f"b/{path}" if path in new else "/dev/null",
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        diffs.append((path, text))
    return diffs
