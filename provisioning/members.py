"""Changing a hub's members: preview, check, batch, and deploy as one revision.

The hub's spec (`admins`, `allowed_users`) stays what is rendered. A change
to its members is planned first (hubs/members.py: normalised, checked
against the login provider, to add / present / to remove / invalid), then
queued: merged into the hub's one PendingMembers row and audited at once.
Changes made within PORTAL_MEMBERS_DEBOUNCE seconds of each other are
deployed together: when the batch is due (a delayed task, and beat as the
safety net), `deploy_pending()` applies it to the spec of the day and calls
provisioning.lifecycle.deploy_members for one revision and one deployment,
with a reason such as "allowlist: +25 -3, admins: +1" (with a minus sign).
300 single clicks make one pull request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hubs import audit, identities
from hubs import members as people
from hubs.models import Hub, HubAdmin, PendingMembers
from hubs.spec import EVENT_ONLY_PROVIDERS, MAX_ALLOWED_USERS, HubSpec, SpecError, parse_spec
from hubs.states import HubState, IllegalTransition
from hubs.validation import validate_spec
from portal.commit import after_commit
from provisioning import lifecycle
from provisioning.models import Deployment

log = logging.getLogger(__name__)

DEPLOY_MEMBER_CHANGES = "provisioning.tasks.deploy_member_changes"
ADOPTED = (
    "This hub was adopted from its deploy repository: its admins and allowed users are in its "
    "own files there. Change them in the repository (or ask the operators)."
)


def spec_of(hub: Hub) -> HubSpec:
    """The hub's spec, which member changes need whole (adopted hubs may have a partial one)."""
    if not hub.has_spec:
        raise SpecError({"": [ADOPTED]})
    return parse_spec(hub.spec)


# --- what the hub has, and what is waiting -----------------------------------------------


def pending_of(hub: Hub) -> PendingMembers | None:
    return PendingMembers.objects.filter(hub=hub).first()


def _ops(row: PendingMembers | None) -> dict[str, dict[str, list[str]]]:
    changes = row.changes if row is not None and isinstance(row.changes, dict) else {}
    return {
        role: {
            "add": list((changes.get(role) or {}).get("add") or []),
            "remove": list((changes.get(role) or {}).get("remove") or []),
        }
        for role in people.ROLES
    }


def effective(hub: Hub, row: PendingMembers | None = None) -> dict[str, list[str]]:
    """{role: names} once the waiting changes are deployed (the spec's lists without them)."""
    ops = _ops(row)
    return people.applied(
        people.of_spec(hub.spec),
        {role: ops[role]["add"] for role in people.ROLES},
        {role: ops[role]["remove"] for role in people.ROLES},
    )


class Member(NamedTuple):
    name: str
    role: str
    pending: str = ""  # "add" or "remove" while a change waits to be deployed
    portal_user: str = ""  # the portal user whose sign-in matches this admin


@dataclass
class _Segment:
    names: list[str]
    role: str
    pending: str  # for every name ("add"), or "" (then a name in `gone` is to remove)
    gone: set[str]
    linked: dict[str, str]

    def member(self, name: str) -> Member:
        pending = self.pending or ("remove" if name.lower() in self.gone else "")
        return Member(name, self.role, pending, self.linked.get(name.lower(), ""))


class Listing(Sequence[Member]):
    """The members of a hub as a sequence the Paginator slices: only the page shown
    becomes Member rows (a university hub lists 20,000 names)."""

    def __init__(self, segments: list[_Segment]) -> None:
        self.segments = [segment for segment in segments if segment.names]

    def __len__(self) -> int:
        return sum(len(segment.names) for segment in self.segments)

    @overload
    def __getitem__(self, index: int) -> Member: ...

    @overload
    def __getitem__(self, index: slice) -> list[Member]: ...

    def __getitem__(self, index: int | slice) -> Member | list[Member]:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else list(self)[index : index + 1]
            if not found:
                raise IndexError(index)
            return found[0]
        start, stop, _ = index.indices(len(self))
        out: list[Member] = []
        offset = 0
        for segment in self.segments:
            size = len(segment.names)
            low, high = max(start - offset, 0), min(stop - offset, size)
            if low < high:
                out.extend(segment.member(name) for name in segment.names[low:high])
            offset += size
        return out


def listing(hub: Hub, row: PendingMembers | None, *, role: str = "", search: str = "") -> Listing:
    """The members page and API: the spec's members, with the waiting changes marked."""
    current = people.of_spec(hub.spec)
    ops = _ops(row)
    needle = search.strip().lower()
    segments = []
    for each in people.ROLES:
        if role and role != each:
            continue
        linked = _linked(hub) if each == "admin" and current["admin"] else {}
        names = current[each]
        known = {n.lower() for n in names} if ops[each]["add"] else set()
        adds = [n for n in ops[each]["add"] if n.lower() not in known]
        if needle:
            names = [n for n in names if needle in n.lower()]
            adds = [n for n in adds if needle in n.lower()]
        gone = {n.lower() for n in ops[each]["remove"]}
        segments.append(_Segment(names, each, "", gone, linked))
        segments.append(_Segment(adds, each, "add", set(), {}))
    return Listing(segments)


