"""The parts of the hub and deployment pages that change while work is in progress.

Each page has one status fragment (templates/provisioning/partials/*_status.html):
the header, state badges, the step list, the deployments table and the
actions. The page includes it; while a deployment is in progress the
fragment carries `hx-get`/`hx-trigger` and htmx swaps a fresh copy in every
few seconds, and a copy rendered once nothing is in progress carries no
trigger, so polling stops by itself. The context is built here once for the
page and the fragment alike, in a constant number of queries.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hubs import permissions
from hubs.models import Hub
from hubs.states import DEPLOYMENT_ACTIVE, HUB_BUSY, DeploymentState, HubState
from provisioning import progress
from provisioning.deploy.backends.gitops import show_commit
from provisioning.models import Deployment, PendingCredentials
from provisioning.preview import FileDiff, diff_files, flat_files
from provisioning.web.access import visible_deployment, visible_hub

# Log lines that carry a tool's own words (git's or helm's stderr, a raw error): for staff.
RAW_LEVELS = frozenset({"output", "error"})
# How many of the latest log lines the fragments show (the full log: deployment_log).
LOG_TAIL = 100
# Seconds between polls: quick while a worker runs, slower while a person must merge.
POLL_RUNNING = 2
POLL_WAITING = 10


def poll_every(hub_state: str, deployment: Deployment | None) -> int:
    """Seconds between polls of a status fragment; 0 when nothing is in progress."""
    if hub_state == HubState.AWAITING_CREDENTIALS or (
        deployment is not None
        and deployment.state in (DeploymentState.AWAITING_MERGE, DeploymentState.AWAITING_HEALTH)
    ):
        # Waiting on people (a merge, the operators' secrets) or on the hub to answer.
        return POLL_WAITING
    if (deployment is not None and deployment.state in DEPLOYMENT_ACTIVE) or hub_state in HUB_BUSY:
        return POLL_RUNNING
    return 0


def commit_diff(deployment: Deployment) -> str:
    """The diff of a deployment's direct commit, for people to see what changed ("" if none)."""
    target = deployment.hub.cluster.deploy_target
    if (
        target is None
        or deployment.backend != Deployment.Backend.GITOPS
        or target.merge_policy != "direct"
        or not deployment.commit_sha
    ):
        return ""
    return show_commit(target, deployment.commit_sha)


def credentials_for(deployment: Deployment) -> PendingCredentials | None:
    """The secret file this deployment's hub waits for, or got, for this revision (one query)."""
    rows = PendingCredentials.objects.filter(hub_id=deployment.hub_id).select_related("revision")
    found = list(rows.filter(Q(revision_id=deployment.revision_id) | Q(done_at__isnull=True))[:2])
    same = [row for row in found if row.revision_id == deployment.revision_id]
    return (same or found)[0] if found else None


def deployment_view(user: Any, deployment: Deployment, *, running: Any) -> dict[str, Any]:
    """A deployment's steps, its log and, when it failed, what that means (per audience)."""
    staff = permissions.can_retry_deployment(user)
    log = deployment.log.all() if staff else deployment.log.exclude(level__in=RAW_LEVELS)
    # The latest lines only: the fragment is polled, and a helm log runs to thousands.
    entries = list(log.order_by("-pk")[:LOG_TAIL])[::-1]
    steps = progress.steps(
        deployment,
        entries[-1:],
        first=progress.first_times(deployment),
        credentials=credentials_for(deployment),
    )
    failed = deployment.state == DeploymentState.FAILED
    failed_step = next((s.key for s in steps if s.state == "failed"), "")
    return {
        "deployment": deployment,
        "steps": steps,
        # Raw output (git's or helm's stderr) is for the people who can act on it.
        "entries": entries,
        "log_tail": LOG_TAIL,
        "staff": staff,
        "explanation": progress.explain_failure(deployment, failed_step, running=running)
        if failed
        else None,
        # Only once it is over: a finished deployment's commit does not change,
        # and a polled fragment must not run git.
        "diff": commit_diff(deployment) if deployment.state not in DEPLOYMENT_ACTIVE else "",
    }


def drift_diffs(hub: Hub) -> list[FileDiff]:
    """The changed files between the hub's revision and the repository's hand-edited version."""
    repository = hub.drift.get("repository") if isinstance(hub.drift, dict) else None
    current = hub.revisions.filter(number=hub.current_revision).first()
    if not isinstance(repository, dict) or current is None:
        return []
    theirs = {
        "layout": (current.files or {}).get("layout", "2i2c"),
        "files": {p: t for p, t in (repository.get("files") or {}).items() if t is not None},
        "cluster_entry": repository.get("entry"),
    }
    diffs = diff_files(flat_files(current.files), flat_files(theirs))
    return [d for d in diffs if d.status != "unchanged"]


def hub_context(user: Any, hub: Hub) -> dict[str, Any]:
    """Everything the hub page shows that can change, for the page and its fragment."""
    deployments = list(
        hub.deployments.select_related("revision", "requested_by", "hub__cluster__deploy_target")[
            :20
        ]
    )
    latest = deployments[0] if deployments else None
    running = progress.running_revision(hub)
    # The header names what runs; a hub that never ran (or was adopted) shows what it has.
    shown = running.spec if running is not None else hub.spec
    context: dict[str, Any] = {
        "hub": hub,
        "title": shown.get("display_name") or hub.display_name or hub.name,
        "running": running,
        "deployments": deployments,
        "latest": latest,
        "poll": poll_every(hub.state, latest),
        "revisions": hub.revisions.select_related("author").order_by("-number")[:20],
        "can_manage": permissions.can_manage_hub(user, hub),
        "can_decommission": permissions.can_decommission_hub(user, hub),
        "secrets": sorted(hub.secrets.values_list("key", flat=True)),
        # Secrets only the operators can add (an encrypted file): what, where, who acts.
        "credentials": list(PendingCredentials.objects.filter(hub=hub, done_at__isnull=True)),
        "can_mark_credentials": permissions.can_mark_credentials(user),
        # Hand edits in the repository: the diff and the two ways out (operators).
        "drift_diffs": drift_diffs(hub) if hub.drift else [],
        "can_resolve_drift": permissions.can_resolve_drift(user),
    }
    if latest is not None:
        context.update(deployment_view(user, latest, running=running))
    return context


@login_required
def hub_status(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """The hub page's status fragment (htmx polls it while work is in progress)."""
    hub = visible_hub(request.user, cluster, name)
    return render(request, "provisioning/partials/hub_status.html", hub_context(request.user, hub))


def deployment_context(user: Any, deployment: Deployment) -> dict[str, Any]:
    hub = deployment.hub
    running = progress.running_revision(hub)
    return {
        **deployment_view(user, deployment, running=running),
        "hub": hub,
        "target": hub.cluster.deploy_target,
        "poll": poll_every("", deployment),
        "running": running,
    }


@login_required
def deployment_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The deployment page's status fragment."""
    deployment = visible_deployment(request.user, pk)
    return render(
        request,
        "provisioning/partials/deployment_status.html",
        deployment_context(request.user, deployment),
    )
