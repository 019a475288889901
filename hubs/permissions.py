"""Who may do what. The UI and the API both ask these functions."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from hubs.models import Hub, HubAdmin, HubRequest
from hubs.states import REQUEST_EDITABLE, RequestState

REVIEWERS_GROUP = "reviewers"


def is_operator(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_superuser)


def is_reviewer(user: Any) -> bool:
    """Reviewers are members of the `reviewers` group; operators review too."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_reviewer", None)
    if cached is None:
        cached = user.groups.filter(name=REVIEWERS_GROUP).exists()
        user._is_reviewer = cached
    return bool(cached)


def can_view_request(user: Any, request: HubRequest) -> bool:
    return bool(user.is_authenticated and (request.requester_id == user.pk or is_reviewer(user)))


def can_edit_request(user: Any, request: HubRequest) -> bool:
    return bool(
        user.is_authenticated
        and request.requester_id == user.pk
        and request.state in REQUEST_EDITABLE
    )


def can_review_request(user: Any, request: HubRequest) -> bool:
    """Reviewers decide on others' requests; an operator may decide on their own."""
    if not is_reviewer(user):
        return False
    return request.requester_id != user.pk or is_operator(user)


def can_withdraw_request(user: Any, request: HubRequest) -> bool:
    return bool(
        user.is_authenticated
        and request.requester_id == user.pk
        and request.state
        in (RequestState.DRAFT, RequestState.SUBMITTED, RequestState.CHANGES_REQUESTED)
    )


def led_by(user: Any) -> Q:
    """Hubs `user` asked for or whose community they lead (a filter)."""
    return Q(request__requester=user) | Q(community__leads=user)


def administered_by(user: Any) -> Q:
    """Hubs `user` leads or is a portal admin of (a filter; one query with the rest)."""
    return led_by(user) | Q(portal_admins__user=user)


def visible_hubs(user: Any) -> QuerySet[Hub]:
    """The hubs `user` may see: all for reviewers, else those they lead or administer.

    For lists: a hub's spec (with a university's allowlist, up to 1 MB) is not loaded.
    """
    hubs = Hub.objects.select_related("cluster", "offering").defer("spec")
    if not is_reviewer(user):
        hubs = hubs.filter(administered_by(user)).distinct()
    return hubs


def find_hub(cluster: str, name: str) -> Hub | None:
    """The hub `name` on `cluster`: the live one, else the latest removed one.

    (A name can be reused once its hub is decommissioned.)
    """
    hubs = Hub.objects.select_related("cluster", "offering", "request", "community").filter(
        cluster__slug=cluster, name=name
    )
    return hubs.exclude(state="decommissioned").first() or hubs.order_by("-pk").first()


def _leads(user: Any, hub: Hub) -> bool:
    """Whether `user` asked for `hub` or leads its community."""
    request = hub.request if hub.request_id is not None else None
    if request is not None and request.requester_id == user.pk:
        return True
    return (
        hub.community_id is not None
        and hub.community is not None
        and hub.community.leads.filter(pk=user.pk).exists()
    )


def is_hub_admin(user: Any, hub: Hub) -> bool:
    """Whether `user` administers `hub`: its requester or a community lead, someone who
    accepted an invitation, or someone whose linked sign-in matches one of its admins
    (HubAdmin rows, kept by hubs/admins.py). Answered once per request and hub."""
    if not user.is_authenticated:
        return False
    known = getattr(user, "_hub_admin_of", None)
    if known is None:
        known = user._hub_admin_of = {}
    if hub.pk not in known:
        known[hub.pk] = _leads(user, hub) or HubAdmin.objects.filter(hub=hub, user=user).exists()
    return bool(known[hub.pk])


def can_view_hub(user: Any, hub: Hub) -> bool:
    return bool(user.is_authenticated and (is_reviewer(user) or is_hub_admin(user, hub)))


def can_mark_credentials(user: Any) -> bool:
    """Say a GitOps hub's encrypted secret file is in: operators, who alone can write it."""
    return is_operator(user)


def can_resolve_drift(user: Any) -> bool:
    """Adopt a hand-edited repository's version of a hub, or re-push the portal's: operators
    (the edits may go beyond anything a tier allows, and only operators edit the repository)."""
    return is_operator(user)


def can_retry_deployment(user: Any) -> bool:
    """Run a failed deployment again: staff and reviewers (it may touch a cluster)."""
    return bool(user.is_authenticated and (user.is_staff or is_reviewer(user)))


def can_manage_hub(user: Any, hub: Hub) -> bool:
    """Change a hub within its tier, its members and admins, roll it back, set its
    secrets: its admins (the requester and community leads among them) and operators."""
    return bool(user.is_authenticated and (is_operator(user) or is_hub_admin(user, hub)))


def can_decommission_hub(user: Any, hub: Hub) -> bool:
    """Remove a hub (its users' data goes with it): its requester and leads, and operators."""
    return bool(user.is_authenticated and (is_operator(user) or _leads(user, hub)))


def can_view_statement(user: Any, community: Any) -> bool:
    """A community's monthly statement (its hubs' costs): its leads and operators."""
    return bool(
        user.is_authenticated and (is_operator(user) or community.leads.filter(pk=user.pk).exists())
    )
