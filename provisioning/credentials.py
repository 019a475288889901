"""Secrets the portal cannot write: a GitOps hub's sops-encrypted file.

2i2c's hubs keep their OAuth client or shared password in
`config/clusters/<cluster>/enc-<hub>.secret.values.yaml`, which only the
operators can encrypt. A revision whose login needs it records what must be in
it (`note_credentials`: the file its cluster.yaml entry lists, the keys its
login reads); until an operator marks them added, or the merged pull request
carried the file (provisioning/deployments.py), the hub waits for credentials
instead of becoming active (`lifecycle.deployment_finished`).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from hubs import audit, transitions
from hubs.models import Cluster, Hub, HubRevision
from hubs.spec import SpecError
from hubs.states import HubState
from portal.text import UNSTORABLE_MESSAGE, unstorable
from provisioning import announce
from provisioning.layout import paths
from provisioning.models import Deployment, PendingCredentials
from provisioning.render import credentials as keys_for


def pending_credentials(hub_id: int) -> list[PendingCredentials]:
    """What the operators must still add for the hub's login ([] when nothing)."""
    rows = PendingCredentials.objects.filter(hub_id=hub_id, done_at__isnull=True)
    return list(rows.select_related("revision"))


def note_credentials(hub: Hub, revision: HubRevision) -> PendingCredentials | None:
    """Record the secrets `revision`'s login needs in its encrypted file, unless already added.

    GitOps hubs only: the revision's cluster.yaml entry lists the file
    (provisioning/layout/paths.py). The same file and keys added for an
    earlier revision stay added; a new provider's keys are pending again,
    and the operators are told.
    """
    if hub.cluster.deploy_mode != Cluster.DeployMode.GITOPS:
        return None
    files = revision.files if isinstance(revision.files, dict) else {}
    entry = files.get("cluster_entry") if isinstance(files.get("cluster_entry"), dict) else None
    secret = paths.secret_files(hub.cluster.slug, entry)
    auth = revision.spec.get("auth") if isinstance(revision.spec, dict) else None
    provider = str(auth.get("provider") or "") if isinstance(auth, dict) else ""
    keys = keys_for.needed_keys(provider, str((entry or {}).get("helm_chart") or "basehub"))
    if not secret or not keys:
        return None
    rows = list(PendingCredentials.objects.filter(hub=hub))
    if not rows and hub.imported and _had_secret_file(hub, secret[0], provider):
        # Imported with its entry listing this file: it is in the repository already.
        return PendingCredentials.objects.create(
            hub=hub, revision=revision, provider=provider, path=secret[0], keys=keys,
            done_at=timezone.now(), done_note="in the repository when the hub was imported",
        )  # fmt: skip
    same = [row for row in rows if row.path == secret[0] and row.keys == keys]
    if any(row.done_at is not None for row in same):
        return None
    # One pending list at a time: an older provider's keys are no longer what is needed.
    stale = [row.pk for row in rows if row.done_at is None and row not in same]
    PendingCredentials.objects.filter(pk__in=stale).delete()
    row = same[0] if same else None
    if row is None:
        row = PendingCredentials.objects.create(
            hub=hub, revision=revision, provider=provider, path=secret[0], keys=keys
        )
        audit.record(None, hub, "hub.credentials_needed", comment=f"{row.path}: {', '.join(keys)}")
        announce.credentials_needed(row)
    return row


def _had_secret_file(hub: Hub, path: str, provider: str) -> bool:
    """Whether the hub's imported revision (r1) listed `path` for the same login."""
    first = HubRevision.objects.filter(hub=hub, number=1).first()
    files = first.files if first is not None and isinstance(first.files, dict) else {}
    entry = files.get("cluster_entry") if isinstance(files.get("cluster_entry"), dict) else None
    if path not in paths.secret_files(hub.cluster.slug, entry):
        return False
    auth = first.spec.get("auth") if first is not None and isinstance(first.spec, dict) else None
    before = str(auth.get("provider") or "") if isinstance(auth, dict) else ""
    return before in ("", provider)


@transaction.atomic
def mark_credentials_added(hub: Hub, *, by: Any, note: str = "") -> list[PendingCredentials]:
    """The operators added the hub's encrypted secret file: its pending credentials are done,
    and a hub that was waiting only for them becomes active.

    Called by an operator (the hub page's button, the API) or by the merge
    webhook when the merged pull request carried the file (`by` None). The
    caller checks who may (hubs/permissions.py: operators).
    """
    if unstorable(note) or len(note) > 200 or "\n" in note:
        raise SpecError(
            {"note": [f"must be one line of at most 200 characters and {UNSTORABLE_MESSAGE}"]}
        )
    hub = Hub.objects.select_for_update(of=("self",)).get(pk=hub.pk)
    pending = pending_credentials(hub.pk)
    if not pending:
        raise SpecError({"": ["nothing is waiting for credentials on this hub"]})
    who = by.get_username() if by is not None and by.is_authenticated else "the portal"
    note = (note or f"marked added by {who}")[:200]
    now = timezone.now()
    for row in pending:
        PendingCredentials.objects.filter(pk=row.pk).update(
            done_at=now,
            done_by=by if by is not None and by.is_authenticated else None,
            done_note=note,
        )
    audit.record(by, hub, "hub.credentials_added", comment=note)
    latest = hub.deployments.filter(action=Deployment.Action.APPLY).first()
    if latest is not None:
        latest.add_log(f"Login secrets added: {note}.", step="credentials_added")
    if hub.state == HubState.AWAITING_CREDENTIALS:
        transitions.move(
            hub, HubState.ACTIVE, by=by, action="hub.active", comment=f"credentials: {note}"
        )
        first = any(row.revision is not None and row.revision.number == 1 for row in pending)
        announce.credentials_added(hub, first=first)
    return pending
