"""Clusters and deploy targets (operator-managed) and deployments (read-only) in the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from hubs.admin import PortalAdmin, SecretFieldsForm, https_urls
from hubs.models import Cluster
from provisioning.deploy.errors import DeployError
from provisioning.deploy.kube import test_connection as check
from provisioning.models import Deployment, DeploymentLogEntry, DeployTarget


class ClusterForm(SecretFieldsForm):
    secret_fields = ("kubeconfig",)

    class Meta:
        model = Cluster
        formfield_callback = https_urls
        fields = "__all__"
        widgets = {"kubeconfig": forms.Textarea}


@admin.action(description="Test the connection (helm clusters)")
def test_connection(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    """Report each helm cluster's server version and what its credentials may do."""
    for cluster in queryset:
        if cluster.deploy_mode != Cluster.DeployMode.HELM:
            modeladmin.message_user(
                request, f"{cluster.slug}: deploys through GitOps; nothing to test.", "warning"
            )
            continue
        try:
            lines = check(cluster)
        except DeployError as exc:
            found = "; ".join(exc.detail.splitlines())
            text = f"{cluster.slug}: {exc.message}" + (f" ({found})" if found else "")
            modeladmin.message_user(request, text, "error")
        else:
            modeladmin.message_user(request, f"{cluster.slug}: " + "; ".join(lines), "success")


@admin.register(Cluster)
class ClusterAdmin(PortalAdmin):
    form = ClusterForm
    actions = [test_connection]
    list_display = ("slug", "name", "provider", "region", "deploy_mode", "deploy_target", "active")
    list_filter = ("provider", "deploy_mode", "active")
    search_fields = ("slug", "name")
    list_select_related = ("deploy_target",)
    readonly_fields = ("imported_at", "created_at")


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
