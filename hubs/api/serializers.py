"""What the API says about the catalog and hub requests, and the bodies it takes.

Request bodies are the hub spec (checked by hubs/spec.py and hubs/actions.py,
not here) plus a few top-level options; the serializers below check only those
options. The pydantic models at the end exist to document the bodies in the
OpenAPI schema with the spec's own field definitions.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from pydantic import BaseModel, Field, StrictBool, create_model
from rest_framework import serializers

from hubs.actions import MAX_COMMENT, MAX_NOTES
from hubs.models import Cluster, HubRequest, Offering, RequestComment, UserImage
from hubs.spec import HubSpec
from portal.api import StrictBooleanField

# --- the catalog -------------------------------------------------------------


class ClusterSerializer(serializers.ModelSerializer[Cluster]):
    class Meta:
        model = Cluster
        # Never the deploy settings: kubeconfigs and targets are operators' business.
        fields = ["slug", "name", "provider", "region", "tenancy", "base_domain"]
        read_only_fields = fields


class OfferingSerializer(serializers.ModelSerializer[Offering]):
    clusters = serializers.SerializerMethodField()

    class Meta:
        model = Offering
        fields = [
            "slug", "name", "description", "purposes", "cpu_guarantee", "cpu_limit",
            "mem_guarantee", "mem_limit", "storage_capacity", "cull_timeout", "cull_max_age",
            "dask_gateway", "gpu", "shared_directory", "max_users", "monthly_fee",
            "allow_custom_image", "requires_review", "clusters",
        ]  # fmt: skip
        read_only_fields = fields

    def get_clusters(self, obj: Offering) -> list[str]:
        # Prefetched by the view with active clusters only: where a new hub may go.
        return [cluster.slug for cluster in obj.clusters.all()]


class CatalogImageSerializer(serializers.ModelSerializer[UserImage]):
    class Meta:
        model = UserImage
        fields = ["slug", "name", "reference", "description"]
        read_only_fields = fields


# --- hub requests ------------------------------------------------------------


class RequestHubSerializer(serializers.Serializer[Any]):
    cluster = serializers.CharField()
    name = serializers.CharField()
    state = serializers.CharField()


class RequestSerializer(serializers.ModelSerializer[HubRequest]):
    url = serializers.SerializerMethodField()
    requester = serializers.CharField(source="requester.username", read_only=True)
    cluster = serializers.CharField(
        source="cluster.slug", default=None, allow_null=True, read_only=True
    )
    offering = serializers.CharField(
        source="offering.slug", default=None, allow_null=True, read_only=True
    )
    decided_by = serializers.CharField(
        source="decided_by.username", default=None, allow_null=True, read_only=True
    )
    spec = serializers.JSONField(read_only=True)
    hub = serializers.SerializerMethodField()
    target_hub = serializers.SerializerMethodField(
        help_text="For a request to change a live hub beyond its tier: that hub; else null."
    )

    class Meta:
        model = HubRequest
        fields = [
            "id", "url", "state", "name", "display_name", "requester", "cluster", "offering",
            "spec", "notes", "submission_count", "created_at", "updated_at", "submitted_at",
            "decided_at", "decided_by", "hub", "target_hub",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, obj: HubRequest) -> str:
        return f"{settings.PORTAL_BASE_URL}{obj.get_absolute_url()}"

    @extend_schema_field(RequestHubSerializer(allow_null=True))
    def get_hub(self, obj: HubRequest) -> dict[str, str] | None:
        # select_related by the views; a request without a hub raises AttributeError.
        hub = getattr(obj, "hub", None)
        if hub is None:
            return None
        return {"cluster": hub.cluster.slug, "name": hub.name, "state": hub.state}

    @extend_schema_field(RequestHubSerializer(allow_null=True))
    def get_target_hub(self, obj: HubRequest) -> dict[str, str] | None:
        hub = obj.target_hub  # select_related by the views
        if hub is None:
            return None
        return {"cluster": hub.cluster.slug, "name": hub.name, "state": hub.state}


class CommentSerializer(serializers.ModelSerializer[RequestComment]):
    author = serializers.CharField(
        source="author.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = RequestComment
        fields = ["author", "body", "transition", "created_at"]
        read_only_fields = fields


class RequestDetailSerializer(RequestSerializer):
    comments = CommentSerializer(many=True, read_only=True)

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "comments"]
        read_only_fields = fields


# --- bodies: the options beside the spec ---------------------------------------


class CreateOptions(serializers.Serializer[dict[str, Any]]):
    notes = serializers.CharField(
        max_length=MAX_NOTES, required=False, allow_blank=True, default=""
    )
    submit = StrictBooleanField(required=False, default=False)


class NoOptions(serializers.Serializer[dict[str, Any]]):
    """A body that is the spec alone."""


class EditOptions(serializers.Serializer[dict[str, Any]]):
    notes = serializers.CharField(
        max_length=MAX_NOTES, required=False, allow_blank=True, allow_null=True
    )


class ActionBody(serializers.Serializer[dict[str, Any]]):
    comment = serializers.CharField(
        max_length=MAX_COMMENT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Shown to the requester; required for request-changes.",
    )
    inputs = serializers.DictField(
        child=serializers.CharField(max_length=500, allow_blank=True),
        required=False,
        help_text=(
            "approve only: the values the request's cluster needs for each new hub "
            '(its learnt inputs, dotted keys), e.g. {"nfs.pv.serverIP": "10.0.0.5"}. '
            "Each missing or invalid one is named (inputs.<key>) and nothing is written."
        ),
    )


# --- previews (provisioning/preview.py, through hubs/seams.py) --------------------


class FileDiffSerializer(serializers.Serializer[dict[str, Any]]):
    path = serializers.CharField()
    status = serializers.ChoiceField(choices=["added", "removed", "changed", "unchanged"])
    diff = serializers.CharField(help_text="A unified diff; empty when unchanged.")


class ChangeSerializer(serializers.Serializer[dict[str, Any]]):
    what = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()


class SpecChangeSerializer(serializers.Serializer[dict[str, Any]]):
    field = serializers.CharField(help_text="The spec path, e.g. auth.github.organizations[0].")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class ImageChangeSerializer(serializers.Serializer[dict[str, Any]]):
    before = serializers.CharField()
    after = serializers.CharField()


class PreviewSerializer(serializers.Serializer[dict[str, Any]]):
    """What a request or a change would do; nothing is saved or deployed."""

    action = serializers.ChoiceField(choices=["request", "change", "rollback", "decommission"])
    ok = serializers.BooleanField(help_text="False when `problems` says why it cannot be made.")
    files = serializers.DictField(
        child=serializers.CharField(), help_text="{path: text}: the files that would be written."
    )
    file_diffs = FileDiffSerializer(many=True)
    access_gained = serializers.ListField(child=serializers.CharField())
    access_lost = serializers.ListField(child=serializers.CharField())
    image_change = ImageChangeSerializer(allow_null=True)
    resource_changes = ChangeSerializer(many=True)
    spec_changes = SpecChangeSerializer(many=True)
    checks = serializers.ListField(
        child=serializers.CharField(), help_text="What was checked, in words."
    )
    problems = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='{field path: [messages]}, "" for the spec as a whole.',
    )
    needs_review = serializers.ListField(
        child=serializers.CharField(),
        help_text="What in a change goes beyond the hub's tier (it would become a request).",
    )
    against = serializers.IntegerField(
        allow_null=True, help_text="The running revision the change is compared with."
    )


# --- bodies as the OpenAPI schema shows them ---------------------------------


class RequestCreateBody(HubSpec):
    """A hub spec (a draft may leave fields out), notes for the reviewers, and `submit`."""

    notes: str = Field(default="", max_length=MAX_NOTES, description="For the reviewers.")
    submit: StrictBool = Field(
        default=False,
        description="Submit for review at once (the spec must then be complete); "
        "otherwise the request is saved as a draft.",
    )


# Every spec field optional: each one given replaces the stored one, null removes it.
_EDIT_FIELDS: dict[str, Any] = {
    name: (cast(Any, field.annotation) | None, Field(default=None, alias=field.alias))
    for name, field in HubSpec.model_fields.items()
}
_EDIT_FIELDS["notes"] = (str | None, Field(default=None, max_length=MAX_NOTES))
RequestEditBody = create_model(
    "RequestEditBody",
    __doc__="Spec fields to replace (null removes one) and notes for the reviewers.",
    **_EDIT_FIELDS,
)


def _openapi30(schema: Any) -> Any:
    """Pydantic writes JSON Schema 2020-12; OpenAPI 3.0 says `nullable` instead of null types."""
    if isinstance(schema, list):
        return [_openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _openapi30(value) for key, value in schema.items()}
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        if len(rest) == 1 and "$ref" not in rest[0]:
            schema.update(rest[0])
        else:
            schema["allOf" if len(rest) == 1 else "anyOf"] = rest
        schema["nullable"] = True
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    return schema


class SpecSchema(OpenApiSerializerExtension):
    """Document the spec's pydantic models in the API schema (OpenAPI 3.0)."""

    target_class = BaseModel
    match_subclasses = True
    priority = 1  # before drf-spectacular's own pydantic extension, which writes 3.1

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return str(self.target.__name__)

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = self.target.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="validation"
        )
        for name, sub_schema in schema.pop("$defs", {}).items():
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, object=name, schema=_openapi30(sub_schema)
            )
            auto_schema.registry.register_on_missing(component)
        return _openapi30(schema)
