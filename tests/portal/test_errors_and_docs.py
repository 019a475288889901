"""Styled error pages (JSON under /api/), the API reference and the API's index."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import path

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def boom(request: Any) -> Any:
    raise RuntimeError("kaput")


urlpatterns = [path("boom/", boom), path("api/v1/boom/", boom)]
handler500 = "portal.errors.server_error"  # as portal/urls.py sets it


def test_it_shows_styled_pages_for_403_404_and_500_with_debug_off(
    settings: Any, catalog: None, lead: User
) -> None:
    settings.DEBUG = False
    forbidden = client_for(lead).get("/review/")
    missing = client_for(lead).get("/no/such/page/")
    assert forbidden.status_code == 403 and 'id="error-page"' in forbidden.content.decode()
    assert "Only reviewers see the review queue." in forbidden.content.decode()
    assert missing.status_code == 404 and "There is nothing here" in missing.content.decode()

    settings.ROOT_URLCONF = __name__
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    client = Client(raise_request_exception=False)
    crashed = client.get("/boom/")
    assert crashed.status_code == 500
    assert "Something went wrong on our side" in crashed.content.decode()
    api_crash = client.get("/api/v1/boom/")
    assert api_crash.status_code == 500 and api_crash.json() == {
        "detail": "Server error: the operators have been told; try again later."
    }


def test_unknown_api_paths_answer_json(lead: User) -> None:
    response = client_for(lead).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found: no such endpoint."}


def test_the_api_index_lists_its_endpoints_and_the_reference_is_served_locally(
    client: Client,
) -> None:
    index = client.get("/api/v1/")
    assert index.status_code == 200
    endpoints = index.json()["endpoints"]
    assert "http://testserver/api/v1/requests/preview/" in endpoints
    assert "/api/v1/hubs/{cluster}/{name}/" in index.json()["paths"]

    docs = client.get("/api/v1/docs/").content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert 'data-schema-url="/api/v1/schema/"' in docs
    assert "<script>" not in docs  # no inline script: the page script is a static file
    bundle = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    home = client.get("/").content.decode()
    assert 'href="/api/v1/docs/"' in home  # the footer links it
