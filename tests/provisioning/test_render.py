"""Rendering a hub spec into values files: per provider and layout, templates, escaping."""

from __future__ import annotations

import copy
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings as django_settings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hubs import catalog as default_catalog
from hubs.models import Cluster, Hub
from hubs.spec import SpecError, parse_spec
from hubs.validation import validate_spec
from provisioning.render.renderer import (
    LAYOUTS,
    RenderContext,
    Rendered,
    RenderError,
    context_for,
    render,
    yaml_value,
)
from provisioning.revisions import render_files
from tests.conftest import event_spec, github_spec

GOLDEN = Path(__file__).parent / "golden"
IMAGE = "quay.io/jupyter/scipy-notebook:2025-10-20"
PROVIDERS = ("github", "cilogon", "google", "generic-oidc", "tmp", "shared-password")


def tier_context(slug: str = "education", **overrides: Any) -> RenderContext:
    """The render context of a default-catalog tier, without the database."""
    tier = next(o for o in default_catalog.OFFERINGS if o["slug"] == slug)
    values: dict[str, Any] = {
        "cluster": default_catalog.PLACEMENT[slug][0],
        "domain": "hub.example.org",
        "image_reference": IMAGE,
        "offering": slug,
        "template_set": "",
        "cpu_guarantee": tier["cpu_guarantee"],
        "cpu_limit": tier["cpu_limit"],
        "mem_guarantee": tier["mem_guarantee"],
        "mem_limit": tier["mem_limit"],
        "storage_capacity": tier["storage_capacity"],
        "cull_timeout": tier["cull_timeout"],
        "cull_max_age": tier.get("cull_max_age", 0),
        "dask_gateway": tier.get("dask_gateway", False),
        "gpu": tier.get("gpu", False),
        "shared_directory": tier.get("shared_directory", False),
    }
    values.update(overrides)
    return RenderContext(**values)


AUTH: dict[str, dict[str, Any]] = {
    "github": {
        "auth": {"provider": "github", "github": {"organizations": ["bcc-org", "bcc-org:staff"]}},
        "admins": ["alice-gh"],
    },
    "cilogon": {
        "auth": {
            "provider": "cilogon",
            "cilogon": {
                "idps": [
                    {
                        "entity_id": "https://idp.uni.edu/idp/shibboleth",
                        "allowed_domains": ["uni.edu", "staff.uni.edu"],
                    },
                    {"entity_id": "http://google.com/accounts/o8/id", "allow_all": True},
                ]
            },
        },
        "admins": ["alice@uni.edu"],
    },
    "google": {
        "auth": {"provider": "google", "google": {"hosted_domains": ["uni.edu"]}},
        "admins": ["alice@uni.edu"],
    },
    "generic-oidc": {
        "auth": {
            "provider": "generic-oidc",
            "generic-oidc": {
                "authorize_url": "https://login.uni.edu/authorize",
                "token_url": "https://login.uni.edu/oauth/token",
                "userdata_url": "https://login.uni.edu/userinfo",
                "scopes": ["openid", "email", "profile"],
            },
        },
        "admins": ["alice"],
        "allowed_users": ["bob", "carol"],
    },
    "tmp": {"auth": {"provider": "tmp"}, "admins": []},
    "shared-password": {"auth": {"provider": "shared-password"}, "admins": []},
}


def spec_for(provider: str, tier: str | None = None) -> dict[str, Any]:
    """A valid spec logging in with `provider` on `tier` (default: one that suits it)."""
    event_only = provider in ("tmp", "shared-password")
    tier = tier or ("events" if event_only else "education")
    offering = next(o for o in default_catalog.OFFERINGS if o["slug"] == tier)
    purpose = offering["purposes"][0]
    base = event_spec() if purpose == "event" else github_spec()
    base.update(copy.deepcopy(AUTH[provider]), purpose=purpose, offering=tier)
    if purpose != "event":
        base.pop("event", None)
    return base


def parsed(rendered: Rendered) -> dict[str, Any]:
    (text,) = rendered.files.values()
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def hub_config(rendered: Rendered) -> dict[str, Any]:
    data = parsed(rendered)
    if rendered.layout == "2i2c":
        data = data["jupyterhub"]
    return data["hub"]["config"]


# --- per provider -----------------------------------------------------------


