"""Error pages: styled HTML for people (templates/403.html, 404.html, 500.html), JSON for
scripts under /api/.

DRF answers its own errors as JSON; these cover what happens outside a DRF
view: an unknown path under /api/ (404), a server error (500), a request
Django itself refuses (400: a bad Host, a body over
DATA_UPLOAD_MAX_MEMORY_SIZE read outside the API's parser) and 403. 500.html is
rendered without a request context, so it needs nothing but static files.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

API_PREFIX = "/api/"


def _api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def declares_too_much(request: HttpRequest) -> bool:
    """Whether the request's Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return limit is not None and declared > limit


def _oversize() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return JsonResponse({"detail": f"The request body is larger than {limit} bytes."}, status=413)


class APIErrorMiddleware:
    """JSON for every error under /api/, with DEBUG on too.

    The handlers below answer JSON only when DEBUG is off; with it on (`make run`)
    Django answers its HTML debug pages instead, which no script can read. An error
    response under /api/ that is not JSON is replaced here by the handlers' answer
    for its status (the traceback is still logged by django.request).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not _api(request):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code == 404:
            return not_found(request)
        if response.status_code == 403:
            return permission_denied(request)
        if response.status_code == 400:
            return _oversize() if declares_too_much(request) else bad_request(request)
        if response.status_code >= 500:
            return server_error(request)
        return JsonResponse({"detail": response.reason_phrase}, status=response.status_code)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Not found: no such endpoint."}, status=404)
    return defaults.page_not_found(request, exception)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse(
            {"detail": "Server error: the operators have been told; try again later."}, status=500
        )
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        if isinstance(exception, RequestDataTooBig):
            return _oversize()
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": str(exception or "") or "Forbidden."}, status=403)
    return defaults.permission_denied(request, exception)  # type: ignore[arg-type]
