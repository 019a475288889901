"""Monitoring's API, under /api/v1/ (portal/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from monitoring import api

urlpatterns: list[URLPattern] = [
    path("hubs/<slug:cluster>/<slug:name>/usage/", api.hub_usage, name="api-hub-usage"),
    path("hubs/<slug:cluster>/<slug:name>/usage.csv", api.hub_usage_csv, name="api-hub-usage-csv"),
    path("hubs/<slug:cluster>/<slug:name>/health/", api.hub_health, name="api-hub-health"),
]
