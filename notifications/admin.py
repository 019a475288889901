"""Webhooks and their deliveries in the admin (deliveries are a log: read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import NotificationPreference, Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("url", "hub", "events", "active", "created_by", "created_at")
    list_filter = ("active",)
    list_select_related = ("hub__cluster", "created_by")
    exclude = ("secret",)  # made by the portal, shown once on the webhooks page


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "webhook", "outcome", "status_code", "response_ms")
    list_filter = ("outcome", "event")
    list_select_related = ("webhook",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "off", "updated_at")
    list_select_related = ("user",)
