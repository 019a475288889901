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
        response.data = {"detail": "The request has invalid fields.", "errors": flat(errors)}
    return response


def flat(errors: Any, path: str = "") -> dict[str, list[str]]:
    """{field: [messages]} with nested fields named by their path: DRF gives a list's
    item errors as {"usernames": {"0": [...]}}, the API's schema says "usernames.0"."""
    if isinstance(errors, dict):
        found: dict[str, list[str]] = {}
        for key, value in errors.items():
            found.update(flat(value, f"{path}.{key}" if path else str(key)))
        return found
    if isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        found = {}
        for index, item in enumerate(errors):
            if item:
                found.update(flat(item, f"{path}.{index}" if path else str(index)))
        return found
    messages = errors if isinstance(errors, list) else [errors]
    return {path: [str(message) for message in messages]}


def _answer_in_json(context: dict[str, Any]) -> None:
    """Errors are JSON even where the answer would have been a CSV or a zip (`?format=`)."""
    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
