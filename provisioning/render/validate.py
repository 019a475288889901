"""Check rendered files the way their consumers will, before anything is deployed.

Helm validates the merge of a chart's defaults and the given values files
against the chart's schema, so that is what is checked here, with the charts'
own schemas and defaults from PORTAL_UPSTREAM_DIR (../shared/upstream):

- z2jh layout: values.yaml merged over z2jh's values.yaml, against z2jh's schema;
- 2i2c layout: what 2i2c's deployer hands Helm (deployer.py: the chart's
  values.jsonnet rendered for the hub, then the entry's values files in order,
  the cluster's shared files among them, a daskhub hub unwrapped from
  `basehub:`) merged over basehub's values.yaml against basehub's schema, its
  `jupyterhub:` subtree merged over z2jh's and basehub's defaults against
  z2jh's schema, and the cluster.yaml entry against the hub item of
  cluster.schema.yaml. Encrypted files cannot be read: the Report says which
  were skipped.

`validate_rendered()` is the one entry point; `validate_in_checkout()` is the
same with the shared files as a checkout has them (the GitOps backend, before
it pushes).

The schemas leave `hub.config.<Class>` blocks open (a typo there deploys and
does nothing), so the authenticator blocks are also checked against a list of
the traits each class has, and a hub must pick a real authenticator and let
somebody in (auth_checks.py). Pure: files in, ConfigError out.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import yaml
from django.core.exceptions import ImproperlyConfigured

from provisioning.layout import paths
from provisioning.render import deployer
from provisioning.render.auth_checks import check_auth, check_profiles, dig
from provisioning.render.deployer import ClusterValues
from provisioning.render.renderer import Rendered

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


class ConfigError(ValueError):
    """Everything wrong with a rendered hub, as (where, what) pairs."""

    def __init__(self, problems: list[tuple[str, str]], report: Report | None = None) -> None:
        self.problems = problems
        self.report = report
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{where}: {what}" if where else what for where, what in self.problems]


class UpstreamMissing(ImproperlyConfigured):
    """The charts' schemas and defaults are not where PORTAL_UPSTREAM_DIR says."""


# What 2i2c's deployer derives from the cluster.yaml entry (values.jsonnet): a hub's
# file leaves them out, or says the same. (label, path under `jupyterhub:`)
DERIVED = (
    ("ingress", ("ingress", "hosts")),
    ("ingress", ("ingress", "tls")),
    ("proxy.https", ("proxy", "https")),
)


# --- Helm's merge ------------------------------------------------------------


def helm_merge(base: Any, override: Any) -> Any:
    """`override` over `base` as Helm merges values: maps key by key, null deletes.

    Neither argument is changed; untouched subtrees of `base` are shared, not
    copied (the defaults are big and read-only).
    """
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return override
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = _without_nulls(value)
    return merged


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


# --- the upstream schemas ----------------------------------------------------


@dataclass(frozen=True)
class Schema:
    """A JSON schema compiled once: fast to pass, readable when it fails."""

    schema: dict[str, Any]

    @cached_property
    def fast(self) -> Callable[[Any], Any]:
        return fastjsonschema.compile(self.schema)

    @cached_property
    def slow(self) -> jsonschema.Draft7Validator:
        return jsonschema.Draft7Validator(self.schema)

    def problems(self, data: Any, where: str, prefix: str = "") -> list[tuple[str, str]]:
        """(location, message) for each way `data` fails; `prefix` is its path in the file."""
        try:
            self.fast(data)
        except fastjsonschema.JsonSchemaException:
            pass
        else:
            return []
        head = prefix.split(".") if prefix else []
        found = []
        for error in self.slow.iter_errors(data):
            if error.context:
                # anyOf / oneOf: say what the nearest alternative lacks, not "none matched".
                error = jsonschema.exceptions.best_match(error.context) or error
            found.append((_join(where, _dotted([*head, *error.absolute_path])), error.message))
        return sorted(found) or [(where, "does not match the chart's schema")]


@dataclass(frozen=True)
class Upstream:
    z2jh_defaults: dict[str, Any]
    z2jh: Schema
    basehub_defaults: dict[str, Any]
    basehub: Schema
    hub_entry: Schema
    charts_dir: str = ""  # 2i2c's helm-charts/ (values.jsonnet, Chart.yaml)

    @cached_property
    def basehub_jupyterhub_defaults(self) -> Any:
        """z2jh's defaults with basehub's `jupyterhub:` values over them."""
        return helm_merge(self.z2jh_defaults, self.basehub_defaults.get("jupyterhub") or {})


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a safe loader  # nosec B506


def upstream_dir() -> Path:
    from django.conf import settings

    return Path(settings.PORTAL_UPSTREAM_DIR)


