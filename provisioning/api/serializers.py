"""What the API says about hubs and deployments."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from hubs.models import Hub
from provisioning.models import Deployment, DeploymentLogEntry


class LogEntrySerializer(serializers.ModelSerializer[DeploymentLogEntry]):
    class Meta:
        model = DeploymentLogEntry
        fields = ["created_at", "level", "step", "message"]


class DeploymentSerializer(serializers.ModelSerializer[Deployment]):
    hub = serializers.SerializerMethodField()
    revision = serializers.IntegerField(source="revision.number", read_only=True)
    url = serializers.SerializerMethodField()

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
    pr_url = serializers.CharField()


class HubSerializer(serializers.ModelSerializer[Hub]):
    cluster = serializers.CharField(source="cluster.slug", read_only=True)
    offering = serializers.CharField(source="offering.slug", default=None, read_only=True)
    latest_deployment = serializers.SerializerMethodField()

    class Meta:
        model = Hub
        fields = [
            "id", "name", "cluster", "display_name", "domain", "state", "offering",
            "current_revision", "created_at", "updated_at", "latest_deployment",
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


class HubDetailSerializer(HubSerializer):
    spec = serializers.JSONField(read_only=True)
    revision = serializers.SerializerMethodField()
    latest_deployment = serializers.SerializerMethodField()

    class Meta(HubSerializer.Meta):
        fields = [*HubSerializer.Meta.fields, "spec", "revision"]
        read_only_fields = fields

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
