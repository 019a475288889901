"""The code keeps its own rules: state fields change in one place only.

Every request, hub and deployment state change goes through
hubs/transitions.py (compare-and-set against the state table, audited). This
reads the source of every app for any other write of a `state` field: an
UPDATE or create that sets it, an assignment to `.state`, `setattr(x, "state")`
or a save() naming it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THE_PRIMITIVE = ROOT / "hubs" / "transitions.py"
WRITERS = {"update", "create", "get_or_create", "update_or_create", "bulk_create", "filter"}


def app_sources() -> list[Path]:
    """Every module of the portal's own apps (those with an apps.py) and portal/."""
    apps = [p.parent for p in ROOT.glob("*/apps.py")] + [ROOT / "portal"]
    return sorted(
        path
        for app in apps
        for path in app.rglob("*.py")
        if "migrations" not in path.parts and path != THE_PRIMITIVE
    )


def state_writes(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line: what` for each write of a state field in one module."""
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            keywords = {k.arg for k in node.keywords}
            if method in WRITERS - {"filter"} and "state" in keywords:
                found.append(f"{where}:{node.lineno}: .{method}(state=...)")
            if method in ("update_or_create", "get_or_create"):
                for keyword in node.keywords:
                    if keyword.arg == "defaults" and "state" in _dict_keys(keyword.value):
                        found.append(f"{where}:{node.lineno}: .{method}(defaults={{'state'}})")
            if method == "save":
                for keyword in node.keywords:
                    if keyword.arg == "update_fields" and "state" in _strings(keyword.value):
                        found.append(f"{where}:{node.lineno}: .save(update_fields=['state'])")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "state"
        ):
            found.append(f"{where}:{node.lineno}: setattr(..., 'state', ...)")
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "state":
                    found.append(f"{where}:{node.lineno}: .state = ...")
    return found


def _dict_keys(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Dict):
        return {str(k.value) for k in node.keys if isinstance(k, ast.Constant)}
    return set()


def _strings(node: ast.AST) -> set[str]:
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return {str(e.value) for e in node.elts if isinstance(e, ast.Constant)}
    return set()


def test_it_changes_state_fields_in_one_place_only() -> None:
    sources = app_sources()
    assert ROOT / "hubs" / "actions.py" in sources  # the scan sees the apps

    writes = [write for path in sources for write in state_writes(path)]

    assert writes == []


def test_it_would_notice_a_state_write(tmp_path: Path) -> None:
    """The scan catches each way of writing a state field (so the test above can fail)."""
    module = tmp_path / "sneaky.py"
    module.write_text(
        "Hub.objects.filter(pk=1).update(state='active')\n"
        "hub.state = 'failed'\n"
        "Hub.objects.create(name='x', state='active')\n"
        "setattr(hub, 'state', 'active')\n"
        "hub.save(update_fields=['state'])\n"
        "Hub.objects.update_or_create(pk=1, defaults={'state': 'active'})\n"
        "Hub.objects.filter(state='active').update(drift={})\n"  # reading one is fine
    )
    found = state_writes(module, root=tmp_path)

    assert sorted(int(line.split(":")[1]) for line in found) == [1, 2, 3, 4, 5, 6]
