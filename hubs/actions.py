"""Every change to a hub request, as one named function each.

Each action runs in a transaction, moves the request with hubs/transitions.py
(compare-and-set against the state table, audited), records its outgoing
webhooks (notifications.webhooks.emit) and sends email and deliveries only
after the transaction commits. Approving a request hands the new hub (or the
change to a live hub) to the provisioning pipeline through hubs/seams.py.
Views, the API and management commands check access and call these; the
table at the end names the moves a person can make with a button or a POST.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from hubs import audit, identities, notify, payloads, permissions, seams, transitions
from hubs.models import Cluster, Hub, HubRequest, Offering, RequestComment, RequestSubmission
from hubs.spec import SLUG, SpecError, check_draft
from hubs.states import REQUEST_EDITABLE, IllegalTransition, RequestState, check
from hubs.validation import Checked, validate_spec
from notifications.webhooks import emit
from portal.commit import after_commit
from portal.text import UNSTORABLE_MESSAGE, unstorable

MAX_COMMENT = 5000
MAX_NOTES = 5000


def _check_text(field: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise SpecError({field: [f"must be at most {limit} characters"]})
    if unstorable(value):
        raise SpecError({field: [UNSTORABLE_MESSAGE]})
    return value


def _denormalise(request: HubRequest) -> None:
    """Copy name, cluster and tier out of the spec for the queue's filters."""
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
    # The names the login provider would refuse (unknown on GitHub, outside the domains).
    lookups = identities.refuse_unknown(
        checked.spec, previous=request.base_spec if request.target_hub_id else None
    )
    request.spec = checked.spec.dump()
    _denormalise(request)
    request.save(update_fields=["spec", "name", "cluster", "offering"])
    number = request.submission_count + 1
    transitions.move(
        request,
        RequestState.SUBMITTED,
        by=by,
        action="request.submitted",
        comment=lookups.note,  # e.g. GitHub names that could not be verified, for reviewers
        submitted_at=timezone.now(),
        submission_count=number,
    )
    RequestSubmission.objects.create(
        request=request, number=number, spec=request.spec, notes=request.notes
    )
    emit("request.submitted", payloads.request_data(request, by=by), hub_id=request.target_hub_id)
    # Rules installed by apps above the domain (events: capacity, auto-approval).
    automatic = seams.check_submission(request, checked)
    if not checked.offering.requires_review:
        automatic = "Approved automatically: this tier needs no review."
    if automatic and request.target_hub_id is None and checked.cluster.needs_inputs:
        # Its cluster needs values only a reviewer or operator can give (an NFS
        # server, a volume): approval waits for them, whatever the tier says.
        automatic = ""
    if automatic:
        approve_request(request, by=None, comment=automatic)
        request.refresh_from_db()
    else:
        after_commit(notify.request_changed, request.pk, "submitted")
    return request


def _check_reviewer(by: Any, request: HubRequest) -> None:
    if by is not None and not permissions.can_review_request(by, request):
        if permissions.is_reviewer(by):
            raise PermissionDenied("You cannot review your own request.")
        raise PermissionDenied("Only reviewers can decide on requests.")


def _decide(request: HubRequest, target: str, *, by: Any, comment: str, action: str) -> HubRequest:
    request = HubRequest.objects.select_for_update().get(pk=request.pk)
    _check_reviewer(by, request)
    comment = _check_text("comment", comment.strip(), MAX_COMMENT)
    transitions.move(
        request,
        target,
        by=by,
        action=action,
        comment=comment,
        decided_at=timezone.now(),
        decided_by=by,
    )
    if comment:
        RequestComment.objects.create(request=request, author=by, body=comment, transition=target)
    after_commit(notify.request_changed, request.pk, target)
    emit(
        f"request.{target}",
        payloads.request_data(request, by=by, comment=comment),
        hub_id=request.target_hub_id,
    )
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


