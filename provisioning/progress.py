"""How far a deployment has got, in steps people recognise, and what a failure means.

The step list is read from the deployment's log: every line a backend or the
pipeline writes names its `step` (queued, claimed, commit, push,
pull_request, awaiting_merge, namespace, secret, helm, ready, succeeded,
failed, …; see provisioning/deploy/backends/). Which steps a deployment has
depends on how its cluster deploys (a pull request, a direct commit, a Helm
install) and whether it applies or removes the hub. Pure functions of the
rows handed in, plus `running_revision`, one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Min

from hubs.models import Hub, HubRevision
from hubs.states import DEPLOYMENT_ACTIVE, DeploymentState
from provisioning.models import Deployment, DeploymentLogEntry


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    state: str  # "done", "current", "failed", "pending" or "skipped"
    at: dt.datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class _Plan:
    key: str
    label: str
    log_steps: tuple[str, ...]  # the first log line with one of these steps marks it done
    note: str = ""


def running_revision(hub: Hub) -> HubRevision | None:
    """The revision the hub runs: its latest successful apply (None if nothing succeeded yet)."""
    deployment = (
        Deployment.objects.filter(
            hub=hub, state=DeploymentState.SUCCEEDED, action=Deployment.Action.APPLY
        )
        .select_related("revision")
        .order_by("-finished_at", "-pk")
        .first()
    )
    return deployment.revision if deployment is not None else None


def _policy(deployment: Deployment) -> str:
    """ "helm", "direct", "pull_request" or "push" (a branch merged by hand)."""
    if deployment.backend == Deployment.Backend.HELM:
        return "helm"
    target = deployment.hub.cluster.deploy_target
    if target is None:
        return "pull_request"
    if target.merge_policy == "direct":
        return "direct"
    return "push" if target.forge == "none" else "pull_request"


def plan(deployment: Deployment) -> list[_Plan]:
    """The steps this deployment goes through, in order."""
    policy = _policy(deployment)
    remove = deployment.action == Deployment.Action.DECOMMISSION
    steps = [] if remove else [
        _Plan("rendered", "Rendered", ()),
        _Plan("validated", "Validated", ()),
    ]  # fmt: skip
    steps.append(_Plan("queued", "Queued", ("queued",)))
    steps.append(_Plan("claimed", "Picked up by a worker", ("claimed",)))
    if policy == "helm":
        if remove:
            steps += [
                _Plan("uninstalled", "Helm release removed", ("helm",)),
                _Plan("removed", "Namespace and its data deleted", ("succeeded",)),
            ]
        else:
            steps += [
                _Plan("prepared", "Namespace and secrets ready", ("namespace", "secret", "quota")),
                _Plan("deployed", "Installed with Helm", ("ready",)),
                _Plan("answering", "Hub answering", ("succeeded",)),
            ]
        return steps
    steps.append(_Plan("committed", "Committed", ("commit", "push")))
    done = "Removed" if remove else "Deployed"
    # Where the cluster says to, "deployed" waits for /hub/health.
    health = not remove and deployment.hub.cluster.wait_for_health
    if policy == "direct" and health:
        steps.append(_Plan("deployed", "Committed to the base branch", ("merged", "succeeded")))
    elif policy == "direct":
        steps.append(_Plan("deployed", done, ("succeeded",)))
    elif policy == "push":
        steps += [
            _Plan("pushed", "Branch pushed", ("awaiting_merge",)),
            _Plan("merged", "Merged by hand", ("merged", "succeeded")),
        ]
    else:
        steps += [
            _Plan("pull_request", "Pull request opened", ("pull_request", "awaiting_merge")),
            _Plan(
                "merged",
                "Merged" if health else f"Merged ({done.lower()})",
                ("merged", "succeeded"),
                "the repository's deploy pipeline applies merged changes",
            ),
        ]
    if health:
        steps.append(_Plan("answering", "Hub answering (/hub/health)", ("succeeded",)))
    return steps


def first_times(deployment: Deployment) -> dict[str, dt.datetime]:
    """{log step: when it was first logged}, in one query however long the log."""
    rows = deployment.log.values_list("step").annotate(first=Min("created_at")).order_by()
    return dict(rows)


def steps(
    deployment: Deployment,
    entries: Iterable[DeploymentLogEntry] = (),
    *,
    first: dict[str, dt.datetime] | None = None,
    credentials: Any = None,
) -> list[Step]:
    """The deployment's steps, each done (with its time), current, failed or still to come.

    From its log `entries`, or from `first` (first_times()) and the latest of `entries`.
    `credentials`: the hub's PendingCredentials row for this deployment, if its login
    needs a secret file only the operators can add (a last step after the merge).
    """
    entries = list(entries)
    out = _steps(deployment, entries, first)
    if credentials is not None and deployment.action == Deployment.Action.APPLY:
        out.append(_credentials_step(deployment, first or {}, credentials))
    return out


def _credentials_step(
    deployment: Deployment, first: dict[str, dt.datetime], credentials: Any
) -> Step:
    """The operators' step after a merge: the hub's encrypted secret file (PendingCredentials)."""
    label = "Login secrets added by the operators"
    added = first.get("credentials_added")
    if credentials.done_at is not None:
        return Step(
            "credentials", label, "done", added or credentials.done_at, credentials.done_note
        )
    note = f"the operators add {', '.join(credentials.keys)} to {credentials.path}"
    if deployment.state == DeploymentState.SUCCEEDED:
        return Step("credentials", label, "current", None, note)
    return Step("credentials", label, "pending", None, note)


def _steps(
    deployment: Deployment,
    entries: list[DeploymentLogEntry],
    first: dict[str, dt.datetime] | None,
) -> list[Step]:
    if first is None:
        first = {}
        for entry in entries:
            first.setdefault(entry.step, entry.created_at)
    revision_at = deployment.revision.created_at
    state = deployment.state
    out: list[Step] = []
    blocked = False
    for item in plan(deployment):
        if item.key in ("rendered", "validated"):
            at: dt.datetime | None = revision_at
        else:
            at = min((first[s] for s in item.log_steps if s in first), default=None)
        if at is not None and not blocked:
            out.append(Step(item.key, item.label, "done", at, item.note))
            continue
        if state == DeploymentState.SUCCEEDED:
            # Skipped over (a change the repository already had): done all the same.
            out.append(Step(item.key, item.label, "done", None, item.note))
        elif blocked:
            out.append(Step(item.key, item.label, "pending", None, item.note))
        elif state in DEPLOYMENT_ACTIVE:
            out.append(Step(item.key, item.label, "current", None, _latest_warning(entries)))
            blocked = True
        elif state == DeploymentState.FAILED:
            out.append(Step(item.key, item.label, "failed", first.get("failed")))
            blocked = True
        else:  # superseded before it got here
            out.append(Step(item.key, item.label, "skipped", None, "superseded"))
            blocked = True
    return out


def _latest_warning(entries: Sequence[DeploymentLogEntry]) -> str:
    """A retry's reason, shown on the step it holds up ("" when the last line is not one)."""
    if entries and entries[-1].level == DeploymentLogEntry.Level.WARNING:
        return entries[-1].message
    return ""


