"""Deployment pages: a small status page and its live log (an htmx partial)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hubs.permissions import can_view_hub, is_reviewer
from hubs.states import DEPLOYMENT_ACTIVE, IllegalTransition
from provisioning import deployments
from provisioning.models import Deployment


def _deployment(request: HttpRequest, pk: int) -> Deployment:
    deployment = get_object_or_404(
        Deployment.objects.select_related(
            "hub__cluster__deploy_target", "hub__request", "hub__community", "revision"
        ),
        pk=pk,
    )
    # Not found rather than forbidden: do not confirm that someone else's exists.
    if not can_view_hub(request.user, deployment.hub):
        raise Http404("No such deployment.")
    return deployment


def commit_diff(deployment: Deployment) -> str:
    """The diff of a deployment's direct commit, for people to see what changed ("" if none)."""
    from provisioning.deploy.backends.gitops import show_commit

    target = deployment.hub.cluster.deploy_target
    if (
        target is None
        or deployment.backend != Deployment.Backend.GITOPS
        or target.merge_policy != "direct"
        or not deployment.commit_sha
    ):
        return ""
    return show_commit(target, deployment.commit_sha)


@login_required
def deployment(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _deployment(request, pk)
    return render(
        request,
        "provisioning/deployment.html",
        {
            "deployment": deployment,
            "hub": deployment.hub,
            "target": deployment.hub.cluster.deploy_target,
            "diff": commit_diff(deployment),
            "entries": deployment.log.all(),
            "live": deployment.state in DEPLOYMENT_ACTIVE,
        },
    )


@login_required
def deployment_log(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _deployment(request, pk)
    return render(
        request,
        "provisioning/partials/deployment_log.html",
        {
            "deployment": deployment,
            "entries": deployment.log.all(),
            "live": deployment.state in DEPLOYMENT_ACTIVE,
        },
    )


@login_required
@require_POST
def deployment_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff run a failed deployment again (the same as POST /api/v1/deployments/{id}/retry/)."""
    deployment = _deployment(request, pk)
    user = request.user
    if not (user.is_staff or is_reviewer(user)):
        raise PermissionDenied("Only staff can retry a deployment.")
    try:
        deployments.retry_deployment(deployment, by=user)
    except IllegalTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Queued again.")
    return redirect(deployment)