def _approve_change(
    request: HubRequest, *, by: Any, comment: str, inputs: Mapping[str, Any] | None = None
) -> Hub:
    """Approve a request to change a live hub: deploy the change as the hub's next revision."""
    # Lock the hub row only: PostgreSQL cannot lock the nullable side (offering)
    # of an outer join.
    hub = (
        Hub.objects.select_for_update(of=("self",))  # Postgres: not the tier's outer join
        .select_related("cluster", "offering")
        .get(pk=int(request.target_hub_id or 0))
    )
    if inputs:
        raise SpecError(
            {"inputs": ["a change keeps the hub's infrastructure values; give none when approving"]}
        )
    spec = changed_spec(hub.spec, request.base_spec, request.spec)
    checked = validate_spec(spec, hub=hub)
    _decide(request, RequestState.APPROVED, by=by, comment=comment, action="request.approved")
    seams.provisioner().apply_change(
        hub,
        checked,
        by=by,
        author=request.requester,
        reason=f"change request #{request.pk} approved",
    )
    return hub


@transaction.atomic
def approve_request(
    request: HubRequest,
    *,
    by: Any,
    comment: str = "",
    inputs: Mapping[str, Any] | None = None,
) -> Hub:
    """Approve a submitted request: create its hub and queue its first deployment.

    A request to change a live hub deploys the change to that hub instead.
    `inputs` are the values the cluster needs for each new hub (its learnt
    list, e.g. `{"nfs.pv.serverIP": "10.0.0.5"}`); the pipeline checks them and
    refuses, writing nothing, while any is missing or invalid.
    """
    request = HubRequest.objects.select_for_update().get(pk=request.pk)
    _check_reviewer(by, request)
    check("request", request.state, RequestState.APPROVED)
    if request.target_hub_id is not None:
        return _approve_change(request, by=by, comment=comment, inputs=inputs)
    # The catalog or another hub may have changed since submission.
    checked: Checked = validate_spec(request.spec, request=request)
    request = _decide(
        request, RequestState.APPROVED, by=by, comment=comment, action="request.approved"
    )
    return seams.provisioner().create_hub(request, checked, by=by, inputs=inputs)


@transaction.atomic
def reject_request(request: HubRequest, *, by: Any, comment: str = "") -> HubRequest:
    """Turn a request down; the comment tells the requester why (it is required)."""
    if not comment.strip():
        raise SpecError({"comment": ["say why the request is rejected"]})
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
    comment = _check_text("comment", comment.strip(), MAX_COMMENT)
    transitions.move(
        request, RequestState.WITHDRAWN, by=by, action="request.withdrawn", comment=comment
    )
    if comment:
        RequestComment.objects.create(
            request=request, author=by, body=comment, transition=RequestState.WITHDRAWN
        )
    if previous != RequestState.DRAFT:
        after_commit(notify.request_changed, request.pk, "withdrawn")
        emit(
            "request.withdrawn",
            payloads.request_data(request, by=by, comment=comment),
            hub_id=request.target_hub_id,
        )
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
    after_commit(notify.request_commented, comment.pk)
    if request.state != RequestState.DRAFT:  # drafts are the requester's own business
        emit(
            "request.commented",
            payloads.request_data(request, by=by, comment=body),
            hub_id=request.target_hub_id,
        )
    return comment


# --- the moves a person makes with a button (the request page) or a POST (the API) ---


@dataclass(frozen=True)
class RequestAction:
    run: Callable[..., object]  # (request, by, comment, **options)
    takes_comment: bool
    done: str  # what the page says afterwards

    def done_for(self, request: HubRequest) -> str:
        if self.done.startswith("Approved") and request.is_change:
            return "Approved. The change is being deployed to the hub."
        return self.done


REQUEST_ACTIONS: dict[str, RequestAction] = {
    "submit": RequestAction(
        lambda r, by, comment: submit_request(r, by=by), False, "Submitted for review."
    ),
    "approve": RequestAction(
        lambda r, by, comment, inputs=None: approve_request(
            r, by=by, comment=comment, inputs=inputs
        ),
        True,
        "Approved. The hub is being set up.",
    ),
    "reject": RequestAction(
        lambda r, by, comment: reject_request(r, by=by, comment=comment), True, "Rejected."
    ),
    "request-changes": RequestAction(
        lambda r, by, comment: request_changes(r, by=by, comment=comment),
        True,
        "Sent back to the requester with your comment.",
    ),
    "withdraw": RequestAction(
        lambda r, by, comment: withdraw_request(r, by=by, comment=comment), True, "Withdrawn."
    ),
}
