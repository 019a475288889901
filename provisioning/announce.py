"""Telling people and systems what happened to a hub and its deployments.

Webhooks (notifications.webhooks.emit) are recorded in the caller's
transaction; emails go after commit, per audience (hubs/audiences.py):

| what happened | hub admins | operators |
| --- | --- | --- |
| a new hub answers | its address and how to log in | — |
| a deployment failed | what it means, "operators have been told" | the error and a link |
| the hub was removed | that it is gone | — |

lifecycle.py and deployments.py call these; nothing here changes a row.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hubs import audiences, describe, mail, payloads
from hubs.models import Hub
from notifications.webhooks import emit
from portal.commit import after_commit
from provisioning import progress
from provisioning.models import Deployment, PendingCredentials
from provisioning.render.credentials import what_it_is


def deployment_data(deployment: Deployment) -> dict[str, Any]:
    hub = deployment.hub
    return {
        "deployment": {
            "id": deployment.pk,
            "state": deployment.state,
            "action": deployment.action,
            "revision": deployment.revision.number,
            "backend": deployment.backend,
            "branch": deployment.branch,
            "commit_sha": deployment.commit_sha,
            "pr_url": deployment.pr_url,
            "error": deployment.error,
            "url": f"{settings.PORTAL_BASE_URL}{deployment.get_absolute_url()}",
            "api_url": f"{settings.PORTAL_BASE_URL}/api/v1/deployments/{deployment.pk}/",
        },
        "hub": payloads.hub_data(hub),
    }


def deployment_event(deployment: Deployment, event: str) -> None:
    """`deployment.<event>` for the deployment's hub's webhooks and the operators'."""
    emit(f"deployment.{event}", deployment_data(deployment), hub_id=deployment.hub_id)


def hub_created(hub: Hub) -> None:
    emit("hub.created", {"hub": payloads.hub_data(hub)}, hub_id=hub.pk)


def deployment_finished(deployment: Deployment, *, succeeded: bool, left: str | None) -> None:
    """What a finished deployment means, told: `left` is the state its hub moved from (None
    if the hub did not move: it had moved on meanwhile)."""
    hub = Hub.objects.select_related("cluster").get(pk=deployment.hub_id)
    data = {"hub": payloads.hub_data(hub), "deployment": deployment_data(deployment)["deployment"]}
    if not succeeded:
        emit("hub.failed", data, hub_id=hub.pk)
        after_commit(failure_mail, deployment.pk)
    elif left is None:
        return
    elif deployment.action == Deployment.Action.DECOMMISSION:
        emit("hub.removed", data, hub_id=hub.pk)
        after_commit(removed_mail, hub.pk, deployment.requested_by_id)
    elif hub.state == "awaiting_credentials":
        return  # live once its credentials are in (credentials_added)
    elif left == "provisioning":
        emit("hub.live", data, hub_id=hub.pk)
        after_commit(live_mail, hub.pk)
    else:
        emit("hub.updated", data, hub_id=hub.pk)


def credentials_needed(row: PendingCredentials) -> None:
    """A hub's login needs secrets only the operators can add: they are told (and webhooks)."""
    hub = row.hub
    emit(
        "hub.credentials_needed",
        {"hub": payloads.hub_data(hub), "credentials": credentials_data(row)},
        hub_id=hub.pk,
    )
    after_commit(credentials_mail, row.pk)


def credentials_added(hub: Hub, *, first: bool) -> None:
    """The hub's credentials are in and it is active; `first`: it was never live before."""
    data = {"hub": payloads.hub_data(hub)}
    emit("hub.credentials_added", data, hub_id=hub.pk)
    if first:
        emit("hub.live", data, hub_id=hub.pk)
        after_commit(live_mail, hub.pk)


def credentials_data(row: PendingCredentials) -> dict[str, Any]:
    return {
        "file": row.path,
        "keys": list(row.keys),
        "provider": row.provider,
        "who_acts": "operators",
        "pending": row.done_at is None,
        "done_at": row.done_at.isoformat() if row.done_at else None,
        "done_note": row.done_note,
    }


# --- email, after commit ------------------------------------------------------------------


def credentials_mail(row_id: int) -> None:
    row = (
        PendingCredentials.objects.select_related("hub__cluster", "hub__request")
        .filter(pk=row_id, done_at__isnull=True)
        .first()
    )
    if row is None:
        return
    hub = row.hub
    mail.send(
        audiences.operators(),
        category="operations",
        template="operators/credentials_needed",
        subject=f"{hub.cluster.slug}/{hub.name} needs its login secrets in {row.path}",
        context={"hub": hub, "row": row, "what": what_it_is(row.provider)},
    )


def live_mail(hub_id: int) -> None:
    hub = Hub.objects.select_related("cluster", "request__requester").filter(pk=hub_id).first()
    if hub is None:
        return
    mail.send(
        audiences.hub_admins(hub),
        category="hub_status",
        template="hub_admins/hub_live",
        subject=f"{hub.display_name or hub.name} is live at {hub.domain}",
        context={"hub": hub, "how_to_log_in": describe.how_to_log_in(hub.spec)},
    )


def failure_mail(deployment_id: int) -> None:
    deployment = (
        Deployment.objects.select_related(
            "hub__cluster__deploy_target", "hub__request", "revision", "requested_by"
        )
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None:
        return
    hub = deployment.hub
    steps = progress.steps(deployment, deployment.log.all())
    failed_step = next((s.key for s in steps if s.state == "failed"), "")
    running = progress.running_revision(hub)
    context = {
        "hub": hub,
        "deployment": deployment,
        "explanation": progress.explain_failure(deployment, failed_step, running=running),
        "failed_step": next((s.label for s in steps if s.state == "failed"), ""),
    }
    name = hub.display_name or hub.name
    operators = audiences.operators()
    mail.send(
        [u for u in audiences.hub_admins(hub) if u not in operators],
        category="hub_status",
        template="hub_admins/deployment_failed",
        subject=f"{name}: a deployment did not go through",
        context=context,
    )
    mail.send(
        operators,
        category="operations",
        template="operators/deployment_failed",
        subject=f"Deployment {deployment.pk} of {hub.cluster.slug}/{hub.name} failed",
        context=context,
    )


def removed_mail(hub_id: int, actor_id: int | None) -> None:
    hub = Hub.objects.select_related("cluster", "request__requester").filter(pk=hub_id).first()
    if hub is None:
        return
    actor = next((u for u in audiences.hub_admins(hub) if u.pk == actor_id), None)
    mail.send(
        audiences.hub_admins(hub),
        category="hub_status",
        template="hub_admins/hub_removed",
        subject=f"{hub.display_name or hub.name} ({hub.domain}) was removed",
        context={"hub": hub},
        actor=actor,
    )
