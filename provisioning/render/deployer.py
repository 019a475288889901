"""What 2i2c's deployer hands Helm for one hub, built the same way. Pure: no database, no network.

For a hub of a 2i2c-layout repository the deployer runs

    helm upgrade --install <hub> helm-charts/<helm_chart> \\
        --values <values.jsonnet rendered for this hub> \\
        --values <each of the entry's helm_chart_values_files, in order>

(upstream/SOURCES.md). So the values Helm validates are: the chart's
`values.jsonnet` evaluated with the deployer's external variables, then the
cluster's shared files and the hub's own files merged in the entry's order,
over the chart's defaults. `build()` makes that document; validate.py checks it.

- daskhub only wraps basehub (basehub is its one dependency): it reads
  everything under `basehub:`, values.jsonnet wraps its output the same way,
  and `unwrap()` takes it out again for basehub's schema. Whatever else a
  daskhub file holds at its top level, Helm ignores.
- sops-encrypted files (`enc-*`, `*.secret.*`) cannot be read here: they are
  skipped, and the build says so.
- The external variables: hub name and domain from the hub's entry, cluster
  name and provider from cluster.yaml, and the account id the chart builds
  cloud identities from (`aws.account` on AWS, `gcp.project` on GCP).

values.jsonnet is evaluated with go-jsonnet (`gojsonnet`), as 2i2c's deployer
insists (it refuses the C++ implementation), and each evaluation is cached by
its inputs: the same hub is not rendered twice.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from provisioning.layout import paths

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

BASEHUB = "basehub"
# Charts that only wrap basehub, and the key they read its values under
# (cluster.schema.yaml allows basehub and daskhub; daskhub's one dependency is basehub).
WRAPPERS = {"daskhub": BASEHUB}


class BuildError(ValueError):
    """A values file or values.jsonnet could not be read or evaluated."""


# --- the cluster, as far as the deployer's build needs it ---------------------------


@dataclass(frozen=True)
class ClusterValues:
    """A cluster's side of a hub's build: its cluster.yaml facts and its shared files.

    `shared_values` holds the text of each readable shared values file as the
    repository has it (at import, or in the checkout a deployment commits
    into); a file it does not hold is reported as not checked.
    """

    name: str
    provider: str = "kubeconfig"
    account_id: str = ""
    helm_chart: str = BASEHUB
    shared_values_files: tuple[str, ...] = ()
    shared_values: Mapping[str, str] | None = None  # None: never read (nothing to check)

    @classmethod
    def from_conventions(cls, name: str, conventions: Mapping[str, Any]) -> ClusterValues:
        """From a cluster's `conventions` JSON, as import and drift checks store it."""
        shared = conventions.get("shared_values")
        snapshot = (
            {str(k): str(v) for k, v in shared.items()} if isinstance(shared, Mapping) else None
        )
        return cls(
            name=name,
            provider=str(conventions.get("provider") or "kubeconfig"),
            account_id=str(conventions.get("account_id") or ""),
            helm_chart=str(conventions.get("helm_chart") or BASEHUB),
            shared_values_files=tuple(str(f) for f in conventions.get("shared_values_files", ())),
            shared_values=snapshot,
        )

    def with_shared(self, shared_values: Mapping[str, str]) -> ClusterValues:
        """The same cluster with its shared files as another checkout has them."""
        return ClusterValues(
            name=self.name,
            provider=self.provider,
            account_id=self.account_id,
            helm_chart=self.helm_chart,
            shared_values_files=self.shared_values_files,
            shared_values=dict(shared_values),
        )


def cluster_facts(data: Mapping[str, Any]) -> dict[str, str]:
    """`provider` and `account_id` from a cluster.yaml, where the deployer takes them."""
    provider = str(data.get("provider") or "kubeconfig")
    account = ""
    if provider == "aws":
        account = str(_get(data, "aws", "account") or "")
    elif provider == "gcp":
        account = str(_get(data, "gcp", "project") or "")
    return {"provider": provider, "account_id": account}


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


