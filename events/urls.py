"""Event pages, mounted at the root by portal/urls.py in the `events` namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from events import pages

app_name = "events"

urlpatterns: list[URLPattern] = [
    path("events/", pages.event_list, name="event_list"),
    path("events/new/", pages.event_new, name="event_new"),
    path("events/timeline/", pages.timeline, name="timeline"),
    path("events/<int:pk>/", pages.event_detail, name="event"),
    path("events/<int:pk>/extend/", pages.event_extend, name="event_extend"),
    path("events/<int:pk>/end/", pages.event_end, name="event_end"),
    path("events/<int:pk>/override/", pages.event_override, name="event_override"),
    path("events/<int:pk>/attendees.csv", pages.event_attendees, name="event_attendees"),
    path("events/<int:pk>/move/", pages.event_move, name="event_move"),
    path("events/<int:pk>/steps/<slug:kind>/retry/", pages.step_retry, name="step_retry"),
]
