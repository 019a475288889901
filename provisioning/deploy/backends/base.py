"""The one small interface every deploy backend implements (gitops.py, helm.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from provisioning.deploy.errors import DeployError

if TYPE_CHECKING:
    from hubs.models import HubRevision
    from provisioning.models import Deployment
    from provisioning.render.renderer import Rendered


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


def rendered_files(revision: HubRevision, layout: str, needs: str) -> Rendered:
    """The files `revision` deploys, rendered for `layout`, or a DeployError a person can act on.

    `needs` names who needs that layout ("a GitOps cluster").
    """
    from provisioning.render.renderer import Rendered

    files = revision.files
    if not files or "layout" not in files:
        raise DeployError(
            f"Revision r{revision.number} has no rendered files; render it again (a new "
            "revision) before deploying.",
            permanent=True,
        )
    rendered = Rendered.from_json(files)
    if rendered.layout != layout:
        raise DeployError(
            f"Revision r{revision.number} was rendered for the {rendered.layout!r} layout; "
            f"{needs} needs the {layout!r} layout.",
            permanent=True,
        )
    return rendered
