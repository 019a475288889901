"""Hubs and their deployments over the API, with the UI's permissions.

A hub someone may not see answers 404, as if it did not exist; one they may
see but not manage answers 403 to a change. Changes go through
provisioning/lifecycle.py, whose errors hubs/api/errors.py turns into 400
(SpecError) and 409 (IllegalTransition); bodies are checked like the requests
API's (hubs/api/views.py): JSON objects only, unknown fields refused with 400.
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from hubs import seams
from hubs.api.serializers import PreviewSerializer
from hubs.api.views import json_object, split_body
from hubs.models import Hub, HubRequest, HubSecret
from hubs.permissions import (
    can_decommission_hub,
    can_manage_hub,
    can_mark_credentials,
    can_resolve_drift,
    can_retry_deployment,
    visible_hubs,
)
from hubs.spec import patched
from portal.api import JSONBodyParser
from provisioning import credentials, lifecycle, preview
from provisioning.models import Deployment, PendingCredentials
from provisioning.web import live
from provisioning.web.access import visible_deployment, visible_hub
from provisioning.web.serializers import (
    CHANGE_NEEDS_REVIEW,
    ChangeRequestedSerializer,
    CredentialsBody,
    CredentialsListSerializer,
    DecommissionBody,
    DeploymentDetailSerializer,
    DriftBody,
    DriftSerializer,
    HubDetailSerializer,
    HubEditBody,
    HubEditOptions,
    HubSerializer,
    RollbackBody,
    SecretsBody,
    SecretsSerializer,
)


class HubList(generics.ListAPIView[Hub]):
    """Hubs you may see, with the state of each one's latest deployment."""

    serializer_class = HubSerializer

    def get_queryset(self) -> QuerySet[Hub]:
        latest = Deployment.objects.filter(hub=OuterRef("pk")).order_by("-created_at", "-pk")
        return (
            seams.prefetch_hubs(visible_hubs(self.request.user))
            .annotate(
                latest_deployment_id=Subquery(latest.values("pk")[:1]),
                latest_deployment_state=Subquery(latest.values("state")[:1]),
                latest_deployment_commit=Subquery(latest.values("commit_sha")[:1]),
                latest_deployment_pr_url=Subquery(latest.values("pr_url")[:1]),
            )
            .order_by("cluster__slug", "name", "pk")
        )


def _managed_hub(request: Request, cluster: str, name: str) -> Hub:
    """The hub, if `request.user` may change it; checked before the body is read."""
    hub = visible_hub(request.user, cluster, name)
    if not can_manage_hub(request.user, hub):
        raise PermissionDenied("Only the hub's admins and operators can change it.")
    return hub


def _accepted(request: Request, deployment: Deployment) -> Response:
    """The deployment a change queued, as deployment_detail shows it."""
    deployment = visible_deployment(request.user, deployment.pk)
    return Response(DeploymentDetailSerializer(deployment).data, status=status.HTTP_202_ACCEPTED)


DRY_RUN = OpenApiParameter(
    "dry_run",
    OpenApiTypes.BOOL,
    description="1: change nothing; answer 200 with the preview of what would change "
    "(files and their diff against the running revision, access, image, resources).",
)


def dry_run(request: Request) -> bool:
    return request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")


CHANGE_OUTCOME = PolymorphicProxySerializer(
    component_name="HubChangeOutcome",
    serializers=[DeploymentDetailSerializer, ChangeRequestedSerializer],
    resource_type_field_name=None,
)


