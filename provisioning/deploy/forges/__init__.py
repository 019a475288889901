"""Forges (GitHub, GitLab) behind one small interface: see base.py."""

from __future__ import annotations

from provisioning.deploy.forges.base import Forge, ForgeError, PullRequest, get_forge

__all__ = ["Forge", "ForgeError", "PullRequest", "get_forge"]
