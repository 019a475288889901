"""A hub's members and portal admins over the API, with the members page's rules.

Seeing the hub lets one list; managing it (its admins, operators) lets one
change. Changes go through provisioning/members.py and hubs/admins.py, like
the page's: bulk bodies are planned, an invalid entry refuses the change
(400, by item), and an applied change joins the hub's batch of waiting member
changes (deployed after PORTAL_MEMBERS_DEBOUNCE seconds, or now with
POST .../members/deploy/). A CSV import applies its valid lines and reports
the rest; `?dry_run=1` only previews.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes, renderer_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from hubs import admins, permissions
from hubs import members as people
from hubs.api.pagination import Pagination
from hubs.api.views import json_object, split_body
from hubs.models import AdminInvitation, Hub
from hubs.spec import SpecError
from portal.api import JSONBodyParser
from provisioning import members
from provisioning.web.access import visible_deployment, visible_hub
from provisioning.web.members_serializers import (
    AcceptBody,
    ChangeResultSerializer,
    InvitationBody,
    InvitationSerializer,
    MembersBody,
    MemberSerializer,
    PortalAdminSerializer,
    paginated,
)
from provisioning.web.serializers import DeploymentDetailSerializer


class CSVParser(BaseParser):
    """A text/csv body, as text."""

    media_type = "text/csv"

    def parse(  # type: ignore[override]  # text, not a mapping: the view reads it as such
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> str:
        raw = stream.read() if stream is not None else b""
        try:
            return str(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ValidationError({"": ["The CSV must be UTF-8 text."]}) from exc


class CSVRenderer(BaseRenderer):
    """text/csv answers (an error under it is written as JSON)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return data if isinstance(data, str | bytes) else json.dumps(data)


def managed_hub(request: Request, cluster: str, name: str) -> Hub:
    """The hub, if `request.user` may change its members; checked before the body is read."""
    hub = visible_hub(request.user, cluster, name)
    if not permissions.can_manage_hub(request.user, hub):
        raise PermissionDenied("Only the hub's admins and operators can change its members.")
    return hub


def page_of(request: Request, rows: Any, serializer: Any) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def result(queued: members.Queued | None, plan: people.Plan, *, dry_run: bool) -> dict[str, Any]:
    pending = queued.pending if queued is not None else None
    deployment = queued.deployment if queued is not None else None
    return ChangeResultSerializer(
        {
            "dry_run": dry_run,
            "counts": plan.counts,
            "note": plan.note,
            "lines": [line for line in plan.lines if line.status != "present"],
            "pending": (
                {
                    "summary": people.summary(
                        people.of_spec(pending.hub.spec), members.effective(pending.hub, pending)
                    ),
                    "due_at": pending.due_at,
                    "error": pending.error,
                }
                if pending is not None
                else None
            ),
            "deployment": deployment,
        }
    ).data


ROLE = OpenApiParameter(
    "role", OpenApiTypes.STR, enum=list(people.ROLES), description="Only one role."
)
SEARCH = OpenApiParameter("search", OpenApiTypes.STR, description="Usernames containing this.")
DRY_RUN = OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Only preview (1).")
MODE = OpenApiParameter(
    "mode",
    OpenApiTypes.STR,
    enum=["add", "replace"],
    description="replace: also remove, in each role the file lists, whoever it does not list.",
)


@extend_schema(
    methods=["GET"],
    parameters=[ROLE, SEARCH],
    responses=paginated(MemberSerializer(many=True), "PaginatedMemberList"),
)
@extend_schema(
    methods=["POST", "DELETE"], request=MembersBody, responses={202: ChangeResultSerializer}
)
@api_view(["GET", "POST", "DELETE"])
@parser_classes([JSONBodyParser])
def hub_members(request: Request, cluster: str, name: str) -> Response:
    """The hub's admins and allowed users; changes waiting to be deployed are marked.

    POST adds, DELETE removes `usernames` in `role` (hub admins, operators):
    every name is checked first and any invalid one refuses the change (400,
    by item); duplicates and names already there are fine. 202 with what
    happens to each, and the batch it joined.
    """
    if request.method == "GET":
        hub = visible_hub(request.user, cluster, name)
        role = request.query_params.get("role", "")
        if role and role not in people.ROLES:
            raise ValidationError({"role": [f"Unknown role {role!r}; choose admin or allowed."]})
        search = request.query_params.get("search", "")[:200]
        rows = members.listing(hub, members.pending_of(hub), role=role, search=search)
        return page_of(request, rows, MemberSerializer)
    hub = managed_hub(request, cluster, name)
    _, body = split_body(json_object(request), MembersBody, spec=False)
    mode = "add" if request.method == "POST" else "remove"
    queued = members.change_members(
        hub, body["role"], body["usernames"], mode=mode, by=request.user
    )
    return Response(result(queued, queued.plan, dry_run=False), status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request={"text/csv": OpenApiTypes.STR},
    parameters=[DRY_RUN, MODE],
    responses={200: ChangeResultSerializer, 202: ChangeResultSerializer},
)
@api_view(["POST"])
@parser_classes([CSVParser])
def hub_members_import(request: Request, cluster: str, name: str) -> Response:
    """Import a CSV (`text/csv`): a `username` column and an optional `role` column.

    With `?dry_run=1` nothing changes: 200 with the preview (each line: to add,
    already present, to remove, invalid with the reason) and its counts.
    Otherwise the valid lines are applied and the invalid ones reported: 202.
    """
    hub = managed_hub(request, cluster, name)
    text = request.data if isinstance(request.data, str) else ""
    dry_run = request.query_params.get("dry_run", "") in ("1", "true", "yes")
    mode = request.query_params.get("mode", "add")
    if mode not in ("add", "replace"):
        raise ValidationError({"mode": ["Choose add or replace."]})
    try:
        plan = members.preview(hub, people.parse_csv(text), mode=mode)
    except people.MembersError as exc:
        raise ValidationError({"": [str(exc)[:1].upper() + str(exc)[1:]]}) from exc
    if dry_run:
        return Response(result(None, plan, dry_run=True))
    queued = members.apply_plan(hub, plan, by=request.user)
    return Response(result(queued, plan, dry_run=False), status=status.HTTP_202_ACCEPTED)


@extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
@api_view(["GET"])
@renderer_classes([JSONRenderer, CSVRenderer])
def hub_members_export(request: Request, cluster: str, name: str) -> HttpResponse:
    """The hub's members as CSV (`username,role`), waiting changes included."""
    hub = visible_hub(request.user, cluster, name)
    current = members.effective(hub, members.pending_of(hub))
    return HttpResponse(
        people.to_csv(current),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{hub.name}-members.csv"'},
    )


@extend_schema(request=None, responses={202: DeploymentDetailSerializer})
@api_view(["POST"])
def hub_members_deploy(request: Request, cluster: str, name: str) -> Response:
    """Deploy the waiting member changes now ("save and deploy"): 202 with the deployment.

    409 while the hub is busy with another deployment (they then wait);
    400 when nothing waits or the batch does not pass the hub's checks.
    """
    hub = managed_hub(request, cluster, name)
    deployment = members.deploy_pending(hub.pk, by=request.user, force=True)
    if deployment is None:
        raise SpecError({"": ["The waiting changes change nothing; they were dropped."]})
    deployment = visible_deployment(request.user, deployment.pk)
    return Response(DeploymentDetailSerializer(deployment).data, status=status.HTTP_202_ACCEPTED)


# --- portal admins ------------------------------------------------------------------------


@extend_schema(
    responses=paginated(PortalAdminSerializer(many=True), "PaginatedPortalAdminList"),
    operation_id="hubs_admins_list",
)
@api_view(["GET"])
def hub_admins(request: Request, cluster: str, name: str) -> Response:
    """The portal users who administer the hub, and why (requester, invited, identity)."""
    hub = visible_hub(request.user, cluster, name)
    return page_of(request, list(admins.admins_of(hub)), PortalAdminSerializer)


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
def hub_admin(request: Request, cluster: str, name: str, username: str) -> Response:
    """Remove an invited admin (never the last one, the requester or a matched sign-in)."""
    hub = managed_hub(request, cluster, name)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound("No such admin.")
    admins.remove(hub, user, by=request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    methods=["GET"],
    responses=paginated(InvitationSerializer(many=True), "PaginatedInvitationList"),
)
@extend_schema(methods=["POST"], request=InvitationBody, responses={201: InvitationSerializer})
@api_view(["GET", "POST"])
@parser_classes([JSONBodyParser])
def hub_invitations(request: Request, cluster: str, name: str) -> Response:
    """Invitations to administer the hub (hub admins, operators).

    POST emails `email` a link; whoever accepts it with that address, confirmed,
    becomes an admin. The link (its token) is only in the email.
    """
    hub = managed_hub(request, cluster, name)
    if request.method == "POST":
        _, body = split_body(json_object(request), InvitationBody, spec=False)
        invitation, _ = admins.invite(hub, body["email"], by=request.user)
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)
    rows = AdminInvitation.objects.filter(hub=hub).select_related("invited_by", "accepted_by")
    return page_of(request, rows, InvitationSerializer)


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
def hub_invitation(request: Request, cluster: str, name: str, pk: int) -> Response:
    """Revoke a pending invitation."""
    hub = managed_hub(request, cluster, name)
    invitation = AdminInvitation.objects.filter(hub=hub, pk=pk).select_related("hub").first()
    if invitation is None:
        raise NotFound("No such invitation.")
    admins.revoke(invitation, by=request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(request=AcceptBody, responses={200: PortalAdminSerializer})
@api_view(["POST"])
@parser_classes([JSONBodyParser])
def accept_invitation(request: Request) -> Response:
    """Accept an invitation (its token, from the link): you become the hub's admin."""
    _, body = split_body(json_object(request), AcceptBody, spec=False)
    invitation = admins.find_invitation(body["token"])
    if invitation is None:
        raise NotFound("No such invitation.")
    row = admins.accept(invitation, request.user)
    return Response(PortalAdminSerializer(row).data)
