"""Deployment pages: a small status page and its live log (an htmx partial)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from hubs.permissions import can_view_hub
from hubs.states import DEPLOYMENT_ACTIVE
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


@login_required
def deployment(request: HttpRequest, pk: int) -> HttpResponse:
    from provisioning.backends.gitops import show_commit

    deployment = _deployment(request, pk)
    target = deployment.hub.cluster.deploy_target
    diff = ""
    if (
        target is not None
        and deployment.backend == Deployment.Backend.GITOPS
        and target.merge_policy == "direct"
        and deployment.commit_sha
    ):
        diff = show_commit(target, deployment.commit_sha)
    return render(
        request,
        "provisioning/deployment.html",
        {
            "deployment": deployment,
            "hub": deployment.hub,
            "target": target,
            "diff": diff,
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
