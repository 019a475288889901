from __future__ import annotations

import itertools

import pytest

from hubs.states import (
    DEPLOYMENT_FINAL,
    DEPLOYMENT_TRANSITIONS,
    HUB_TRANSITIONS,
    REQUEST_FINAL,
    REQUEST_TRANSITIONS,
    DeploymentState,
    HubState,
    IllegalTransition,
    RequestState,
    allowed,
    check,
)


@pytest.mark.parametrize(
    ("table", "choices"),
    [
        (REQUEST_TRANSITIONS, RequestState),
        (HUB_TRANSITIONS, HubState),
        (DEPLOYMENT_TRANSITIONS, DeploymentState),
    ],
)
def test_it_covers_every_state(table, choices):
    assert set(table) == set(choices.values)
    for targets in table.values():
        assert targets <= set(choices.values)


def test_it_follows_the_request_lifecycle_of_the_design():
    path = ["draft", "submitted", "changes_requested", "submitted", "approved"]
    for current, target in itertools.pairwise(path):
        check("request", current, target)
    for final in REQUEST_FINAL:
        assert REQUEST_TRANSITIONS[final] == frozenset()


def test_it_refuses_an_illegal_move_with_plain_words():
    with pytest.raises(IllegalTransition) as exc:
        check("request", "approved", "rejected")
    assert str(exc.value) == "This request is approved; it cannot be moved to rejected."
    assert (exc.value.current, exc.value.target) == ("approved", "rejected")


def test_it_never_leaves_a_decommissioned_hub():
    assert not any(allowed("hub", "decommissioned", s) for s in HubState.values)
    assert allowed("hub", "active", "updating") and allowed("hub", "updating", "active")


def test_it_only_lets_failed_deployments_be_retried():
    for state in DEPLOYMENT_FINAL - {DeploymentState.FAILED}:
        assert DEPLOYMENT_TRANSITIONS[state] == frozenset()
    assert allowed("deployment", "failed", "queued")