def _linked(hub: Hub) -> dict[str, str]:
    """{hub admin: the portal user whose sign-in matches it}."""
    return dict(
        HubAdmin.objects.filter(hub=hub, how=HubAdmin.How.IDENTITY).values_list(
            "identity", "user__username"
        )
    )


# --- planning ---------------------------------------------------------------------------


def preview(hub: Hub, entries: list[people.Entry], *, mode: str = "add") -> people.Plan:
    """What `entries` would do to the hub's members (with the waiting changes counted).

    Names to add are checked with the login provider (GitHub: do they exist);
    nothing is changed.
    """
    spec = spec_of(hub)
    current = effective(hub, pending_of(hub))
    draft = people.plan(current, entries, spec, mode=mode)
    new = sorted({line.name for line in draft.by_status("add")})
    lookups = identities.lookup_users(spec, new)
    if not lookups.answers:
        return draft
    return people.plan(
        current, entries, spec, mode=mode, lookups=lookups.answers, note=lookups.note
    )


def refuse_invalid(plan: people.Plan, field: str = "usernames") -> None:
    """For the API's bulk bodies: any invalid entry refuses the whole change (400)."""
    bad = [line for line in plan.lines if line.status == "invalid"]
    errors = {f"{field}[{line.line - 1}]": [line.reason] for line in bad}
    if errors:
        raise SpecError(errors)


# --- queueing a change --------------------------------------------------------------------


@dataclass
class Queued:
    """A change as queued: its plan, the batch it joined, and its deployment if deployed now."""

    plan: people.Plan
    pending: PendingMembers | None
    deployment: Deployment | None


def _merge(
    ops: dict[str, dict[str, list[str]]],
    add: dict[str, list[str]],
    remove: dict[str, list[str]],
) -> dict[str, dict[str, list[str]]]:
    """The batch with `add` and `remove` folded in: the latest word on a name wins."""
    out = {}
    for role in people.ROLES:
        adding = dict.fromkeys(ops[role]["add"])
        removing = dict.fromkeys(ops[role]["remove"])
        for name in add.get(role, ()):
            removing.pop(name, None)
            adding.setdefault(name)
        for name in remove.get(role, ()):
            adding.pop(name, None)
            removing.setdefault(name)
        out[role] = {"add": list(adding), "remove": list(removing)}
    return out


def _check_result(spec: HubSpec, after: dict[str, list[str]]) -> None:
    if not after["admin"] and spec.auth.provider not in EVENT_ONLY_PROVIDERS:
        raise SpecError(
            {"admins": ["A hub keeps at least one admin: add another before removing the last."]}
        )
    if len(after["allowed"]) > MAX_ALLOWED_USERS:
        raise SpecError(
            {"allowed_users": [f"a hub lists at most {MAX_ALLOWED_USERS} allowed users"]}
        )


def apply_plan(hub: Hub, plan: people.Plan, *, by: Any, now: dt.datetime | None = None) -> Queued:
    """Queue what a confirmed plan adds and removes; its invalid lines are left out."""
    add, remove = plan.add, plan.remove
    if not any(add.values()) and not any(remove.values()):
        return Queued(plan=plan, pending=pending_of(hub), deployment=None)
    pending, deployment = _queue(hub, add, remove, by=by, now=now or timezone.now())
    return Queued(plan=plan, pending=pending, deployment=deployment)


def change_members(
    hub: Hub, role: str, names: list[Any], *, mode: str, by: Any, now: dt.datetime | None = None
) -> Queued:
    """Add (mode "add") or remove ("remove") `names` in `role`; any invalid name refuses all.

    (The API's bulk bodies and the members page's one-at-a-time buttons.)
    """
    plan = preview(hub, people.as_entries(names, role), mode=mode)
    refuse_invalid(plan)
    return apply_plan(hub, plan, by=by, now=now)


