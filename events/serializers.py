"""The events API's representations and bodies (events/api.py)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from events.models import Event, EventStep


class StepSerializer(serializers.ModelSerializer[EventStep]):
    kind_label = serializers.CharField(source="get_kind_display")
    deployment = serializers.IntegerField(source="deployment_id", allow_null=True)

    class Meta:
        model = EventStep
        fields = ["kind", "kind_label", "planned_at", "state", "note", "started_at", "finished_at",
                  "attempts", "deployment"]  # fmt: skip


# "Event" is the hub spec's own component (its `event` field).
@extend_schema_serializer(component_name="ScheduledEvent")
class EventSerializer(serializers.ModelSerializer[Event]):
    status = serializers.CharField()
    cluster = serializers.CharField(source="cluster.slug")
    offering = serializers.CharField(source="offering.slug")
    organiser = serializers.CharField(source="organiser.username")
    start_local = serializers.SerializerMethodField()
    end_local = serializers.SerializerMethodField()
    request = serializers.SerializerMethodField()
    hub = serializers.SerializerMethodField()
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Event
        fields = ["id", "name", "display_name", "status", "start", "end", "timezone",
                  "start_local", "end_local", "attendees", "cluster", "offering", "organiser",
                  "ended_early_at", "capacity_review", "capacity_override", "request", "hub",
                  "steps"]  # fmt: skip

    def _local(self, event: Event, when: Any) -> str:
        return str(when.astimezone(zoneinfo.ZoneInfo(event.timezone)).isoformat())

    def get_start_local(self, event: Event) -> str:
        """The start in the organiser's time zone."""
        return self._local(event, event.start)

    def get_end_local(self, event: Event) -> str:
        return self._local(event, event.end)

    @extend_schema_field(
        {"type": "object", "properties": {"id": {"type": "integer"}, "state": {"type": "string"}}}
    )
    def get_request(self, event: Event) -> dict[str, Any]:
        return {"id": event.request_id, "state": event.request.state}

    @extend_schema_field({"type": "object", "nullable": True})
    def get_hub(self, event: Event) -> dict[str, Any] | None:
        hub = event.hub
        if hub is None:
            return None
        return {"cluster": hub.cluster.slug, "name": hub.name, "state": hub.state,
                "url": hub.url, "revision": hub.current_revision}  # fmt: skip


class CreateOptions(serializers.Serializer[dict[str, Any]]):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    review = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Over the cluster's capacity: send it to the reviewers instead of a 409.",
    )


class NoOptions(serializers.Serializer[dict[str, Any]]):
    pass


class ExtendBody(serializers.Serializer[dict[str, Any]]):
    end = serializers.DateTimeField(help_text="The new end, with its time zone.")


class CommentBody(serializers.Serializer[dict[str, Any]]):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ConflictEventSerializer(serializers.ModelSerializer[Event]):
    class Meta:
        model = Event
        fields = ["id", "name", "display_name", "start", "end", "attendees"]
