"""What a GitOps hub's encrypted secret file must hold for its login: pure, no database.

2i2c's deployer merges `enc-<hub>.secret.values.yaml` (sops-encrypted, made
by the operators) after the hub's own file; the portal lists the file in the
hub's cluster.yaml entry but cannot write it. These are the keys the login
provider reads from it, as dotted paths in basehub's shape (a daskhub hub's
under `basehub.`), for the hub page, the API and the pull request's checklist.
"""

from __future__ import annotations

from provisioning.render.authenticators import BY_PROVIDER, NEEDS_SECRET

# oauthenticator 17 reads the client from these traits of its class's block;
# SharedPasswordAuthenticator (jupyterhub 5) from `user_password`.
OAUTH_KEYS = ("client_id", "client_secret")
PASSWORD_KEYS = ("user_password",)


def needed_keys(provider: str, helm_chart: str = "basehub") -> list[str]:
    """The dotted keys the hub's secret file must set for `provider` ([] if none)."""
    if provider not in NEEDS_SECRET:
        return []
    block = BY_PROVIDER[provider].class_name
    names = PASSWORD_KEYS if provider == "shared-password" else OAUTH_KEYS
    prefix = "basehub." if helm_chart == "daskhub" else ""
    return [f"{prefix}jupyterhub.hub.config.{block}.{name}" for name in names]


def what_it_is(provider: str) -> str:
    """The secret in words, for the checklist."""
    if provider == "shared-password":
        return "the hub's shared password"
    if provider == "cilogon":
        return "a CILogon OAuth client (the deployer's `generate cilogon-client` makes one)"
    if provider == "github":
        return "a GitHub OAuth app's client"
    return "the login provider's OAuth client"
