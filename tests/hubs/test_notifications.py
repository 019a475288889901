"""Email that fits each person: per audience, never to whoever acted, categories one turns off."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail

from hubs import actions, audiences, notify
from notifications.models import NotificationPreference
from provisioning import credentials, deployments, lifecycle
from provisioning.models import Deployment
from tests.conftest import client_for, live_hub, submitted

pytestmark = pytest.mark.django_db


def to(address: str) -> list[Any]:
    return [m for m in mail.outbox if m.to == [address]]


def test_reviewers_hear_of_a_submission_and_the_requester_of_the_decision(
    catalog: None, lead: User, reviewer: User, second_reviewer: User, operator: User, capture: Any
) -> None:
    with capture(execute=True):
        request = submitted(lead)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "charlie@example.org", "dana@example.org", "olive@example.org"
    ]  # fmt: skip
    assert "waiting for review" in mail.outbox[0].body
    mail.outbox.clear()

    with capture(execute=True):
        actions.request_changes(request, by=reviewer, comment="Fewer users, please.")

    # Only the requester: not the reviewer who acted, not the others, not the operator.
    [message] = mail.outbox
    assert message.to == ["alice@example.org"]
    assert "asks for changes" in message.body and "Fewer users, please." in message.body
    html, kind = message.alternatives[0]  # type: ignore[attr-defined]
    assert kind == "text/html" and "<blockquote>Fewer users, please.</blockquote>" in html


def test_nobody_is_told_about_their_own_comment(
    catalog: None, lead: User, reviewer: User, capture: Any
) -> None:
    request = submitted(lead)
    with capture(execute=True):
        actions.add_comment(request, by=reviewer, body="Which course is it for?")
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    mail.outbox.clear()
    with capture(execute=True):
        actions.add_comment(request, by=lead, body="Data 8.")
    assert [m.to for m in mail.outbox] == [["charlie@example.org"]]


def test_a_person_can_turn_a_category_off(
    catalog: None, lead: User, reviewer: User, capture: Any
) -> None:
    response = client_for(reviewer).post(
        "/profile/", {"action": "notifications", "on_comments": "on", "on_digest": "on"}
    )
    assert response.status_code == 302
    assert "review" in NotificationPreference.objects.get(user=reviewer).off
    with capture(execute=True):
        submitted(lead)
    assert mail.outbox == []
    page = client_for(reviewer).get("/profile/").content.decode()
    assert 'id="on_review"' in page and 'name="on_digest" id="on_digest" checked' in page


def test_hub_admins_hear_when_their_hub_is_live_and_how_to_log_in(
    catalog: None, lead: User, reviewer: User, capture: Any
) -> None:
    hub = live_hub(lead, reviewer, active=False)
    deployment = Deployment.objects.get(hub=hub)
    claimed = deployments.claim(deployment.pk, "t")
    assert claimed is not None
    with capture(execute=True):
        deployments.mark_succeeded(claimed)
    # A GitOps hub logging in with GitHub waits for its OAuth client (#12 item 5).
    assert to("alice@example.org") == []
    with capture(execute=True):
        credentials.mark_credentials_added(hub, by=None)

    [message] = to("alice@example.org")
    assert "is live" in message.subject
    assert "https://bcc.us-central1.hubs.example.org" in message.body
    assert "log in with GitHub" in message.body and "bcc-org" in message.body


def test_a_failure_reaches_leads_in_plain_words_and_operators_with_the_error(
    catalog: None, lead: User, reviewer: User, operator: User, capture: Any
) -> None:
    hub = live_hub(lead, reviewer, active=False)
    deployment = Deployment.objects.get(hub=hub)
    with capture(execute=True):
        deployments.mark_failed(deployment, "git push: permission denied (publickey)")

    [for_lead] = to("alice@example.org")
    [for_operator] = to("olive@example.org")
    assert "operators have been told" in for_lead.body
    assert "publickey" not in for_lead.body
    assert (
        "publickey" in for_operator.body and f"/deployments/{deployment.pk}/" in for_operator.body
    )


def test_hub_admins_hear_when_their_hub_is_removed_but_not_who_removed_it(
    catalog: None, lead: User, other_lead: User, reviewer: User, capture: Any
) -> None:
    hub = live_hub(lead, reviewer)
    assert hub.community is not None
    hub.community.leads.add(other_lead)
    removal = lifecycle.decommission_hub(hub, by=lead, confirm_data_loss=True)
    claimed = deployments.claim(removal.pk, "t")
    assert claimed is not None
    with capture(execute=True):
        deployments.mark_succeeded(claimed)

    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
    assert "was removed" in mail.outbox[0].subject


def test_reviewers_get_a_daily_digest_of_what_waits(
    catalog: None, lead: User, reviewer: User
) -> None:
    assert notify.review_digest() == 0  # nothing waiting: no email
    submitted(lead, name="one")
    submitted(lead, name="two")
    mail.outbox.clear()

    assert notify.review_digest() == 1
    assert mail.outbox[0].subject == "[Hub Portal] 2 requests waiting for review"


def test_hub_admins_are_those_who_may_manage_the_hub(
    catalog: None, lead: User, other_lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    assert [u.username for u in audiences.hub_admins(hub)] == ["alice"]
    assert hub.community is not None
    hub.community.leads.add(other_lead)
    assert [u.username for u in audiences.hub_admins(hub)] == ["alice", "bob"]


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Any) -> Any:
    return django_capture_on_commit_callbacks
