"""What the chart schemas leave open in a hub's values: the authenticator and its profiles.

z2jh's schema only says `hub.config` holds class-name keys; whatever is inside
a class block is not checked, so a typo there deploys and silently does
nothing, and nothing stops a hub that lets everybody (or nobody) in. These
checks follow the traits each class has (jupyterhub 5.5, oauthenticator 17,
tmpauthenticator 1.0) and the allow rules oauthenticator applies. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from provisioning.render.authenticators import CLASS_OF, DUMMY

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
