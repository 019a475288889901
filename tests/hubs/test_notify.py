"""Email never breaks or blocks the change it reports (and user text stays out of headers)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from hubs import actions
from provisioning.models import Deployment
from tests.conftest import api_client, client_for, github_spec, submitted

pytestmark = pytest.mark.django_db


class BrokenMailServer(BaseEmailBackend):
    """A mail server that fails in a way nobody planned for."""

    def send_messages(self, email_messages: Any) -> int:
        raise RuntimeError("the mail relay fell over")


def test_it_queues_the_deployment_even_when_mail_fails(
    catalog: None,
    lead: User,
    reviewer: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailServer"
    request = submitted(lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(reviewer).post(
            f"/api/v1/requests/{request.pk}/approve/", {}, format="json"
        )

    assert response.status_code == 200
    deployment = Deployment.objects.get(hub__request=request)
    # The enqueue ran although the approval email before it failed: the task has run.
    assert deployment.task_id != ""
    assert deployment.attempts == 1


def test_it_keeps_line_breaks_of_a_draft_out_of_the_subject(
    catalog: None, lead: User, reviewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    draft = actions.create_request(lead, {"display_name": "Evil\nBcc: victim@example.org"})

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(
            f"/requests/{draft.pk}/comment/", {"body": "line one\nline two"}
        )

    assert response.status_code == 302
    assert len(mail.outbox) == 1  # to the reviewer
    assert "\n" not in mail.outbox[0].subject
    assert "Evil Bcc: victim@example.org" in mail.outbox[0].subject
    assert mail.outbox[0].to == [reviewer.email]


def test_it_refuses_a_display_name_on_two_lines(
    catalog: None, lead: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(lead).post(
            "/api/v1/requests/",
            {**github_spec(display_name="Berkeley\nCity College"), "submit": True},
            format="json",
        )

    assert response.status_code == 400
    assert "one line" in response.json()["errors"]["display_name"][0]
    assert mail.outbox == []
