"""Pages of hubs and their deployments: list, detail, change, roll back, remove, secrets,
a deployment's live log, and the operators' dashboard.

Views check access (hubs/permissions.py) and call provisioning/lifecycle.py,
the same functions the hub API next door (api.py) calls, so a rule holds in
the browser and for scripts alike.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubs import permissions, seams
from hubs.models import Hub, HubRequest
from hubs.spec import SpecError
from hubs.states import DEPLOYMENT_ACTIVE, HubState, IllegalTransition
from hubs.validation import validate_spec
from hubs.views import filters_query
from provisioning import credentials, lifecycle
from provisioning.models import Deployment
from provisioning.render.renderer import context_for
from provisioning.render.renderer import render as render_files
from provisioning.web import live
from provisioning.web.access import visible_deployment, visible_hub
from provisioning.web.forms import SecretsForm


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
            "query": filters_query(request.GET),
        },
    )


@login_required
def hub_detail(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    hub = visible_hub(request.user, cluster, name)
    context = live.hub_context(request.user, hub)
    # Panels the apps above add (monitoring: health, usage, cost), through the domain's seam.
    context["hub_panels"] = seams.hub_panels(request, hub)
    return render(request, "hubs/hub_detail.html", context)


@login_required
def hub_export(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """The hub as one values file for the Zero to JupyterHub chart (the `z2jh` layout).

    For running the hub elsewhere, or comparing: secrets are referenced from a
    Kubernetes Secret, never included.
    """
    hub = visible_hub(request.user, cluster, name)
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
    # For running elsewhere: without the portal's usage service.
    rendered = render_files(checked.spec, context_for(checked, usage_service=False), "z2jh")
    return HttpResponse(
        rendered.files["values.yaml"],
        content_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{hub.name}.values.yaml"'},
    )


def managed_hub(request: HttpRequest, cluster: str, name: str) -> Hub:
    hub = visible_hub(request.user, cluster, name)
    if not permissions.can_manage_hub(request.user, hub):
        raise PermissionDenied("Only the hub's admins and operators can change it.")
    return hub


@login_required
def hub_secrets(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Attach the hub's OAuth client or shared password; values are never shown again."""
    hub = managed_hub(request, cluster, name)
    if not lifecycle.holds_secrets(hub):
        messages.info(request, lifecycle.GITOPS_SECRETS)
        return redirect(hub)
    form = SecretsForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = lifecycle.set_hub_secrets(hub, form.values(), by=request.user)
        except (SpecError, IllegalTransition) as exc:
            for line in exc.lines() if isinstance(exc, SpecError) else [str(exc)]:
                messages.error(request, line)
        else:
            changed = ", ".join(saved.changed)
            messages.success(request, f"Saved: {changed}." if changed else "Nothing to change.")
            if saved.retried is not None:
                messages.info(request, f"Deployment {saved.retried.pk} runs again with them.")
            return redirect(hub)
    stored = sorted(hub.secrets.values_list("key", flat=True))
    return render(request, "hubs/hub_secrets.html", {"hub": hub, "form": form, "stored": stored})


@login_required
@require_POST
def hub_credentials(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Operators say the hub's encrypted secret file is in (as POST …/credentials/ does)."""
    hub = visible_hub(request.user, cluster, name)
    if not permissions.can_mark_credentials(request.user):
        raise PermissionDenied("Only operators mark a hub's credentials added.")
    note = request.POST.get("note", "").strip()
    try:
        credentials.mark_credentials_added(hub, by=request.user, note=note)
    except SpecError as exc:
        for line in exc.lines():
            messages.error(request, line)
    else:
        hub.refresh_from_db()
        messages.success(
            request, f"Credentials marked added; the hub is {hub.get_state_display().lower()}."
        )
    return redirect(hub)


DRIFT_ACTIONS = {
    "adopt": (lifecycle.adopt_repository, "The repository's version is r{n}; deployment {pk}."),
    "repush": (lifecycle.repush_hub, "The portal's version goes back as r{n}: deployment {pk}."),
}


@login_required
@require_POST
def hub_drift(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Operators resolve drift: adopt the repository's version, or re-push the portal's."""
    hub = visible_hub(request.user, cluster, name)
    if not permissions.can_resolve_drift(request.user):
        raise PermissionDenied("Only operators decide which version of a drifted hub stays.")
    chosen = DRIFT_ACTIONS.get(request.POST.get("action", ""))
    if chosen is None:
        messages.error(request, "Choose adopt or re-push.")
        return redirect(hub)
    action, done = chosen
    try:
        deployment = action(hub, by=request.user)
    except (SpecError, IllegalTransition) as exc:
        for line in exc.lines() if isinstance(exc, SpecError) else [str(exc)]:
            messages.error(request, line)
    else:
        messages.success(request, done.format(n=deployment.revision.number, pk=deployment.pk))
    return redirect(hub)


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
        Deployment.objects.filter(state__in=DEPLOYMENT_ACTIVE)
        .select_related("hub__cluster", "revision")
        .order_by("created_at", "pk")[:50]
    )
    # GitOps hubs deployed but waiting for the operators to add their secret file.
    waiting = (
        Hub.objects.filter(state=HubState.AWAITING_CREDENTIALS)
        .select_related("cluster")
        .order_by("updated_at")[:100]
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
            "waiting": waiting,
        },
    )


# --- deployments ----------------------------------------------------------------


@login_required
def deployment(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = visible_deployment(request.user, pk)
    return render(
        request,
        "provisioning/deployment.html",
        live.deployment_context(request.user, deployment),
    )


@login_required
def deployment_log(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = visible_deployment(request.user, pk)
    return render(
        request,
        "provisioning/partials/deployment_log.html",
        {
            "deployment": deployment,
            "entries": deployment.log.all(),
            "live": deployment.state in DEPLOYMENT_ACTIVE,
        },
    )


@login_required
@require_POST
def deployment_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff run a failed deployment again (the same as POST /api/v1/deployments/{id}/retry/)."""
    deployment = visible_deployment(request.user, pk)
    user = request.user
    if not permissions.can_retry_deployment(user):
        raise PermissionDenied("Only staff can retry a deployment.")
    try:
        lifecycle.retry_deployment(deployment, by=user)
    except IllegalTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Queued again.")
    return redirect(deployment)
