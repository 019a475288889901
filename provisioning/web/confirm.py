"""Changing, rolling back and removing a hub, each through a confirmation page that shows
what would change (provisioning/preview.py) against what is running, before anything does.

- change: the form posts to itself; a valid change answers with its preview
  and the form's values hidden in a second form, whose "Deploy" posts them
  again with `confirm`. The revision the preview was made against travels
  with it: if the hub moved on meanwhile, the new preview is shown instead.
- rollback: GET `…/rollback/?revision=N` shows the preview; its form POSTs.
- decommission: the confirmation of the data loss shows what goes with it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from hubs import permissions
from hubs.forms import RequestForm
from hubs.models import Hub, HubRequest
from hubs.spec import SpecError
from hubs.states import IllegalTransition, RequestState
from portal.text import sentence
from provisioning import lifecycle, preview
from provisioning.web.access import visible_hub
from provisioning.web.forms import DecommissionForm
from provisioning.web.pages import managed_hub


@login_required
def hub_edit(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Change a live hub: its preview first, then a new revision, deployed at once."""
    hub = managed_hub(request, cluster, name)
    if not hub.has_spec:
        messages.info(
            request,
            "This hub was adopted from the deploy repository and its files are its own; change "
            "them there (the portal notices the drift) or ask the operators.",
        )
        return redirect(hub)
    fixed = {"name": hub.name, "cluster": hub.cluster.slug}
    if request.method != "POST":
        form = RequestForm(initial=RequestForm.initial_from(hub.spec))
        form.fix(**fixed)
        return _form(request, hub, form)
    form = RequestForm(request.POST)
    form.fix(**fixed)
    if not form.is_valid() or "edit" in request.POST:
        return _form(request, hub, form)
    shown = preview.preview_change(hub, form.spec())
    if not shown.ok:
        form.add_spec_errors(SpecError(shown.problems))
        return _form(request, hub, form)
    if "confirm" not in request.POST or request.POST.get("base") != str(hub.current_revision):
        if "confirm" in request.POST:
            messages.warning(request, "The hub changed while you were looking; check again.")
        return render(
            request, "hubs/hub_change_confirm.html", {"hub": hub, "form": form, "preview": shown}
        )
    try:
        outcome = lifecycle.update_hub(
            hub, form.spec(), by=request.user, reason=lifecycle.CHANGED_IN_PORTAL
        )
    except SpecError as exc:
        form.add_spec_errors(exc)
        return _form(request, hub, form)
    except IllegalTransition as exc:
        form.add_error(None, str(exc))
        return _form(request, hub, form)
    if isinstance(outcome, HubRequest):
        return _after_change_request(request, outcome)
    messages.success(request, f"Revision r{outcome.revision.number} is being deployed.")
    return redirect(hub)


def _form(request: HttpRequest, hub: Hub, form: RequestForm) -> HttpResponse:
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
def hub_rollback(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """GET: what rolling back to `?revision=N` would change. POST: do it."""
    hub = managed_hub(request, cluster, name)
    source = request.POST if request.method == "POST" else request.GET
    try:
        number = int(source.get("revision", ""))
    except ValueError:
        messages.error(request, "Choose a revision to roll back to.")
        return redirect(hub)
    if request.method != "POST":
        shown = preview.preview_rollback(hub, number)
        if not shown.ok:
            for line in SpecError(shown.problems).lines():
                messages.error(request, sentence(line.removeprefix("revision: ")))
            return redirect(hub)
        return render(
            request,
            "hubs/hub_rollback.html",
            {"hub": hub, "number": number, "preview": shown},
        )
    try:
        deployment = lifecycle.rollback_hub(hub, number, by=request.user)
    except SpecError as exc:
        for line in exc.lines():
            messages.error(request, sentence(line.removeprefix("revision: ")))
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
    hub = visible_hub(request.user, cluster, name)
    if not permissions.can_decommission_hub(request.user, hub):
        raise PermissionDenied(
            "Only the hub's requester, its community's leads and operators remove it."
        )
    form = DecommissionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.decommission_hub(hub, by=request.user, confirm_data_loss=True)
        except (SpecError, IllegalTransition) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "The hub is being removed.")
        return redirect(hub)
    return render(
        request,
        "hubs/hub_decommission.html",
        {"hub": hub, "form": form, "preview": preview.preview_decommission(hub)},
    )
