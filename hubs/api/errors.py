"""API errors as JSON a script can act on: {"detail": ..., "errors": {field: [messages]}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hubs.spec import SpecError
from hubs.states import IllegalTransition


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    _answer_in_json(context)
    if isinstance(exc, SpecError):
        return Response(
            {"detail": "The request has invalid fields.", "errors": exc.errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IllegalTransition):
        return Response({"detail": str(exc), "state": exc.current}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"": response.data}
        response.data = {"detail": "The request has invalid fields.", "errors": errors}
    return response


def _answer_in_json(context: dict[str, Any]) -> None:
    """Errors are JSON even where the answer would have been a CSV or a zip (`?format=`)."""
    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
