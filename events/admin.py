"""Operators set each event tier's policy and each cluster's capacity; events are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from events.models import ClusterCapacity, Event, EventPolicy, EventStep


@admin.register(EventPolicy)
class EventPolicyAdmin(admin.ModelAdmin):
    list_display = ["offering", "deploy_ahead", "prewarm_lead", "teardown_grace", "max_duration",
                    "auto_approve"]  # fmt: skip


@admin.register(ClusterCapacity)
class ClusterCapacityAdmin(admin.ModelAdmin):
    list_display = ["cluster", "concurrent_users", "node_pool_limit", "users_per_node"]


class StepInline(admin.TabularInline):
    model = EventStep
    extra = 0
    can_delete = False
    fields = ["kind", "planned_at", "state", "note", "deployment"]
    readonly_fields = ["kind", "planned_at", "state", "note", "deployment"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "cluster", "start", "end", "attendees", "organiser"]
    list_filter = ["cluster", "offering"]
    inlines = [StepInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
