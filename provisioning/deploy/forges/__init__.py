"""Forges (GitHub, GitLab) behind one small interface: see base.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from provisioning.deploy.forges.base import Forge, ForgeError, PullRequest
from provisioning.deploy.forges.github import GitHub
from provisioning.deploy.forges.gitlab import GitLab

if TYPE_CHECKING:
    from provisioning.models import DeployTarget

__all__ = ["Forge", "ForgeError", "PullRequest", "get_forge"]


def get_forge(target: DeployTarget) -> Forge | None:
    """The forge client for a deploy target, or None for push-only targets."""
    if target.forge == "github":
        return GitHub(target)
    if target.forge == "gitlab":
        return GitLab(target)
    return None
