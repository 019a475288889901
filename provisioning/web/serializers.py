"""What the API says about hubs and deployments."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from pydantic import Field, create_model
from rest_framework import serializers

from hubs import seams
from hubs.api.serializers import FileDiffSerializer, RequestDetailSerializer
from hubs.models import Hub, HubRequest, HubRevision, HubSecret
from hubs.spec import HubSpec
from portal.api import StrictBooleanField
from provisioning.models import Deployment, DeploymentLogEntry, PendingCredentials

_NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
_PERCENT = {"type": "number", "nullable": True, "minimum": 0, "maximum": 100}
# What monitoring (an app above, through hubs.seams) says of a hub's health; null
# when no monitoring app is installed.
HEALTH_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "status": {"type": "string", "enum": ["unknown", "up", "failing", "down"]},
        "since": _NULLABLE_TIME,
        "last_checked": _NULLABLE_TIME,
        "uptime_7d": _PERCENT,
        "uptime_30d": _PERCENT,
        "incidents_30d": {"type": "integer"},
    },
    "required": ["status", "since", "last_checked", "uptime_7d", "uptime_30d", "incidents_30d"],
}


class LogEntrySerializer(serializers.ModelSerializer[DeploymentLogEntry]):
    class Meta:
        model = DeploymentLogEntry
        fields = ["created_at", "level", "step", "message"]


class DeploymentSerializer(serializers.ModelSerializer[Deployment]):
    hub = serializers.SerializerMethodField()
    revision = serializers.IntegerField(source="revision.number", read_only=True)
    url = serializers.SerializerMethodField()
    # "" until there is a pull request: not a URI, so not a URLField in the schema.
    pr_url = serializers.CharField(read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id", "url", "hub", "revision", "backend", "action", "state", "attempts",
            "branch", "commit_sha", "pr_number", "pr_url", "error",
            "created_at", "started_at", "finished_at", "not_before",
        ]  # fmt: skip
        read_only_fields = fields

    def get_hub(self, obj: Deployment) -> str:
        return f"{obj.hub.cluster.slug}/{obj.hub.name}"

    def get_url(self, obj: Deployment) -> str:
        return f"{settings.PORTAL_BASE_URL}{obj.get_absolute_url()}"


class DeploymentDetailSerializer(DeploymentSerializer):
    log = LogEntrySerializer(many=True, read_only=True)

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "log"]
        read_only_fields = fields


class LatestDeploymentSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    state = serializers.CharField()
    commit_sha = serializers.CharField()
    pr_url = serializers.CharField(help_text='"" until there is a pull request.')


class HubSerializer(serializers.ModelSerializer[Hub]):
    cluster = serializers.CharField(source="cluster.slug", read_only=True)
    offering = serializers.CharField(
        source="offering.slug", default=None, allow_null=True, read_only=True
    )
    latest_deployment = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()

    class Meta:
        model = Hub
        fields = [
            "id", "name", "cluster", "display_name", "domain", "state", "offering",
            "current_revision", "created_at", "updated_at", "latest_deployment", "health",
        ]  # fmt: skip
        read_only_fields = fields

    def get_latest_deployment(self, obj: Hub) -> dict[str, Any] | None:
        # Annotated by the list view (one query for the whole page).
        pk = getattr(obj, "latest_deployment_id", None)
        if pk is None:
            return None
        return {
            "id": pk,
            "state": obj.latest_deployment_state,  # type: ignore[attr-defined]
            "commit_sha": obj.latest_deployment_commit,  # type: ignore[attr-defined]
            "pr_url": obj.latest_deployment_pr_url,  # type: ignore[attr-defined]
        }

    @extend_schema_field(HEALTH_SCHEMA)
    def get_health(self, obj: Hub) -> dict[str, Any] | None:
        # Added by an app above through the domain's seam (monitoring); lists prefetch it.
        health = seams.hub_summary(obj).get("health")
        return health if isinstance(health, dict) else None


CHANGE_NEEDS_REVIEW = (
    "This change goes beyond what the hub's tier allows (another tier or purpose), so it "
    "was not deployed: it is a request to change the hub, for the reviewers."
)


class ChangeRequestedSerializer(serializers.Serializer[dict[str, Any]]):
    """The answer to a change that needs review: the request made for it."""

    detail = serializers.CharField()
    request = serializers.SerializerMethodField()

    @extend_schema_field(RequestDetailSerializer)
    def get_request(self, obj: dict[str, Any]) -> dict[str, Any]:
        request = (
            HubRequest.objects.select_related(
                "requester",
                "cluster",
                "offering",
                "decided_by",
                "hub__cluster",
                "target_hub__cluster",
            )
            .prefetch_related("comments__author")
            .get(pk=obj["request"])
        )
        return dict(RequestDetailSerializer(request).data)


class CredentialsSerializer(serializers.ModelSerializer[PendingCredentials]):
    """Secrets a GitOps hub's login needs in its encrypted file, which the portal cannot write."""

    file = serializers.CharField(source="path", help_text="The sops-encrypted file to add.")
    keys = serializers.ListField(child=serializers.CharField(), help_text="Keys it must set.")
    pending = serializers.BooleanField(help_text="True until the operators add them.")
    who_acts = serializers.SerializerMethodField(help_text='"operators" while pending.')
    done_by = serializers.CharField(source="done_by.username", default=None, allow_null=True)
    revision = serializers.IntegerField(source="revision.number", default=None, allow_null=True)

    class Meta:
        model = PendingCredentials
        fields = [
            "file", "keys", "provider", "pending", "who_acts", "revision", "created_at",
            "done_at", "done_by", "done_note",
        ]  # fmt: skip
        read_only_fields = fields

    def get_who_acts(self, obj: PendingCredentials) -> str | None:
        return "operators" if obj.pending else None


