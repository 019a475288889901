"""Pages for leads and reviewers. Views check access and call hubs/actions.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import tokens
from accounts.forms import NewTokenForm
from accounts.models import ApiToken
from hubs import actions, describe, permissions, seams
from hubs.audit import history
from hubs.changes import spec_changes
from hubs.forms import (
    CommentForm,
    DecisionForm,
    QueueFilterForm,
    RequestForm,
)
from hubs.models import Hub, HubRequest, UserImage
from hubs.spec import SpecError
from hubs.states import (
    HUB_BUSY,
    IllegalTransition,
    RequestState,
)
from notifications.models import CATEGORIES, NotificationPreference
from portal.text import sentence

QUEUE_PAGE = 50
DECISIONS = {
    "approve": ("Approve", "btn-success"),
    "request-changes": ("Ask for changes", "btn-warning"),
    "reject": ("Reject", "btn-outline-danger"),
}


def home(request: HttpRequest) -> HttpResponse:
    """The landing page, or for someone signed in, their requests and hubs."""
    if not request.user.is_authenticated:
        return render(request, "hubs/welcome.html")
    mine = (
        HubRequest.objects.filter(requester=request.user)
        .select_related("cluster", "offering")
        .order_by("-created_at")
    )
    hubs = (
        Hub.objects.filter(permissions.administered_by(request.user))
        .select_related("cluster", "offering")
        .defer("spec")
        .distinct()
        .order_by("cluster__slug", "name")
    )
    return render(request, "hubs/home.html", {"requests": mine[:100], "hubs": hubs[:100]})


# --- the request form ------------------------------------------------------------


def _save_request(
    request: HttpRequest, form: RequestForm, hub_request: HubRequest | None
) -> HubRequest | None:
    """Save (and, if asked, submit) from a valid form; None with errors on the form."""
    submit = "submit" in request.POST
    spec, notes = form.spec(), form.cleaned_data.get("notes") or ""
    try:
        if hub_request is None:
            return actions.create_request(request.user, spec, notes=notes, submit=submit)
        # Edit and submission together: a submission refused leaves the request as it was.
        with transaction.atomic():
            hub_request = actions.update_request(
                hub_request, by=request.user, spec=spec, notes=notes
            )
            if submit:
                hub_request = actions.submit_request(hub_request, by=request.user)
        return hub_request
    except SpecError as exc:
        form.add_spec_errors(exc)
    except IllegalTransition as exc:
        form.add_error(None, str(exc))
    return None


def _after_save(request: HttpRequest, hub_request: HubRequest) -> HttpResponse:
    if hub_request.state == RequestState.DRAFT:
        messages.success(request, "Draft saved. Submit it when it is ready for review.")
    elif hub_request.state == RequestState.APPROVED:
        messages.success(request, "Approved at once: this tier needs no review.")
    else:
        messages.success(request, "Submitted. Reviewers have been told; you will get an email.")
    return redirect(hub_request)


def _preview(form: RequestForm, hub_request: HubRequest | None) -> Any:
    """The Preview step: what the form's spec would become, its problems next to their fields.

    Nothing is saved.
    """
    shown = seams.previewer().preview_request(form.spec(), request=hub_request)
    if shown.problems:
        form.add_spec_errors(SpecError(shown.problems))
    return shown


def _review_comments(hub_request: HubRequest | None) -> list[Any]:
    """What reviewers said when they sent the request back, newest first (shown while editing)."""
    if hub_request is None or hub_request.state != RequestState.CHANGES_REQUESTED:
        return []
    return list(
        hub_request.comments.exclude(author=hub_request.requester)
        .select_related("author")
        .order_by("-created_at", "-pk")[:5]
    )


def _form_page(
    request: HttpRequest, form: RequestForm, hub_request: HubRequest | None, preview: Any = None
) -> HttpResponse:
    return render(
        request,
        "hubs/request_form.html",
        {
            "form": form,
            "hub_request": hub_request,
            "preview": preview,
            "review_comments": _review_comments(hub_request),
        },
    )


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            return _form_page(request, form, None, _preview(form, None))
        # Nothing is written unless the whole save (and submission) succeeds.
        hub_request = _save_request(request, form, None)
        if hub_request is not None:
            return _after_save(request, hub_request)
    return _form_page(request, form, None)


@login_required
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    hub_request = _visible_request(request, pk)
    if not permissions.can_edit_request(request.user, hub_request):
        messages.error(
            request,
            f"This request is {hub_request.get_state_display().lower()}; only its requester "
            "can edit it, and only as a draft or when changes were asked for.",
        )
        return redirect(hub_request)
    if request.method == "POST":
        form = RequestForm(request.POST)
        if hub_request.target_hub is not None:
            form.fix(name=hub_request.target_hub.name, cluster=hub_request.target_hub.cluster.slug)
        if form.is_valid() and "preview" in request.POST:
            return _form_page(request, form, hub_request, _preview(form, hub_request))
        if form.is_valid():
            saved = _save_request(request, form, hub_request)
            if saved is not None:
                return _after_save(request, saved)
    else:
        form = RequestForm(initial=RequestForm.initial_from(hub_request.spec, hub_request.notes))
    target = hub_request.target_hub
    if target is not None:
        # A request to change a live hub: its identity stays.
        form.fix(name=target.name, cluster=target.cluster.slug)
    return _form_page(request, form, hub_request)


# --- a request's page --------------------------------------------------------------


def _visible_request(request: HttpRequest, pk: int) -> HubRequest:
    hub_request = get_object_or_404(
        HubRequest.objects.select_related(
            "requester", "cluster", "offering", "decided_by", "target_hub__cluster"
        ),
        pk=pk,
    )
    # Not found rather than forbidden: do not confirm that someone else's exists.
    if not permissions.can_view_request(request.user, hub_request):
        raise Http404("No such request.")
    return hub_request


def _timeline(hub_request: HubRequest) -> list[dict[str, Any]]:
    """Transitions and comments in order, for the history panel."""
    items: list[dict[str, Any]] = []
    for event in history(hub_request):
        if event.action == "request.commented":
            items.append({"kind": "comment", "when": event.created_at, "who": event.actor,
                          "comment": event.comment})  # fmt: skip
            continue
        items.append(
            {
                "kind": "event",
                "when": event.created_at,
                "who": event.actor,
                "action": event.action.removeprefix("request.").replace("_", " "),
                "from": event.from_state,
                "to": event.to_state,
                "comment": event.comment,
            }
        )
    return items


def _inputs_form(hub_request: HubRequest, data: Any = None) -> Any:
    """The approval's form for the values the request's cluster needs per hub (None: none)."""
    if hub_request.target_hub_id is not None or hub_request.cluster is None:
        return None  # a change keeps the hub's values
    form = seams.inputs_form(hub_request.cluster, data)
    return form if form.fields else None


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _request_page(request, _visible_request(request, pk))


def _request_page(
    request: HttpRequest,
    hub_request: HubRequest,
    *,
    inputs_form: Any = None,
    decision_form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    submissions = list(hub_request.submissions.order_by("-number")[:2])
    changes = (
        spec_changes(submissions[1].spec, submissions[0].spec) if len(submissions) == 2 else []
    )
    target = hub_request.target_hub
    can_review = hub_request.state == RequestState.SUBMITTED and permissions.can_review_request(
        user, hub_request
    )
    context = {
        **_status_context(hub_request),
        "target_hub": target,
        # What a request to change a live hub would change, against the hub as it was.
        "hub_changes": spec_changes(hub_request.base_spec, hub_request.spec) if target else [],
        "hub_request": hub_request,
        "spec": hub_request.spec,
        "timeline": _timeline(hub_request),
        "changes": changes,
        "previous_submission": submissions[1] if len(submissions) == 2 else None,
        "image": _image_label(hub_request.spec),
        "can_edit": permissions.can_edit_request(user, hub_request),
        "can_withdraw": permissions.can_withdraw_request(user, hub_request),
        "can_review": can_review,
        # Reviewers see the files approving would write, checked as approval checks them.
        "preview": _review_preview(hub_request) if can_review else None,
        "decisions": DECISIONS,
        "decision_form": decision_form or DecisionForm(),
        "comment_form": CommentForm(),
        # Values the cluster needs for each new hub (an NFS server, a volume): approval asks.
        "inputs_form": (inputs_form or _inputs_form(hub_request)) if can_review else None,
    }
    return render(request, "hubs/request_detail.html", context, status=status)


def _status_context(hub_request: HubRequest) -> dict[str, Any]:
    """What the request page's status fragment shows: the request's state and its hub's."""
    hub = (
        Hub.objects.filter(request=hub_request)
        .select_related("cluster__deploy_target", "request")
        .first()
    )
    return {
        "hub_request": hub_request,
        "hub": hub,
        # Polled only while the hub it made is being set up, changed or removed.
        "poll": 3 if hub is not None and hub.state in HUB_BUSY else 0,
    }


