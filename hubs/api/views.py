"""The catalog and hub requests over the API, with the UI's permissions.

Views only check access and parse bodies; every change goes through
hubs/actions.py, whose errors hubs/api/errors.py turns into 400 (SpecError),
403 (PermissionDenied) and 409 (IllegalTransition). A request someone may not
see answers 404, as if it did not exist, so ids do not leak.

Bodies are JSON objects only: the hub spec's fields at the top level, plus a
few named options (`notes`, `submit`, `comment`, depending on the endpoint);
any other top-level field is refused with 400 naming it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from hubs import actions, permissions, seams
from hubs.api.serializers import (
    ActionBody,
    CatalogImageSerializer,
    ClusterSerializer,
    CreateOptions,
    EditOptions,
    NoOptions,
    OfferingSerializer,
    PreviewSerializer,
    RequestCreateBody,
    RequestDetailSerializer,
    RequestEditBody,
    RequestSerializer,
)
from hubs.models import Cluster, HubRequest, Offering, UserImage
from hubs.spec import SPEC_KEYS, HubSpec, patched
from hubs.states import RequestState
from portal.api import JSONBodyParser

# --- the catalog -------------------------------------------------------------


class ClusterList(generics.ListAPIView[Cluster]):
    """Clusters that take new hubs."""

    serializer_class = ClusterSerializer

    def get_queryset(self) -> QuerySet[Cluster]:
        return Cluster.objects.filter(active=True).order_by("slug")


class OfferingList(generics.ListAPIView[Offering]):
    """Tiers on offer, each with the slugs of the active clusters it may run on."""

    serializer_class = OfferingSerializer

    def get_queryset(self) -> QuerySet[Offering]:
        active_clusters = Cluster.objects.filter(active=True).order_by("slug")
        return (
            Offering.objects.filter(active=True)
            .prefetch_related(Prefetch("clusters", queryset=active_clusters))
            .order_by("monthly_fee", "slug")
        )


class ImageList(generics.ListAPIView[UserImage]):
    """Curated user images; `image: {catalog: <slug>}` in a spec names one."""

    serializer_class = CatalogImageSerializer

    def get_queryset(self) -> QuerySet[UserImage]:
        return UserImage.objects.filter(active=True).order_by("name", "slug")


# --- bodies ------------------------------------------------------------------


def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object (shared with provisioning/web/api.py)."""
    # An empty body parses to {}: nothing given. Only JSON is parsed (portal.api.JSONBodyParser:
    # bounded in size and depth, every string storable).
    data = request.data
    if not isinstance(data, dict):
        raise ParseError('The body must be a JSON object, e.g. {"name": "bcc"}.')
    return dict(data)


