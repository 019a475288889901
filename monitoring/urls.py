"""Monitoring's pages (portal/urls.py mounts them)."""

from __future__ import annotations

from django.urls import path

from monitoring import pages

app_name = "monitoring"

urlpatterns = [
    path("operations/fleet/", pages.fleet, name="fleet"),
    path("operations/fleet.csv", pages.fleet_csv, name="fleet_csv"),
    path("hubs/<slug:cluster>/<slug:name>/usage.csv", pages.hub_series_csv, name="hub_csv"),
    path(
        "hubs/<slug:cluster>/<slug:name>/incidents.csv",
        pages.hub_incidents_csv,
        name="hub_incidents_csv",
    ),
    path("communities/<int:pk>/statement/", pages.statement, name="statement"),
    path("communities/<int:pk>/statement.csv", pages.statement_csv, name="statement_csv"),
]
