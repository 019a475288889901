"""Named actions on a live hub: roll it back to an earlier revision, or remove it.

Like hubs/actions.py: each runs in a transaction, checks the hub state table
(hubs/states.py) and moves the hub with an update conditional on the state
it read, writes AuditEvents, and queues the deployment that does the work
(provisioning.actions.queue_deployment enqueues it only after commit).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from hubs import audit
from hubs.models import Hub, HubRevision
from hubs.spec import SpecError
from hubs.states import DeploymentState, HubState, IllegalTransition, check
from provisioning.actions import log, queue_deployment
from provisioning.models import Deployment


def _move_hub(hub: Hub, target: str, *, by: Any, comment: str) -> None:
    """Move `hub` from the state it was read in to `target`, or raise IllegalTransition."""
    check("hub", hub.state, target)
    moved = Hub.objects.filter(pk=hub.pk, state=hub.state).update(
        state=target, updated_at=timezone.now()
    )
    if moved != 1:
        current = Hub.objects.values_list("state", flat=True).get(pk=hub.pk)
        raise IllegalTransition(
            "hub", current, target, f"Someone else changed this hub meanwhile; it is now {current}."
        )
    audit.record(by, hub, f"hub.{target}", from_state=hub.state, to_state=target, comment=comment)
    hub.state = target


def _supersede_queued(hub: Hub, *, by: Any, reason: str) -> int:
    """Deployments of `hub` not yet started will not run: `reason` replaces them."""
    count = 0
    for deployment in Deployment.objects.filter(hub=hub, state=DeploymentState.QUEUED):
        check("deployment", deployment.state, DeploymentState.SUPERSEDED)
        moved = Deployment.objects.filter(pk=deployment.pk, state=DeploymentState.QUEUED).update(
            state=DeploymentState.SUPERSEDED, finished_at=timezone.now()
        )
        if moved:
            log(deployment, f"Superseded: {reason}.", step="superseded")
            audit.record(
                by,
                deployment,
                "deployment.superseded",
                from_state=DeploymentState.QUEUED,
                to_state=DeploymentState.SUPERSEDED,
                comment=reason,
            )
            count += 1
    return count


@transaction.atomic
def rollback_hub(hub: Hub, to_revision_number: int, *, by: Any) -> Deployment:
    """Deploy an earlier revision again, as a new revision ("rollback to rN").

    The spec and the rendered files are copied as they were, not rendered
    anew: a rollback brings back exactly what ran then.
    """
    hub = Hub.objects.select_for_update().get(pk=hub.pk)
    old = HubRevision.objects.filter(hub=hub, number=to_revision_number).first()
    if old is None or to_revision_number >= hub.current_revision:
        raise SpecError(
            {
                "revision": [
                    f"choose an earlier revision of this hub (r1 to r{hub.current_revision - 1})"
                ]
            }
        )
    _move_hub(hub, HubState.UPDATING, by=by, comment=f"rollback to r{old.number}")
    number = hub.current_revision + 1
    reason = f"rollback to r{old.number}"
    revision = HubRevision.objects.create(
        hub=hub,
        number=number,
        spec=old.spec,
        files=old.files,
        author=by if by is not None and by.is_authenticated else None,
        reason=reason,
    )
    Hub.objects.filter(pk=hub.pk).update(
        current_revision=number, spec=old.spec, updated_at=timezone.now()
    )
    hub.current_revision, hub.spec = number, old.spec
    audit.record(by, hub, "hub.revision", comment=f"r{number}: {reason}")
    audit.record(by, hub, "hub.rollback", comment=reason, after={"revision": old.number})
    return queue_deployment(hub, revision, by=by)


@transaction.atomic
def decommission_hub(hub: Hub, *, by: Any, confirm_data_loss: bool) -> Deployment:
    """Remove a hub from its cluster, once whoever asks confirms its users' data goes too.

    Deployments of the hub that have not started are superseded, so an
    update queued earlier cannot bring the hub back after its removal.
    """
    hub = Hub.objects.select_for_update().get(pk=hub.pk)
    if not confirm_data_loss:
        raise SpecError(
            {
                "confirm_data_loss": [
                    "Removing the hub deletes its users' home directories and everything else "
                    "stored on it. Back up what must be kept, then confirm."
                ]
            }
        )
    revision = HubRevision.objects.filter(hub=hub, number=hub.current_revision).first()
    if revision is None:
        raise SpecError({"": ["this hub has no revision to remove"]})
    _move_hub(hub, HubState.DECOMMISSIONING, by=by, comment="decommission (data loss confirmed)")
    _supersede_queued(hub, by=by, reason="the hub is being decommissioned")
    return queue_deployment(
        hub,
        revision,
        by=by,
        action=Deployment.Action.DECOMMISSION,
        options={"confirm_data_loss": True},
    )