# --- charts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A chart folder of 2i2c's helm-charts/ (as upstream/2i2c/charts/ keeps it)."""

    name: str
    jsonnet_path: Path  # what the deployer passes to jsonnet (daskhub's is a link)
    jsonnet_source: str
    wraps: str  # "" for basehub; "basehub" for daskhub, which only wraps it


@lru_cache(maxsize=8)
def chart(charts_dir: str, name: str) -> Chart:
    """The chart `name` under `charts_dir`; BuildError if it is not there."""
    folder = Path(charts_dir) / name
    meta = folder / "Chart.yaml"
    if not meta.is_file():
        raise BuildError(f"there is no chart {name!r} in {charts_dir}")
    wraps = WRAPPERS.get(name, "")
    source = folder / "values.jsonnet"
    if not source.is_file() and wraps:
        # In 2i2c's repository daskhub/values.jsonnet is a link to basehub's.
        source = Path(charts_dir) / wraps / "values.jsonnet"
    if not source.is_file():
        raise BuildError(f"chart {name!r} has no values.jsonnet in {charts_dir}")
    # The path as the deployer names it: through the link, so that the file can
    # tell from its own path (std.thisFile) which chart it is rendered for.
    return Chart(name, (folder / "values.jsonnet").absolute(), source.read_text(), wraps)


def unwrap(values: Mapping[str, Any], wraps: str) -> tuple[dict[str, Any], list[str]]:
    """A wrapper chart's values as basehub reads them, and the top-level keys Helm ignores."""
    if not wraps:
        return dict(values), []
    inner = values.get(wraps)
    ignored = [str(k) for k in values if k not in (wraps, "global")]
    return (dict(inner) if isinstance(inner, Mapping) else {}), ignored


# --- values.jsonnet ---------------------------------------------------------------


@dataclass(frozen=True)
class HubVars:
    """The deployer's external variables for one hub."""

    cluster: str
    provider: str
    hub: str
    domain: str
    account_id: str

    def ext_vars(self) -> dict[str, str]:
        return {
            "VARS_2I2C_CLUSTER_NAME": self.cluster,
            "VARS_2I2C_PROVIDER": self.provider,
            "VARS_2I2C_HUB_NAME": self.hub,
            "VARS_2I2C_HUB_DOMAIN": self.domain,
            "VARS_2I2C_ACCOUNT_ID": self.account_id,
        }


@lru_cache(maxsize=1024)
def _evaluate(filename: str, source: str, search: str, hub: HubVars) -> Any:
    # Imported here, not at the top: loading go-jsonnet starts the Go runtime's threads,
    # and a process forked after that (a prefork Celery worker's children are forked
    # from the parent that imported the tasks) inherits a runtime without its threads
    # and hangs on its first call. Loading it in the process that evaluates is safe.
    import _gojsonnet as jsonnet

    try:
        text = jsonnet.evaluate_snippet(
            filename, source, jpathdir=[search], ext_vars=hub.ext_vars()
        )
    except RuntimeError as exc:
        raise BuildError(f"{posixpath.basename(filename)}: {str(exc).strip()}") from exc
    return json.loads(text)


def render_jsonnet(path: Path, source: str, hub: HubVars) -> dict[str, Any]:
    """`source` (a values file in jsonnet, named `path`) evaluated for `hub`. Cached."""
    result = _evaluate(str(path), source, str(path.parent), hub)
    if not isinstance(result, dict):
        raise BuildError(f"{path.name} rendered {type(result).__name__}, not a mapping")
    return result


def chart_values(the_chart: Chart, hub: HubVars) -> dict[str, Any]:
    """The chart's values.jsonnet rendered for `hub`: the first values file Helm gets."""
    return render_jsonnet(the_chart.jsonnet_path, the_chart.jsonnet_source, hub)


# --- merging ------------------------------------------------------------------------


