"""The one small interface every forge implements (github.py, gitlab.py).

A forge opens or updates the pull request for a branch and reports on it.
Its errors say whether trying again can help: 401/403/404 need a person
(a wrong token, a missing permission, a mistyped repository), network
trouble, rate limits and 5xx answers pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from provisioning.deploy.errors import DeployError

if TYPE_CHECKING:
    from provisioning.models import DeployTarget


class ForgeError(DeployError):
    """A forge API call failed; `permanent` as for DeployError."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    # "open", "merged" or "closed" (closed without merging)
    state: str
    merge_commit: str = ""

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def status_error(what: str, status: int | None, message: str) -> ForgeError:
    """Classify an HTTP answer from a forge."""
    if status in (401, 403, 404):
        hint = {
            401: "the token was refused; check the deploy target's token",
            403: "the token may not do this; check its scopes and the repository's settings",
            404: "the repository or pull request was not found, or the token cannot see it",
        }[status]
        return ForgeError(f"{what}: {hint} (HTTP {status}).", permanent=True, detail=message)
    if status is not None and 400 <= status < 500 and status != 429:
        return ForgeError(f"{what}: HTTP {status}: {message}", permanent=True, detail=message)
    code = f"HTTP {status}" if status else "no answer"
    return ForgeError(f"{what}: {code}; will try again.", permanent=False, detail=message)


class Forge:
    """Pull requests on one repository of one forge."""

    name = ""

    def __init__(self, target: DeployTarget) -> None:
        self.target = target

    def git_credentials(self) -> tuple[str, str]:
        """(username, password) for pushing over https; ("", "") to use none."""
        return "", ""

    def open_or_update(self, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        """The open pull request from `branch`, updated, or a new one. Never a second one."""
        raise NotImplementedError

    def get(self, number: int) -> PullRequest:
        raise NotImplementedError

    def changed_files(self, number: int) -> list[str]:
        """The repository paths a pull request adds, changes or removes."""
        raise NotImplementedError

    def close(self, number: int, *, comment: str) -> None:
        """Close an open pull request without merging it, saying why in a comment."""
        raise NotImplementedError
