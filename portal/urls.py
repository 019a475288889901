from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("hubs.api.urls")),
    path("", include("provisioning.web.urls")),
    path("", include("hubs.urls")),
]
