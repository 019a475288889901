"""Pages of requests, the review queue and the signed-in person.

They share the `hubs` URL namespace with the hub pages (provisioning/web/urls.py);
portal/urls.py joins the two lists.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from hubs import views

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/status/", views.request_status, name="request_status"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/comment/", views.request_comment, name="request_comment"),
    path("requests/<int:pk>/<slug:action>/", views.request_action, name="request_action"),
    path("review/", views.review_queue, name="review_queue"),
    path("profile/", views.profile, name="profile"),
]
