"""Pages for leads and reviewers. Views check access and call hubs/actions.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from hubs import actions, permissions
from hubs.audit import history
from hubs.changes import spec_changes
from hubs.forms import (
    CommentForm,
    DecisionForm,
    DecommissionForm,
    QueueFilterForm,
    RequestForm,
    SecretsForm,
)
from hubs.models import Hub, HubRequest
from hubs.spec import SpecError
from hubs.states import (
    DEPLOYMENT_ACTIVE,
    HubState,
    IllegalTransition,
    RequestState,
)
from hubs.validation import validate_spec
from provisioning.models import Deployment
from provisioning.web.pages import commit_diff

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
        Hub.objects.filter(permissions.led_by(request.user))
        .select_related("cluster", "offering")
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


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Nothing is written unless the whole save (and submission) succeeds.
        hub_request = _save_request(request, form, None)
        if hub_request is not None:
            return _after_save(request, hub_request)
    return render(request, "hubs/request_form.html", {"form": form, "hub_request": None})


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
    return render(request, "hubs/request_form.html", {"form": form, "hub_request": hub_request})


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


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    hub_request = _visible_request(request, pk)
    user = request.user
    submissions = list(hub_request.submissions.order_by("-number")[:2])
    changes = (
        spec_changes(submissions[1].spec, submissions[0].spec) if len(submissions) == 2 else []
    )
    hub = Hub.objects.filter(request=hub_request).select_related("cluster").first()
    target = hub_request.target_hub
    context = {
        "target_hub": target,
        # What a request to change a live hub would change, against the hub as it was.
        "hub_changes": spec_changes(hub_request.base_spec, hub_request.spec) if target else [],
        "hub_request": hub_request,
        "spec": hub_request.spec,
        "timeline": _timeline(hub_request),
        "changes": changes,
        "previous_submission": submissions[1] if len(submissions) == 2 else None,
        "hub": hub,
        "can_edit": permissions.can_edit_request(user, hub_request),
        "can_withdraw": permissions.can_withdraw_request(user, hub_request),
        "can_review": hub_request.state == RequestState.SUBMITTED
        and permissions.can_review_request(user, hub_request),
        "decisions": DECISIONS,
        "decision_form": DecisionForm(),
        "comment_form": CommentForm(),
    }
    return render(request, "hubs/request_detail.html", context)


ACTIONS = {
    "submit": lambda r, user, comment: actions.submit_request(r, by=user),
    "approve": lambda r, user, comment: actions.approve_request(r, by=user, comment=comment),
    "reject": lambda r, user, comment: actions.reject_request(r, by=user, comment=comment),
    "request-changes": lambda r, user, comment: actions.request_changes(
        r, by=user, comment=comment
    ),
    "withdraw": lambda r, user, comment: actions.withdraw_request(r, by=user, comment=comment),
}
DONE = {
    "submit": "Submitted for review.",
    "approve": "Approved. The hub is being set up.",
    "reject": "Rejected.",
    "request-changes": "Sent back to the requester with your comment.",
    "withdraw": "Withdrawn.",
}


@login_required
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One button on the request page: a transition, with an optional comment."""
    hub_request = _visible_request(request, pk)
    if action not in ACTIONS:
        raise Http404("No such action.")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("comment", []):
            messages.error(request, f"Comment: {error}")
        return redirect(hub_request)
    try:
        ACTIONS[action](hub_request, request.user, form.cleaned_data["comment"])
    except SpecError as exc:
        if action == "submit":
            messages.error(request, "The request is not complete yet; fix the fields marked below.")
            return redirect("hubs:request_edit", pk=hub_request.pk)
        for line in exc.lines():
            messages.error(request, line[:1].upper() + line[1:])
    except (IllegalTransition, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, DONE[action])
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
        {"filters": filters, "page": page, "query": _filters_query(data)},
    )


def _filters_query(data: QueryDict) -> str:
    """The filters of a list page, urlencoded without the page number (for its links)."""
    query = data.copy()
    query.pop("page", None)
    return query.urlencode()


# --- hubs ------------------------------------------------------------------------------


@login_required
def hub_list(request: HttpRequest) -> HttpResponse:
    hubs = permissions.visible_hubs(request.user)
    state = request.GET.get("state", "")
    if state:
        hubs = hubs.filter(state=state)
    page = Paginator(hubs.order_by("cluster__slug", "name", "pk"), 100).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "hubs/hub_list.html",
        {
            "page": page,
            "state": state,
            "states": HubState.choices,
            "query": _filters_query(request.GET),
        },
    )


