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
from hubs.models import Hub, HubRequest, HubRevision
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


def beyond_tier(hub: Hub, checked: Any) -> list[str]:
    """What in a change goes beyond what the hub's tier allows, in plain words ([] if nothing).

    A new tier or purpose changes what the community is given (resources, a
    custom image, more users): that is a reviewer's decision, not the lead's.
    Within the tier, validate_spec already holds the change to its limits.
    """
    found = []
    old_tier = hub.offering.slug if hub.offering is not None else "none"
    if old_tier != checked.offering.slug:
        found.append(f"tier: {old_tier} → {checked.offering.slug}")
    old_purpose = str(hub.spec.get("purpose") or "none")
    if old_purpose != checked.spec.purpose:
        found.append(f"purpose: {old_purpose} → {checked.spec.purpose}")
    return found


@transaction.atomic
def update_hub(hub: Hub, spec: Any, *, by: Any, reason: str = "edited") -> Deployment | HubRequest:
    """Change a live hub's spec: a new revision, rendered, checked and deployed.

    The name and cluster stay (they are the hub's identity in the repository
    and on the cluster). A change within the hub's tier deploys at once; one
    beyond it (another tier or purpose) becomes a request to change the hub,
    which reviewers decide on like any request: that request is returned.
    """
    from hubs.actions import check_draft, create_request
    from hubs.validation import validate_spec

    hub = Hub.objects.select_for_update().select_related("cluster", "offering").get(pk=hub.pk)
    checked = validate_spec(check_draft(spec), hub=hub)
    if checked.spec.dump() == hub.spec:
        raise SpecError({"": ["nothing changed"]})
    beyond = beyond_tier(hub, checked)
    if beyond:
        notes = f"Asked for on the hub's change page ({'; '.join(beyond)}). {reason}"
        return create_request(
            by, checked.spec.dump(), notes=notes[:5000], submit=True, target_hub=hub
        )
    return apply_change(hub, checked, by=by, reason=reason)


def apply_change(hub: Hub, checked: Any, *, by: Any, reason: str) -> Deployment:
    """Deploy `checked` to a live hub as its next revision (the checks are the caller's)."""
    before = hub.spec
    revision = redeploy(hub, checked, by=by, reason=reason)
    spec_ = checked.spec
    Hub.objects.filter(pk=hub.pk).update(
        spec=spec_.dump(),
        display_name=spec_.display_name,
        domain=checked.domain,
        offering=checked.offering,
        event_start=spec_.event.start if spec_.event else None,
        event_end=spec_.event.end if spec_.event else None,
        updated_at=timezone.now(),
    )
    hub.refresh_from_db()
    audit.record(by, hub, "hub.edited", before=before, after=hub.spec, comment=reason)
    return queue_deployment(hub, revision, by=by)


def redeploy(hub: Hub, checked: Any, *, by: Any, reason: str, **extra: Any) -> HubRevision:
    """Move a live hub to updating and make its next revision from `checked`.

    Deployments still queued for it are superseded; the caller queues the new
    revision's. `extra` reaches the templates (see provisioning/events.py).
    """
    from provisioning.actions import create_revision

    _move_hub(hub, HubState.UPDATING, by=by, comment=reason)
    _supersede_queued(hub, by=by, reason="a newer revision replaces it")
    return create_revision(hub, checked, author=by, reason=reason, **extra)


def set_hub_secrets(hub: Hub, values: dict[str, str], *, by: Any) -> list[str]:
    """Attach (or, with "", remove) a hub's secrets; the keys changed. Values are never logged."""
    from hubs.models import HubSecret

    allowed = set(HubSecret.Key.values)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise SpecError({key: ["unknown secret; choose from " + ", ".join(sorted(allowed))]
                         for key in unknown})  # fmt: skip
    errors = {
        key: ["must be at most 4096 characters without line breaks"]
        for key, value in values.items()
        if not isinstance(value, str) or len(value) > 4096 or "\n" in value
    }
    if errors:
        raise SpecError(errors)
    changed = []
    with transaction.atomic():
        for key, value in sorted(values.items()):
            value = value.strip()
            if value:
                HubSecret.objects.update_or_create(
                    hub=hub, key=key, defaults={"value": value, "updated_at": timezone.now()}
                )
            elif not HubSecret.objects.filter(hub=hub, key=key).delete()[0]:
                continue
            changed.append(key)
        if changed:
            # Which secrets changed, never their values.
            audit.record(by, hub, "hub.secrets", comment=", ".join(changed))
    return changed
