"""Rendered files checked like Helm checks them, against the charts in ../shared/upstream."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from hubs import catalog as default_catalog
from hubs.spec import parse_spec
from provisioning.render.renderer import LAYOUTS, Rendered, render
from provisioning.render.validate import (
    ConfigError,
    UpstreamMissing,
    check_auth,
    helm_merge,
    validate_rendered,
)
from tests.provisioning.test_render import PROVIDERS, spec_for, tier_context

UPSTREAM = Path(settings.PORTAL_UPSTREAM_DIR)


@pytest.fixture(autouse=True)
def upstream() -> None:
    """The chart schemas ship beside the project; CI must have them."""
    if not (UPSTREAM / "z2jh" / "values.schema.yaml").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{UPSTREAM} is missing; CI needs ../shared/upstream")
        pytest.skip(f"{UPSTREAM} is missing (../shared/upstream ships beside the project)")


def rendered_for(
    provider: str = "github", layout: str = "2i2c", tier: str | None = None
) -> Rendered:
    tier = tier or ("events" if provider in ("tmp", "shared-password") else "education")
    return render(parse_spec(spec_for(provider, tier)), tier_context(tier), layout)


def edited(rendered: Rendered, old: str, new: str, *, count: int = 1) -> Rendered:
    """`rendered` with its file's text edited (the way a template mistake would)."""
    ((path, text),) = rendered.files.items()
    assert old in text, f"{old!r} not in {path}"
    return Rendered(
        layout=rendered.layout,
        files={path: text.replace(old, new, count)},
        cluster_entry=rendered.cluster_entry,
    )


def problems(rendered: Rendered) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate_rendered(rendered)
    return info.value.lines()


def matrix() -> list[tuple[str, str, str]]:
    cases = []
    for offering in default_catalog.OFFERINGS:
        event = "event" in offering["purposes"]
        for provider in PROVIDERS:
            if provider in ("tmp", "shared-password") and not event:
                continue
            for layout in LAYOUTS:
                cases.append((provider, offering["slug"], layout))
    return cases


@pytest.mark.upstream
@pytest.mark.parametrize(("provider", "tier", "layout"), matrix())
def test_every_provider_tier_and_layout_passes_the_charts(
    provider: str, tier: str, layout: str
) -> None:
    validate_rendered(rendered_for(provider, layout, tier))


# --- what the schemas catch ------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_it_refuses_an_unknown_key_where_the_chart_is_strict(layout: str) -> None:
    bad = edited(rendered_for("github", layout), "  cpu:\n", "  cpus:\n")
    assert any("cpus" in line and "unexpected" in line for line in problems(bad))


def test_it_names_the_file_and_the_path() -> None:
    bad = edited(rendered_for("github", "z2jh"), "limit: 1\n", 'limit: "one"\n')
    assert "values.yaml: singleuser.cpu.limit: 'one' is not of type 'number', 'null'" in (
        problems(bad)
    )


def test_it_checks_the_jupyterhub_subtree_of_a_2i2c_file_against_z2jh() -> None:
    bad = edited(rendered_for("github", "2i2c"), 'tag: "2025-10-20"', "tag: 2025")
    assert (
        "config/clusters/gcp-us-central1/bcc.values.yaml: jupyterhub.singleuser.image.tag: "
        "2025 is not of type 'string'"
    ) in problems(bad)


def test_it_checks_a_2i2c_file_against_basehub() -> None:
    bad = edited(rendered_for("github", "2i2c"), "userServiceAccount:\n  enabled: true\n",
                 "userServiceAccount:\n  enabled: yes please\n")  # fmt: skip
    assert (
        "config/clusters/gcp-us-central1/bcc.values.yaml: userServiceAccount.enabled: "
        "'yes please' is not of type 'boolean'"
    ) in problems(bad)


def test_it_tells_2i2c_files_to_leave_out_what_basehub_derives() -> None:
    text = "  hub:\n    config:\n"
    bad = edited(
        rendered_for("github", "2i2c"),
        text,
        "  ingress:\n    hosts: [x.org]\n" + text,
    )
    bad = edited(
        bad, '        scope: ["read:org"]\n', '        oauth_callback_url: "https://x.org/cb"\n'
    )
    lines = problems(bad)
    assert any("jupyterhub.ingress: basehub derives" in line for line in lines), lines
    assert any("GitHubOAuthenticator.oauth_callback_url" in line for line in lines), lines


# --- what the schemas leave open ---------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_it_refuses_a_typo_inside_an_authenticator_block(layout: str) -> None:
    bad = edited(rendered_for("github", layout), "allowed_organizations:", "allowed_organisations:")
    lines = problems(bad)
    assert any("GitHubOAuthenticator.allowed_organisations" in line for line in lines), lines


@pytest.mark.parametrize("layout", LAYOUTS)
def test_it_refuses_the_dummy_authenticator(layout: str) -> None:
    bad = edited(
        rendered_for("tmp", layout), 'authenticator_class: "tmp"', "authenticator_class: dummy"
    )
    assert any("dummy" in line for line in problems(bad))


