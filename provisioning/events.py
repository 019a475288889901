"""Event hubs: pre-warmed before the workshop starts, removed after it ends.

An event hub is deployed when it is approved, with no room held for users.
Shortly before the start (PORTAL_EVENT_PREWARM), a new revision raises the
chart's user placeholders so the cluster scales its nodes up before the
first hundred people log in at once. A while after the end
(PORTAL_EVENT_TEARDOWN_AFTER), the hub is removed: that is what the event
tiers offer, and the request form says so. Beat runs `run_schedule()`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hubs import audit
from hubs.models import Hub
from hubs.spec import SpecError
from hubs.states import HubState, IllegalTransition
from hubs.validation import validate_spec
from provisioning import lifecycle
from provisioning.models import Deployment

log = logging.getLogger(__name__)

PREWARM_REASON = "pre-warmed for the event"
TEARDOWN_REASON = "the event ended"


def placeholders(hub: Hub) -> int:
    """How many user pods' worth of room to hold: the expected users, within a cap."""
    expected = int(hub.spec.get("expected_users") or 0)
    return max(0, min(expected, int(settings.PORTAL_EVENT_MAX_PLACEHOLDERS)))


@transaction.atomic
def prewarm_hub(hub: Hub) -> Deployment | None:
    """Deploy the hub again with its placeholders raised; None if it needs none or has them."""
    hub = Hub.objects.select_for_update().select_related("cluster").get(pk=hub.pk)
    current = hub.revisions.filter(number=hub.current_revision).first()
    if current is None or current.reason == PREWARM_REASON or not placeholders(hub):
        return None
    checked = validate_spec(hub.spec, hub=hub)
    deployment = lifecycle.prewarm_hub(
        hub, checked, reason=PREWARM_REASON, placeholder_replicas=placeholders(hub)
    )
    audit.record(None, hub, "hub.prewarmed", comment=f"{placeholders(hub)} placeholders")
    return deployment


def teardown_hub(hub: Hub) -> Deployment:
    """Remove an event hub whose event is over (the event tiers' terms)."""
    return lifecycle.decommission_hub(hub, by=None, confirm_data_loss=True)


def run_schedule(now: dt.datetime | None = None) -> dict[str, list[str]]:
    """Pre-warm the events about to start and remove those long over; what was done."""
    now = now or timezone.now()
    done: dict[str, list[str]] = {"prewarmed": [], "removed": []}
    starting = Hub.objects.filter(
        state=HubState.ACTIVE,
        event_start__isnull=False,
        event_start__lte=now + dt.timedelta(seconds=settings.PORTAL_EVENT_PREWARM),
        event_end__gt=now,
    ).select_related("cluster")
    for hub in starting:
        try:
            if prewarm_hub(hub) is not None:
                done["prewarmed"].append(str(hub))
        except (SpecError, IllegalTransition) as exc:
            log.warning("pre-warming %s: %s", hub, exc)
    over = Hub.objects.filter(
        state__in=(HubState.ACTIVE, HubState.FAILED),
        event_end__isnull=False,
        event_end__lte=now - dt.timedelta(seconds=settings.PORTAL_EVENT_TEARDOWN_AFTER),
    ).select_related("cluster")
    for hub in over:
        try:
            teardown_hub(hub)
            done["removed"].append(str(hub))
        except (SpecError, IllegalTransition) as exc:
            log.warning("removing %s after its event: %s", hub, exc)
    return done
