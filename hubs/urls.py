from __future__ import annotations

from django.urls import path

from hubs import views

app_name = "hubs"

urlpatterns = [
    path("", views.home, name="home"),
    path("requests/<int:pk>/", views.home, name="request"),
    path("hubs/<slug:cluster>/<slug:name>/", views.home, name="hub"),
]