@transaction.atomic
def _queue(
    hub: Hub,
    add: dict[str, list[str]],
    remove: dict[str, list[str]],
    *,
    by: Any,
    now: dt.datetime,
) -> tuple[PendingMembers | None, Deployment | None]:
    hub = (
        Hub.objects.select_for_update(of=("self",))  # (the tier is an outer join)
        .select_related("cluster", "offering")
        .get(pk=hub.pk)
    )
    if hub.state in (HubState.DECOMMISSIONING, HubState.DECOMMISSIONED):
        raise IllegalTransition(
            "hub", hub.state, HubState.UPDATING, "This hub is being removed; its members stay."
        )
    spec = spec_of(hub)
    row = pending_of(hub)
    before = effective(hub, row)
    ops = _merge(_ops(row), add, remove)
    after = people.applied(
        people.of_spec(hub.spec),
        {role: ops[role]["add"] for role in people.ROLES},
        {role: ops[role]["remove"] for role in people.ROLES},
    )
    _check_result(spec, after)
    change = people.summary(before, after)
    if not change:
        return row, None
    audit.record(
        by,
        hub,
        "hub.members",
        comment=change,
        before=_delta(after, before),  # who had a role and lost it
        after=_delta(before, after),  # who gained one
    )
    window = float(settings.PORTAL_MEMBERS_DEBOUNCE)
    if row is None:
        row = PendingMembers(hub=hub, created_at=now, due_at=now)
    cap = row.created_at + dt.timedelta(seconds=float(settings.PORTAL_MEMBERS_MAX_WAIT))
    row.changes = ops
    row.due_at = min(now + dt.timedelta(seconds=window), max(cap, now))
    row.updated_at = now
    row.error = ""
    if by is not None and by.is_authenticated:
        row.last_author = by
        row.authors = [*[a for a in row.authors if a != by.pk], by.pk]
    row.save()
    if window <= 0 and hub.state == HubState.ACTIVE:
        return None, deploy_pending(hub.pk, by=by, now=now, force=True)
    delay = max(0.0, (row.due_at - now).total_seconds())
    after_commit(remind, hub.pk, delay)
    return row, None


def _delta(old: dict[str, list[str]], new: dict[str, list[str]]) -> dict[str, list[str]]:
    """{spec field: names in `new` and not in `old`} (audit rows stay small)."""
    out = {}
    for role, key in people.FIELDS.items():
        known = {n.lower() for n in old[role]}
        names = [n for n in new[role] if n.lower() not in known]
        if names:
            out[key] = names
    return out


def remind(hub_id: int, delay: float) -> None:
    """Ask a worker to deploy the hub's batch when it is due (beat does it otherwise)."""
    try:
        current_app.tasks[DEPLOY_MEMBER_CHANGES].apply_async((hub_id,), countdown=delay)
    except Exception:
        log.warning("could not schedule the member changes of hub %s; beat will", hub_id)


# --- deploying the batch -------------------------------------------------------------------


def deploy_pending(
    hub_id: int, *, by: Any = None, now: dt.datetime | None = None, force: bool = False
) -> Deployment | None:
    """Deploy the hub's waiting member changes as one revision, once they are due.

    `force` (the "save and deploy" button) does not wait for the window, and
    says why when the hub cannot take a change now (IllegalTransition) or the
    batch does not pass (SpecError). Otherwise a batch that is not due, or a
    hub busy with another deployment, waits for beat's next look.
    """
    now = now or timezone.now()
    with transaction.atomic():
        hub = (
            Hub.objects.select_for_update(of=("self",))
            .select_related("cluster", "offering")
            .filter(pk=hub_id)
            .first()
        )
        row = pending_of(hub) if hub is not None else None
        if hub is None or row is None:
            if force:
                raise SpecError({"": ["No member changes are waiting."]})
            return None
        if not force and (row.due_at > now or row.error):
            return None
        if hub.state != HubState.ACTIVE:
            if force:
                raise IllegalTransition(
                    "hub",
                    hub.state,
                    HubState.UPDATING,
                    f"The hub is {hub.get_state_display().lower()}; the changes wait and are "
                    "deployed once it is active again.",
                )
            return None
        before = people.of_spec(hub.spec)
        after = effective(hub, row)
        reason = people.summary(before, after)
        if not reason:
            row.delete()
            return None
        spec = {**hub.spec, "admins": after["admin"], "allowed_users": after["allowed"]}
        author = by if by is not None else row.last_author
        try:
            with transaction.atomic():
                checked = validate_spec(spec, hub=hub)
                deployment = lifecycle.deploy_members(hub, checked, by=author, reason=reason)
        except SpecError as exc:
            if force:
                raise
            row.error = "; ".join(exc.lines())[:5000]
            row.save(update_fields=["error"])
            audit.record(None, hub, "hub.members_held", comment=row.error[:1000])
            return None
        row.delete()
        return deployment


@transaction.atomic
def discard_pending(hub: Hub, *, by: Any) -> None:
    """Drop the waiting member changes (audited)."""
    row = PendingMembers.objects.select_for_update().filter(hub=hub).first()
    if row is None:
        raise SpecError({"": ["No member changes are waiting."]})
    change = people.summary(people.of_spec(hub.spec), effective(hub, row))
    row.delete()
    audit.record(by, hub, "hub.members_discarded", comment=change or "nothing")


def due(now: dt.datetime | None = None) -> QuerySet[PendingMembers]:
    return PendingMembers.objects.filter(due_at__lte=now or timezone.now(), error="")


def deploy_due(now: dt.datetime | None = None) -> int:
    """Beat: deploy every batch that is due; how many became deployments."""
    deployed = 0
    for hub_id in due(now).values_list("hub_id", flat=True):
        try:
            if deploy_pending(hub_id, now=now) is not None:
                deployed += 1
        except IllegalTransition:
            continue  # another change moved the hub meanwhile: next time
    return deployed
