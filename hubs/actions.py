"""Every change to a hub request, as one named function each.

Each action checks the state table (hubs/states.py), changes the row with an
update conditional on the state it read (so of two reviewers approving at
once exactly one wins), writes an AuditEvent, and sends email and enqueues
work only after the transaction commits. Views, the API and management
commands check access and call these; nothing else writes a state field.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from hubs import audit, notify, permissions
from hubs.models import Community, Hub, HubRequest, RequestComment, RequestSubmission
from hubs.spec import SLUG, SpecError
from hubs.states import REQUEST_EDITABLE, IllegalTransition, RequestState, check
from hubs.validation import Checked, validate_spec

SPEC_KEYS = frozenset(
    {
        "name", "display_name", "purpose", "cluster", "offering", "domain", "community",
        "image", "auth", "admins", "allowed_users", "expected_users", "event",
    }
)  # fmt: skip
MAX_SPEC_BYTES = 64 * 1024
MAX_COMMENT = 5000
MAX_NOTES = 5000


def check_draft(spec: Any) -> dict[str, Any]:
    """A draft may be incomplete, but it is still bounded and has only known fields."""
    if not isinstance(spec, dict):
        raise SpecError({"": ["a hub spec must be a mapping of fields"]})
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise SpecError({key: ["unknown field"] for key in unknown})
    if len(json.dumps(spec, default=str)) > MAX_SPEC_BYTES:
        raise SpecError({"": [f"the spec is larger than {MAX_SPEC_BYTES // 1024} KB"]})
    return spec


def _check_text(field: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise SpecError({field: [f"must be at most {limit} characters"]})
    return value


def _denormalise(request: HubRequest) -> None:
    """Copy name, cluster and tier out of the spec for the queue's filters."""
    from hubs.models import Cluster, Offering

    spec = request.spec
    name = spec.get("name")
    request.name = name[:63] if isinstance(name, str) else ""
    cluster, offering = spec.get("cluster"), spec.get("offering")
    request.cluster = (
        Cluster.objects.filter(slug=cluster).first()
        if isinstance(cluster, str) and SLUG.match(cluster)
        else None
    )
    request.offering = (
        Offering.objects.filter(slug=offering).first()
        if isinstance(offering, str) and SLUG.match(offering)
        else None
    )


def _transition(request: HubRequest, target: str, **fields: Any) -> None:
    """Move `request` to `target` unless someone else moved it first."""
    check("request", request.state, target)
    now = timezone.now()
    updated = HubRequest.objects.filter(pk=request.pk, state=request.state).update(
        state=target, updated_at=now, **fields
    )
    if updated != 1:
        current = HubRequest.objects.values_list("state", flat=True).get(pk=request.pk)
        raise IllegalTransition(
            "request",
            current,
            target,
            f"Someone else changed this request meanwhile; it is now {current.replace('_', ' ')}.",
        )
    request.state = target
    request.updated_at = now
    for key, value in fields.items():
        setattr(request, key, value)


@transaction.atomic
def create_request(
    user: Any,
    spec: Any,
    *,
    notes: str = "",
    submit: bool = False,
    target_hub: Hub | None = None,
) -> HubRequest:
    """Save a new request as a draft (and submit it at once if asked).

    With `target_hub`, a request to change that live hub beyond its tier.
    """
    request = HubRequest(
        requester=user,
        spec=check_draft(spec),
        notes=_check_text("notes", notes, MAX_NOTES),
        target_hub=target_hub,
        base_spec=target_hub.spec if target_hub is not None else None,
    )
    if submit:
        validate_spec(spec, hub=target_hub)
    _denormalise(request)
    request.save()
    audit.record(user, request, "request.created", to_state=request.state, after=request.spec)
    if submit:
        request = submit_request(request, by=user)
    return request