def merge_files(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Two values files merged as Helm merges its --values files (mergeMaps).

    Maps merge key by key; anything else (a list, a scalar, a null) replaces.
    Nulls stay: they delete a chart default later, when the defaults are
    coalesced in. Neither argument is changed; untouched subtrees are shared.
    """
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge_files(current, value)
        else:
            merged[key] = value
    return merged


@lru_cache(maxsize=512)
def parse_values(text: str) -> dict[str, Any]:
    """A values file's YAML, parsed once per distinct text (callers must not change it)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader  # nosec B506
    except yaml.YAMLError as exc:
        raise BuildError(f"is not valid YAML: {exc}") from exc
    if data is None:
        return {}  # an empty values file is a valid one
    if not isinstance(data, dict):
        raise BuildError("must be a mapping of values")
    return data


# --- the build --------------------------------------------------------------------


@dataclass
class Build:
    """The values one hub's Helm release gets, before the chart's defaults.

    `values` is in basehub's shape (a wrapper chart's `basehub:` taken out);
    `layers` holds, in order, what was merged into it.
    """

    chart: Chart
    hub: HubVars
    values: dict[str, Any]
    generated: dict[str, Any] = field(default_factory=dict)  # values.jsonnet's, unwrapped
    layers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (source, values)
    skipped: list[str] = field(default_factory=list)  # encrypted: not readable here
    unchecked: list[str] = field(default_factory=list)  # shared, but no text to read
    missing: list[str] = field(default_factory=list)  # listed, but not in the folder
    ignored: dict[str, list[str]] = field(default_factory=dict)  # file -> top-level keys
    problems: list[tuple[str, str]] = field(default_factory=list)


def hub_vars(cluster: ClusterValues, entry: Mapping[str, Any]) -> HubVars:
    name = str(entry.get("name") or "")
    return HubVars(
        cluster=cluster.name,
        provider=cluster.provider,
        hub=name,
        domain=str(entry.get("domain") or f"{name}.invalid"),
        account_id=cluster.account_id,
    )


def build(
    charts_dir: str,
    cluster: ClusterValues,
    entry: Mapping[str, Any],
    own: Mapping[str, str],
) -> Build:
    """The values Helm will see for the hub of `entry` (a cluster.yaml `hubs:` item).

    `own` holds the hub's own files, {repository path: text}; the entry's
    other files are the cluster's shared files, read from `cluster`.
    """
    the_chart = chart(charts_dir, str(entry.get("helm_chart") or cluster.helm_chart))
    hub = hub_vars(cluster, entry)
    result = Build(chart=the_chart, hub=hub, values={})
    try:
        generated = chart_values(the_chart, hub)
    except BuildError as exc:
        result.problems.append((f"helm-charts/{the_chart.name}/values.jsonnet", str(exc)))
        generated = {}
    values, _ = unwrap(generated, the_chart.wraps)
    result.generated = values
    result.layers.append(("values.jsonnet", values))
    files = entry.get("helm_chart_values_files")
    for filename in files if isinstance(files, list) else []:
        filename = str(filename)
        relative = paths.in_cluster(cluster.name, filename)
        if paths.is_secret_file(filename) or posixpath.basename(filename).startswith("enc-"):
            result.skipped.append(filename)
            continue
        if relative in own:
            text = own[relative]
        elif cluster.shared_values is None:
            result.unchecked.append(filename)
            continue
        elif filename in cluster.shared_values:
            text = cluster.shared_values[filename]
        else:
            result.missing.append(filename)
            continue
        try:
            data = _read(relative, filename, text, hub)
        except BuildError as exc:
            result.problems.append((relative, str(exc)))
            continue
        data, ignored = unwrap(data, the_chart.wraps)
        if ignored:
            result.ignored[relative] = ignored
        values = merge_files(values, data)
        result.layers.append((filename, data))
    result.values = values
    return result


def shared_files(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The values files hubs share (not one hub's own, not encrypted), in listed order."""
    found: list[str] = []
    for entry in entries:
        name = str(entry.get("name") or "")
        files = entry.get("helm_chart_values_files")
        for filename in files if isinstance(files, list) else []:
            base = posixpath.basename(str(filename))
            if (name and name in base) or paths.is_secret_file(base) or base.startswith("enc-"):
                continue
            if filename not in found:
                found.append(str(filename))
    return found


def _read(relative: str, filename: str, text: str, hub: HubVars) -> dict[str, Any]:
    if filename.endswith(".jsonnet"):
        # The deployer renders jsonnet values files with the same variables.
        return render_jsonnet(Path("/", relative), text, hub)
    return parse_values(text)
