"""Two reviewers approving the same request at the same moment: exactly one approval."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from hubs import actions
from hubs.models import Hub, HubRequest
from hubs.states import IllegalTransition, RequestState
from tests.conftest import github_spec


@pytest.mark.django_db(transaction=True)
def test_it_approves_once_when_two_reviewers_race(catalog, lead, reviewer, second_reviewer):
    request = actions.create_request(lead, github_spec(), submit=True)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user) -> None:
        try:
            barrier.wait()
            actions.approve_request(HubRequest.objects.get(pk=request.pk), by=user)
            outcomes.append("approved")
        except IllegalTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (reviewer, second_reviewer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["approved", "refused"]
    assert Hub.objects.filter(request=request).count() == 1
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
