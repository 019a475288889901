"""Member changes batched into one revision and one deployment (provisioning/members.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hubs import members as people
from hubs.models import AuditEvent, Cluster, Hub, HubRevision, PendingMembers
from hubs.spec import SpecError
from hubs.states import HubState, IllegalTransition
from provisioning import members
from provisioning.models import Deployment
from provisioning.tasks import deploy_member_changes
from tests.conftest import live_hub

pytestmark = pytest.mark.django_db

SOON = dt.timedelta(seconds=61)


def add(hub, *names, role="allowed", by=None, now=None):
    return members.change_members(hub, role, list(names), mode="add", by=by, now=now)


def test_a_change_waits_out_the_window_then_deploys_as_one_revision(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    now = timezone.now()

    queued = add(hub, "carol", "@Dave", by=lead, now=now)

    assert queued.deployment is None
    assert queued.pending.changes["allowed"] == {"add": ["carol", "dave"], "remove": []}
    assert queued.pending.due_at == now + dt.timedelta(seconds=60)
    hub.refresh_from_db()
    assert (hub.current_revision, hub.spec["allowed_users"]) == (1, [])
    event = AuditEvent.objects.filter(action="hub.members").get()
    assert (event.actor, event.comment) == (lead, "allowlist: +2")
    assert event.after == {"allowed_users": ["carol", "dave"]} and event.before == {}
    assert members.deploy_pending(hub.pk, now=now + dt.timedelta(seconds=30)) is None

    deployment = members.deploy_pending(hub.pk, now=now + SOON)

    hub.refresh_from_db()
    assert deployment is not None
    assert deployment.revision.number == 2
    assert deployment.revision.reason == "allowlist: +2"
    assert deployment.revision.author == lead
    assert hub.spec["allowed_users"] == ["carol", "dave"]
    assert hub.state == HubState.UPDATING
    assert not PendingMembers.objects.exists()


def test_three_hundred_clicks_make_one_deployment(
    catalog, lead, reviewer, django_capture_on_commit_callbacks
):
    hub = live_hub(lead, reviewer)
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for i in range(300):
            add(hub, f"student-{i}", by=lead, now=start + dt.timedelta(seconds=i * 0.1))
    assert len(callbacks) == 300  # each asks a worker to look when the batch is due

    assert members.deploy_due(start + dt.timedelta(seconds=40)) == 0  # not yet due
    assert members.deploy_due(start + dt.timedelta(seconds=30 + 61)) == 1

    assert Deployment.objects.filter(hub=hub).count() == 2  # r1's, and this one
    revision = HubRevision.objects.get(hub=hub, number=2)
    assert revision.reason == "allowlist: +300"
    assert len(revision.spec["allowed_users"]) == 300
    assert AuditEvent.objects.filter(action="hub.members").count() == 300


def test_a_busy_window_is_capped(catalog, lead, reviewer, settings):
    settings.PORTAL_MEMBERS_MAX_WAIT = 120
    hub = live_hub(lead, reviewer)
    start = timezone.now()
    due = []
    for i in range(5):
        at = start + dt.timedelta(seconds=50 * i)
        due.append(add(hub, f"u{i}", by=lead, now=at).pending.due_at - start)
    # Each change pushes the batch back a minute, until it has waited two.
    assert [d.total_seconds() for d in due] == [60, 110, 120, 150, 200]


def test_with_no_window_a_change_deploys_at_once(catalog, lead, reviewer, settings):
    settings.PORTAL_MEMBERS_DEBOUNCE = 0
    hub = live_hub(lead, reviewer)

    queued = add(hub, "carol", role="admin", by=lead)

    assert queued.deployment.revision.reason == "admins: +1"
    assert Hub.objects.get(pk=hub.pk).spec["admins"] == ["alice-gh", "carol"]


def test_the_latest_word_on_a_name_wins(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol"])
    now = timezone.now()
    add(hub, "dave", "erin", by=lead, now=now)
    members.change_members(hub, "allowed", ["dave", "carol"], mode="remove", by=lead, now=now)
    add(hub, "carol", by=lead, now=now)

    deployment = members.deploy_pending(hub.pk, now=now + SOON)

    assert deployment is not None
    assert deployment.revision.spec["allowed_users"] == ["carol", "erin"]
    assert deployment.revision.reason == "allowlist: +1"


def test_an_invalid_name_refuses_a_bulk_change(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)

    with pytest.raises(SpecError) as refused:
        add(hub, "fine", "not/valid", "also fine", by=lead)

    assert list(refused.value.errors) == ["usernames[1]", "usernames[2]"]
    assert not PendingMembers.objects.exists()


def test_the_last_admin_stays(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)

    with pytest.raises(SpecError, match="at least one admin"):
        members.change_members(hub, "admin", ["ALICE-GH"], mode="remove", by=lead)
    add(hub, "carol", role="admin", by=lead)
    members.change_members(hub, "admin", ["alice-gh"], mode="remove", by=lead)
    with pytest.raises(SpecError, match="at least one admin"):
        members.change_members(hub, "admin", ["carol"], mode="remove", by=lead)


def test_a_busy_hub_keeps_its_batch_until_it_is_active_again(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, active=False)  # still provisioning
    now = timezone.now() - SOON
    add(hub, "carol", by=lead, now=now)

    assert members.deploy_due() == 0
    with pytest.raises(IllegalTransition, match="deployed once it is active"):
        members.deploy_pending(hub.pk, by=lead, force=True)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    assert deploy_member_changes.delay().get() == 1  # beat's task


def test_a_batch_that_no_longer_passes_is_held_and_said_why(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    now = timezone.now()
    add(hub, "carol", by=lead, now=now)
    assert hub.offering is not None
    hub.offering.clusters.clear()  # the tier left the hub's cluster meanwhile

    assert members.deploy_due(now + SOON) == 0

    pending = PendingMembers.objects.get(hub=hub)
    assert "does not run on gcp-us-central1" in pending.error
    assert members.deploy_due(now + SOON) == 0  # held until someone acts
    members.discard_pending(hub, by=lead)
    assert AuditEvent.objects.filter(action="hub.members_discarded").exists()


def test_an_adopted_hubs_members_are_its_repositorys(catalog, operator):
    hub = Hub.objects.create(
        name="adopted", cluster=Cluster.objects.get(slug="gcp-us-central1"),
        domain="adopted.example.org", imported=True, state=HubState.ACTIVE,
        spec={"name": "adopted", "admins": ["someone"]},
    )  # fmt: skip

    with pytest.raises(SpecError, match="adopted from its deploy repository"):
        add(hub, "carol", by=operator)
    assert [m.name for m in members.listing(hub, None)] == ["someone"]


def test_the_listing_marks_what_waits(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol", "dave"])
    add(hub, "erin", by=lead)
    members.change_members(hub, "allowed", ["dave"], mode="remove", by=lead)
    row = members.pending_of(hub)

    rows = members.listing(hub, row)

    assert [(m.name, m.role, m.pending) for m in rows] == [
        ("alice-gh", "admin", ""),
        ("carol", "allowed", ""),
        ("dave", "allowed", "remove"),
        ("erin", "allowed", "add"),
    ]
    assert [m.name for m in members.listing(hub, row, role="allowed", search="AR")] == ["carol"]
    assert people.summary(people.of_spec(hub.spec), members.effective(hub, row)) == (
        "allowlist: +1 \u22121"
    )