@lru_cache(maxsize=4)
def upstream(directory: str) -> Upstream:
    """The charts' schemas and defaults under `directory`, loaded and compiled once."""
    root = Path(directory)
    files = {
        "z2jh_schema": root / "z2jh" / "values.schema.yaml",
        "z2jh_defaults": root / "z2jh" / "values.yaml",
        "basehub_schema": root / "2i2c" / "basehub.values.schema.yaml",
        "basehub_defaults": root / "2i2c" / "basehub.values.yaml",
        "cluster_schema": root / "2i2c" / "cluster.schema.yaml",
    }
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise UpstreamMissing(
            f"The chart schemas that rendered hubs are checked against are missing "
            f"({', '.join(missing)}). They ship next to the project in ../shared/upstream; "
            f"point PORTAL_UPSTREAM_DIR at that folder."
        )
    cluster_schema = _load(files["cluster_schema"])
    # `hubs.items` is a one-element list (a tuple to draft-07): its element is the
    # schema of every hub entry (upstream/SOURCES.md).
    items = cluster_schema["properties"]["hubs"]["items"]
    entry_schema = items[0] if isinstance(items, list) else items
    result = Upstream(
        z2jh_defaults=_load(files["z2jh_defaults"]),
        z2jh=Schema(_load(files["z2jh_schema"])),
        basehub_defaults=_load(files["basehub_defaults"]),
        basehub=Schema(_load(files["basehub_schema"])),
        hub_entry=Schema({"$schema": "http://json-schema.org/draft-07/schema#", **entry_schema}),
        charts_dir=str(root / "2i2c" / "charts"),
    )
    for schema in (result.z2jh, result.basehub, result.hub_entry):
        schema.fast  # noqa: B018 - compile now, not in the first request
    return result


# --- checks ------------------------------------------------------------------


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(where: str, path: str) -> str:
    if not path:
        return where
    return f"{where}[{path}]" if path.startswith("[") else f"{where}: {path}"