@login_required
def request_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The request page's status fragment (htmx polls it while its hub is being set up)."""
    hub_request = _visible_request(request, pk)
    return render(request, "hubs/partials/request_status.html", _status_context(hub_request))


def _image_label(spec: dict[str, Any]) -> str:
    image = spec.get("image") if isinstance(spec.get("image"), dict) else {}
    slug = image.get("catalog") if image else None
    found = UserImage.objects.filter(slug=slug).first() if isinstance(slug, str) else None
    labels = {found.slug: f"{found.name} ({found.reference})"} if found else {}
    return describe.image_label(spec, labels)


def _review_preview(hub_request: HubRequest) -> Any:
    previewer = seams.previewer()
    target = hub_request.target_hub
    if target is None:
        return previewer.preview_request(hub_request.spec, request=hub_request)
    spec = actions.changed_spec(target.spec, hub_request.base_spec, hub_request.spec)
    return previewer.preview_change(target, spec)


@login_required
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One button on the request page: a transition, with an optional comment."""
    hub_request = _visible_request(request, pk)
    move = actions.REQUEST_ACTIONS.get(action)
    if move is None:
        raise Http404("No such action.")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("comment", []):
            messages.error(request, f"Comment: {error}")
        return redirect(hub_request)
    options: dict[str, Any] = {}
    if action == "approve":
        inputs_form = _inputs_form(hub_request, request.POST)
        if inputs_form is not None and not inputs_form.is_valid():
            # Nothing written: the page again, each missing or invalid value named.
            messages.error(request, "Not approved: the cluster needs the values marked below.")
            return _request_page(
                request, hub_request, inputs_form=inputs_form, decision_form=form, status=400
            )
        options["inputs"] = inputs_form.inputs if inputs_form is not None else None
    try:
        move.run(hub_request, request.user, form.cleaned_data["comment"], **options)
    except SpecError as exc:
        if action == "submit":
            messages.error(request, "The request is not complete yet; fix the fields marked below.")
            return redirect("hubs:request_edit", pk=hub_request.pk)
        for line in exc.lines():
            messages.error(request, sentence(line))
    except (IllegalTransition, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, move.done_for(hub_request))
    return redirect(hub_request)


@login_required
@require_POST
def request_comment(request: HttpRequest, pk: int) -> HttpResponse:
    hub_request = _visible_request(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        actions.add_comment(hub_request, by=request.user, body=form.cleaned_data["body"])
        messages.success(request, "Comment added.")
    else:
        for error in form.errors.get("body", []):
            messages.error(request, f"Comment: {error}")
    return redirect(hub_request)


# --- reviewers -------------------------------------------------------------------------


def queue_queryset(filters: dict[str, str]) -> QuerySet[HubRequest]:
    """Requests for the review queue: oldest waiting first. Shared with the benchmark."""
    requests = HubRequest.objects.select_related("requester", "cluster", "offering").exclude(
        state=RequestState.DRAFT
    )
    if filters.get("state"):
        requests = requests.filter(state=filters["state"])
    if filters.get("offering"):
        requests = requests.filter(offering__slug=filters["offering"])
    if filters.get("cluster"):
        requests = requests.filter(cluster__slug=filters["cluster"])
    return requests.order_by("submitted_at", "pk")


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    if not permissions.is_reviewer(request.user):
        raise PermissionDenied("Only reviewers see the review queue.")
    data = request.GET.copy()
    if "state" not in data:
        data["state"] = RequestState.SUBMITTED
    filters = QueueFilterForm(data)
    clean = filters.cleaned_data if filters.is_valid() else {"state": RequestState.SUBMITTED}
    page = Paginator(queue_queryset(clean), QUEUE_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "hubs/review_queue.html",
        {"filters": filters, "page": page, "query": filters_query(data)},
    )


def filters_query(data: QueryDict) -> str:
    """The filters of a list page, urlencoded without the page number (for its links)."""
    query = data.copy()
    query.pop("page", None)
    return query.urlencode()


# --- hubs ------------------------------------------------------------------------------


# --- the signed-in person --------------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Account links, email preferences and API tokens: create one (its key shown this
    once), list, revoke."""
    new_key = ""
    user: Any = request.user  # signed in (login_required)
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    form = NewTokenForm()
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "notifications":
        preference.off = [c for c in CATEGORIES if f"on_{c}" not in request.POST]
        preference.updated_at = timezone.now()
        preference.save(update_fields=["off", "updated_at"])
        messages.success(request, "Email preferences saved.")
        return redirect("hubs:profile")
    if action == "revoke":
        raw = request.POST.get("token", "")
        token = (
            ApiToken.objects.filter(user=user, pk=int(raw)).first()
            if raw.isdigit() and len(raw) < 19
            else None
        )
        if token is None:
            raise Http404("No such token.")
        tokens.revoke(token)
        messages.success(request, f"Token “{token.name}” revoked; scripts using it are refused.")
        return redirect("hubs:profile")
    if request.method == "POST":
        form = NewTokenForm(request.POST)
        if form.is_valid():
            try:
                _, new_key = tokens.create_token(
                    user, form.cleaned_data["name"], expires_at=form.expires_at()
                )
            except tokens.TokenError as exc:
                form.add_error("name", str(exc))
            else:
                messages.success(request, "New API token created. Copy it now: it is shown once.")
                form = NewTokenForm()
    listed = ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")[:100]
    categories = [
        {"key": key, "title": title, "help": help_text, "on": key not in preference.off}
        for key, (title, help_text) in CATEGORIES.items()
    ]
    response = render(
        request,
        "hubs/profile.html",
        {"tokens": listed, "new_key": new_key, "form": form, "categories": categories},
    )
    if new_key:
        response["Cache-Control"] = "no-store"  # the key must not linger in a cache
    return response
