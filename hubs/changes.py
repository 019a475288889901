"""What changed between two versions of a spec, for reviewers."""

from __future__ import annotations

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
