"""Who hears about what: each audience is a function returning the people in it.

Emails are written per audience (templates/emails/<audience>/…) and sent
with hubs/mail.py, which leaves out whoever acted and whoever turned that
kind of email off. A new audience (say, a hub's invited admins) is a new
function here; the notices that should reach it list it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from hubs.models import Hub, HubRequest
from hubs.permissions import REVIEWERS_GROUP


def _active(users: Any) -> list[Any]:
    return list(users.filter(is_active=True).exclude(email="").distinct().order_by("pk"))


def requester(request: HubRequest) -> list[Any]:
    """The person who asked for the request."""
    user = request.requester
    return [user] if user.is_active and user.email else []


def reviewers() -> list[Any]:
    """Members of the reviewers group, and operators (who review too)."""
    users = get_user_model().objects.filter(Q(groups__name=REVIEWERS_GROUP) | Q(is_superuser=True))
    return _active(users)


def hub_admins(hub: Hub) -> list[Any]:
    """The portal users who manage `hub` (hubs.permissions.can_manage_hub, operators aside):
    its portal admins (hubs/admins.py), who asked for it and its community's leads."""
    who = Q(administered_hubs__hub=hub) | Q(communities__hubs=hub)
    if hub.request_id is not None:
        who |= Q(hub_requests__hub=hub)
    return _active(get_user_model().objects.filter(who))


def operators() -> list[Any]:
    """Superusers: they run the clusters and can act on a failed deployment."""
    return _active(get_user_model().objects.filter(is_superuser=True))
