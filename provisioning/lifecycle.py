"""A hub's life, as one named function per change: create, change, roll back, remove,
its secrets, and what a finished deployment means for the hub.

Each runs in a transaction, moves the hub with hubs/transitions.py (checked
against the state table, compare-and-set, audited), makes its revision with
provisioning/revisions.py, and records the deployment that does the work,
which provisioning/queue.py enqueues only after commit. The pages, the API,
the approval of a request (through hubs/seams.py), the event schedule and
the deployment state changes all call these, so every rule holds at every door.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from hubs import admins, audit, identities, transitions
from hubs.actions import create_request
from hubs.models import Cluster, Community, Hub, HubRequest, HubRevision, HubSecret
from hubs.spec import SpecError, check_draft
from hubs.states import DeploymentState, HubState, allowed
from hubs.validation import Checked, validate_spec
from portal.commit import after_commit
from portal.text import UNSTORABLE_MESSAGE, unstorable
from provisioning import announce, credentials, revisions
from provisioning.models import Deployment
from provisioning.queue import enqueue
from provisioning.render.inputs import check_inputs
from provisioning.render.renderer import Rendered, cluster_values
from provisioning.render.validate import ConfigError, UpstreamMissing, validate_rendered

MAX_REASON = HubRevision._meta.get_field("reason").max_length or 200

# --- deployments of a revision -------------------------------------------------------


@transaction.atomic
def queue_deployment(
    hub: Hub,
    revision: HubRevision,
    *,
    by: Any,
    action: str = Deployment.Action.APPLY,
    options: dict[str, Any] | None = None,
) -> Deployment:
    """Record a deployment of `revision`, then enqueue it once the record has committed."""
    deployment = Deployment.objects.create(
        hub=hub,
        revision=revision,
        backend=hub.cluster.deploy_mode,
        action=action,
        requested_by=by if by is not None and by.is_authenticated else None,
        options=options or {},
    )
    deployment.add_log(f"Queued {action} of r{revision.number}.", step="queued")
    audit.record(by, deployment, f"deployment.{action}", to_state=deployment.state)
    announce.deployment_event(deployment, "queued")
    after_commit(enqueue, deployment.pk)
    return deployment


def _supersede_queued(hub: Hub, *, by: Any, reason: str) -> int:
    """Deployments of `hub` not yet started will not run: `reason` replaces them."""
    count = 0
    for deployment in Deployment.objects.filter(hub=hub, state=DeploymentState.QUEUED):
        transitions.move(
            deployment,
            DeploymentState.SUPERSEDED,
            by=by,
            comment=reason,
            finished_at=timezone.now(),
        )
        deployment.add_log(f"Superseded: {reason}.", step="superseded")
        count += 1
    return count


def _deploy(
    hub: Hub,
    *,
    by: Any,
    reason: str,
    spec: dict[str, Any],
    files: dict[str, Any],
    author: Any = None,
) -> Deployment:
    """Move a live hub to updating and deploy `spec`/`files` as its next revision.

    `by` decides and deploys it; `author` (if not `by`) asked for it.
    Deployments still queued for the hub are superseded by the new one.
    """
    transitions.move(hub, HubState.UPDATING, by=by, action="hub.updating", comment=reason)
    _supersede_queued(hub, by=by, reason="a newer revision replaces it")
    revision = revisions.record(hub, spec=spec, files=files, author=author or by, reason=reason)
    credentials.note_credentials(hub, revision)
    return queue_deployment(hub, revision, by=by)


# --- create ----------------------------------------------------------------------------


@transaction.atomic
def create_hub(
    request: HubRequest,
    checked: Checked,
    *,
    by: Any,
    deploy: bool = True,
    inputs: Mapping[str, Any] | None = None,
) -> Hub:
    """The hub an approved request asked for: its community, revision r1 and first deployment.

    (Called by hubs.actions.approve_request through hubs/seams.py.) With
    `deploy=False` the hub stays provisioning with r1 recorded and nothing
    queued: an event hub, whose schedule deploys it ahead of its start.
    `inputs` are the per-hub infrastructure values the cluster asks for
    (provisioning/render/inputs.py): each missing or invalid one is refused,
    naming its key and why the cluster needs it, before anything is written.
    """
    given = check_inputs(checked.cluster.conventions, inputs)
    spec = checked.spec
    community = Community.objects.create(
        name=spec.community.name,
        url=spec.community.url or "",
        logo_url=spec.community.logo_url or "",
    )
    community.leads.add(request.requester)
    hub = Hub.objects.create(
        name=spec.name,
        cluster=checked.cluster,
        community=community,
        request=request,
        **revisions.fields_from(spec, checked.cluster),
    )
    audit.record(by, hub, "hub.created", to_state=hub.state, after=hub.spec)
    admins.add_requester(hub, request.requester)  # the hub's first portal admin
    revision = revisions.create_revision(
        hub, checked, author=by or request.requester, reason="initial", inputs=given
    )
    credentials.note_credentials(hub, revision)
    announce.hub_created(hub)
    if deploy:
        queue_deployment(hub, revision, by=by)
    return hub


@transaction.atomic
def adopt_hub(
    cluster: Cluster,
    name: str,
    *,
    spec: dict[str, Any],
    files: dict[str, Any],
    display_name: str,
    domain: str,
) -> Hub:
    """A hub found running in a deploy repository: recorded as active, its files as r1."""
    hub = Hub.objects.create(
        name=name,
        cluster=cluster,
        display_name=display_name,
        domain=domain,
        spec=spec,
        imported=True,
        drift_checked_at=timezone.now(),
    )
    revisions.record(
        hub,
        spec=spec,
        files=files,
        author=None,
        reason="imported",
        fields={"display_name": display_name, "domain": domain},
    )
    transitions.move(hub, HubState.ACTIVE, action="hub.imported")
    return hub


# --- change -----------------------------------------------------------------------------

CHANGED_IN_PORTAL = "changed in the portal"


def beyond_tier(hub: Hub, checked: Checked) -> list[str]:
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
    if unstorable(reason) or len(reason) > MAX_REASON:
        problem = f"must be at most {MAX_REASON} characters and {UNSTORABLE_MESSAGE}"
        raise SpecError({"reason": [problem]})
    # Lock the hub row only: offering is nullable, and PostgreSQL cannot lock the
    # nullable side of an outer join (FOR UPDATE OF).
    hub = (
        Hub.objects.select_for_update(of=("self",))
        .select_related("cluster", "offering")
        .get(pk=hub.pk)
    )
    checked = validate_spec(check_draft(spec), hub=hub)
    if checked.spec.dump() == hub.spec:
        raise SpecError({"": ["nothing changed"]})
    _keep_event_dates(hub, checked)
    # Names the login provider would refuse (hubs/identities.py): only the new ones.
    identities.refuse_unknown(checked.spec, previous=hub.spec)
    beyond = beyond_tier(hub, checked)
    if beyond:
        notes = f"Asked for on the hub's page: {'; '.join(beyond)}."
        if reason not in ("edited", CHANGED_IN_PORTAL):
            notes += f" {reason}"
        return create_request(
            by, checked.spec.dump(), notes=notes[:5000], submit=True, target_hub=hub
        )
    return apply_change(hub, checked, by=by, reason=reason)


def _keep_event_dates(hub: Hub, checked: Checked) -> None:
    """An event's start and end move only with its schedule (extend, end early, the event API).

    Its time zone may change (the same instants, shown elsewhere); the instants may not.
    """
    if hub.event_start is None or checked.spec.event is None:
        return
    event = checked.spec.event
    if (event.start, event.end) != (hub.event_start, hub.event_end):
        raise SpecError(
            {
                "event": [
                    "an event's dates change on its event page (extend it or end it early), "
                    "so its schedule follows"
                ]
            }
        )


@transaction.atomic
def apply_change(
    hub: Hub, checked: Checked, *, by: Any, reason: str, author: Any = None
) -> Deployment:
    """Deploy `checked` to a live hub as its next revision (the checks are the caller's).

    (Also called when reviewers approve a request to change the hub: `by` is
    the reviewer, `author` the person who asked.)
    """
    before = hub.spec
    deployment = _deploy(
        hub,
        by=by,
        reason=reason,
        spec=checked.spec.dump(),
        files=revisions.render_files(hub, checked),
        author=author,
    )
    audit.record(by, hub, "hub.edited", before=before, after=hub.spec, comment=reason)
    return deployment


@transaction.atomic
def deploy_members(hub: Hub, checked: Checked, *, by: Any, reason: str) -> Deployment:
    """Deploy a batch of member changes as the hub's next revision.

    (provisioning/members.py checks and audits each change as it is made and
    calls this once the batch is due; `reason` summarises it.)
    """
    return _deploy(
        hub,
        by=by,
        reason=reason,
        spec=checked.spec.dump(),
        files=revisions.render_files(hub, checked),
    )


@transaction.atomic
def prewarm_hub(hub: Hub, checked: Checked, *, reason: str, **extra: Any) -> Deployment:
    """Deploy the hub's own spec again with template extras (an event's placeholders)."""
    return _deploy(
        hub,
        by=None,
        reason=reason,
        spec=checked.spec.dump(),
        files=revisions.render_files(hub, checked, **extra),
    )


@transaction.atomic
def rollback_hub(hub: Hub, to_revision_number: int, *, by: Any) -> Deployment:
    """Deploy an earlier revision again, as a new revision ("rollback to rN").

    The spec and the rendered files are copied as they were, not rendered
    anew: a rollback brings back exactly what ran then.
    """
    hub = Hub.objects.select_for_update().select_related("cluster").get(pk=hub.pk)
    old = HubRevision.objects.filter(hub=hub, number=to_revision_number).first()
    if old is None or to_revision_number >= hub.current_revision:
        raise SpecError(
            {
                "revision": [
                    f"choose an earlier revision of this hub (r1 to r{hub.current_revision - 1})"
                ]
            }
        )
    reason = f"rollback to r{old.number}"
    deployment = _deploy(hub, by=by, reason=reason, spec=old.spec, files=old.files)
    audit.record(by, hub, "hub.rollback", comment=reason, after={"revision": old.number})
    return deployment


# --- drift: the repository edited by hand (provisioning/fleet/drift.py) ------------------


def _drifted(hub: Hub) -> tuple[Hub, HubRevision, dict[str, Any]]:
    hub = Hub.objects.select_for_update(of=("self",)).select_related("cluster").get(pk=hub.pk)
    current = HubRevision.objects.filter(hub=hub, number=hub.current_revision).first()
    repository = (hub.drift or {}).get("repository") if isinstance(hub.drift, dict) else None
    if current is None or not hub.drift or not isinstance(repository, dict):
        raise SpecError({"": ["the repository matches this hub's revision; nothing to resolve"]})
    return hub, current, repository


@transaction.atomic
def adopt_repository(hub: Hub, *, by: Any) -> Deployment:
    """Take the repository's hand-edited version of a drifted hub as its next revision.

    The files are checked as the deployer builds them first; a file the
    repository no longer has (or its cluster.yaml entry) cannot be adopted:
    re-push the portal's version instead. The spec stays the portal's: a later
    change renders from it again (its preview shows what that would undo).
    """
    hub, current, repository = _drifted(hub)
    recorded = Rendered.from_json(current.files)
    found = repository.get("files")
    files: dict[str, Any] = found if isinstance(found, dict) else {}
    entry = repository.get("entry")
    missing = [path.rsplit("/", 1)[-1] for path, text in files.items() if not isinstance(text, str)]
    if recorded.cluster_entry is not None and not isinstance(entry, dict):
        missing.append("its cluster.yaml entry")
    if missing or not files:
        raise SpecError(
            {
                "": [
                    f"the repository no longer has {', '.join(missing) or 'its files'} (or it is "
                    "too large to keep); re-push the portal's version instead"
                ]
            }
        )
    rendered = Rendered(layout=recorded.layout, files=dict(files), cluster_entry=entry)
    try:
        validate_rendered(rendered, cluster=cluster_values(hub.cluster))
    except ConfigError as exc:
        raise SpecError(
            {
                "": [
                    f"the repository's version does not pass the deployer's checks ({line})"
                    for line in exc.lines()
                ]
            }
        ) from exc
    except UpstreamMissing as exc:
        raise SpecError({"": [f"the repository's version cannot be checked: {exc}"]}) from exc
    summary = str(hub.drift.get("summary") or "edited by hand")
    deployment = _deploy(
        hub,
        by=by,
        reason=f"adopted the repository's version ({summary})"[:MAX_REASON],
        spec=current.spec,
        files=rendered.to_json(),
    )
    Hub.objects.filter(pk=hub.pk).update(drift={})
    audit.record(by, hub, "hub.drift_adopted", comment=summary)
    return deployment


@transaction.atomic
def repush_hub(hub: Hub, *, by: Any) -> Deployment:
    """Write the portal's current revision over a drifted hub's hand edits, as a new revision."""
    hub, current, _ = _drifted(hub)
    summary = str(hub.drift.get("summary") or "edited by hand")
    deployment = _deploy(
        hub,
        by=by,
        reason=f"re-pushed r{current.number} over the repository's edits"[:MAX_REASON],
        spec=current.spec,
        files=current.files,
    )
    Hub.objects.filter(pk=hub.pk).update(drift={})
    audit.record(by, hub, "hub.drift_repushed", comment=summary)
    return deployment


# --- remove ---------------------------------------------------------------------------


@transaction.atomic
def decommission_hub(hub: Hub, *, by: Any, confirm_data_loss: bool) -> Deployment:
    """Remove a hub from its cluster, once whoever asks confirms its users' data goes too.

    Deployments of the hub that have not started are superseded, so an
    update queued earlier cannot bring the hub back after its removal.
    """
    hub = Hub.objects.select_for_update().select_related("cluster").get(pk=hub.pk)
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
    transitions.move(
        hub,
        HubState.DECOMMISSIONING,
        by=by,
        action="hub.decommissioning",
        comment="decommission (data loss confirmed)",
    )
    _supersede_queued(hub, by=by, reason="the hub is being decommissioned")
    return queue_deployment(
        hub,
        revision,
        by=by,
        action=Deployment.Action.DECOMMISSION,
        options={"confirm_data_loss": True},
    )


@transaction.atomic
def close_undeployed_hub(hub: Hub, *, by: Any, reason: str) -> None:
    """A hub that was never deployed (an event cancelled before its schedule deployed it):
    decommissioned at once, as there is nothing on a cluster to remove."""
    hub = Hub.objects.select_for_update().get(pk=hub.pk)
    if Deployment.objects.filter(hub=hub).exists():
        raise SpecError({"": ["this hub was deployed; decommission it instead"]})
    transitions.move(hub, HubState.DECOMMISSIONED, by=by, action="hub.closed", comment=reason)


# --- secrets ---------------------------------------------------------------------------

SETTABLE_SECRETS = (
    HubSecret.Key.OAUTH_CLIENT_ID,
    HubSecret.Key.OAUTH_CLIENT_SECRET,
    HubSecret.Key.SHARED_PASSWORD,
)
MAX_SECRET = 4096


def holds_secrets(hub: Hub) -> bool:
    """Whether the portal keeps this hub's secrets: helm installs only.

    A GitOps hub's secrets live in its sops-encrypted file in the
    infrastructure repository, which the operators manage.
    """
    return bool(hub.cluster.deploy_mode == Cluster.DeployMode.HELM)


GITOPS_SECRETS = (
    "This hub deploys through the infrastructure repository, where its secrets live in its "
    "encrypted secret file; the operators manage that file."
)


@dataclass(frozen=True)
class SecretsSaved:
    changed: list[str]  # the keys set or removed
    retried: Deployment | None  # a failed deployment that runs again with them


@transaction.atomic
def set_hub_secrets(hub: Hub, values: dict[str, str], *, by: Any) -> SecretsSaved:
    """Attach (or, with "", remove) a hub's secrets. Values are never logged or shown.

    Once any is set, the hub's latest deployment, if it is a failed apply (it
    may have failed for want of them), runs again.
    """
    if not holds_secrets(hub):
        raise SpecError({"": [GITOPS_SECRETS]})
    allowed_keys = {str(key) for key in SETTABLE_SECRETS}
    unknown = sorted(set(values) - allowed_keys)
    if unknown:
        choose = "unknown secret; choose from " + ", ".join(sorted(allowed_keys))
        raise SpecError({key: [choose] for key in unknown})
    errors = {
        key: [f"must be at most {MAX_SECRET} characters without line breaks"]
        for key, value in values.items()
        if not isinstance(value, str)
        or len(value) > MAX_SECRET
        or "\n" in value
        or unstorable(value)
    }
    if errors:
        raise SpecError(errors)
    changed = []
    for key, value in sorted(values.items()):
        value = value.strip()
        if value:
            HubSecret.objects.update_or_create(
                hub=hub, key=key, defaults={"value": value, "updated_at": timezone.now()}
            )
        elif not HubSecret.objects.filter(hub=hub, key=key).delete()[0]:
            continue
        changed.append(key)
    retried = None
    if changed:
        # Which secrets changed, never their values.
        audit.record(by, hub, "hub.secrets", comment=", ".join(changed))
        retried = _retry_failed_apply(hub, by=by)
    return SecretsSaved(changed=changed, retried=retried)


def _retry_failed_apply(hub: Hub, *, by: Any) -> Deployment | None:
    """Run the hub's latest deployment again if it is a failed apply (it may have lacked them)."""
    latest = hub.deployments.first()
    if (
        latest is None
        or latest.state != DeploymentState.FAILED
        or latest.action != Deployment.Action.APPLY
    ):
        return None
    retry_deployment(latest, by=by)
    return latest