def test_it_refuses_a_hub_without_an_authenticator() -> None:
    bad = edited(rendered_for("tmp", "z2jh"), '      authenticator_class: "tmp"\n', "      {}\n")
    bad = edited(bad, "    JupyterHub:\n      {}\n", "")
    assert any("dummy" in line for line in problems(bad))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_it_refuses_a_hub_nobody_may_enter(layout: str) -> None:
    bad = edited(rendered_for("tmp", layout), "allow_all: true", "allow_all: false")
    assert any("no allow rule" in line for line in problems(bad))


def test_it_refuses_cilogon_idps_that_let_nobody_in() -> None:
    bad = edited(rendered_for("cilogon", "z2jh"), "allow_all: true", "allow_all: false")
    bad = edited(bad, 'allowed_domains: ["uni.edu", "staff.uni.edu"]', "allowed_domains: []")
    lines = problems(bad)
    assert any("needs allow_all: true or allowed_domains" in line for line in lines), lines
    assert any("no allow rule" in line for line in lines), lines


def test_it_accepts_a_cilogon_idp_only_admins_use_when_another_lets_people_in() -> None:
    # oauthenticator 17 needs no rule per IdP: 2i2c's hubs list Google for their staff.
    validate_rendered(edited(rendered_for("cilogon", "z2jh"), "allow_all: true", ""))


def test_it_refuses_a_block_for_another_authenticator() -> None:
    text = "    GitHubOAuthenticator:\n"
    bad = edited(rendered_for("github", "z2jh"), text, "    GoogleOAuthenticator: {}\n" + text)
    assert any("but the hub logs in with GitHubOAuthenticator" in line for line in problems(bad))


def test_it_refuses_an_inlined_secret() -> None:
    bad = edited(
        rendered_for("github", "z2jh"),
        '      scope: ["read:org"]\n',
        '      scope: ["read:org"]\n      client_secret: "hunter2"\n',
    )
    assert any("a secret must not be written" in line for line in problems(bad))


def test_it_checks_profile_options() -> None:
    bad = edited(
        rendered_for("github", "z2jh"),
        "singleuser:\n",
        "singleuser:\n  profileList:\n    - display_name: Small\n      profile_options:\n"
        "        image:\n          choices:\n            a: {display_name: A}\n",
    )
    assert any("kubespawner_override" in line for line in problems(bad))


def test_it_lists_every_problem_at_once() -> None:
    bad = edited(rendered_for("github", "z2jh"), "  cpu:\n", "  cpus:\n")
    bad = edited(bad, "allowed_organizations:", "allowed_organisations:")
    assert len(problems(bad)) >= 3  # the unknown key, the typo, the missing allow rule


def test_it_refuses_text_that_is_not_yaml() -> None:
    bad = Rendered(layout="z2jh", files={"values.yaml": "a: [\n"})
    assert any("is not valid YAML" in line for line in problems(bad))


# --- the cluster.yaml entry --------------------------------------------------------


def test_it_checks_the_cluster_entry_against_the_cluster_schema() -> None:
    rendered = rendered_for("github", "2i2c")
    assert rendered.cluster_entry is not None
    entry = dict(rendered.cluster_entry, helm_chart="jupyterhub", owner="me")
    entry.pop("domain")
    entry["helm_chart_values_files"] = ["common.values.yaml", "../other/x.yaml"]
    lines = problems(Rendered(rendered.layout, rendered.files, entry))
    joined = "\n".join(lines)
    assert "'domain' is a required property" in joined
    assert "'jupyterhub' is not one of ['basehub', 'daskhub']" in joined
    assert re.search(r"'owner' was unexpected", joined)
    assert "must be a file in the folder" in joined
    assert "does not list bcc.values.yaml" in joined


def test_it_needs_the_entry_for_the_2i2c_layout() -> None:
    rendered = rendered_for("github", "2i2c")
    lines = problems(Rendered(rendered.layout, rendered.files, None))
    assert any("needs the hub's cluster.yaml entry" in line for line in lines)


# --- Helm's merge and the upstream folder -----------------------------------------


def test_it_merges_like_helm() -> None:
    defaults: dict[str, Any] = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 1}
    merged = helm_merge(defaults, {"a": {"c": [3], "d": None, "g": {"h": None}}, "f": None})
    assert merged == {"a": {"b": 1, "c": [3], "g": {}}}
    assert defaults == {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 1}


def test_it_accepts_a_real_2i2c_hub_config() -> None:
    config = {
        "JupyterHub": {"authenticator_class": "cilogon"},
        "CILogonOAuthenticator": {
            "allowed_idps": {
                "http://login.microsoftonline.com/common/oauth2/v2.0/authorize": {
                    "default": True,
                    "username_derivation": {"username_claim": "email"},
                    "allowed_domains": ["peralta.edu"],
                }
            }
        },
        "Authenticator": {"admin_users": ["a@berkeley.edu"]},
    }
    assert check_auth(config, config, "hub.config") == []


def test_it_explains_a_missing_upstream_folder(tmp_path: Path) -> None:
    with pytest.raises(UpstreamMissing, match=r"PORTAL_UPSTREAM_DIR"):
        validate_rendered(rendered_for("github", "z2jh"), directory=tmp_path)
