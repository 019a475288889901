"""Check rendered files the way their consumers will, before anything is deployed.

Helm validates the merge of a chart's defaults and the given values files
against the chart's schema, so that is what is checked here, with the charts'
own schemas and defaults from PORTAL_UPSTREAM_DIR (../shared/upstream):

- z2jh layout: values.yaml merged over z2jh's values.yaml, against z2jh's schema;
- 2i2c layout: the whole file merged over basehub's values.yaml (plus what
  2i2c's deployer generates from the domain) against basehub's schema, its
  `jupyterhub:` subtree merged over z2jh's and basehub's defaults against
  z2jh's schema, and the cluster.yaml entry against the hub item of
  cluster.schema.yaml.

The schemas leave `hub.config.<Class>` blocks open (a typo there deploys and
does nothing), so the authenticator blocks are also checked against a list of
the traits each class has, and a hub must pick a real authenticator and let
somebody in. Pure: files in, ConfigError out.
"""

from __future__ import annotations

import posixpath
import re
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
from provisioning.render.authenticators import CLASS_OF, DUMMY
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


# --- authenticators ----------------------------------------------------------

_BASE = frozenset(
    {
        "admin_users",
        "allowed_users",
        "blocked_users",
        "allow_all",
        "allow_existing_users",
        "auth_refresh_age",
        "auto_login",
        "auto_login_oauth2_authorize",
        "delete_invalid_users",
        "enable_auth_state",
        "manage_groups",
        "manage_roles",
        "post_auth_hook",
        "refresh_pre_spawn",
        "reset_managed_roles_on_startup",
        "username_map",
        "username_pattern",
        "otp_prompt",
        "request_otp",
    }
)
_OAUTH = _BASE | {
    "client_id",
    "client_secret",
    "oauth_callback_url",
    "scope",
    "authorize_url",
    "token_url",
    "userdata_url",
    "userdata_params",
    "userdata_token_method",
    "userdata_from_id_token",
    "username_claim",
    "login_service",
    "logout_redirect_url",
    "token_params",
    "extra_authorize_params",
    "authorize_params",
    "basic_auth",
    "validate_server_cert",
    "http_request_kwargs",
    "allowed_groups",
    "admin_groups",
    "auth_state_groups_key",
    "enable_pkce",
    "custom_403_message",
    "revoke_tokens_on_logout",
    "modify_auth_state_hook",
    "user_auth_state_key",
}
# The keys each block may hold; anything else is a typo the chart would ignore.
ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "Authenticator": _BASE,
    "GitHubOAuthenticator": _OAUTH
    | {"allowed_organizations", "populate_teams_in_auth_state", "github_url"},
    "CILogonOAuthenticator": _OAUTH | {"allowed_idps", "shown_idps", "skin", "cilogon_host", "idp"},
    "GoogleOAuthenticator": _OAUTH
    | {
        "hosted_domain",
        # oauthenticator 17 (what 2i2c's cloudbank hubs configure): the hosted
        # domains that may log in, and whether their usernames keep the domain.
        "allowed_hosted_domains",
        "strip_domain",
        "allowed_google_groups",
        "admin_google_groups",
        "gsuite_administrator",
        "google_service_account_keys",
        "google_api_url",
        "include_granted_scopes",
    },
    "GenericOAuthenticator": _OAUTH | {"claim_groups_key", "tls_verify"},
    "TmpAuthenticator": _BASE | {"force_new_server", "login_service"},
    "SharedPasswordAuthenticator": _BASE | {"shared_password", "admin_password"},
    "NullAuthenticator": _BASE,
}
SECRET_KEYS = ("client_secret", "shared_password", "admin_password")
# Provider rules that let users in (REFERENCE.md), besides allow_all / allowed_users.
PROVIDER_RULES = {
    "GitHubOAuthenticator": ("allowed_organizations",),
    "CILogonOAuthenticator": ("allowed_idps",),
    "GoogleOAuthenticator": ("allowed_google_groups",),
    "GenericOAuthenticator": ("allowed_groups",),
}
ENTITY_ID = re.compile(r"^(https?://\S+|urn:\S+)$", re.IGNORECASE)
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
        found = [
            (_join(where, _dotted([*head, *error.absolute_path])), error.message)
            for error in self.slow.iter_errors(data)
        ]
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
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a safe loader


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