# --- what a deployment's end means for its hub -----------------------------------------


def retry_deployment(deployment: Deployment, *, by: Any) -> Deployment:
    """A failed deployment queued afresh; its hub back in progress."""
    deployment = Deployment.objects.select_related("hub", "revision").get(pk=deployment.pk)
    transitions.move(
        deployment,
        DeploymentState.QUEUED,
        by=by,
        action="deployment.retried",
        attempts=0,
        error="",
        not_before=None,
        finished_at=None,
        heartbeat_at=timezone.now(),
    )
    who = by.get_username() if by is not None and by.is_authenticated else "the portal"
    deployment.add_log(f"Retried by {who}.", step="queued")
    if deployment.action == Deployment.Action.DECOMMISSION:
        hub_state = HubState.DECOMMISSIONING
    elif deployment.revision.number == 1:
        hub_state = HubState.PROVISIONING
    else:
        hub_state = HubState.UPDATING
    if deployment.hub.state == HubState.FAILED:
        follow_deployment(
            deployment, hub_state, by=by, comment=f"deployment {deployment.pk} retried"
        )
    after_commit(enqueue, deployment.pk)
    return deployment


def deployment_finished(deployment: Deployment, *, succeeded: bool, by: Any, comment: str) -> None:
    """The hub follows its deployment: active (or removed) when it succeeded, else failed.

    Its admins, the operators and the webhooks are told (provisioning/announce.py).
    """
    if not succeeded:
        target = HubState.FAILED
    elif deployment.action == Deployment.Action.DECOMMISSION:
        target = HubState.DECOMMISSIONED
    elif credentials.pending_credentials(deployment.hub_id):
        # Deployed, but nobody can log in until the operators add its secret file.
        target = HubState.AWAITING_CREDENTIALS
        deployment.add_log(
            "Deployed; the hub waits for the operators to add its login secrets.",
            step="credentials",
            level="warning",
        )
    else:
        target = HubState.ACTIVE
    left = follow_deployment(deployment, target, by=by, comment=comment)
    announce.deployment_finished(deployment, succeeded=succeeded, left=left)


def follow_deployment(deployment: Deployment, target: str, *, by: Any, comment: str) -> str | None:
    """Move the deployment's hub to `target`, unless another change has moved it on; the
    state the hub left (None if it did not move).

    A hub removed while its update waited for a merge stays removed; the
    deployment's log says so rather than the late update reviving it.
    """
    hub = Hub.objects.get(pk=deployment.hub_id)
    if hub.state == target:
        return None
    if not allowed("hub", hub.state, target):
        deployment.add_log(
            f"The hub is {hub.get_state_display().lower()}; it stays so.",
            step="hub",
            level="warning",
        )
        return None
    return transitions.move(hub, target, by=by, action=f"hub.{target}", comment=comment)
