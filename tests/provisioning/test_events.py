"""Event hubs are pre-warmed shortly before the start and removed after the end."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from hubs import actions
from hubs.models import Hub
from hubs.states import HubState
from provisioning.events import PREWARM_REASON, run_schedule
from provisioning.models import Deployment
from tests.conftest import event_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def event_hub(catalog, lead, reviewer) -> Hub:
    request = actions.create_request(lead, event_spec(expected_users=60), submit=True)
    hub = actions.approve_request(request, by=reviewer)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    hub.refresh_from_db()
    return hub


def placeholder_replicas(hub: Hub, number: int) -> int:
    files = hub.revisions.get(number=number).files["files"]
    [values] = [yaml.safe_load(text) for text in files.values()]
    return int(values["nodePlaceholder"]["replicas"])


def test_it_prewarms_an_event_hub_shortly_before_the_start(event_hub, settings):
    settings.PORTAL_EVENT_PREWARM = 3600
    settings.PORTAL_EVENT_MAX_PLACEHOLDERS = 50
    start = event_hub.event_start
    assert placeholder_replicas(event_hub, 1) == 0

    assert run_schedule(now=start - dt.timedelta(hours=2)) == {"prewarmed": [], "removed": []}
    done = run_schedule(now=start - dt.timedelta(minutes=30))
    assert done["prewarmed"] == [str(event_hub)]
    event_hub.refresh_from_db()
    assert (event_hub.current_revision, event_hub.state) == (2, HubState.UPDATING)
    assert event_hub.revisions.get(number=2).reason == PREWARM_REASON
    # The expected 60 users, within the cap of 50.
    assert placeholder_replicas(event_hub, 2) == 50
    assert Deployment.objects.filter(hub=event_hub, revision__number=2, state="queued").exists()

    # Once deployed, it is not pre-warmed twice.
    Hub.objects.filter(pk=event_hub.pk).update(state=HubState.ACTIVE)
    assert run_schedule(now=start - dt.timedelta(minutes=20))["prewarmed"] == []


def test_it_removes_an_event_hub_a_while_after_the_end(event_hub, settings):
    settings.PORTAL_EVENT_TEARDOWN_AFTER = 86400
    end = event_hub.event_end
    assert run_schedule(now=end + dt.timedelta(hours=1))["removed"] == []
    assert run_schedule(now=end + dt.timedelta(days=1, minutes=1))["removed"] == [str(event_hub)]
    event_hub.refresh_from_db()
    assert event_hub.state == HubState.DECOMMISSIONING
    removal = Deployment.objects.get(hub=event_hub, action="decommission")
    assert removal.options == {"confirm_data_loss": True}


def test_it_leaves_other_hubs_alone(catalog, lead, reviewer):
    from tests.conftest import github_spec

    hub = actions.approve_request(
        actions.create_request(lead, github_spec(), submit=True), by=reviewer
    )
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    assert run_schedule(now=far) == {"prewarmed": [], "removed": []}