def dig(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]…, or None where a step is missing or not a mapping."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def check_auth(config: Any, own: Any, where: str) -> list[tuple[str, str]]:
    """What the schemas leave open in `hub.config` (`config` merged, `own` as written)."""
    problems: list[tuple[str, str]] = []

    def add(path: str, message: str) -> None:
        problems.append((f"{where}.{path}" if path else where, message))

    if not isinstance(config, Mapping):
        add("", "hub.config is missing: the chart default lets anyone in (dummy)")
        return problems
    chosen = dig(config, "JupyterHub", "authenticator_class")
    if chosen is None or chosen in DUMMY:
        add(
            "JupyterHub.authenticator_class",
            "pick a real authenticator: the default `dummy` lets anyone in with any password",
        )
        return problems
    class_name = CLASS_OF.get(str(chosen))
    if class_name is None:
        add("JupyterHub.authenticator_class", f"{chosen!r} is not a known authenticator")
        return problems

    for block, allowed in ALLOWED_KEYS.items():
        values = config.get(block)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            add(block, "must be a mapping of settings")
            continue
        for key in values:
            if key not in allowed:
                add(f"{block}.{key}", f"{block} has no setting {key!r}, so it would do nothing")
        if isinstance(own, Mapping) and block in own and block not in ("Authenticator", class_name):
            add(block, f"configures {block}, but the hub logs in with {class_name}")
    if isinstance(own, Mapping):
        for block, values in own.items():
            if not isinstance(values, Mapping):
                continue
            for key in SECRET_KEYS:
                if values.get(key):
                    add(f"{block}.{key}", "a secret must not be written into a values file")

    if class_name == "NullAuthenticator":
        return problems  # nobody logs in through the hub; no allow rule applies
    base = config.get("Authenticator") or {}
    mine = config.get(class_name) or {}
    rules = [
        (block, key)
        for block in (base, mine)
        for key in ("allow_all", "allowed_users")
        if isinstance(block, Mapping) and block.get(key)
    ]
    rules += [
        (mine, key)
        for key in PROVIDER_RULES.get(class_name, ())
        if isinstance(mine, Mapping) and mine.get(key)
    ]
    if class_name == "CILogonOAuthenticator":
        # An identity provider without a rule of its own is fine (admins and
        # allowed users log in through it), but the list alone admits nobody.
        idps = mine.get("allowed_idps") if isinstance(mine, Mapping) else None
        rules = [r for r in rules if r[1] != "allowed_idps"] + [
            (mine, "allowed_idps")
            for idp in (idps.values() if isinstance(idps, Mapping) else ())
            if isinstance(idp, Mapping) and (idp.get("allow_all") or idp.get("allowed_domains"))
        ]
    if not rules:
        add(
            "Authenticator",
            "no allow rule (allow_all, allowed_users or a provider rule): nobody but the "
            "admins could log in",
        )
    if class_name == "CILogonOAuthenticator":
        problems += [(f"{where}.{p}", m) for p, m in _cilogon(mine, open_rule=bool(rules))]
    if class_name == "GenericOAuthenticator":
        for key in ("authorize_url", "token_url", "userdata_url", "username_claim"):
            if not mine.get(key):
                add(f"GenericOAuthenticator.{key}", "is required (there is no discovery)")
    google_open = mine.get("allow_all") or base.get("allow_all")
    hosted = mine.get("hosted_domain") or mine.get("allowed_hosted_domains")
    if class_name == "GoogleOAuthenticator" and google_open and not hosted:
        add("GoogleOAuthenticator.hosted_domain", "allow_all without it admits any Google user")
    return problems


def _cilogon(block: Mapping[str, Any], *, open_rule: bool) -> list[tuple[str, str]]:
    idps = block.get("allowed_idps")
    if not isinstance(idps, Mapping) or not idps:
        return [("CILogonOAuthenticator.allowed_idps", "name at least one identity provider")]
    problems = []
    for entity_id, idp in idps.items():
        path = f"CILogonOAuthenticator.allowed_idps[{entity_id}]"
        if not ENTITY_ID.match(str(entity_id)):
            problems.append((path, "the key must be the provider's EntityID (http(s):// or urn:)"))
        if not isinstance(idp, Mapping):
            problems.append((path, "must be a mapping of settings"))
            continue
        if not dig(idp, "username_derivation", "username_claim"):
            problems.append((f"{path}.username_derivation", "needs a username_claim"))
        if not open_rule and not idp.get("allow_all") and not idp.get("allowed_domains"):
            problems.append((path, "needs allow_all: true or allowed_domains"))
    return problems


def check_profiles(singleuser: Any, where: str) -> list[tuple[str, str]]:
    """profileList is passed to KubeSpawner unchecked by the schema: check its shape."""
    profiles = dig(singleuser, "profileList")
    if profiles is None:
        return []
    if not isinstance(profiles, list):
        return [(f"{where}.profileList", "must be a list")]
    problems = []
    for i, profile in enumerate(profiles):
        path = f"{where}.profileList[{i}]"
        if not isinstance(profile, Mapping) or not profile.get("display_name"):
            problems.append((path, "each profile needs a display_name"))
            continue
        options = profile.get("profile_options") or {}
        if not isinstance(options, Mapping):
            problems.append((f"{path}.profile_options", "must be a mapping"))
            continue
        for name, option in options.items():
            choices = dig(option, "choices")
            if not isinstance(choices, Mapping) or not choices:
                problems.append((f"{path}.profile_options.{name}", "needs choices"))
                continue
            for choice, value in choices.items():
                if not isinstance(dig(value, "kubespawner_override"), Mapping):
                    problems.append(
                        (
                            f"{path}.profile_options.{name}.choices.{choice}",
                            "needs a kubespawner_override mapping",
                        )
                    )
    return problems


def _parse(path: str, text: str) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
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
        first = next(iter(rendered.files))
        cluster = ClusterValues(name=first.split("/")[2] if first.count("/") >= 3 else "")
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
    generated, _ = deployer.unwrap(deployer.chart_values(built.chart, built.hub), wraps)
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
