"""The API's front door: `/api/v1/` lists the endpoints, `/api/v1/docs/` is a browsable
reference (Swagger UI from npm, served as static files like Bootstrap; no CDN).

The reference reads the OpenAPI document at /api/v1/schema/; its script is a
static file (static/js/api_docs.js), so a Content-Security-Policy without
inline scripts holds. Both pages are public, like the schema.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

# (URL name, what it is) for the list; paths with parameters are written out.
ENDPOINTS = (
    ("api-clusters", "the active clusters"),
    ("api-offerings", "the tiers on offer"),
    ("api-images", "the curated user images"),
    ("api-requests", "your hub requests (reviewers: all); POST a spec to make one"),
    ("api-request-preview", "POST a spec: the files it would become and what is checked"),
    ("api-hubs", "hubs you may see"),
    ("api-schema", "the OpenAPI document"),
    ("api-docs", "this API's reference, to read in a browser"),
)
TEMPLATED = {
    "/api/v1/requests/{id}/": "a request; PATCH edits a draft",
    "/api/v1/requests/{id}/{action}/": "submit, approve, reject, request-changes, withdraw",
    "/api/v1/hubs/{cluster}/{name}/": "a hub; PATCH changes it (?dry_run=1 previews)",
    "/api/v1/hubs/{cluster}/{name}/rollback/": "deploy an earlier revision again",
    "/api/v1/hubs/{cluster}/{name}/decommission/": "remove a hub",
    "/api/v1/hubs/{cluster}/{name}/secrets/": "a helm hub's write-only secrets",
    "/api/v1/deployments/{id}/": "a deployment with its log",
    "/api/v1/deployments/{id}/retry/": "staff: run a failed deployment again",
}


@extend_schema(
    responses=inline_serializer(
        "ApiRoot",
        {
            "endpoints": serializers.DictField(child=serializers.CharField()),
            "paths": serializers.DictField(child=serializers.CharField()),
            "docs": serializers.CharField(),
        },
    )
)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request: Request) -> Response:
    """Every endpoint of the API: links to the ones without parameters, and the rest."""
    return Response(
        {
            "endpoints": {
                request.build_absolute_uri(reverse(name)): what for name, what in ENDPOINTS
            },
            "paths": TEMPLATED,
            "docs": request.build_absolute_uri(reverse("api-docs")),
        }
    )


def api_docs(request: HttpRequest) -> HttpResponse:
    """The API reference (Swagger UI over /api/v1/schema/)."""
    return render(request, "api_docs.html", {"schema_url": reverse("api-schema")})
