"""HubSpec -> files. Pure: no database, no network (see provisioning/validate.py).

`render(spec, context, layout)` fills a Jinja template set with the spec and
the catalog values in `context`. Templates are data an operator may replace
(PORTAL_TEMPLATE_DIR is searched before provisioning/templates/), so they run
in a sandbox, and every value they interpolate is written as a JSON scalar or
flow collection: a field can hold `: `, `\\n- `, `{{` or `!!python` and still
only ever be one YAML value. The result is parsed back before it is returned.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    Undefined,
)
from jinja2.sandbox import SandboxedEnvironment

from hubs.models import HUB_SECRET_NAME
from hubs.spec import HubSpec, split_image_reference
from provisioning.layout import paths
from provisioning.render.authenticators import BY_PROVIDER, NEEDS_SECRET
from provisioning.render.deployer import WRAPPERS, ClusterValues
from provisioning.render.inputs import InputSpec, apply_inputs, input_specs

if TYPE_CHECKING:
    from hubs.models import Cluster
    from hubs.validation import Checked

LAYOUTS = ("2i2c", "z2jh")
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_SET = "default"

try:  # libyaml is ~10x faster; fall back to the pure-Python loader where it is missing
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs from the catalog, as plain values (no models)."""

    cluster: str  # cluster slug (folder name under config/clusters/)
    domain: str  # the hub's domain
    image_reference: str  # "registry/name:tag"
    offering: str  # offering slug
    template_set: str  # folder under the templates; "" = the offering slug, then "default"
    cpu_guarantee: Decimal
    cpu_limit: Decimal
    mem_guarantee: str
    mem_limit: str
    storage_capacity: str
    cull_timeout: int
    cull_max_age: int
    dask_gateway: bool = False
    gpu: bool = False
    shared_directory: bool = False
    # 2i2c layout conventions learnt from the cluster (Cluster.conventions)
    helm_chart: str = "basehub"
    shared_values_files: tuple[str, ...] = ("common.values.yaml",)
    secret_values_file: str = "enc-{hub}.secret.values.yaml"  # noqa: S105 - a file name
    # Per-hub infrastructure values the cluster needs (provisioning/render/inputs.py):
    # {dotted key: value}, written into the hub's own file as `input_specs` type them.
    inputs: dict[str, str] = field(default_factory=dict)
    input_specs: tuple[InputSpec, ...] = ()
    # the Kubernetes Secret the z2jh layout's hub.extraEnv refers to
    secret_name: str = HUB_SECRET_NAME
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    """Files rendered for one hub: {repository-relative path: text}.

    2i2c layout: {"config/clusters/<cluster>/<hub>.values.yaml": ...} plus
    `cluster_entry`, the hub's item for cluster.yaml's `hubs:` list.
    z2jh layout: {"values.yaml": ...} and no cluster entry.
    """

    layout: str
    files: dict[str, str]
    cluster_entry: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """For HubRevision.files."""
        return {"layout": self.layout, "files": self.files, "cluster_entry": self.cluster_entry}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendered:
        return cls(
            layout=data["layout"],
            files=dict(data["files"]),
            cluster_entry=data.get("cluster_entry"),
        )


class RenderError(Exception):
    """A template is missing, fails, or produced text that is not a YAML mapping."""


# --- the one way a value gets into a file -----------------------------------

# Characters YAML does not allow raw (or reads as line breaks) that JSON
# leaves as they are; written as escapes, which YAML's double quotes also read.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise RenderError(f"a {type(value).__name__} cannot be written into a values file")


def _number(value: Decimal) -> int | float:
    if not value.is_finite():
        raise RenderError(f"{value} is not a number a values file can hold")
    return int(value) if value == value.to_integral_value() else float(value)