def split_body(
    body: dict[str, Any], options: type[serializers.Serializer[dict[str, Any]]], *, spec: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `body` into (spec fields, checked options); refuse any other field."""
    names = set(options().fields)
    allowed = (names | SPEC_KEYS) if spec else names
    unknown = sorted(set(body) - allowed)
    if unknown:
        expected = ", ".join(sorted(names))
        what = f"the hub spec's fields, {expected}" if spec else expected
        raise ValidationError({key: [f"Unknown field; this body takes {what}."] for key in unknown})
    checker = options(data={k: v for k, v in body.items() if k in names})
    checker.is_valid(raise_exception=True)
    return {k: v for k, v in body.items() if k not in names}, dict(checker.validated_data)


# --- hub requests ------------------------------------------------------------


def visible_requests(user: Any) -> QuerySet[HubRequest]:
    """The requests `user` may see: all for reviewers and operators, else their own."""
    requests = HubRequest.objects.select_related(
        "requester", "cluster", "offering", "decided_by", "hub__cluster", "target_hub__cluster"
    )
    if not permissions.is_reviewer(user):
        requests = requests.filter(requester=user)
    return requests


def _visible_request(request: Request, pk: int) -> HubRequest:
    hub_request = visible_requests(request.user).filter(pk=pk).first()
    if hub_request is None:
        raise NotFound("No such request.")
    return hub_request


def _detail(request: Request, pk: int, code: int = status.HTTP_200_OK) -> Response:
    """The request as it is now, with its comments."""
    hub_request = (
        visible_requests(request.user).prefetch_related("comments__author").filter(pk=pk).first()
    )
    if hub_request is None:  # deleted meanwhile
        raise NotFound("No such request.")
    return Response(RequestDetailSerializer(hub_request).data, status=code)


STATE_PARAMETER = OpenApiParameter(
    "state",
    OpenApiTypes.STR,
    enum=RequestState.values,
    many=True,
    description="Only requests in this state (repeat for several).",
)


CREATE_HELP = """Create a hub request.

The body is a hub spec (the fields of HubSpec, at the top level) plus optional
`notes` for the reviewers and optional `submit`: false (the default) saves a
draft, which may be incomplete; true checks the spec fully and submits it for
review at once (a tier that needs no review is then approved at once).
Answers 201 with the request, including its `id` and `state`.
"""


class RequestList(generics.ListCreateAPIView[HubRequest]):
    """Hub requests: yours, or every one for reviewers and operators. Newest first."""

    serializer_class = RequestSerializer
    parser_classes = [JSONBodyParser]

    def get_queryset(self) -> QuerySet[HubRequest]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the view
            return HubRequest.objects.none()
        requests = visible_requests(self.request.user)
        states = self.request.query_params.getlist("state")
        unknown = sorted(set(states) - set(RequestState.values))
        if unknown:
            choices = ", ".join(RequestState.values)
            raise ValidationError(
                {"state": [f"Unknown state {s!r}; choose from {choices}." for s in unknown]}
            )
        if states:
            requests = requests.filter(state__in=states)
        return requests.order_by("-created_at", "-pk")

    @extend_schema(parameters=[STATE_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=RequestCreateBody,
        responses={201: RequestDetailSerializer},
        description=CREATE_HELP,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        spec, options = split_body(json_object(request), CreateOptions, spec=True)
        hub_request = actions.create_request(
            request.user, spec, notes=options["notes"], submit=options["submit"]
        )
        return _detail(request, hub_request.pk, status.HTTP_201_CREATED)


@extend_schema(request=HubSpec, responses=PreviewSerializer)
@api_view(["POST"])
@parser_classes([JSONBodyParser])
def request_preview(request: Request) -> Response:
    """Preview a hub spec: the files a request for it would write, and what was checked.

    Nothing is saved. Answers 200 either way: `ok` false with `problems`
    ({field path: [messages]}) when the spec would be refused, as submitting
    it would refuse it.
    """
    spec, _ = split_body(json_object(request), NoOptions, spec=True)
    return Response(seams.previewer().preview_request(spec).as_json())


@extend_schema(methods=["GET"], responses=RequestDetailSerializer)
@extend_schema(methods=["PATCH"], request=RequestEditBody, responses=RequestDetailSerializer)
@api_view(["GET", "PATCH"])
@parser_classes([JSONBodyParser])
def request_detail(request: Request, pk: int) -> Response:
    """A request with its spec and comments.

    PATCH edits a draft or a request sent back for changes (requester only):
    each top-level spec field given replaces the stored one, a field given as
    null is removed, and `notes` replaces the notes. Submit with
    POST .../submit/ afterwards.
    """
    hub_request = _visible_request(request, pk)
    if request.method == "PATCH":
        # Who may edit before what they sent: a reviewer's edit is refused as such.
        if hub_request.requester_id != request.user.pk:
            raise PermissionDenied("Only the requester can edit a request.")
        changes, options = split_body(json_object(request), EditOptions, spec=True)
        spec = patched(hub_request.spec, changes) if changes else None
        notes = options.get("notes")
        if "notes" in options and notes is None:
            notes = ""  # null removes the notes, as it removes a spec field
        actions.update_request(hub_request, by=request.user, spec=spec, notes=notes)
    return _detail(request, pk)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "action", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(actions.REQUEST_ACTIONS)
        )
    ],
    request=ActionBody,
    responses=RequestDetailSerializer,
    operation_id="requests_action",
)
@api_view(["POST"])
@parser_classes([JSONBodyParser])
def request_action(request: Request, pk: int, action: str) -> Response:
    """Move a request on.

    - submit (requester): send a draft, or a request sent back, for review; no comment.
    - approve (reviewer): create the hub and queue its first deployment; `inputs` gives
      the values the cluster needs for each new hub (400 naming each missing key and why).
    - reject (reviewer), request-changes (reviewer; the comment says what to change).
    - withdraw (requester), while the request is still open.

    `comment` is optional except for request-changes. A move the request's state
    does not allow answers 409 with the current `state`.
    """
    if action not in actions.REQUEST_ACTIONS:
        raise NotFound(f"No such action; choose from {', '.join(actions.REQUEST_ACTIONS)}.")
    move = actions.REQUEST_ACTIONS[action]
    hub_request = _visible_request(request, pk)
    body = json_object(request)
    if not move.takes_comment and body.get("comment") not in (None, ""):
        raise ValidationError({"comment": [f"{action} takes no comment."]})
    _, options = split_body(body, ActionBody, spec=False)
    extra: dict[str, Any] = {}
    if "inputs" in options:
        if action != "approve":
            raise ValidationError({"inputs": ["only approve takes inputs"]})
        extra["inputs"] = options["inputs"]
    move.run(hub_request, request.user, options["comment"], **extra)
    return _detail(request, pk)
