"""The members page of a hub: its admins and allowed users, its portal admins and their
invitations, and accepting an invitation.

Members are listed, searched and paginated; added and removed one at a time;
pasted or imported from a CSV through a preview that only a confirmation
applies; exported as CSV. Changes join the hub's batch of waiting member
changes (provisioning/members.py), deployed together after the debounce
window or at once with "save and deploy" (after a confirmation page). Views
check access and call provisioning/members.py and hubs/admins.py, as the
members API next door does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from hubs import admins, permissions
from hubs import members as people
from hubs.models import AdminInvitation, Hub
from hubs.spec import SpecError
from hubs.states import IllegalTransition
from hubs.validation import validate_spec
from provisioning import members, revisions
from provisioning.web.access import visible_hub
from provisioning.web.compare import compare, current_revision

PAGE = 50
# Lines of a preview shown per status before "and N more".
PREVIEW_SHOWN = 500
MAX_UPLOAD = 2 * 1024 * 1024


def _url(name: str, hub: Hub) -> str:
    return reverse(f"hubs:{name}", args=[hub.cluster.slug, hub.name])


def managed_hub(request: HttpRequest, cluster: str, name: str) -> Hub:
    hub = visible_hub(request.user, cluster, name)
    if not permissions.can_manage_hub(request.user, hub):
        raise PermissionDenied("Only the hub's admins and operators can change its members.")
    return hub


def _errors(request: HttpRequest, exc: SpecError | IllegalTransition) -> None:
    lines = exc.lines() if isinstance(exc, SpecError) else [str(exc)]
    for line in lines:
        text = line.split(": ", 1)[1] if line.startswith(("usernames[", ": ")) else line
        messages.error(request, text[:1].upper() + text[1:])


def _queued_message(request: HttpRequest, hub: Hub, queued: members.Queued) -> None:
    plan = queued.plan
    counts = plan.counts
    done = ", ".join(
        f"{counts[key]} {word}"
        for key, word in (("added", "to add"), ("removed", "to remove"), ("present", "present"))
        if counts[key]
    )
    if queued.deployment is not None:
        number = queued.deployment.revision.number
        messages.success(
            request, f"{done or 'Nothing to change'}. Revision r{number} is deploying."
        )
    elif queued.pending is not None and plan.changes_anything:
        when = max(0, int((queued.pending.due_at - timezone.now()).total_seconds()))
        messages.success(
            request,
            f"{done}. The change is deployed with any others made in the next {when} s "
            "(or now, with Save and deploy).",
        )
    else:
        messages.info(request, f"{done or 'Nothing'}: nothing to change.")
    if counts["invalid"]:
        messages.warning(request, f"{counts['invalid']} invalid entries were left out.")
    if plan.note:
        messages.warning(request, plan.note)


# --- the page -------------------------------------------------------------------------


@login_required
def members_page(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    hub = visible_hub(request.user, cluster, name)
    pending = members.pending_of(hub)
    role = request.GET.get("role", "")
    role = role if role in people.ROLES else ""
    search = request.GET.get("q", "")[:200]
    rows = members.listing(hub, pending, role=role, search=search)
    page = Paginator(rows, PAGE).get_page(request.GET.get("page"))
    can_manage = permissions.can_manage_hub(request.user, hub)
    query = urlencode({k: v for k, v in (("role", role), ("q", search)) if v})
    now = people.of_spec(hub.spec)
    after = members.effective(hub, pending) if pending else now
    context: dict[str, Any] = {
        "hub": hub,
        "page": page,
        "role": role,
        "search": search,
        "query": query,
        "pending": pending,
        "pending_summary": people.summary(now, after) if pending else "",
        "counts": {r: len(v) for r, v in after.items()},
        "remove_url": _url("hub_member_remove", hub),
        "can_manage": can_manage,
        "editable": hub.has_spec,
        "portal_admins": list(admins.admins_of(hub)),
        "invitations": (
            list(AdminInvitation.objects.filter(hub=hub, accepted_at__isnull=True)[:50])
            if can_manage
            else []
        ),
        "debounce": int(settings.PORTAL_MEMBERS_DEBOUNCE),
        "provider": (hub.spec.get("auth") or {}).get("provider", ""),
    }
    return render(request, "hubs/members.html", context)


# --- one at a time ----------------------------------------------------------------------


def _one(request: HttpRequest, cluster: str, name: str, mode: str) -> HttpResponse:
    hub = managed_hub(request, cluster, name)
    username = request.POST.get("username", "")
    role = request.POST.get("role", "allowed")
    try:
        queued = members.change_members(hub, role, [username], mode=mode, by=request.user)
    except (SpecError, IllegalTransition) as exc:
        _errors(request, exc)
    except people.MembersError as exc:
        messages.error(request, str(exc).capitalize())
    else:
        _queued_message(request, hub, queued)
    return redirect(_url("hub_members", hub))


@login_required
@require_POST
def member_add(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    return _one(request, cluster, name, "add")


@login_required
@require_POST
def member_remove(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    return _one(request, cluster, name, "remove")


# --- paste and import: preview, then confirm ---------------------------------------------


def _entries(request: HttpRequest) -> tuple[list[people.Entry], dict[str, str]]:
    """The entries a paste or an upload gives, and what the confirmation must post again."""
    source = request.POST.get("source", "paste")
    role = request.POST.get("role", "allowed")
    mode = request.POST.get("mode", "add")
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size and upload.size > MAX_UPLOAD:
            raise people.MembersError(f"the file is larger than {MAX_UPLOAD // 1024 // 1024} MB")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise people.MembersError("the file is not UTF-8 text (save it as CSV UTF-8)") from None
        source = "csv"
    else:
        text = request.POST.get("text", "")
    entries = people.parse_csv(text, role) if source == "csv" else people.split_paste(text, role)
    return entries, {"source": source, "role": role, "mode": mode, "text": text}


@login_required
@require_POST
def members_preview(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """What a paste or an import would do, line by line; nothing changes yet."""
    hub = managed_hub(request, cluster, name)
    try:
        entries, payload = _entries(request)
        if payload["mode"] == "replace" and payload["source"] != "csv":
            raise people.MembersError("replacing the members is for CSV imports")
        plan = members.preview(hub, entries, mode=payload["mode"])
    except people.MembersError as exc:
        messages.error(request, str(exc)[:1].upper() + str(exc)[1:])
        return redirect(_url("hub_members", hub))
    except SpecError as exc:
        _errors(request, exc)
        return redirect(_url("hub_members", hub))
    groups = [
        (status, title, lines[:PREVIEW_SHOWN], max(0, len(lines) - PREVIEW_SHOWN))
        for status, title in (
            ("invalid", "Invalid"),
            ("remove", "To remove"),
            ("add", "To add"),
            ("duplicate", "Duplicates, merged"),
            ("absent", "Not there, nothing to remove"),
            ("present", "Already present"),
        )
        for lines in [plan.by_status(status)]
        if lines
    ]
    return render(
        request,
        "hubs/members_preview.html",
        {"hub": hub, "plan": plan, "counts": plan.counts, "groups": groups, "payload": payload},
    )


@login_required
@require_POST
def members_apply(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Apply a previewed paste or import (planned again: what changed meanwhile counts)."""
    hub = managed_hub(request, cluster, name)
    try:
        entries, payload = _entries(request)
        plan = members.preview(hub, entries, mode=payload["mode"])
        queued = members.apply_plan(hub, plan, by=request.user)
    except people.MembersError as exc:
        messages.error(request, str(exc)[:1].upper() + str(exc)[1:])
    except (SpecError, IllegalTransition) as exc:
        _errors(request, exc)
    else:
        _queued_message(request, hub, queued)
    return redirect(_url("hub_members", hub))


