"""The catalog and requests API, under /api/v1/."""

from __future__ import annotations

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView

from hubs.api import views

# The catalog and hub requests; portal/urls.py puts the hub and deployment
# endpoints (provisioning/web/api_urls.py) beside these under /api/v1/.
urlpatterns: list[URLPattern] = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("clusters/", views.ClusterList.as_view(), name="api-clusters"),
    path("offerings/", views.OfferingList.as_view(), name="api-offerings"),
    path("images/", views.ImageList.as_view(), name="api-images"),
    path("requests/", views.RequestList.as_view(), name="api-requests"),
    path("requests/preview/", views.request_preview, name="api-request-preview"),
    path("requests/<int:pk>/", views.request_detail, name="api-request"),
    path("requests/<int:pk>/<str:action>/", views.request_action, name="api-request-action"),
]