def yaml_value(value: Any) -> str:
    """`value` as one YAML value (a JSON scalar or flow collection) on one line.

    The Jinja `finalize` hook: every `{{ … }}` in a template goes through here,
    so no field can add keys, items or documents, or close a quote.
    """
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # StrictUndefined: name the missing variable
    if isinstance(value, float) and not math.isfinite(value):
        raise RenderError(f"{value} is not a number a values file can hold")
    text = json.dumps(value, ensure_ascii=False, default=_json_default, allow_nan=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


@lru_cache(maxsize=8)
def environment(search_path: tuple[str, ...]) -> SandboxedEnvironment:
    """A sandboxed Jinja environment over `search_path` (the first folder wins)."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(list(search_path)),
        undefined=StrictUndefined,
        autoescape=False,  # YAML, not HTML: finalize quotes every value instead
        finalize=yaml_value,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_dirs() -> tuple[str, ...]:
    """The operator's template folder (PORTAL_TEMPLATE_DIR), if any, then the built-in one."""
    from django.conf import settings

    own = str(getattr(settings, "PORTAL_TEMPLATE_DIR", "") or "")
    return (*((own,) if own else ()), str(TEMPLATES_DIR))


# --- the values templates see ------------------------------------------------


def _auth(spec: HubSpec, context: RenderContext, layout: str) -> dict[str, Any]:
    provider = spec.auth.provider
    short_name, class_name = BY_PROVIDER[provider].short_name, BY_PROVIDER[provider].class_name
    settings = spec.auth.settings
    values: dict[str, Any] = {
        "provider": provider,
        "authenticator_class": short_name,
        "class_name": class_name,
        "settings": settings.model_dump(mode="json") if settings is not None else {},
        # 2i2c's basehub derives the callback from the entry's domain; z2jh needs it.
        "callback_url": f"https://{context.domain}/hub/oauth_callback",
        "allow_all": False,
        "allowed_users": list(spec.allowed_users),
        "scope": [],
    }
    if provider == "github":
        assert spec.auth.github is not None  # noqa: S101 - Auth checks it  # nosec B101
        if any(":" in org for org in spec.auth.github.organizations):
            values["scope"] = ["read:org"]  # team membership is only visible with read:org
    elif provider == "cilogon":
        assert spec.auth.cilogon is not None  # noqa: S101 - an invariant, not a check  # nosec B101
        values["idps"] = [
            {
                "entity_id": idp.entity_id,
                "default": i == 0,
                "username_claim": idp.username_claim,
                "allow_all": idp.allow_all,
                "allowed_domains": list(idp.allowed_domains),
            }
            for i, idp in enumerate(spec.auth.cilogon.idps)
        ]
    elif provider == "google":
        # hosted_domain only narrows who may try: without a list of users,
        # everyone in those domains is let in.
        values["allow_all"] = not spec.allowed_users
    elif provider == "generic-oidc":
        assert spec.auth.generic_oidc is not None  # noqa: S101 - an invariant, not a check  # nosec B101
        values["allow_all"] = spec.auth.generic_oidc.allow_all
        if not values["allow_all"] and not spec.allowed_users:
            # Admins are always let in; naming them makes the rule explicit
            # rather than a hub that looks like nobody may enter.
            values["allowed_users"] = list(spec.admins)
    else:  # tmp, shared-password: event hubs where whoever comes in is welcome
        values["allow_all"] = True
    return values


def variables(spec: HubSpec, context: RenderContext, layout: str) -> dict[str, Any]:
    """Everything a template may use, as plain JSON-able values."""
    image_name, image_tag = split_image_reference(context.image_reference)
    community = spec.community
    event = spec.event
    return {
        "layout": layout,
        "hub": {
            "name": spec.name,
            "display_name": spec.display_name,
            "purpose": spec.purpose,
            "domain": context.domain,
            "url": f"https://{context.domain}",
            "cluster": context.cluster,
            "offering": context.offering,
            "expected_users": spec.expected_users,
        },
        "community": {
            "name": community.name,
            "url": community.url or f"https://{context.domain}",
            "logo_url": community.logo_url or "",
        },
        "image": {"name": image_name, "tag": image_tag},
        "resources": {
            "cpu_guarantee": _number(context.cpu_guarantee),
            "cpu_limit": _number(context.cpu_limit),
            "mem_guarantee": context.mem_guarantee,
            "mem_limit": context.mem_limit,
            "storage_capacity": context.storage_capacity,
            "gpu": context.gpu,
        },
        "cull": {"timeout": context.cull_timeout, "max_age": context.cull_max_age},
        "features": {
            "dask_gateway": context.dask_gateway,
            "shared_directory": context.shared_directory,
        },
        "auth": _auth(spec, context, layout),
        "admins": list(spec.admins),
        "event": (
            None
            if event is None
            else {
                "start": event.start.isoformat(),
                "end": event.end.isoformat(),
                "placeholder_replicas": int(context.extra.get("placeholder_replicas", 0)),
            }
        ),
        "secret_name": context.secret_name,
        # Register the portal's service token (helm installs; monitoring reads usage with it).
        "usage_service": bool(context.extra.get("usage_service")),
        "operator": dict(
            context.extra.get("operator") or {"name": "Hub Portal", "url": "https://example.org"}
        ),
        "extra": context.extra,
    }


# --- rendering ---------------------------------------------------------------


def template_names(context: RenderContext, layout: str) -> list[str]:
    """Where the layout's template is looked for: the set, the offering's, then default."""
    sets = [context.template_set or context.offering, DEFAULT_SET]
    return [f"{name}/{layout}.values.yaml.j2" for name in dict.fromkeys(sets)]


def render_text(
    names: Sequence[str], data: dict[str, Any], search_path: tuple[str, ...] | None = None
) -> str:
    env = environment(search_path or template_dirs())
    try:
        template = env.select_template(list(names))
    except TemplateNotFound as exc:
        raise RenderError(f"no template {' or '.join(names)}") from exc
    try:
        text = template.render(**data)
    except TemplateError as exc:
        raise RenderError(f"{template.name}: {exc}") from exc
    try:
        parsed = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader  # nosec B506
    except yaml.YAMLError as exc:
        raise RenderError(f"{template.name} rendered text that is not YAML: {exc}") from exc
    if not isinstance(parsed, dict):
        raise RenderError(f"{template.name} rendered {type(parsed).__name__}, not a mapping")
    return text


def render(
    spec: HubSpec,
    context: RenderContext,
    layout: str,
    *,
    search_path: tuple[str, ...] | None = None,
) -> Rendered:
    """The files of `spec`'s hub in `layout` ("2i2c" or "z2jh")."""
    if layout not in LAYOUTS:
        raise RenderError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    text = render_text(
        template_names(context, layout), variables(spec, context, layout), search_path
    )
    if layout == "z2jh":
        return Rendered(layout=layout, files={"values.yaml": text})
    wraps = WRAPPERS.get(context.helm_chart, "")
    if wraps:
        text = wrap(text, wraps)
    try:
        text = apply_inputs(
            text, context.inputs, context.input_specs, root=(wraps,) if wraps else ()
        )
    except ValueError as exc:
        raise RenderError(f"the cluster's inputs cannot be written: {exc}") from exc
    own = paths.own_values_file(spec.name)
    files = [f for f in context.shared_values_files if f != own]
    files.append(own)
    if context.secret_values_file and spec.auth.provider in NEEDS_SECRET:
        files.append(context.secret_values_file.format(hub=spec.name))
    entry = {
        "name": spec.name,
        "display_name": spec.display_name,
        "domain": context.domain,
        "helm_chart": context.helm_chart,
        "helm_chart_values_files": files,
    }
    path = paths.hub_values_path(context.cluster, spec.name)
    return Rendered(layout=layout, files={path: text}, cluster_entry=entry)


def wrap(text: str, key: str) -> str:
    """A values file's `text` nested under `key:` (a daskhub hub's `basehub:`).

    The leading comment stays on top; every other non-empty line moves two
    spaces right, which nests block YAML (block scalars included) one level.
    """
    lines = text.splitlines(keepends=True)
    head = 0
    while head < len(lines) and (not lines[head].strip() or lines[head].startswith("#")):
        head += 1
    body = [f"  {line}" if line.strip() else line for line in lines[head:]]
    wrapped = "".join([*lines[:head], f"{key}:\n", *body])
    if yaml.load(wrapped, Loader=_Loader) != {key: yaml.load(text, Loader=_Loader)}:  # noqa: S506  # nosec B506
        raise RenderError(f"the template's values could not be nested under {key}:")
    return wrapped


def cluster_values(cluster: Cluster) -> ClusterValues:
    """What the deployer's build needs from a cluster row (its conventions, as import learnt)."""
    conventions = cluster.conventions if isinstance(cluster.conventions, dict) else {}
    # The provider as cluster.yaml says it, else the catalog's (the same four names).
    return ClusterValues.from_conventions(
        cluster.slug, {"provider": cluster.provider, **conventions}
    )


def context_for(
    checked: Checked, *, inputs: dict[str, str] | None = None, **extra: Any
) -> RenderContext:
    """The render context of a checked spec, from its cluster and tier rows.

    `inputs` are the cluster's per-hub infrastructure values (check them first
    with provisioning.render.inputs.check_inputs).
    """
    from django.conf import settings

    cluster, offering = checked.cluster, checked.offering
    conventions = cluster.conventions if isinstance(cluster.conventions, dict) else {}
    try:
        specs = tuple(input_specs(conventions))
    except ValueError as exc:
        raise RenderError(f"cluster {cluster.slug}'s list of inputs is broken: {exc}") from exc
    defaults = RenderContext.__dataclass_fields__
    operator = {
        "name": "Hub Portal",
        "url": str(getattr(settings, "PORTAL_BASE_URL", "") or "https://example.org"),
    }
    return RenderContext(
        cluster=cluster.slug,
        domain=checked.domain,
        image_reference=checked.image_reference,
        offering=offering.slug,
        template_set=offering.template_set,
        cpu_guarantee=Decimal(offering.cpu_guarantee),
        cpu_limit=Decimal(offering.cpu_limit),
        mem_guarantee=offering.mem_guarantee,
        mem_limit=offering.mem_limit,
        storage_capacity=offering.storage_capacity,
        cull_timeout=offering.cull_timeout,
        cull_max_age=offering.cull_max_age,
        dask_gateway=offering.dask_gateway,
        gpu=offering.gpu,
        shared_directory=offering.shared_directory,
        helm_chart=str(conventions.get("helm_chart", defaults["helm_chart"].default)),
        shared_values_files=tuple(
            str(f)
            for f in conventions.get("shared_values_files", defaults["shared_values_files"].default)
        ),
        secret_values_file=str(
            conventions.get("secret_values_file", defaults["secret_values_file"].default)
        ),
        secret_name=cluster.hub_secret_name,
        inputs=dict(inputs or {}),
        input_specs=specs,
        # Helm installs register the portal's service token (monitoring reads usage with it);
        # GitOps hubs get theirs from an operator (HubSecret usage_token).
        extra={
            "operator": operator,
            "usage_service": cluster.deploy_mode == cluster.DeployMode.HELM,
            **extra,
        },
    )
