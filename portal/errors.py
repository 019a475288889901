"""Error pages: styled HTML for people, JSON for scripts under /api/.

Django's own handlers render 403.html, 404.html and 500.html (templates/);
these wrap them so that an address under /api/ answers JSON in the API's
shape ({"detail": ...}) even when the error happens outside a DRF view (an
unknown path, a crash in middleware). 500.html is rendered without a
request context, so it needs nothing but static files.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        detail = str(exception) or "You do not have permission to do this."
        return JsonResponse({"detail": detail}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Something went wrong on our side."}, status=500)
    return defaults.server_error(request)
