"""API endpoints for hubs and deployments, included under /api/v1/ by hubs/api/urls.py."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