def _visible_hub(request: HttpRequest, cluster: str, name: str) -> Hub:
    """The live hub of that name (else the latest removed one), if the user may see it."""
    hub = permissions.find_hub(cluster, name)
    if hub is None or not permissions.can_view_hub(request.user, hub):
        raise Http404("No such hub.")
    return hub


@login_required
def hub_detail(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    hub = _visible_hub(request, cluster, name)
    deployments = list(
        hub.deployments.select_related("revision", "requested_by", "hub__cluster__deploy_target")[
            :20
        ]
    )
    latest = deployments[0] if deployments else None
    return render(
        request,
        "hubs/hub_detail.html",
        {
            "hub": hub,
            "deployments": deployments,
            "latest": latest,
            # The latest deployment's log, live while it runs (htmx polls the partial).
            "deployment": latest,
            "entries": latest.log.all() if latest else [],
            "live": latest is not None and latest.state in DEPLOYMENT_ACTIVE,
            "diff": commit_diff(latest) if latest else "",
            "revisions": hub.revisions.select_related("author").order_by("-number")[:20],
            "can_manage": permissions.can_manage_hub(request.user, hub),
            "secrets": sorted(hub.secrets.values_list("key", flat=True)),
        },
    )


@login_required
def hub_export(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """The hub as one values file for the Zero to JupyterHub chart (the `z2jh` layout).

    For running the hub elsewhere, or comparing: secrets are referenced from a
    Kubernetes Secret, never included.
    """
    from provisioning.render.renderer import context_for, render

    hub = _visible_hub(request, cluster, name)
    try:
        checked = validate_spec(hub.spec, hub=hub)
    except SpecError as exc:
        problems = "; ".join(exc.lines())
        messages.error(
            request,
            f"This hub's spec is not complete enough to export ({problems}). Hubs adopted "
            "from a repository keep their own files instead.",
        )
        return redirect(hub)
    rendered = render(checked.spec, context_for(checked), "z2jh")
    return HttpResponse(
        rendered.files["values.yaml"],
        content_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{hub.name}.values.yaml"'},
    )


def _managed_hub(request: HttpRequest, cluster: str, name: str) -> Hub:
    hub = _visible_hub(request, cluster, name)
    if not permissions.can_manage_hub(request.user, hub):
        raise PermissionDenied("Only the hub's leads and operators can change it.")
    return hub


@login_required
def hub_edit(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Change a live hub: a new revision, deployed at once."""
    from provisioning import lifecycle

    hub = _managed_hub(request, cluster, name)
    if not hub.has_spec:
        messages.info(
            request,
            "This hub was adopted from the deploy repository and its files are its own; change "
            "them there (the portal notices the drift) or ask the operators.",
        )
        return redirect(hub)
    fixed = {"name": hub.name, "cluster": hub.cluster.slug}
    if request.method == "POST":
        form = RequestForm(request.POST)
        form.fix(**fixed)
        if form.is_valid():
            try:
                outcome = lifecycle.update_hub(
                    hub, form.spec(), by=request.user, reason="changed in the portal"
                )
            except SpecError as exc:
                form.add_spec_errors(exc)
            except IllegalTransition as exc:
                form.add_error(None, str(exc))
            else:
                if isinstance(outcome, HubRequest):
                    return _after_change_request(request, outcome)
                messages.success(request, f"Revision r{outcome.revision.number} is being deployed.")
                return redirect(hub)
    else:
        form = RequestForm(initial=RequestForm.initial_from(hub.spec))
        form.fix(**fixed)
    return render(
        request, "hubs/request_form.html", {"form": form, "hub": hub, "hub_request": None}
    )


def _after_change_request(request: HttpRequest, change: HubRequest) -> HttpResponse:
    if change.state == RequestState.APPROVED:
        messages.success(request, "Approved at once (the new tier needs no review) and deploying.")
        return redirect(change.target_hub or change)
    messages.info(
        request,
        "This change goes beyond what the hub's tier allows, so it needs review: it was sent "
        "to the reviewers as a request. The hub stays as it is until they approve it.",
    )
    return redirect(change)


@login_required
@require_POST
def hub_rollback(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    from provisioning import lifecycle

    hub = _managed_hub(request, cluster, name)
    try:
        number = int(request.POST.get("revision", ""))
        deployment = lifecycle.rollback_hub(hub, number, by=request.user)
    except ValueError:
        messages.error(request, "Choose a revision to roll back to.")
    except SpecError as exc:
        for line in exc.lines():
            messages.error(request, line.removeprefix("revision: ").capitalize())
    except IllegalTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Rolling back: revision r{deployment.revision.number} brings back r{number}.",
        )
    return redirect(hub)


@login_required
def hub_decommission(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Remove a hub, after the person confirms what happens to its users' data."""
    from provisioning import lifecycle

    hub = _managed_hub(request, cluster, name)
    form = DecommissionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.decommission_hub(hub, by=request.user, confirm_data_loss=True)
        except (SpecError, IllegalTransition) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "The hub is being removed.")
        return redirect(hub)
    return render(request, "hubs/hub_decommission.html", {"hub": hub, "form": form})


@login_required
def hub_secrets(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Attach the hub's OAuth client or shared password; values are never shown again."""
    from provisioning import lifecycle

    hub = _managed_hub(request, cluster, name)
    if hub.cluster.deploy_mode != hub.cluster.DeployMode.HELM:
        messages.info(
            request,
            "This hub deploys through the infrastructure repository, where its secrets live in "
            "its encrypted secret file; the operators manage that file.",
        )
        return redirect(hub)
    form = SecretsForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            changed = lifecycle.set_hub_secrets(hub, form.values(), by=request.user)
        except SpecError as exc:
            for line in exc.lines():
                messages.error(request, line)
        else:
            messages.success(
                request,
                f"Saved: {', '.join(changed)}." if changed else "Nothing to change.",
            )
            _retry_failed_apply(request, hub, changed)
            return redirect(hub)
    stored = sorted(hub.secrets.values_list("key", flat=True))
    return render(request, "hubs/hub_secrets.html", {"hub": hub, "form": form, "stored": stored})


def _retry_failed_apply(request: HttpRequest, hub: Hub, changed: list[str]) -> None:
    """A deployment that failed for want of these secrets runs again once they are set."""
    from provisioning import deployments

    latest = hub.deployments.first()
    if not changed or latest is None or latest.state != "failed" or latest.action != "apply":
        return
    try:
        deployments.retry_deployment(latest, by=request.user)
    except IllegalTransition:
        return
    messages.info(request, f"Deployment {latest.pk} runs again with them.")


# --- operators -------------------------------------------------------------------------


@login_required
def operations(request: HttpRequest) -> HttpResponse:
    """What needs an operator's attention: failures, stuck work, drift."""
    if not permissions.is_operator(request.user):
        raise PermissionDenied("Only operators see the operations dashboard.")
    hub_states = dict(Hub.objects.values_list("state").annotate(n=Count("pk")).order_by())
    request_states = dict(
        HubRequest.objects.values_list("state").annotate(n=Count("pk")).order_by()
    )
    failed = (
        Deployment.objects.filter(state="failed")
        .select_related("hub__cluster", "revision")
        .order_by("-finished_at", "-pk")[:20]
    )
    active = (
        Deployment.objects.filter(state__in=("queued", "running", "awaiting_merge"))
        .select_related("hub__cluster", "revision")
        .order_by("created_at", "pk")[:50]
    )
    drifted = (
        Hub.objects.exclude(drift={})
        .select_related("cluster")
        .order_by("cluster__slug", "name")[:100]
    )
    return render(
        request,
        "hubs/operations.html",
        {
            "hub_states": hub_states,
            "request_states": request_states,
            "failed": failed,
            "active": active,
            "drifted": drifted,
        },
    )


# --- the signed-in person --------------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Account links and the API token (shown in full only right after it is made)."""
    new_key = ""
    user: Any = request.user  # signed in (login_required)
    if request.method == "POST":
        action = request.POST.get("action")
        Token.objects.filter(user=user).delete()
        if action == "create":
            new_key = Token.objects.create(user=user).key
            messages.success(request, "New API token created. Copy it now: it is shown once.")
        else:
            messages.success(request, "API token revoked; scripts using it can no longer sign in.")
    token = Token.objects.filter(user=user).first()
    return render(request, "hubs/profile.html", {"token": token, "new_key": new_key})