@transaction.atomic
def update_request(
    request: HubRequest, *, by: Any, spec: Any = None, notes: str | None = None
) -> HubRequest:
    """Change a draft, or a request a reviewer sent back."""
    request = HubRequest.objects.select_for_update().get(pk=request.pk)
    if request.requester_id != by.pk:
        raise PermissionDenied("Only the requester can edit a request.")
    if request.state not in REQUEST_EDITABLE:
        raise IllegalTransition(
            "request",
            request.state,
            request.state,
            f"This request is {request.get_state_display().lower()}; it can no longer be edited.",
        )
    before = request.spec
    if spec is not None:
        request.spec = check_draft(spec)
        _denormalise(request)
    if notes is not None:
        request.notes = _check_text("notes", notes, MAX_NOTES)
    request.updated_at = timezone.now()
    request.save()
    if before != request.spec:
        audit.record(by, request, "request.edited", before=before, after=request.spec)
    return request


@transaction.atomic
def submit_request(request: HubRequest, *, by: Any) -> HubRequest:
    """Send a draft (or an answered request for changes) to the reviewers.

    Tiers that need no review are approved at once.
    """
    request = HubRequest.objects.select_for_update().get(pk=request.pk)
    if request.requester_id != by.pk:
        raise PermissionDenied("Only the requester can submit a request.")
    check("request", request.state, RequestState.SUBMITTED)
    checked = validate_spec(request.spec, request=request, hub=request.target_hub)
    request.spec = checked.spec.dump()
    _denormalise(request)
    request.save(update_fields=["spec", "name", "cluster", "offering"])
    previous = request.state
    number = request.submission_count + 1
    _transition(
        request,
        RequestState.SUBMITTED,
        submitted_at=timezone.now(),
        submission_count=number,
    )
    RequestSubmission.objects.create(
        request=request, number=number, spec=request.spec, notes=request.notes
    )
    audit.record(by, request, "request.submitted", from_state=previous, to_state=request.state)
    if not checked.offering.requires_review:
        approve_request(
            request, by=None, comment="Approved automatically: this tier needs no review."
        )
        request.refresh_from_db()
    else:
        transaction.on_commit(partial(notify.request_changed, request.pk, "submitted"), robust=True)
    return request


def _check_reviewer(by: Any, request: HubRequest) -> None:
    if by is not None and not permissions.can_review_request(by, request):
        if permissions.is_reviewer(by):
            raise PermissionDenied("You cannot review your own request.")
        raise PermissionDenied("Only reviewers can decide on requests.")


def _decide(request: HubRequest, target: str, *, by: Any, comment: str, action: str) -> HubRequest:
    request = HubRequest.objects.select_for_update().get(pk=request.pk)
    _check_reviewer(by, request)
    previous = request.state
    _transition(request, target, decided_at=timezone.now(), decided_by=by)
    comment = _check_text("comment", comment.strip(), MAX_COMMENT)
    if comment:
        RequestComment.objects.create(request=request, author=by, body=comment, transition=target)
    audit.record(by, request, action, from_state=previous, to_state=target, comment=comment)
    transaction.on_commit(partial(notify.request_changed, request.pk, target), robust=True)
    return request


def changed_spec(
    current: dict[str, Any], base: dict[str, Any] | None, wanted: dict[str, Any]
) -> dict[str, Any]:
    """A change request's spec applied over what the hub has become since it was asked for.

    Only the fields the request changed (from `base`, the hub's spec then) are
    taken from it, so a change deployed meanwhile (more allowed users, say) stays.
    """
    if base is None:
        return dict(wanted)
    merged = dict(current)
    for key in set(base) | set(wanted):
        if base.get(key) != wanted.get(key):
            if key in wanted:
                merged[key] = wanted[key]
            else:
                merged.pop(key, None)
    return merged


def _approve_change(request: HubRequest, *, by: Any, comment: str) -> Hub:
    """Approve a request to change a live hub: deploy the change as the hub's next revision."""
    from provisioning.lifecycle import apply_change

    hub = (
        Hub.objects.select_for_update()
        .select_related("cluster", "offering")
        .get(pk=int(request.target_hub_id or 0))
    )
    spec = changed_spec(hub.spec, request.base_spec, request.spec)
    checked = validate_spec(spec, hub=hub)
    _decide(request, RequestState.APPROVED, by=by, comment=comment, action="request.approved")
    apply_change(
        hub, checked, by=by or request.requester, reason=f"change request #{request.pk} approved"
    )
    return hub


