"""Role flags for templates (navigation differs per role)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hubs.permissions import is_operator, is_reviewer


def roles(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "is_reviewer": is_reviewer(user),
        "is_operator": is_operator(user),
    }