@extend_schema(methods=["GET"], responses=HubDetailSerializer)
@extend_schema(
    methods=["PATCH"],
    request=HubEditBody,
    parameters=[DRY_RUN],
    responses={202: CHANGE_OUTCOME, 200: PreviewSerializer},
)
@api_view(["GET", "PATCH"])
@parser_classes([JSONBodyParser])
def hub_detail(request: Request, cluster: str, name: str) -> Response:
    """A hub's state, current revision and latest deployment.

    PATCH changes a live hub (its leads and operators): each top-level spec
    field given replaces the hub's, a field given as null is removed, and
    `reason` is kept with the new revision. The name and cluster cannot change.
    With `?dry_run=1` nothing changes: 200 with the preview of the change.
    Answers 202 with the queued deployment; 409 with the hub's `state` while
    it is not active (e.g. still provisioning or updating). A change beyond
    the hub's tier (another tier or purpose) is not deployed: it becomes a
    request to change the hub, for the reviewers, and the answer is 202 with
    `detail` and that `request` (its `state` says whether it waits for review).
    """
    if request.method != "PATCH":
        return Response(HubDetailSerializer(visible_hub(request.user, cluster, name)).data)
    hub = _managed_hub(request, cluster, name)
    changes, options = split_body(json_object(request), HubEditOptions, spec=True)
    spec = patched(hub.spec, changes)
    if dry_run(request):
        return Response(preview.preview_change(hub, spec).as_json())
    outcome = lifecycle.update_hub(hub, spec, by=request.user, reason=options["reason"] or "edited")
    if isinstance(outcome, HubRequest):
        return Response(
            ChangeRequestedSerializer({"detail": CHANGE_NEEDS_REVIEW, "request": outcome.pk}).data,
            status=status.HTTP_202_ACCEPTED,
        )
    return _accepted(request, outcome)


@extend_schema(
    request=RollbackBody,
    parameters=[DRY_RUN],
    responses={202: DeploymentDetailSerializer, 200: PreviewSerializer},
)
@api_view(["POST"])
@parser_classes([JSONBodyParser])
def hub_rollback(request: Request, cluster: str, name: str) -> Response:
    """Deploy an earlier revision again, as a new revision (leads and operators).

    Answers 202 with the queued deployment; with `?dry_run=1`, 200 with the preview.
    """
    hub = _managed_hub(request, cluster, name)
    _, options = split_body(json_object(request), RollbackBody, spec=False)
    if dry_run(request):
        return Response(preview.preview_rollback(hub, options["revision"]).as_json())
    deployment = lifecycle.rollback_hub(hub, options["revision"], by=request.user)
    return _accepted(request, deployment)


@extend_schema(
    request=DecommissionBody,
    parameters=[DRY_RUN],
    responses={202: DeploymentDetailSerializer, 200: PreviewSerializer},
)
@api_view(["POST"])
@parser_classes([JSONBodyParser])
def hub_decommission(request: Request, cluster: str, name: str) -> Response:
    """Remove a hub from its cluster (its requester, its community's leads and operators).

    Its users' data goes with it: `confirm_data_loss` must be true, else 400.
    Answers 202 with the queued deployment; with `?dry_run=1`, 200 with the preview.
    """
    hub = visible_hub(request.user, cluster, name)
    if not can_decommission_hub(request.user, hub):
        raise PermissionDenied(
            "Only the hub's requester, its community's leads and operators remove it."
        )
    _, options = split_body(json_object(request), DecommissionBody, spec=False)
    if dry_run(request):
        return Response(preview.preview_decommission(hub).as_json())
    deployment = lifecycle.decommission_hub(
        hub, by=request.user, confirm_data_loss=options["confirm_data_loss"]
    )
    return _accepted(request, deployment)


@extend_schema(methods=["GET"], responses=SecretsSerializer)
@extend_schema(methods=["PUT"], request=SecretsBody, responses=SecretsSerializer)
@api_view(["GET", "PUT"])
@parser_classes([JSONBodyParser])
def hub_secrets(request: Request, cluster: str, name: str) -> Response:
    """Which of a hub's secrets have a value (leads and operators); never the values.

    PUT sets the secrets given (a value of "" removes one) and leaves the others.
    """
    hub = _managed_hub(request, cluster, name)
    if request.method == "PUT":
        _, values = split_body(json_object(request), SecretsBody, spec=False)
        lifecycle.set_hub_secrets(hub, values, by=request.user)
    keys = sorted(HubSecret.objects.filter(hub=hub).values_list("key", flat=True))
    return Response(SecretsSerializer({"set": keys}).data)


