"""Who may see which hub or deployment, for the pages and the API alike.

What someone may not see answers 404, as if it did not exist, so names and
ids do not leak; DRF turns the same Http404 into its JSON 404.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from hubs import permissions
from hubs.models import Hub
from provisioning.models import Deployment


def visible_hub(user: Any, cluster: str, name: str) -> Hub:
    """The live hub of that name (else the latest removed one), if `user` may see it."""
    hub = permissions.find_hub(cluster, name)
    if hub is None or not permissions.can_view_hub(user, hub):
        raise Http404("No such hub.")
    return hub


def visible_deployment(user: Any, pk: int) -> Deployment:
    """The deployment, if `user` may see its hub."""
    deployment = (
        Deployment.objects.select_related(
            "hub__cluster__deploy_target", "hub__request", "hub__community", "revision"
        )
        .filter(pk=pk)
        .first()
    )
    if deployment is None or not permissions.can_view_hub(user, deployment.hub):
        raise Http404("No such deployment.")
    return deployment
