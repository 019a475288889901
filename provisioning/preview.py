"""What a change would do, before anyone makes it: the files, their diff, and in plain words.

Every change a person can make shows its effect first (DESIGN.md): the
request form's Preview step and the reviewers' view of a request
(`preview_request`), and the confirmation pages of a change, a rollback and
a removal (`preview_change`, `preview_rollback`, `preview_decommission`).
The API answers the same Preview (`POST /api/v1/requests/preview/`,
`?dry_run=1` on hub changes). Nothing here writes to the database.

A preview renders and validates exactly as a revision would
(revisions.render_checked), and compares with what is running: the revision
of the hub's latest successful deployment, not a later one that failed.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from hubs import describe
from hubs.changes import spec_changes
from hubs.models import Cluster, Hub, HubRequest, HubRevision, Offering, UserImage
from hubs.spec import SpecError, check_draft
from hubs.validation import Checked, validate_spec
from provisioning import lifecycle, revisions
from provisioning.progress import running_revision
from provisioning.render.inputs import input_specs

MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # "added", "removed", "changed" or "unchanged"
    diff: str  # a unified diff; "" when unchanged


@dataclass(frozen=True)
class Preview:
    """A change's effect; `problems` (by spec field path, "" for the whole) if it cannot be made."""

    action: str  # "request", "change", "rollback" or "decommission"
    files: dict[str, str] = field(default_factory=dict)
    file_diffs: list[FileDiff] = field(default_factory=list)
    access_gained: list[str] = field(default_factory=list)
    access_lost: list[str] = field(default_factory=list)
    image_change: tuple[str, str] | None = None
    resource_changes: list[tuple[str, str, str]] = field(default_factory=list)
    spec_changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    # A change beyond the hub's tier is not deployed: it becomes a request for review.
    needs_review: list[str] = field(default_factory=list)
    against: int | None = None  # the revision compared with

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changed_files(self) -> list[FileDiff]:
        return [d for d in self.file_diffs if d.status != "unchanged"]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["image_change"] = (
            {"before": self.image_change[0], "after": self.image_change[1]}
            if self.image_change
            else None
        )
        data["resource_changes"] = [
            {"what": w, "before": b, "after": a} for w, b, a in self.resource_changes
        ]
        data["spec_changes"] = [
            {"field": p, "before": b, "after": a} for p, b, a in self.spec_changes
        ]
        return data


# --- files ------------------------------------------------------------------------------


def flat_files(files: dict[str, Any] | None) -> dict[str, str]:
    """A revision's files as {path: text}, the cluster.yaml entry among them as YAML."""
    if not files:
        return {}
    out = dict(files.get("files") or {}) if "layout" in files else dict(files)
    entry = files.get("cluster_entry") if "layout" in files else None
    if entry:
        cluster_folder = next(iter(out), "").rsplit("/", 1)[0] or "config/clusters/?"
        out[f"{cluster_folder}/cluster.yaml (this hub's entry)"] = yaml.safe_dump(
            # Sorted: a stored entry comes back from Postgres' jsonb in another key order.
            entry,
            sort_keys=True,
            allow_unicode=True,
        )
    return {path: str(text) for path, text in out.items()}


def diff_files(before: dict[str, str], after: dict[str, str]) -> list[FileDiff]:
    """One FileDiff per path in either, in path order."""
    diffs = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new:
            diffs.append(FileDiff(path, "unchanged", ""))
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        lines = list(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"a/{path}" if old is not None else "/dev/null",
                tofile=f"b/{path}" if new is not None else "/dev/null",
            )
        )
        if len(lines) > MAX_DIFF_LINES:
            lines = [*lines[:MAX_DIFF_LINES], f"… {len(lines) - MAX_DIFF_LINES} more lines\n"]
        diffs.append(FileDiff(path, status, "".join(lines)))
    return diffs


# --- in plain words ------------------------------------------------------------------


def _image_labels(*specs: dict[str, Any]) -> dict[str, str]:
    slugs = {
        str(spec["image"]["catalog"])
        for spec in specs
        if isinstance(spec.get("image"), dict) and spec["image"].get("catalog")
    }
    if not slugs:
        return {}
    return {
        image.slug: f"{image.name} ({image.reference})"
        for image in UserImage.objects.filter(slug__in=slugs)
    }


def _offering(slug: Any) -> Offering | None:
    return Offering.objects.filter(slug=slug).first() if isinstance(slug, str) else None


def _compare(
    before: dict[str, Any], after: dict[str, Any], old_tier: Offering | None, new_tier: Any
) -> dict[str, Any]:
    """The plain-words fields of a Preview comparing two specs."""
    gained, lost = describe.access_change(before, after)
    labels = _image_labels(before, after)
    old_image, new_image = describe.image_label(before, labels), describe.image_label(after, labels)
    return {
        "access_gained": gained,
        "access_lost": lost,
        "image_change": (old_image, new_image) if old_image != new_image else None,
        "resource_changes": describe.resource_changes(old_tier, new_tier, before, after),
        "spec_changes": spec_changes(before, after),
    }


