"""API endpoints for hubs and deployments, under /api/v1/ (portal/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from provisioning.web import api as views

urlpatterns: list[URLPattern] = [
    path("hubs/", views.HubList.as_view(), name="api-hubs"),
    path("hubs/<slug:cluster>/<slug:name>/", views.hub_detail, name="api-hub"),
    path("hubs/<slug:cluster>/<slug:name>/rollback/", views.hub_rollback, name="api-hub-rollback"),
    path(
        "hubs/<slug:cluster>/<slug:name>/decommission/",
        views.hub_decommission,
        name="api-hub-decommission",
    ),
    path("hubs/<slug:cluster>/<slug:name>/secrets/", views.hub_secrets, name="api-hub-secrets"),
    path("deployments/<int:pk>/", views.deployment_detail, name="api-deployment"),
    path("deployments/<int:pk>/retry/", views.deployment_retry, name="api-deployment-retry"),
]
