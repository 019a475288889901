"""A hub's revisions, their differences, its audit trail and its bundle, over the API.

Who may see the hub may read them; rolling back is for its admins and operators.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from hubs.models import HubRevision
from provisioning import bundle, lifecycle
from provisioning.web.access import visible_deployment, visible_hub
from provisioning.web.compare import revisions_compared
from provisioning.web.history import audit_events
from provisioning.web.members_api import managed_hub, page_of
from provisioning.web.members_serializers import (
    AuditEventSerializer,
    DiffSerializer,
    RevisionDetailSerializer,
    RevisionSerializer,
    paginated,
)
from provisioning.web.serializers import DeploymentDetailSerializer


class ZipRenderer(BaseRenderer):
    media_type = "application/zip"
    format = "zip"
    charset = None
    render_style = "binary"

    def render(
        self, data: object, accepted_media_type: object = None, context: object = None
    ) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode()


def _revision(hub_id: int, number: int) -> HubRevision:
    revision = (
        HubRevision.objects.select_related("author").filter(hub_id=hub_id, number=number).first()
    )
    if revision is None:
        raise NotFound("No such revision.")
    return revision


@extend_schema(
    responses=paginated(RevisionSerializer(many=True), "PaginatedRevisionList"),
    operation_id="hubs_revisions_list",
)
@api_view(["GET"])
def hub_revisions(request: Request, cluster: str, name: str) -> Response:
    """The hub's revisions, newest first, each with its reason."""
    hub = visible_hub(request.user, cluster, name)
    rows = hub.revisions.select_related("author").defer("spec", "files").order_by("-number")
    return page_of(request, rows, RevisionSerializer)


@extend_schema(responses=RevisionDetailSerializer)
@api_view(["GET"])
def hub_revision(request: Request, cluster: str, name: str, number: int) -> Response:
    """One revision: its spec and the files rendered from it."""
    hub = visible_hub(request.user, cluster, name)
    return Response(RevisionDetailSerializer(_revision(hub.pk, number)).data)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "against", OpenApiTypes.INT, description="The revision to compare with (default n-1)."
        )
    ],
    responses=DiffSerializer,
)
@api_view(["GET"])
def hub_revision_diff(request: Request, cluster: str, name: str, number: int) -> Response:
    """What changed from revision `against` to revision n: who gained or lost access, the
    other spec fields, and a unified diff of each rendered file."""
    hub = visible_hub(request.user, cluster, name)
    raw = request.query_params.get("against", str(number - 1))
    try:
        against = int(raw)
    except ValueError:
        raise ValidationError({"against": ["A revision number."]}) from None
    if against == number:
        raise ValidationError({"against": ["Choose another revision than n."]})
    comparison = revisions_compared(_revision(hub.pk, against), _revision(hub.pk, number))
    return Response(DiffSerializer(comparison.as_dict()).data)


@extend_schema(request=None, responses={202: DeploymentDetailSerializer})
@api_view(["POST"])
def hub_revision_rollback(request: Request, cluster: str, name: str, number: int) -> Response:
    """Deploy revision n again, as a new revision (its admins and operators); 202.

    GET .../revisions/{n}/diff/?against=<current> shows first what it changes.
    """
    hub = managed_hub(request, cluster, name)
    deployment = lifecycle.rollback_hub(hub, number, by=request.user)
    deployment = visible_deployment(request.user, deployment.pk)
    return Response(DeploymentDetailSerializer(deployment).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    responses=paginated(AuditEventSerializer(many=True), "PaginatedAuditEventList"),
    operation_id="hubs_activity_list",
)
@api_view(["GET"])
def hub_activity(request: Request, cluster: str, name: str) -> Response:
    """The hub's audit trail, newest first: who did what, with before and after."""
    hub = visible_hub(request.user, cluster, name)
    return page_of(request, audit_events(hub), AuditEventSerializer)


@extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
@api_view(["GET"])
@renderer_classes([JSONRenderer, ZipRenderer])
def hub_bundle(request: Request, cluster: str, name: str) -> HttpResponse:
    """A zip to run the hub anywhere with Helm: z2jh values, members CSV, image, the
    secret's key names (never values) and a README runbook (Right to Replicate)."""
    hub = visible_hub(request.user, cluster, name)
    return HttpResponse(
        bundle.bundle(hub),
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{hub.name}-bundle.zip"'},
    )
