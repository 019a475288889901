"""Hub revisions: the one place a revision is rendered, numbered and recorded.

A revision is an immutable snapshot of a hub's spec and the files rendered
from it. Approval, a change, a rollback, an event's pre-warm and an import
all make their revision here, so numbering, the checks on the files and the
hub fields that follow the spec are decided once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from hubs import admins, audit
from hubs.models import Cluster, Hub, HubRevision, Offering
from hubs.spec import HubSpec, SpecError, parse_spec
from hubs.validation import Checked
from provisioning.render.inputs import input_specs, read_inputs
from provisioning.render.renderer import RenderError, context_for, render
from provisioning.render.validate import ConfigError, UpstreamMissing, validate_rendered


def layout_for(cluster: Cluster) -> str:
    """GitOps clusters get the 2i2c layout, helm clusters a z2jh values.yaml."""
    return "2i2c" if cluster.deploy_mode == Cluster.DeployMode.GITOPS else "z2jh"


# Functions giving template extras a hub keeps in every revision until they say
# otherwise (a pre-warmed event's placeholders, from the events app), so a
# change made meanwhile does not drop them.
_STANDING: list[Callable[[Hub], dict[str, Any]]] = []


def add_standing_extras(source: Callable[[Hub], dict[str, Any]]) -> None:
    """Register `source(hub) -> extras` for every revision rendered (idempotent)."""
    if source not in _STANDING:
        _STANDING.append(source)


def render_files(hub: Hub, checked: Checked, **extra: Any) -> dict[str, Any]:
    """What a revision deploys (HubRevision.files): Rendered.to_json() for the hub's cluster.

    The files are checked against the charts' schemas before they are stored;
    `extra` reaches the templates (e.g. `placeholder_replicas` for a pre-warm),
    over the hub's standing extras.
    """
    if hub.pk is not None:
        standing: dict[str, Any] = {}
        for source in _STANDING:
            standing.update(source(hub))
        extra = {**standing, **extra}
        if "inputs" not in extra:
            # A change keeps the infrastructure values given at approval (or by hand).
            extra["inputs"] = current_inputs(hub)
    return render_checked(hub.cluster, checked, **extra)


def current_inputs(hub: Hub) -> dict[str, str]:
    """The cluster's operator inputs as the hub's current files hold them ({} if it has none)."""
    conventions = hub.cluster.conventions if isinstance(hub.cluster.conventions, dict) else {}
    try:
        specs = input_specs(conventions)
    except ValueError:
        return {}  # render_checked names the broken list
    if not specs:
        return {}
    revision = HubRevision.objects.filter(hub=hub, number=hub.current_revision).first()
    files = (revision.files or {}).get("files") if revision is not None else None
    if not isinstance(files, dict):
        return {}
    wraps = "basehub" if conventions.get("helm_chart") == "daskhub" else ""
    own = {path: text for path, text in files.items() if isinstance(text, str)}
    return read_inputs(own, specs, wraps=wraps)


def render_checked(cluster: Cluster, checked: Checked, **extra: Any) -> dict[str, Any]:
    """`checked` rendered for `cluster` and validated (also for a hub not yet made: a preview)."""
    try:
        rendered = render(checked.spec, context_for(checked, **extra), layout_for(cluster))
        validate_rendered(rendered)
    except ConfigError as exc:
        # Not the requester's fault: the templates made something the chart
        # refuses. Nothing is stored; the request stays where it was.
        raise SpecError(
            {
                "": [
                    f"the generated configuration is invalid ({line}); tell the operators"
                    for line in exc.lines()
                ]
            }
        ) from exc
    except (RenderError, UpstreamMissing) as exc:
        raise SpecError(
            {"": [f"the configuration could not be generated: {exc}; tell the operators"]}
        ) from exc
    return rendered.to_json()


def next_number(hub: Hub) -> int:
    """The number the hub's next revision takes."""
    return hub.current_revision + 1


def fields_from(spec: HubSpec, cluster: Cluster) -> dict[str, Any]:
    """The Hub columns that follow its spec (for lists, filters and the schedule)."""
    fields: dict[str, Any] = {
        "spec": spec.dump(),
        "display_name": spec.display_name,
        "domain": spec.domain or cluster.hub_domain(spec.name),
        "event_start": spec.event.start if spec.event else None,
        "event_end": spec.event.end if spec.event else None,
    }
    offering = Offering.objects.filter(slug=spec.offering).first()
    if offering is not None:
        fields["offering"] = offering
    return fields


def hub_fields(hub: Hub, spec: dict[str, Any]) -> dict[str, Any]:
    """The Hub columns that follow `spec`; a partial spec (an adopted hub's) gives what it has."""
    try:
        parsed = parse_spec(spec)
    except SpecError:
        partial: dict[str, Any] = {"spec": spec}
        for key, limit in (("display_name", 100), ("domain", 253)):
            if isinstance(spec.get(key), str):
                partial[key] = spec[key][:limit]
        return partial
    return {**fields_from(parsed, hub.cluster), "spec": spec}


@transaction.atomic
def record(
    hub: Hub,
    *,
    spec: dict[str, Any],
    files: dict[str, Any],
    author: Any,
    reason: str,
    fields: dict[str, Any] | None = None,
) -> HubRevision:
    """Store the hub's next revision and make it the current one.

    The hub's columns follow `spec` (`fields` overrides them, e.g. an imported
    hub's display name from its cluster.yaml entry).
    """
    number = next_number(hub)
    revision = HubRevision.objects.create(
        hub=hub,
        number=number,
        spec=spec,
        files=files,
        author=author if author is not None and author.is_authenticated else None,
        reason=reason[:200],
    )
    columns = {**hub_fields(hub, spec), **(fields or {})}
    Hub.objects.filter(pk=hub.pk).update(
        current_revision=number, updated_at=timezone.now(), **columns
    )
    hub.current_revision = number
    for key, value in columns.items():
        setattr(hub, key, value)
    audit.record(author, hub, "hub.revision", comment=f"r{number}: {reason}")
    # Portal users whose sign-in matches the admins this revision names administer it.
    admins.sync_hub(hub)
    return revision


def create_revision(
    hub: Hub, checked: Checked, *, author: Any, reason: str, **extra: Any
) -> HubRevision:
    """Render `checked` for the hub and record it as its next revision."""
    return record(
        hub,
        spec=checked.spec.dump(),
        files=render_files(hub, checked, **extra),
        author=author,
        reason=reason,
    )