def _credentials(hub: Hub) -> Response:
    rows = PendingCredentials.objects.filter(hub=hub).select_related("done_by", "revision")
    data = {
        "state": hub.state,
        "waiting_for_credentials": any(row.pending for row in rows),
        "credentials": list(rows[:20]),
    }
    return Response(CredentialsListSerializer(data).data)


@extend_schema(methods=["GET"], responses=CredentialsListSerializer)
@extend_schema(methods=["POST"], request=CredentialsBody, responses=CredentialsListSerializer)
@api_view(["GET", "POST"])
@parser_classes([JSONBodyParser])
def hub_credentials(request: Request, cluster: str, name: str) -> Response:
    """Secrets a GitOps hub's login needs that the portal cannot write (anyone who sees the hub).

    Each names the sops-encrypted file and the keys the operators must add,
    and who acts. While any is pending the hub is `awaiting_credentials`, not
    active. POST (operators): mark them added; the hub becomes active if it
    waited only for them (400 if nothing is pending; `note` is kept in the audit).
    """
    hub = visible_hub(request.user, cluster, name)
    if request.method == "POST":
        if not can_mark_credentials(request.user):
            raise PermissionDenied("Only operators mark a hub's credentials added.")
        _, options = split_body(json_object(request), CredentialsBody, spec=False)
        credentials.mark_credentials_added(hub, by=request.user, note=options["note"])
        hub.refresh_from_db()
    return _credentials(hub)


@extend_schema(methods=["GET"], responses=DriftSerializer)
@extend_schema(methods=["POST"], request=DriftBody, responses={202: DeploymentDetailSerializer})
@api_view(["GET", "POST"])
@parser_classes([JSONBodyParser])
def hub_drift(request: Request, cluster: str, name: str) -> Response:
    """How a GitOps hub's repository differs from its revision (edited by hand), as diffs.

    POST (operators) resolves it: `{"action": "adopt"}` makes the repository's
    version the next revision (checked as the deployer builds it; 400 if it
    fails or a file is gone), `{"action": "repush"}` writes the portal's current
    revision over the edits as the next revision. 202 with the deployment; 400
    when the hub has not drifted.
    """
    hub = visible_hub(request.user, cluster, name)
    if request.method == "POST":
        if not can_resolve_drift(request.user):
            raise PermissionDenied("Only operators decide which version of a drifted hub stays.")
        _, options = split_body(json_object(request), DriftBody, spec=False)
        if options["action"] == "adopt":
            deployment = lifecycle.adopt_repository(hub, by=request.user)
        else:
            deployment = lifecycle.repush_hub(hub, by=request.user)
        return _accepted(request, deployment)
    drift = hub.drift if isinstance(hub.drift, dict) else {}
    data = {
        "drifted": bool(drift),
        "summary": str(drift.get("summary") or ""),
        "differences": [str(d) for d in drift.get("differences") or []],
        "revision": hub.current_revision,
        "file_diffs": live.drift_diffs(hub) if drift else [],
        "checked_at": hub.drift_checked_at,
    }
    return Response(DriftSerializer(data).data)


@extend_schema(responses=DeploymentDetailSerializer)
@api_view(["GET"])
def deployment_detail(request: Request, pk: int) -> Response:
    """A deployment: state, branch, commit, pull request and its step log."""
    deployment = visible_deployment(request.user, pk)
    return Response(DeploymentDetailSerializer(deployment).data)


@extend_schema(request=None, responses={202: DeploymentDetailSerializer})
@api_view(["POST"])
def deployment_retry(request: Request, pk: int) -> Response:
    """Queue a failed deployment again (staff and reviewers only)."""
    user = request.user
    if not can_retry_deployment(user):
        raise PermissionDenied("Only staff can retry a deployment.")
    deployment = visible_deployment(request.user, pk)
    lifecycle.retry_deployment(deployment, by=user)
    deployment = visible_deployment(request.user, pk)
    return Response(DeploymentDetailSerializer(deployment).data, status=status.HTTP_202_ACCEPTED)