@transaction.atomic
def approve_request(request: HubRequest, *, by: Any, comment: str = "") -> Hub:
    """Approve a submitted request: create its hub and queue its first deployment.

    A request to change a live hub deploys the change to that hub instead.
    """
    from provisioning.actions import create_revision, queue_deployment

    request = HubRequest.objects.select_for_update().get(pk=request.pk)
    _check_reviewer(by, request)
    check("request", request.state, RequestState.APPROVED)
    if request.target_hub_id is not None:
        return _approve_change(request, by=by, comment=comment)
    # The catalog or another hub may have changed since submission.
    checked: Checked = validate_spec(request.spec, request=request)
    request = _decide(
        request, RequestState.APPROVED, by=by, comment=comment, action="request.approved"
    )
    spec = checked.spec
    community = Community.objects.create(
        name=spec.community.name,
        url=spec.community.url or "",
        logo_url=spec.community.logo_url or "",
    )
    community.leads.add(request.requester)
    hub = Hub.objects.create(
        name=spec.name,
        cluster=checked.cluster,
        offering=checked.offering,
        community=community,
        request=request,
        display_name=spec.display_name,
        domain=checked.domain,
        spec=spec.dump(),
        event_start=spec.event.start if spec.event else None,
        event_end=spec.event.end if spec.event else None,
    )
    audit.record(by, hub, "hub.created", to_state=hub.state, after=hub.spec)
    revision = create_revision(hub, checked, author=by or request.requester, reason="initial")
    queue_deployment(hub, revision, by=by)
    return hub


@transaction.atomic
def reject_request(request: HubRequest, *, by: Any, comment: str = "") -> HubRequest:
    return _decide(
        request, RequestState.REJECTED, by=by, comment=comment, action="request.rejected"
    )


@transaction.atomic
def request_changes(request: HubRequest, *, by: Any, comment: str) -> HubRequest:
    """Send a request back to its requester; the comment says what to change."""
    if not comment.strip():
        raise SpecError({"comment": ["say what the requester should change"]})
    return _decide(
        request,
        RequestState.CHANGES_REQUESTED,
        by=by,
        comment=comment,
        action="request.changes_requested",
    )


@transaction.atomic
def withdraw_request(request: HubRequest, *, by: Any, comment: str = "") -> HubRequest:
    request = HubRequest.objects.select_for_update().get(pk=request.pk)
    if request.requester_id != by.pk:
        raise PermissionDenied("Only the requester can withdraw a request.")
    previous = request.state
    _transition(request, RequestState.WITHDRAWN)
    comment = _check_text("comment", comment.strip(), MAX_COMMENT)
    if comment:
        RequestComment.objects.create(
            request=request, author=by, body=comment, transition=RequestState.WITHDRAWN
        )
    audit.record(
        by,
        request,
        "request.withdrawn",
        from_state=previous,
        to_state=request.state,
        comment=comment,
    )
    if previous != RequestState.DRAFT:
        transaction.on_commit(partial(notify.request_changed, request.pk, "withdrawn"), robust=True)
    return request


@transaction.atomic
def add_comment(request: HubRequest, *, by: Any, body: str) -> RequestComment:
    """A comment without a transition, from the requester or a reviewer."""
    if not permissions.can_view_request(by, request):
        raise PermissionDenied("You cannot comment on this request.")
    body = _check_text("body", body.strip(), MAX_COMMENT)
    if not body:
        raise SpecError({"body": ["write a comment"]})
    comment = RequestComment.objects.create(request=request, author=by, body=body)
    audit.record(by, request, "request.commented", comment=body)
    transaction.on_commit(partial(notify.request_commented, comment.pk), robust=True)
    return comment