@login_required
def members_export(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    hub = visible_hub(request.user, cluster, name)
    current = members.effective(hub, members.pending_of(hub))
    return HttpResponse(
        people.to_csv(current),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{hub.name}-members.csv"'},
    )


# --- the batch: save and deploy, or discard ----------------------------------------------


@login_required
def members_deploy(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """Deploy the waiting member changes now, after a page showing what they change."""
    hub = managed_hub(request, cluster, name)
    pending = members.pending_of(hub)
    if pending is None:
        messages.info(request, "No member changes are waiting.")
        return redirect(_url("hub_members", hub))
    if request.method == "POST":
        try:
            deployment = members.deploy_pending(hub.pk, by=request.user, force=True)
        except (SpecError, IllegalTransition) as exc:
            _errors(request, exc)
            return redirect(_url("hub_members", hub))
        if deployment is not None:
            messages.success(request, f"Revision r{deployment.revision.number} is being deployed.")
        return redirect(hub)
    after = members.effective(hub, pending)
    spec = {**hub.spec, "admins": after["admin"], "allowed_users": after["allowed"]}
    try:
        checked = validate_spec(spec, hub=hub)
        files = revisions.render_files(hub, checked)
    except SpecError as exc:
        _errors(request, exc)
        return redirect(_url("hub_members", hub))
    current = current_revision(hub)
    comparison = compare(
        hub.spec,
        current.files if current else {},
        checked.spec.dump(),
        files,
        labels=(f"r{hub.current_revision}", f"r{hub.current_revision + 1}"),
    )
    return render(
        request,
        "hubs/hub_confirm.html",
        {
            "hub": hub,
            "comparison": comparison,
            "title": "Save and deploy the member changes",
            "action": _url("hub_members_deploy", hub),
            "button": "Save and deploy",
            "fields": [],
            "cancel": _url("hub_members", hub),
        },
    )


@login_required
@require_POST
def members_discard(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    hub = managed_hub(request, cluster, name)
    try:
        members.discard_pending(hub, by=request.user)
    except SpecError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "The waiting member changes were discarded.")
    return redirect(_url("hub_members", hub))


# --- portal admins ------------------------------------------------------------------------


@login_required
@require_POST
def admin_invite(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    hub = managed_hub(request, cluster, name)
    try:
        invitation, _ = admins.invite(hub, request.POST.get("email", ""), by=request.user)
    except SpecError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect(_url("hub_members", hub) + "#admins")


@login_required
@require_POST
def admin_remove(request: HttpRequest, cluster: str, name: str, user_id: int) -> HttpResponse:
    hub = managed_hub(request, cluster, name)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise Http404("No such user.")
    try:
        admins.remove(hub, user, by=request.user)
    except SpecError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"{user.get_username()} no longer administers this hub.")
    return redirect(_url("hub_members", hub) + "#admins")


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, cluster: str, name: str, pk: int) -> HttpResponse:
    hub = managed_hub(request, cluster, name)
    invitation = AdminInvitation.objects.filter(hub=hub, pk=pk).select_related("hub").first()
    if invitation is None:
        raise Http404("No such invitation.")
    try:
        admins.revoke(invitation, by=request.user)
    except SpecError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"The invitation of {invitation.email} was revoked.")
    return redirect(_url("hub_members", hub) + "#admins")


@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation's link: who invited you to which hub; accepting makes you its admin."""
    found = admins.find_invitation(token)
    if found is None:
        raise Http404("No such invitation.")
    if request.method == "POST":
        try:
            admins.accept(found, request.user)
        except SpecError as exc:
            _errors(request, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"You now administer {found.hub.display_name or found.hub}.")
            return redirect(_url("hub_members", found.hub))
    return render(
        request,
        "hubs/invitation.html",
        {
            "invitation": found,
            "hub": found.hub,
            "can_accept": admins.can_accept(found, request.user),
        },
    )
