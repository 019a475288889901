from __future__ import annotations

from django.urls import path

from hubs import views

app_name = "hubs"

urlpatterns = [
    path("", views.home, name="home"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/comment/", views.request_comment, name="request_comment"),
    path("requests/<int:pk>/<slug:action>/", views.request_action, name="request_action"),
    path("review/", views.review_queue, name="review_queue"),
    path("hubs/", views.hub_list, name="hub_list"),
    path("hubs/<slug:cluster>/<slug:name>/", views.hub_detail, name="hub"),
    path("hubs/<slug:cluster>/<slug:name>/values.yaml", views.hub_export, name="hub_export"),
    path("hubs/<slug:cluster>/<slug:name>/change/", views.hub_edit, name="hub_edit"),
    path("hubs/<slug:cluster>/<slug:name>/rollback/", views.hub_rollback, name="hub_rollback"),
    path(
        "hubs/<slug:cluster>/<slug:name>/decommission/",
        views.hub_decommission,
        name="hub_decommission",
    ),
    path("hubs/<slug:cluster>/<slug:name>/secrets/", views.hub_secrets, name="hub_secrets"),
    path("operations/", views.operations, name="operations"),
    path("profile/", views.profile, name="profile"),
]
