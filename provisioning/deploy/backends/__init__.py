"""Deploy backends by name (a cluster's deploy mode)."""

from __future__ import annotations

from provisioning.deploy.backends.base import Backend


def get_backend(name: str) -> Backend:
    if name == "gitops":
        from provisioning.deploy.backends.gitops import GitOpsBackend

        return GitOpsBackend()
    if name == "helm":
        from provisioning.deploy.backends.helm import HelmBackend

        return HelmBackend()
    raise ValueError(f"unknown deploy backend {name!r}")
