"""Hubs and their deployments over the API, with the UI's permissions."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from hubs.models import Hub
from hubs.permissions import can_view_hub, is_reviewer
from hubs.states import HubState
from provisioning import deployments
from provisioning.api.serializers import (
    DeploymentDetailSerializer,
    HubDetailSerializer,
    HubSerializer,
)
from provisioning.models import Deployment


def visible_hubs(user: Any) -> QuerySet[Hub]:
    """The hubs `user` may see: all for reviewers, else those they asked for or lead."""
    hubs = Hub.objects.select_related("cluster", "offering")
    if not is_reviewer(user):
        hubs = hubs.filter(Q(request__requester=user) | Q(community__leads=user)).distinct()
    return hubs


class HubList(generics.ListAPIView[Hub]):
    """Hubs you may see, with the state of each one's latest deployment."""

    serializer_class = HubSerializer

    def get_queryset(self) -> QuerySet[Hub]:
        latest = Deployment.objects.filter(hub=OuterRef("pk")).order_by("-created_at", "-pk")
        return (
            visible_hubs(self.request.user)
            .annotate(
                latest_deployment_id=Subquery(latest.values("pk")[:1]),
                latest_deployment_state=Subquery(latest.values("state")[:1]),
                latest_deployment_commit=Subquery(latest.values("commit_sha")[:1]),
                latest_deployment_pr_url=Subquery(latest.values("pr_url")[:1]),
            )
            .order_by("cluster__slug", "name", "pk")
        )


@extend_schema(responses=HubDetailSerializer)
@api_view(["GET"])
def hub_detail(request: Request, cluster: str, name: str) -> Response:
    """A hub's state, current revision and latest deployment."""
    hubs = Hub.objects.select_related("cluster", "offering", "request", "community").filter(
        cluster__slug=cluster, name=name
    )
    # A name can be reused after a hub is removed: the live one first.
    hub = hubs.exclude(state=HubState.DECOMMISSIONED).first() or hubs.order_by("-pk").first()
    if hub is None or not can_view_hub(request.user, hub):
        raise NotFound("No such hub.")
    return Response(HubDetailSerializer(hub).data)


def _visible_deployment(request: Request, pk: int) -> Deployment:
    deployment = get_object_or_404(
        Deployment.objects.select_related(
            "hub__cluster", "hub__request", "hub__community", "revision"
        ),
        pk=pk,
    )
    if not can_view_hub(request.user, deployment.hub):
        raise NotFound("No such deployment.")
    return deployment


@extend_schema(responses=DeploymentDetailSerializer)
@api_view(["GET"])
def deployment_detail(request: Request, pk: int) -> Response:
    """A deployment: state, branch, commit, pull request and its step log."""
    deployment = _visible_deployment(request, pk)
    return Response(DeploymentDetailSerializer(deployment).data)


@extend_schema(request=None, responses={202: DeploymentDetailSerializer})
@api_view(["POST"])
def deployment_retry(request: Request, pk: int) -> Response:
    """Queue a failed deployment again (staff and reviewers only)."""
    user = request.user
    if not (user.is_staff or is_reviewer(user)):
        raise PermissionDenied("Only staff can retry a deployment.")
    deployment = _visible_deployment(request, pk)
    deployments.retry_deployment(deployment, by=user)
    deployment = _visible_deployment(request, pk)
    return Response(DeploymentDetailSerializer(deployment).data, status=status.HTTP_202_ACCEPTED)
