"""The events API, under /api/v1/ (portal/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from events import api

urlpatterns: list[URLPattern] = [
    path("events/", api.EventList.as_view(), name="api-events"),
    path("events/<int:pk>/", api.event_detail, name="api-event"),
    path("events/<int:pk>/extend/", api.event_extend, name="api-event-extend"),
    path("events/<int:pk>/end/", api.event_end, name="api-event-end"),
    path("events/<int:pk>/override-capacity/", api.event_override, name="api-event-override"),
]
