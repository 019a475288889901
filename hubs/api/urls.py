from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from hubs.api import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("clusters/", views.ClusterList.as_view(), name="api-clusters"),
    path("offerings/", views.OfferingList.as_view(), name="api-offerings"),
    path("images/", views.ImageList.as_view(), name="api-images"),
    path("requests/", views.RequestList.as_view(), name="api-requests"),
    path("requests/<int:pk>/", views.request_detail, name="api-request"),
    path("requests/<int:pk>/<str:action>/", views.request_action, name="api-request-action"),
    path("", include("provisioning.web.api_urls")),
]