def _checks(checked: Checked, cluster: Cluster) -> list[str]:
    spec = checked.spec
    chart = "2i2c's basehub chart" if revisions.layout_for(cluster) == "2i2c" else "the z2jh chart"
    image = checked.image.reference if checked.image else checked.image_reference
    return [
        "every field is filled in and well-formed",
        f"the {checked.offering.name} tier serves {spec.purpose} hubs and runs on {cluster.slug}",
        f"no other hub or waiting request uses the name {spec.name} on {cluster.slug}",
        f"no other hub uses the address {checked.domain}",
        f"the image {image} is "
        + ("in the catalog" if checked.image else "allowed by the tier as a custom image"),
        f"{spec.expected_users} expected users is within the tier's {checked.offering.max_users}",
        f"the generated files are valid for {chart}",
    ]


def _example_inputs(cluster: Cluster) -> dict[str, str]:
    """The cluster's learnt inputs with their examples, for a preview before approval."""
    conventions = cluster.conventions if isinstance(cluster.conventions, dict) else {}
    try:
        specs = input_specs(conventions)
    except ValueError:
        return {}  # rendering names the broken list
    return {s.key: s.example for s in specs if s.example}


def _problems(exc: SpecError) -> dict[str, list[str]]:
    return {path: list(messages) for path, messages in exc.errors.items()}


# --- the four previews ----------------------------------------------------------------


def preview_request(spec: Any, *, request: HubRequest | None = None) -> Preview:
    """A request for a new hub: the files that would be written and what was checked."""
    try:
        checked = validate_spec(check_draft(spec), request=request)
        examples = _example_inputs(checked.cluster)
        files = flat_files(revisions.render_checked(checked.cluster, checked, inputs=examples))
    except SpecError as exc:
        return Preview("request", problems=_problems(exc))
    dumped = checked.spec.dump()
    checks = _checks(checked, checked.cluster)
    if examples:
        # The cluster needs per-hub infrastructure values only approval gives.
        checks.append(
            f"shown with the cluster's example values for {', '.join(examples)}: approval "
            "asks for the real ones"
        )
    return Preview(
        "request",
        files=files,
        file_diffs=diff_files({}, files),
        checks=checks,
        **_compare({}, dumped, None, None),
    )


def _running(hub: Hub) -> HubRevision | None:
    return running_revision(hub) or hub.revisions.filter(number=hub.current_revision).first()


def preview_change(hub: Hub, spec: Any) -> Preview:
    """A change to a live hub (what `lifecycle.update_hub` would do), against what is running."""
    running = _running(hub)
    before = running.spec if running is not None else hub.spec
    try:
        checked = validate_spec(check_draft(spec), hub=hub)
        if checked.spec.dump() == hub.spec:
            raise SpecError({"": ["nothing changed"]})
        files = flat_files(revisions.render_checked(hub.cluster, checked))
    except SpecError as exc:
        return Preview("change", problems=_problems(exc))
    old_files = flat_files(running.files) if running is not None else {}
    return Preview(
        "change",
        files=files,
        file_diffs=diff_files(old_files, files),
        checks=_checks(checked, hub.cluster),
        needs_review=lifecycle.beyond_tier(hub, checked),
        against=running.number if running is not None else None,
        **_compare(
            before, checked.spec.dump(), _offering(before.get("offering")), checked.offering
        ),
    )


def preview_rollback(hub: Hub, number: int) -> Preview:
    """Deploying revision `number` again, against what is running."""
    old = hub.revisions.filter(number=number).first()
    if old is None or number >= hub.current_revision:
        return Preview(
            "rollback",
            problems={
                "revision": [
                    f"choose an earlier revision of this hub (r1 to r{hub.current_revision - 1})"
                ]
            },
        )
    running = _running(hub)
    before = running.spec if running is not None else {}
    files = flat_files(old.files)
    return Preview(
        "rollback",
        files=files,
        file_diffs=diff_files(flat_files(running.files) if running else {}, files),
        against=running.number if running is not None else None,
        **_compare(
            before, old.spec, _offering(before.get("offering")), _offering(old.spec.get("offering"))
        ),
    )


def preview_decommission(hub: Hub) -> Preview:
    """Removing the hub: every file goes, and everyone loses access."""
    running = _running(hub)
    old_files = flat_files(running.files) if running is not None else {}
    before = running.spec if running is not None else hub.spec
    return Preview(
        "decommission",
        file_diffs=diff_files(old_files, {}),
        access_lost=describe.login_rules(before),
        against=running.number if running is not None else None,
        resource_changes=[
            ("users' home directories and shared folders", "kept", "deleted"),
            ("the hub's address", hub.domain, "no longer answers"),
        ],
    )
