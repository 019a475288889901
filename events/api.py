"""Events over the API (/api/v1/events/), with the pages' permissions.

The body of a new event is a hub spec, as for requests, with
`event: {start, end, timezone}`; the schedule's steps are part of every
event's representation. Over capacity answers 409 with the overlapping
events; other refusals are hubs/api/errors.py's 400, 403 and 409.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from events import actions
from events.capacity import CapacityConflict
from events.models import Event
from events.serializers import (
    CommentBody,
    ConflictEventSerializer,
    CreateOptions,
    EventSerializer,
    ExtendBody,
    NoOptions,
)
from hubs import permissions
from hubs.api.views import json_object, split_body
from portal.api import JSONBodyParser


def visible_events(user: Any) -> QuerySet[Event]:
    """Reviewers see every event; organisers their own and those of hubs they lead."""
    events = Event.objects.select_related(
        "request", "hub__cluster", "cluster", "offering", "organiser"
    ).prefetch_related("steps")
    if not permissions.is_reviewer(user):
        visible = permissions.visible_hubs(user).values("pk")
        events = events.filter(Q(organiser=user) | Q(hub__in=visible))
    return events.distinct().order_by("start", "pk")


def _event(request: Request, pk: int) -> Event:
    event = visible_events(request.user).filter(pk=pk).first()
    if event is None:
        raise NotFound("No such event.")
    return event


def _show(request: Request, pk: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(EventSerializer(_event(request, pk)).data, status=code)


def conflict_response(exc: CapacityConflict) -> Response:
    conflict = exc.conflict
    return Response(
        {
            "detail": "The cluster is over its capacity for events at those dates.",
            "errors": exc.errors,
            "cluster": conflict.cluster.slug,
            "capacity": conflict.limit,
            "peak": conflict.peak,
            "conflicts": ConflictEventSerializer(conflict.overlapping, many=True).data,
        },
        status=status.HTTP_409_CONFLICT,
    )


def capacity_409(view: Callable[..., Response]) -> Callable[..., Response]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except CapacityConflict as exc:
            return conflict_response(exc)

    return wrapped


class EventList(generics.ListCreateAPIView[Event]):
    """Events you organise (reviewers: all), soonest first, each with its schedule."""

    serializer_class = EventSerializer
    parser_classes = [JSONBodyParser]

    def get_queryset(self) -> QuerySet[Event]:
        if getattr(self, "swagger_fake_view", False):
            return Event.objects.none()
        return visible_events(self.request.user)

    @extend_schema(request=CreateOptions, responses={201: EventSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create an event: a hub spec (purpose event) with `event: {start, end, timezone}`,
        optional `notes` and `review`. 201 with the event; 409 over capacity."""
        spec, options = split_body(json_object(request), CreateOptions, spec=True)
        try:
            event = actions.create_event(
                request.user, spec, notes=options["notes"], review=options["review"]
            )
        except CapacityConflict as exc:
            return conflict_response(exc)
        return _show(request, event.pk, status.HTTP_201_CREATED)


@extend_schema(methods=["GET"], responses=EventSerializer)
@extend_schema(methods=["PATCH"], request=NoOptions, responses=EventSerializer)
@api_view(["GET", "PATCH"])
@parser_classes([JSONBodyParser])
@capacity_409
def event_detail(request: Request, pk: int) -> Response:
    """An event and its schedule. PATCH (organiser): spec fields replace the hub's; new
    dates or attendees are checked again and the pending steps follow them."""
    event = _event(request, pk)
    if request.method == "PATCH":
        if not actions.can_manage(request.user, event):
            raise PermissionDenied("Only the event's organiser and operators can change it.")
        changes, _ = split_body(json_object(request), NoOptions, spec=True)
        actions.change_event(event, changes, by=request.user)
    return _show(request, pk)


@extend_schema(request=ExtendBody, responses=EventSerializer)
@api_view(["POST"])
@parser_classes([JSONBodyParser])
@capacity_409
def event_extend(request: Request, pk: int) -> Response:
    """A later end, within the tier's longest event and the cluster's capacity."""
    event = _event(request, pk)
    _, options = split_body(json_object(request), ExtendBody, spec=False)
    actions.extend_event(event, options["end"], by=request.user)
    return _show(request, pk)


@extend_schema(request=None, responses=EventSerializer)
@api_view(["POST"])
def event_end(request: Request, pk: int) -> Response:
    """End the event now (before its start: cancel it); teardown follows the tier's grace."""
    actions.end_event(_event(request, pk), by=request.user)
    return _show(request, pk)


@extend_schema(request=CommentBody, responses=EventSerializer)
@api_view(["POST"])
@parser_classes([JSONBodyParser])
def event_override(request: Request, pk: int) -> Response:
    """Reviewers: let this event past its cluster's capacity (audited), then approve it."""
    _, options = split_body(json_object(request), CommentBody, spec=False)
    actions.override_capacity(_event(request, pk), by=request.user, comment=options["comment"])
    return _show(request, pk)