# --- failures in plain words ------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    what: str  # what went wrong, for someone who has never seen a values file
    means: str  # what it means for the hub
    next: str  # what happens next


def explain_failure(deployment: Deployment, failed_step: str, *, running: Any) -> Explanation:
    """A failed deployment for its hub's leads: no stderr, a meaning and a next step."""
    error = deployment.error.lower()
    remove = deployment.action == Deployment.Action.DECOMMISSION
    if "closed without merging" in error:
        what = "The change was closed without being merged, so it was not deployed."
    elif "secrets it does not have" in error:
        what = "The hub needs its login secrets (the OAuth client) before it can start."
    elif failed_step in ("committed", "pull_request", "pushed"):
        what = "The portal could not write the hub's configuration to the deployment repository."
    elif failed_step in ("prepared", "deployed", "uninstalled"):
        what = "The cluster did not accept the hub's installation."
    elif failed_step == "answering":
        what = "The hub was installed but did not answer in time."
    else:
        what = "The deployment stopped before it could finish."
    if remove:
        means = "The hub has not been removed yet."
    elif running is not None:
        means = f"Your hub keeps running revision r{running.number} as before."
    else:
        means = "Your hub is not running yet."
    if "secrets it does not have" in error:
        follow = "Add them on the hub's Secrets page; the deployment then runs again by itself."
    else:
        follow = (
            "The operators have been told and will fix it and run it again; you do not need to "
            "do anything. You will get an email when the hub is live."
            if running is None and not remove
            else "The operators have been told and will fix it and run it again; you do not "
            "need to do anything."
        )
    return Explanation(what=what, means=means, next=follow)
