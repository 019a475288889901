"""Monitoring's rows in the admin, read-only: beat's sweeps and polls write them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from monitoring.models import HubMonitor, Incident


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HubMonitor)
class HubMonitorAdmin(ReadOnly):
    list_display = (
        "hub", "health", "health_since", "failures", "last_checked", "uptime_7d", "uptime_30d",
        "usage_polled", "usage_error",
    )  # fmt: skip
    list_filter = ("health",)
    list_select_related = ("hub__cluster",)
    search_fields = ("hub__name", "hub__cluster__slug")


@admin.register(Incident)
class IncidentAdmin(ReadOnly):
    list_display = ("hub", "started_at", "ended_at", "error")
    list_select_related = ("hub__cluster",)
    search_fields = ("hub__name",)
