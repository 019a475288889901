"""JupyterHub's authenticators as the portal names them: one table for rendering,
validating and importing (jupyterhub 5.5, oauthenticator 17, tmpauthenticator 1.0)."""

from __future__ import annotations

from typing import NamedTuple


class Authenticator(NamedTuple):
    provider: str  # the hub spec's `auth.provider`, "" for classes the spec does not offer
    short_name: str  # the registered name for `JupyterHub.authenticator_class`
    class_name: str  # the class, which is also its `hub.config` block
    dotted_path: str


AUTHENTICATORS = (
    Authenticator(
        "github", "github", "GitHubOAuthenticator", "oauthenticator.github.GitHubOAuthenticator"
    ),
    Authenticator(
        "cilogon",
        "cilogon",
        "CILogonOAuthenticator",
        "oauthenticator.cilogon.CILogonOAuthenticator",
    ),
    Authenticator(
        "google", "google", "GoogleOAuthenticator", "oauthenticator.google.GoogleOAuthenticator"
    ),
    Authenticator(
        "generic-oidc",
        "generic-oauth",
        "GenericOAuthenticator",
        "oauthenticator.generic.GenericOAuthenticator",
    ),
    Authenticator("tmp", "tmp", "TmpAuthenticator", "tmpauthenticator.TmpAuthenticator"),
    Authenticator(
        "shared-password",
        "shared-password",
        "SharedPasswordAuthenticator",
        "jupyterhub.authenticators.shared.SharedPasswordAuthenticator",
    ),
    Authenticator("", "null", "NullAuthenticator", "jupyterhub.auth.NullAuthenticator"),
)

# The spec's provider -> its authenticator.
BY_PROVIDER = {a.provider: a for a in AUTHENTICATORS if a.provider}
# Every way a values file may name a class (short name or dotted path) -> the class name.
CLASS_OF = {
    **{a.short_name: a.class_name for a in AUTHENTICATORS},
    **{a.dotted_path: a.class_name for a in AUTHENTICATORS},
}
# A class -> the spec's provider, for hubs read from a repository.
PROVIDER_OF_CLASS = {a.class_name: a.provider for a in AUTHENTICATORS if a.provider}
# The chart's default: anyone in with any password. Never acceptable.
DUMMY = frozenset({"dummy", "jupyterhub.auth.DummyAuthenticator", "DummyAuthenticator"})
# Providers whose hubs need a client secret or a password, kept out of values files.
NEEDS_SECRET = frozenset({"github", "cilogon", "google", "generic-oidc", "shared-password"})
