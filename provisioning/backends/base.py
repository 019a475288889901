"""The one small interface every deploy backend implements (gitops.py, helm.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioning.models import Deployment


class DeployError(Exception):
    """A deployment step failed.

    `permanent` errors (bad credentials, refused push, invalid config) fail the
    deployment with `message` shown to a person; transient ones (network, 5xx,
    timeouts, a locked clone) are retried with backoff.
    """

    def __init__(self, message: str, *, permanent: bool, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        # e.g. the tail of a subprocess's stderr, shown under the message
        self.detail = detail


# Log a line to the deployment's step log: log(message, step=..., level=...).
LogFn = Callable[..., None]


@dataclass
class Outcome:
    """What an apply or decommission achieved.

    `done`: the change is live (hub can become active / decommissioned).
    Otherwise the deployment waits (e.g. for a pull request to merge).
    `fields`: Deployment fields to record (branch, commit_sha, pr_number, pr_url).
    """

    done: bool
    fields: dict[str, object] = field(default_factory=dict)


class Backend:
    """Make a revision real on a cluster, idempotently: running twice does it once."""

    name = ""

    def apply(self, deployment: Deployment, log: LogFn) -> Outcome:
        raise NotImplementedError

    def decommission(self, deployment: Deployment, log: LogFn) -> Outcome:
        raise NotImplementedError