class CredentialsListSerializer(serializers.Serializer[dict[str, Any]]):
    state = serializers.CharField(help_text="The hub's state (awaiting_credentials while pending).")
    waiting_for_credentials = serializers.BooleanField()
    credentials = CredentialsSerializer(many=True)


class CredentialsBody(serializers.Serializer[dict[str, Any]]):
    note = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Kept with the audit record (default: who marked them).",
    )


class DriftSerializer(serializers.Serializer[dict[str, Any]]):
    drifted = serializers.BooleanField()
    summary = serializers.CharField(allow_blank=True)
    differences = serializers.ListField(child=serializers.CharField())
    revision = serializers.IntegerField(help_text="The portal's revision it is compared with.")
    file_diffs = FileDiffSerializer(many=True, help_text="The portal's revision → the repository.")
    checked_at = serializers.DateTimeField(allow_null=True)


class DriftBody(serializers.Serializer[dict[str, Any]]):
    action = serializers.ChoiceField(
        choices=["adopt", "repush"],
        help_text="adopt: the repository's version becomes the next revision; repush: the "
        "portal's current revision is written over the hand edits, as the next revision.",
    )


class HubDetailSerializer(HubSerializer):
    spec = serializers.JSONField(read_only=True)
    revision = serializers.SerializerMethodField()
    latest_deployment = serializers.SerializerMethodField()
    credentials = serializers.SerializerMethodField()

    class Meta(HubSerializer.Meta):
        fields = [*HubSerializer.Meta.fields, "spec", "revision", "credentials"]
        read_only_fields = fields

    @extend_schema_field(CredentialsSerializer(many=True))
    def get_credentials(self, obj: Hub) -> list[Any]:
        """The latest first: what the operators must add (file and keys) or added."""
        rows = PendingCredentials.objects.filter(hub=obj).select_related("done_by", "revision")
        return list(CredentialsSerializer(rows[:5], many=True).data)

    def get_revision(self, obj: Hub) -> dict[str, Any] | None:
        revision = obj.revisions.filter(number=obj.current_revision).first()
        if revision is None:
            return None
        return {
            "number": revision.number,
            "reason": revision.reason,
            "created_at": revision.created_at,
            "files": sorted((revision.files or {}).get("files", {})),
        }

    def get_latest_deployment(self, obj: Hub) -> dict[str, Any] | None:
        deployment = obj.deployments.select_related("hub__cluster", "revision").first()
        if deployment is None:
            return None
        return dict(DeploymentSerializer(deployment).data)


# --- bodies of the changes to a live hub ---------------------------------------
# The spec fields themselves are checked by provisioning/lifecycle.py, not here.

MAX_REASON = HubRevision._meta.get_field("reason").max_length or 200


class HubEditOptions(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(
        max_length=MAX_REASON,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text='Why, kept with the new revision ("edited" if not given).',
    )


class RollbackBody(serializers.Serializer[dict[str, Any]]):
    revision = serializers.IntegerField(
        min_value=1, help_text="The earlier revision to deploy again, as a new revision."
    )


class DecommissionBody(serializers.Serializer[dict[str, Any]]):
    confirm_data_loss = StrictBooleanField(
        required=False,
        default=False,
        help_text="Must be true: removing a hub deletes its users' home directories.",
    )


class SecretsBody(serializers.Serializer[dict[str, Any]]):
    """One optional field per secret; "" removes it."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            key: serializers.CharField(
                required=False,
                allow_blank=True,
                trim_whitespace=False,  # lifecycle.set_hub_secrets checks and strips
                write_only=True,
                help_text=f'{label}; "" removes it.',
            )
            for key, label in HubSecret.Key.choices
        }


class SecretsSerializer(serializers.Serializer[dict[str, Any]]):
    set = serializers.ListField(
        child=serializers.ChoiceField(choices=HubSecret.Key.choices),
        help_text="The secrets that have a value; values are never shown.",
    )


# Every spec field optional: each one given replaces the hub's, null removes it.
_EDIT_FIELDS: dict[str, Any] = {
    name: (cast(Any, field.annotation) | None, Field(default=None, alias=field.alias))
    for name, field in HubSpec.model_fields.items()
}
_EDIT_FIELDS["reason"] = (str | None, Field(default=None, max_length=MAX_REASON))
HubEditBody = create_model(
    "HubEditBody",
    __doc__="Spec fields to replace (null removes one) and why, for the new revision.",
    **_EDIT_FIELDS,
)
