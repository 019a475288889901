"""Issue 12 item 7: drift you can act on.

A hub whose repository was edited by hand shows the diff between the portal's
revision and the repository, and operators either adopt the repository's
version as the next revision or re-push the portal's over it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from hubs.models import AuditEvent, Hub, HubRevision
from hubs.spec import SpecError
from hubs.states import HubState
from provisioning import lifecycle
from provisioning.fleet.drift import check_checkout
from provisioning.fleet.importer import import_checkout
from provisioning.layout.paths import CLUSTERS_DIR
from provisioning.models import Deployment
from tests.conftest import api_client, client_for
from tests.provisioning.test_import import checkout  # noqa: F401 - fixture

VALUES = "config/clusters/cloudbank/bcc.values.yaml"


@pytest.fixture
def drifted(checkout: Path, catalog: None) -> Hub:  # noqa: F811
    import_checkout(checkout)
    values = checkout / CLUSTERS_DIR / "cloudbank" / "bcc.values.yaml"
    values.write_text(values.read_text().replace("guarantee: 384M", "guarantee: 1G"))
    assert check_checkout(checkout, Hub.objects.filter(name="bcc")) != []
    return Hub.objects.get(name="bcc")


def own(hub: Hub, number: int) -> str:
    return str(HubRevision.objects.get(hub=hub, number=number).files["files"][VALUES])


def test_it_keeps_the_repositorys_version_with_the_drift(drifted: Hub) -> None:
    repository = drifted.drift["repository"]
    assert "guarantee: 1G" in repository["files"][VALUES]
    assert repository["entry"]["name"] == "bcc"


def test_it_shows_the_diff_and_the_two_actions_to_operators(
    drifted: Hub, operator: User, reviewer: User
) -> None:
    url = "/hubs/cloudbank/bcc/"
    page = client_for(operator).get(url).content.decode()
    assert "bcc.values.yaml was edited" in page
    assert "-" in page and "guarantee: 1G" in page and "guarantee: 384M" in page
    assert 'id="drift-adopt"' in page and 'id="drift-repush"' in page
    theirs = client_for(reviewer).get(url).content.decode()
    assert "guarantee: 1G" in theirs and 'id="drift-adopt"' not in theirs
    assert "The operators decide which version stays" in theirs


def test_it_adopts_the_repositorys_version_as_a_new_revision(drifted: Hub, operator: User) -> None:
    deployment = lifecycle.adopt_repository(drifted, by=operator)
    drifted.refresh_from_db()
    assert drifted.current_revision == 2 and drifted.drift == {}
    assert drifted.state == HubState.UPDATING
    assert "guarantee: 1G" in own(drifted, 2)
    assert deployment.revision.number == 2
    assert deployment.revision.reason.startswith("adopted the repository's version")
    assert AuditEvent.objects.filter(action="hub.drift_adopted").exists()


def test_it_re_pushes_the_portals_version(drifted: Hub, operator: User) -> None:
    response = client_for(operator).post("/hubs/cloudbank/bcc/drift/", {"action": "repush"})
    assert response.status_code == 302
    drifted.refresh_from_db()
    assert drifted.current_revision == 2 and drifted.drift == {}
    assert own(drifted, 2) == own(drifted, 1)
    assert Deployment.objects.get(hub=drifted).revision.number == 2


def test_it_refuses_to_adopt_a_file_the_repository_lost(
    checkout: Path,  # noqa: F811
    catalog: None,
    operator: User,
) -> None:
    import_checkout(checkout)
    (checkout / CLUSTERS_DIR / "cloudbank" / "bcc.values.yaml").unlink()
    check_checkout(checkout, Hub.objects.filter(name="bcc"))
    hub = Hub.objects.get(name="bcc")
    with pytest.raises(SpecError) as info:
        lifecycle.adopt_repository(hub, by=operator)
    assert "no longer has bcc.values.yaml" in info.value.lines()[0]
    hub.refresh_from_db()
    assert hub.current_revision == 1 and hub.drift


def test_it_acts_on_drift_through_the_api(drifted: Hub, operator: User, reviewer: User) -> None:
    url = "/api/v1/hubs/cloudbank/bcc/drift/"
    shown = api_client(reviewer).get(url).json()
    assert shown["drifted"] is True and shown["revision"] == 1
    [diff] = shown["file_diffs"]
    assert diff["path"] == VALUES and "+" in diff["diff"] and "1G" in diff["diff"]
    assert api_client(reviewer).post(url, {"action": "adopt"}, format="json").status_code == 403
    wrong = api_client(operator).post(url, {"action": "merge"}, format="json")
    assert wrong.status_code == 400 and "action" in wrong.json()["errors"]
    done = api_client(operator).post(url, {"action": "adopt"}, format="json")
    assert done.status_code == 202, done.content
    assert done.json()["revision"] == 2 or done.json()["revision"]["number"] == 2
    again = api_client(operator).post(url, {"action": "repush"}, format="json")
    assert again.status_code in (400, 409)
    assert api_client(operator).get(url).json()["drifted"] is False