def _parse(path: str, text: str) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader  # nosec B506
    except yaml.YAMLError as exc:
        return None, [(path, f"is not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [(path, "must be a mapping of values")]
    return data, []


def _check_z2jh(up: Upstream, path: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    merged = helm_merge(up.z2jh_defaults, data)
    problems = up.z2jh.problems(merged, path)
    problems += check_auth(dig(merged, "hub", "config"), dig(data, "hub", "config"), path)
    problems += check_profiles(merged.get("singleuser"), f"{path}: singleuser")
    return problems


def _differs(own: Any, generated: Any) -> bool:
    """A value a hub's file sets where the deployer already derives one, differently."""
    return own is not None and own != generated


def _check_own_2i2c(
    path: str, data: dict[str, Any], generated: Mapping[str, Any], ignored: list[str], prefix: str
) -> list[tuple[str, str]]:
    """What the schemas let through in a hub's own file: ignored or contradicted values."""
    problems = [
        (
            f"{path}: {key}",
            f"the daskhub chart reads its values under `{prefix.rstrip('.')}:`, "
            "so Helm would silently ignore this",
        )
        for key in ignored
    ]
    jupyterhub = data.get("jupyterhub")
    if jupyterhub is None:
        return problems
    if not isinstance(jupyterhub, dict):
        return [*problems, (f"{path}: {prefix}jupyterhub", "must be a mapping")]
    made = generated.get("jupyterhub") or {}
    for label, keys in DERIVED:
        where = f"{path}: {prefix}jupyterhub.{label}"
        if _differs(dig(jupyterhub, *keys), dig(made, *keys)) and where not in dict(problems):
            problems.append((where, "basehub derives this from the hub's domain: leave it out"))
    callback = dig(made, "hub", "config", "OAuthenticator", "oauth_callback_url")
    for block, values in (dig(jupyterhub, "hub", "config") or {}).items():
        if isinstance(values, Mapping) and _differs(values.get("oauth_callback_url"), callback):
            problems.append(
                (
                    f"{path}: {prefix}jupyterhub.hub.config.{block}.oauth_callback_url",
                    "basehub derives the callback from the hub's domain: leave it out",
                )
            )
    return problems


def _check_2i2c(
    up: Upstream, rendered: Rendered, cluster: ClusterValues | None, report: Report
) -> list[tuple[str, str]]:
    """The hub's values as 2i2c's deployer builds them, against basehub's and z2jh's schemas."""
    entry = rendered.cluster_entry
    problems: list[tuple[str, str]] = []
    own: dict[str, dict[str, Any]] = {}
    for path, text in rendered.files.items():
        try:
            own[path] = deployer.parse_values(text)
        except deployer.BuildError as exc:
            problems.append((path, str(exc)))
    reported = {where for where, _ in problems}
    if not isinstance(entry, dict) or not own:
        return problems  # check_entry says what is missing
    charts = up.charts_dir
    if not Path(charts).is_dir():
        raise UpstreamMissing(
            f"The 2i2c charts (values.jsonnet, Chart.yaml) are missing from {charts}; point "
            "PORTAL_UPSTREAM_DIR at ../shared/upstream."
        )
    if cluster is None:
        # Nothing known about the cluster: its shared files go unchecked.
        parts = next(iter(rendered.files)).split("/")
        cluster = ClusterValues(name=parts[2] if len(parts) > 3 else "")
    try:
        built = deployer.build(charts, cluster, entry, rendered.files)
    except deployer.BuildError as exc:
        return [*problems, ("cluster.yaml hubs[].helm_chart", str(exc))]
    folder = paths.cluster_folder(cluster.name)
    report.sources = [source for source, _ in built.layers]
    report.skipped += [f"{folder}/{f}" for f in built.skipped]
    report.unchecked += [f"{folder}/{f}" for f in built.unchecked]
    problems += [p for p in built.problems if p[0] not in reported]
    problems += [
        (f"{folder}/{f}", "listed in the hub's helm_chart_values_files, but not in the folder")
        for f in built.missing
    ]
    wraps = built.chart.wraps
    prefix = f"{wraps}." if wraps else ""
    generated = built.generated
    own_config: Any = {}
    for path, data in own.items():
        inner, ignored = deployer.unwrap(data, wraps)
        problems += _check_own_2i2c(path, inner, generated, ignored, prefix)
        config = dig(inner, "jupyterhub", "hub", "config")
        if isinstance(config, Mapping):
            own_config = helm_merge(own_config, config)
    where = next(iter(own))
    values = built.values
    jupyterhub = values.get("jupyterhub")
    if jupyterhub is not None and not isinstance(jupyterhub, dict):
        return [*problems, (f"{where}: {prefix}jupyterhub", "must be a mapping")]
    problems += up.basehub.problems(helm_merge(up.basehub_defaults, values), where, wraps)
    merged = helm_merge(up.basehub_jupyterhub_defaults, jupyterhub or {})
    problems += up.z2jh.problems(merged, where, f"{prefix}jupyterhub")
    problems += check_auth(
        dig(merged, "hub", "config"), own_config, f"{where}: {prefix}jupyterhub.hub.config"
    )
    problems += check_profiles(merged.get("singleuser"), f"{where}: {prefix}jupyterhub.singleuser")
    return problems


def check_entry(up: Upstream, entry: Any, values_paths: Iterable[str]) -> list[tuple[str, str]]:
    """The hub's item for cluster.yaml's `hubs:` list."""
    where = "cluster.yaml hubs[]"
    if not isinstance(entry, dict):
        return [(where, "the 2i2c layout needs the hub's cluster.yaml entry")]
    problems = up.hub_entry.problems(entry, where)
    files = entry.get("helm_chart_values_files")
    if isinstance(files, list):
        for i, name in enumerate(files):
            normal = posixpath.normpath(str(name))
            if normal != name or normal.startswith(("/", "..")):
                problems.append(
                    (f"{where}.helm_chart_values_files[{i}]", "must be a file in the folder")
                )
        for values_path in values_paths:
            if posixpath.basename(values_path) not in files:
                problems.append(
                    (
                        f"{where}.helm_chart_values_files",
                        f"does not list {posixpath.basename(values_path)}",
                    )
                )
    return problems


@dataclass
class Report:
    """What validation read and what it could not: encrypted files are never readable here."""

    sources: list[str] = field(default_factory=list)  # merged, in order (2i2c layout)
    skipped: list[str] = field(default_factory=list)  # encrypted (sops): not checked
    unchecked: list[str] = field(default_factory=list)  # shared files with no text to read

    def lines(self) -> list[str]:
        return [f"not checked (encrypted): {path}" for path in self.skipped] + [
            f"not checked (not read from the repository yet): {path}" for path in self.unchecked
        ]


def validate_rendered(
    rendered: Rendered,
    *,
    directory: Path | str | None = None,
    cluster: ClusterValues | None = None,
) -> Report:
    """Raise ConfigError listing every problem with `rendered` (path: message).

    2i2c layout: the hub's values are built the way 2i2c's deployer builds them
    (provisioning/render/deployer.py) with `cluster`'s facts and shared files
    (ClusterValues.from_conventions(...)); without it, the shared files go
    unchecked. Returns what was checked and what was not (encrypted files).
    """
    up = upstream(str(directory or upstream_dir()))
    problems: list[tuple[str, str]] = []
    report = Report()
    if rendered.layout not in ("2i2c", "z2jh"):
        raise ConfigError([("", f"unknown layout {rendered.layout!r}")])
    if not rendered.files:
        raise ConfigError([("", "nothing was rendered")])
    if rendered.layout == "z2jh":
        for path, text in rendered.files.items():
            data, found = _parse(path, text)
            problems += found
            if data is not None:
                problems += _check_z2jh(up, path, data)
        if rendered.cluster_entry is not None:
            problems.append(("cluster_entry", "the z2jh layout has no cluster.yaml entry"))
    else:
        problems += _check_2i2c(up, rendered, cluster, report)
        problems += check_entry(up, rendered.cluster_entry, rendered.files)
    if problems:
        raise ConfigError(problems, report)
    return report


def validate_in_checkout(
    rendered: Rendered, cluster: ClusterValues, shared: Mapping[str, str | None]
) -> Report:
    """validate_rendered with the cluster's shared files as a checkout has them.

    `shared` is {repository path: text, or None where the checkout lacks it}.
    """
    folder = f"{paths.cluster_folder(cluster.name)}/"
    texts = {p.removeprefix(folder): t for p, t in shared.items() if t is not None}
    return validate_rendered(rendered, cluster=cluster.with_shared(texts))
