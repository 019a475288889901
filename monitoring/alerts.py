"""Telling people a hub went down or came back: once each way, after commit.

Called by health.record() inside its transaction when a hub's status crosses
the line: the incident is opened or closed and the AuditEvent written in that
transaction; the outgoing webhooks (`hub.down`, `hub.recovered`, through
notifications.webhooks) are recorded in it and delivered after commit; email
goes to the hub's admins and the operators (hubs.audiences) after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hubs import audiences, audit, mail
from hubs.models import Hub
from hubs.payloads import hub_data
from monitoring.models import HubMonitor, Incident
from notifications import webhooks
from portal.commit import after_commit

# hubs/mail.py's category for news about a hub someone manages.
CATEGORY = "hub_status"


def _people(hub: Hub) -> list[Any]:
    seen: dict[int, Any] = {}
    for user in [*audiences.hub_admins(hub), *audiences.operators()]:
        seen.setdefault(user.pk, user)
    return list(seen.values())


def _send(hub: Hub, template: str, subject: str, context: dict[str, object]) -> None:
    mail.send(
        _people(hub),
        category=CATEGORY,
        template=f"monitoring/{template}",
        subject=subject,
        context={"hub": hub, **context},
    )


def went_down(monitor: HubMonitor, since: dt.datetime) -> None:
    """`monitor`'s hub failed PORTAL_HEALTH_DOWN_AFTER checks in a row: open an incident."""
    hub = monitor.hub
    incident = Incident.objects.create(hub=hub, started_at=since, error=monitor.last_error)
    audit.record(
        None, hub, "hub.down", from_state="up", to_state="down", comment=monitor.last_error
    )
    webhooks.emit(
        "hub.down",
        {
            "hub": hub_data(hub),
            "since": since.isoformat(),
            "failures": monitor.failures,
            "error": monitor.last_error,
            "incident": incident.pk,
        },
        hub_id=hub.pk,
    )
    name = hub.display_name or hub.name
    after_commit(
        _send,
        hub,
        "hub_down",
        f"{name} is down",
        {"since": since, "failures": monitor.failures, "error": monitor.last_error},
    )


def recovered(monitor: HubMonitor, at: dt.datetime) -> None:
    """`monitor`'s hub answers again after being down: close its incident."""
    hub = monitor.hub
    incident = Incident.objects.filter(hub=hub, ended_at__isnull=True).first()
    started = incident.started_at if incident is not None else (monitor.health_since or at)
    if incident is not None:
        Incident.objects.filter(pk=incident.pk).update(ended_at=at)
    audit.record(None, hub, "hub.recovered", from_state="down", to_state="up")
    minutes = max(round((at - started).total_seconds() / 60), 0)
    webhooks.emit(
        "hub.recovered",
        {
            "hub": hub_data(hub),
            "down_since": started.isoformat(),
            "up_since": at.isoformat(),
            "incident": incident.pk if incident is not None else None,
        },
        hub_id=hub.pk,
    )
    name = hub.display_name or hub.name
    after_commit(_send, hub, "hub_recovered", f"{name} is back up", {"at": at, "minutes": minutes})
