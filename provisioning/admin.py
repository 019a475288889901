"""Deploy targets (operator-managed) and deployments (read-only) in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from hubs.admin import PortalAdmin, SecretFieldsForm, https_urls
from provisioning.models import Deployment, DeploymentLogEntry, DeployTarget


class DeployTargetForm(SecretFieldsForm):
    secret_fields = ("token", "github_app_private_key", "webhook_secret")

    class Meta:
        model = DeployTarget
        formfield_callback = https_urls
        fields = "__all__"


@admin.register(DeployTarget)
class DeployTargetAdmin(PortalAdmin):
    form = DeployTargetForm
    list_display = ("name", "repo_url", "base_branch", "forge", "merge_policy")
    list_filter = ("forge", "merge_policy")
    search_fields = ("name", "repo_url")


class LogInline(admin.TabularInline):
    model = DeploymentLogEntry
    fields = ("created_at", "level", "step", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("pk", "hub", "revision", "backend", "action", "state", "created_at")
    list_filter = ("state", "backend", "action")
    list_select_related = ("hub__cluster", "revision__hub__cluster")
    search_fields = ("hub__name", "branch", "commit_sha")
    inlines = [LogInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deployments are queued by approvals and retries

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