def test_it_renders_a_github_hub_for_2i2c() -> None:
    rendered = render(parse_spec(spec_for("github")), tier_context(), "2i2c")
    assert list(rendered.files) == ["config/clusters/gcp-us-central1/bcc.values.yaml"]
    data = parsed(rendered)
    config = data["jupyterhub"]["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == "github"
    assert config["Authenticator"]["admin_users"] == ["alice-gh"]
    assert config["GitHubOAuthenticator"] == {
        "allowed_organizations": ["bcc-org", "bcc-org:staff"],
        "scope": ["read:org"],
    }
    # basehub derives these from the entry's domain
    assert "ingress" not in data["jupyterhub"]
    assert "oauth_callback_url" not in str(data)
    assert rendered.cluster_entry == {
        "name": "bcc",
        "display_name": "Berkeley City College",
        "domain": "hub.example.org",
        "helm_chart": "basehub",
        "helm_chart_values_files": [
            "common.values.yaml",
            "bcc.values.yaml",
            "enc-bcc.secret.values.yaml",
        ],
    }


def test_it_asks_for_read_org_only_with_teams() -> None:
    spec = spec_for("github") | {
        "auth": {"provider": "github", "github": {"organizations": ["bcc-org"]}}
    }
    config = hub_config(render(parse_spec(spec), tier_context(), "z2jh"))
    assert "scope" not in config["GitHubOAuthenticator"]


def test_it_renders_cilogon_idps_keyed_by_entity_id() -> None:
    config = hub_config(render(parse_spec(spec_for("cilogon")), tier_context(), "2i2c"))
    assert config["JupyterHub"]["authenticator_class"] == "cilogon"
    assert config["CILogonOAuthenticator"]["allowed_idps"] == {
        "https://idp.uni.edu/idp/shibboleth": {
            "default": True,
            "username_derivation": {"username_claim": "email"},
            "allowed_domains": ["uni.edu", "staff.uni.edu"],
        },
        "http://google.com/accounts/o8/id": {
            "default": False,
            "username_derivation": {"username_claim": "email"},
            "allow_all": True,
        },
    }


def test_it_lets_a_google_domain_in_unless_users_are_listed() -> None:
    config = hub_config(render(parse_spec(spec_for("google")), tier_context(), "z2jh"))
    assert config["GoogleOAuthenticator"]["hosted_domain"] == ["uni.edu"]
    assert config["Authenticator"]["allow_all"] is True

    listed = spec_for("google") | {"allowed_users": ["bob@uni.edu"]}
    config = hub_config(render(parse_spec(listed), tier_context(), "z2jh"))
    assert "allow_all" not in config["Authenticator"]
    assert config["Authenticator"]["allowed_users"] == ["bob@uni.edu"]


def test_it_renders_generic_oidc_without_discovery() -> None:
    config = hub_config(render(parse_spec(spec_for("generic-oidc")), tier_context(), "z2jh"))
    assert config["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert config["GenericOAuthenticator"] == {
        "authorize_url": "https://login.uni.edu/authorize",
        "token_url": "https://login.uni.edu/oauth/token",
        "userdata_url": "https://login.uni.edu/userinfo",
        "username_claim": "preferred_username",
        "scope": ["openid", "email", "profile"],
        "oauth_callback_url": "https://hub.example.org/hub/oauth_callback",
    }
    assert config["Authenticator"]["allowed_users"] == ["bob", "carol"]


def test_it_names_the_admins_as_the_rule_when_oidc_lists_nobody() -> None:
    spec = spec_for("generic-oidc") | {"allowed_users": []}
    config = hub_config(render(parse_spec(spec), tier_context(), "z2jh"))
    assert config["Authenticator"]["allowed_users"] == ["alice"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_it_sets_allow_all_explicitly_for_tmp(layout: str) -> None:
    config = hub_config(render(parse_spec(spec_for("tmp")), tier_context("events"), layout))
    assert config["JupyterHub"]["authenticator_class"] == "tmp"
    assert config["Authenticator"]["allow_all"] is True


def test_it_keeps_the_shared_password_in_the_secret() -> None:
    rendered = render(parse_spec(spec_for("shared-password")), tier_context("events"), "z2jh")
    data = parsed(rendered)
    assert data["hub"]["config"]["JupyterHub"]["authenticator_class"] == "shared-password"
    ref = data["hub"]["extraEnv"]["HUB_PORTAL_SHARED_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "hub-portal-secrets", "key": "shared-password"}
    assert "shared_password" not in str(data["hub"]["config"])


def test_it_references_the_oauth_client_from_a_secret_in_z2jh() -> None:
    context = tier_context(secret_name="bcc-oauth")
    data = parsed(render(parse_spec(spec_for("github")), context, "z2jh"))
    env = data["hub"]["extraEnv"]
    assert set(env) == {"OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"}
    assert env["OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "bcc-oauth"
    assert "client_secret" not in str(data)
    assert data["ingress"]["hosts"] == ["hub.example.org"]


def test_it_lists_no_secret_file_for_tmp_hubs() -> None:
    rendered = render(parse_spec(spec_for("tmp")), tier_context("events"), "2i2c")
    assert rendered.cluster_entry is not None
    assert rendered.cluster_entry["helm_chart_values_files"] == [
        "common.values.yaml",
        "hackweek.values.yaml",
    ]


# --- the user environment ---------------------------------------------------


def test_it_takes_resources_and_culling_from_the_tier() -> None:
    data = parsed(render(parse_spec(spec_for("tmp")), tier_context("events"), "z2jh"))
    assert data["singleuser"]["cpu"] == {"guarantee": 0.5, "limit": 2}
    assert data["singleuser"]["memory"] == {"guarantee": "2G", "limit": "4G"}
    assert data["singleuser"]["storage"] == {"capacity": "5Gi"}
    assert data["cull"] == {"enabled": True, "timeout": 1800, "maxAge": 28800}
    assert data["scheduling"]["userPlaceholder"] == {"enabled": True, "replicas": 0}
    assert data["scheduling"]["podPriority"] == {"enabled": True}


def test_it_splits_the_image_reference() -> None:
    digest = "sha256:" + "a" * 64
    context = tier_context(image_reference=f"ghcr.io/org/image:2025.1@{digest}")
    data = parsed(render(parse_spec(spec_for("github")), context, "z2jh"))
    assert data["singleuser"]["image"] == {"name": "ghcr.io/org/image", "tag": f"2025.1@{digest}"}


def test_it_enables_dask_gateway_and_gpus_for_the_tiers_that_have_them() -> None:
    spec = parse_spec(spec_for("github", "research-dedicated"))
    data = parsed(render(spec, tier_context("research-dedicated"), "2i2c"))
    assert data["dask-gateway"] == {"enabled": True}
    assert data["jupyterhub"]["custom"]["daskhubSetup"] == {"enabled": True}
    assert data["jupyterhub"]["singleuser"]["extraResource"]["limits"] == {"nvidia.com/gpu": "1"}


# --- templates ---------------------------------------------------------------


def test_it_writes_every_value_as_one_yaml_scalar() -> None:
    assert yaml_value("a: b\n- c") == '"a: b\\n- c"'
    assert yaml_value(Decimal("0.250")) == "0.25"
    assert yaml_value(Decimal("2.000")) == "2"
    assert yaml_value(None) == "null"
    assert yaml_value(["x", {"k": True}]) == '["x", {"k": true}]'
    # YAML reads these as line breaks or refuses them; JSON would leave them raw
    assert yaml_value("a\u2028b\x85c") == '"a\\u2028b\\u0085c"'
    assert yaml.safe_load(yaml_value("a\u2028b\x85c\U0001f600")) == "a\u2028b\x85c\U0001f600"
    with pytest.raises(RenderError):
        yaml_value(float("nan"))
    with pytest.raises(RenderError):
        yaml_value(object())


def operator_templates(tmp_path: Path, files: dict[str, str]) -> tuple[str, ...]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    from provisioning.render.renderer import TEMPLATES_DIR

    return (str(tmp_path), str(TEMPLATES_DIR))


def test_it_prefers_the_operators_templates_and_the_tiers_set(tmp_path: Path) -> None:
    search = operator_templates(
        tmp_path,
        {
            "events/z2jh.values.yaml.j2": "custom:\n  set: events\n  hub: {{ hub.name }}\n",
            "default/z2jh.values.yaml.j2": "custom:\n  set: default\n",
        },
    )
    spec = parse_spec(spec_for("tmp"))
    by_set = render(spec, tier_context("events"), "z2jh", search_path=search)
    assert parsed(by_set) == {"custom": {"set": "events", "hub": "hackweek"}}
    # A named set that does not exist falls back to default (the operator's, here).
    fallback = render(spec, tier_context("events", template_set="nope"), "z2jh", search_path=search)
    assert parsed(fallback) == {"custom": {"set": "default"}}
    # The built-in 2i2c template is still found for the layout the operator left alone.
    builtin = render(spec, tier_context("events"), "2i2c", search_path=search)
    assert "jupyterhub" in parsed(builtin)


def test_it_reads_the_template_dir_setting(tmp_path: Path, settings: Any) -> None:
    search = operator_templates(tmp_path, {"default/z2jh.values.yaml.j2": "custom: {}\n"})
    settings.PORTAL_TEMPLATE_DIR = search[0]
    assert parsed(render(parse_spec(spec_for("tmp")), tier_context("events"), "z2jh")) == {
        "custom": {}
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("a: [\n", "not YAML"),
        ("- a\n- b\n", "not a mapping"),
        ("a: {{ nothing }}\n", "undefined"),
        ("a: {{ ''.__class__.__mro__ }}\n", "unsafe"),
    ],
)
def test_it_fails_loudly_on_bad_templates(tmp_path: Path, template: str, message: str) -> None:
    search = operator_templates(tmp_path, {"default/z2jh.values.yaml.j2": template})
    with pytest.raises(RenderError, match=message):
        render(parse_spec(spec_for("tmp")), tier_context("events"), "z2jh", search_path=search)


def test_it_refuses_an_unknown_layout() -> None:
    with pytest.raises(RenderError, match="unknown layout"):
        render(parse_spec(spec_for("tmp")), tier_context("events"), "kustomize")


# --- golden files --------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_matches_the_golden_files(provider: str, layout: str) -> None:
    tier = "events" if provider in ("tmp", "shared-password") else "education"
    rendered = render(parse_spec(spec_for(provider)), tier_context(tier), layout)
    (text,) = rendered.files.values()
    golden = GOLDEN / f"{provider}.{layout}.values.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing: run with UPDATE_GOLDEN=1"
    assert text == golden.read_text(), f"{golden.name} changed: review, then UPDATE_GOLDEN=1"


# --- from the catalog ------------------------------------------------------------


@pytest.mark.django_db
def test_it_builds_the_context_from_the_catalog(catalog: None) -> None:
    Cluster.objects.filter(slug="gcp-us-central1").update(
        conventions={
            "helm_chart": "daskhub",
            "shared_values_files": ["common.values.yaml", "gpu.values.yaml"],
            "secret_values_file": "enc-{hub}.values.yaml",
        }
    )
    checked = validate_spec(github_spec())
    context = context_for(checked)
    assert context.domain == "bcc.us-central1.hubs.example.org"
    assert context.image_reference == "quay.io/jupyter/scipy-notebook:2025-10-20"
    assert (context.cpu_guarantee, context.mem_limit, context.cull_timeout) == (
        Decimal("0.25"),
        "2G",
        3600,
    )
    rendered = render(checked.spec, context, "2i2c")
    assert rendered.cluster_entry is not None
    assert rendered.cluster_entry["helm_chart"] == "daskhub"
    assert rendered.cluster_entry["helm_chart_values_files"] == [
        "common.values.yaml",
        "gpu.values.yaml",
        "bcc.values.yaml",
        "enc-bcc.values.yaml",
    ]


@pytest.mark.upstream
@pytest.mark.skipif(
    not Path(django_settings.PORTAL_UPSTREAM_DIR).is_dir() and not os.environ.get("CI"),
    reason="../shared/upstream (the chart schemas) is missing",
)
@pytest.mark.django_db
@pytest.mark.parametrize(("mode", "layout"), [("gitops", "2i2c"), ("helm", "z2jh")])
def test_it_renders_revision_files_in_the_clusters_layout(
    catalog: None, mode: str, layout: str
) -> None:
    Cluster.objects.filter(slug="gcp-us-central1").update(deploy_mode=mode)
    checked = validate_spec(github_spec())
    files = render_files(Hub(name="bcc", cluster=checked.cluster), checked)
    assert files["layout"] == layout
    assert Rendered.from_json(files).to_json() == files


# --- metacharacters never change the structure ----------------------------------

PIECES = [
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    ": ",
    "\n- ",
    "\n",
    "#",
    "'",
    '"',
    "&anchor",
    "*alias",
    "!!python/object/apply:os.system",
    "!!binary",
    "---",
    "...",
    "|",
    ">",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\\",
    "%",
    "@",
    "`",
    "?",
    "\t",
    "\u2028",
    "\U0001f600",
    "null",
    "true",
    "0x1F",
]


def nasty(allowed: str | None = None, max_size: int = 12) -> st.SearchStrategy[str]:
    """Strings made of YAML/Jinja metacharacters (only those in `allowed`, if given)."""
    pieces = PIECES if allowed is None else [p for p in PIECES if all(c in allowed for c in p)]
    alphabet = st.characters(blacklist_categories=("Cs", "Cc"))
    if allowed is not None:
        alphabet = st.sampled_from(sorted(allowed))
    chunk = st.sampled_from(pieces) | st.text(alphabet=alphabet, min_size=1, max_size=4)
    return st.lists(chunk, min_size=1, max_size=max_size).map("".join)


PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
URL_TAIL = PRINTABLE  # no whitespace
USERNAME = PRINTABLE.replace("/", "")
EMAIL_LOCAL = "".join(c for c in PRINTABLE if c not in "@\"'<>,;")


def tokens_replaced(data: Any, swap: dict[str, str]) -> Any:
    """`data` with each token in its keys and strings replaced by the value it stands for."""
    if isinstance(data, dict):
        return {tokens_replaced(k, swap): tokens_replaced(v, swap) for k, v in data.items()}
    if isinstance(data, list):
        return [tokens_replaced(v, swap) for v in data]
    if isinstance(data, str):
        for token, value in swap.items():
            data = data.replace(token, value)
    return data


def structured(rendered: Rendered) -> Any:
    return {"files": {p: yaml.safe_load(t) for p, t in rendered.files.items()}} | {
        "entry": rendered.cluster_entry
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    display_name=nasty(max_size=8),
    community=nasty(max_size=8),
    url_tail=nasty(URL_TAIL),
    admin=nasty(USERNAME),
    user=nasty(USERNAME),
    scope=nasty("".join(c for c in PRINTABLE if c not in '"\\')),
)
def test_metacharacters_in_oidc_fields_never_change_the_structure(
    display_name: str, community: str, url_tail: str, admin: str, user: str, scope: str
) -> None:
    fields = {
        "display_name": display_name,
        "community": community,
        "url": url_tail,
        "admin": admin,
        "user": user,
        "scope": scope,
    }
    tokens = {name: f"qqtoken{i:02d}x" for i, name in enumerate(fields)}

    def make(v: dict[str, str]) -> dict[str, Any]:
        spec = spec_for("generic-oidc")
        spec.update(
            display_name=v["display_name"],
            community={
                "name": v["community"],
                "url": "https://c.example.org/" + v["url"],
                "logo_url": "https://c.example.org/logo/" + v["url"],
            },
            admins=[v["admin"]],
            allowed_users=[v["user"]],
        )
        spec["auth"]["generic-oidc"] |= {
            "authorize_url": "https://login.example.org/a/" + v["url"],
            "scopes": ["openid", v["scope"]],
        }
        return spec

    try:
        spec = parse_spec(make(fields))
    except SpecError:
        assume(False)
        raise
    assume(spec.admins[0] != spec.allowed_users[0])
    plain = parse_spec(make(tokens))
    # What the spec made of each field (whitespace at either end is stripped).
    swap = {
        tokens["display_name"]: spec.display_name,
        tokens["community"]: spec.community.name,
        tokens["url"]: fields["url"],
        tokens["admin"]: spec.admins[0],
        tokens["user"]: spec.allowed_users[0],
        tokens["scope"]: fields["scope"],
    }
    for layout in LAYOUTS:
        expected = tokens_replaced(structured(render(plain, tier_context(), layout)), swap)
        assert structured(render(spec, tier_context(), layout)) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entity=nasty(PRINTABLE), local=nasty(EMAIL_LOCAL, max_size=6), name=nasty(max_size=8))
def test_metacharacters_in_cilogon_fields_never_change_the_structure(
    entity: str, local: str, name: str
) -> None:
    def make(entity_tail: str, local_part: str, display: str) -> dict[str, Any]:
        spec = spec_for("cilogon")
        spec["auth"]["cilogon"]["idps"][0]["entity_id"] = "urn:mace:" + entity_tail
        spec["admins"] = [f"{local_part}@uni.edu"]
        # Free text with spaces too, so "key: value" and " #" can appear.
        spec["display_name"] = display
        spec["community"] = {"name": display}
        return spec

    try:
        spec = parse_spec(make(entity, local, name))
    except SpecError:
        assume(False)
        raise
    plain = parse_spec(make("qqtoken00x", "qqtoken01x", "qqtoken02x"))
    swap = {"qqtoken00x": entity, "qqtoken01x": local, "qqtoken02x": spec.display_name}
    for layout in LAYOUTS:
        expected = tokens_replaced(structured(render(plain, tier_context(), layout)), swap)
        assert structured(render(spec, tier_context(), layout)) == expected
