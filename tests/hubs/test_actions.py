from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from hubs import actions, transitions
from hubs.audit import history
from hubs.models import Hub, HubRequest, Offering
from hubs.spec import SpecError
from hubs.states import HubState, IllegalTransition, RequestState
from provisioning.models import Deployment
from tests.conftest import event_spec, github_spec, submitted

pytestmark = pytest.mark.django_db


def test_it_saves_an_incomplete_draft(catalog, lead):
    request = actions.create_request(lead, {"name": "bcc", "cluster": "gcp-us-central1"})
    assert request.state == RequestState.DRAFT
    assert request.name == "bcc"
    assert request.cluster is not None and request.cluster.slug == "gcp-us-central1"


def test_it_refuses_unknown_fields_in_a_draft(catalog, lead):
    with pytest.raises(SpecError) as exc:
        actions.create_request(lead, {"name": "bcc", "colour": "blue"})
    assert exc.value.errors == {"colour": ["unknown field"]}
    assert not HubRequest.objects.exists()


def test_it_submits_and_emails_reviewers(
    catalog, lead, reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = submitted(lead)
    assert request.state == RequestState.SUBMITTED
    assert request.submission_count == 1
    assert request.submissions.get().spec["name"] == "bcc"
    # The reviewers hear of it; the requester, who acted, does not.
    assert [m.to for m in mail.outbox] == [["charlie@example.org"]]
    assert [e.action for e in history(request)] == ["request.created", "request.submitted"]


def test_it_refuses_an_invalid_submission_and_changes_nothing(catalog, lead):
    with pytest.raises(SpecError) as exc:
        actions.create_request(
            lead, github_spec(expected_users=100000, cluster="nowhere"), submit=True
        )
    assert set(exc.value.errors) == {"cluster", "expected_users"}
    assert not HubRequest.objects.exists()


def test_it_checks_tier_limits(catalog, lead):
    with pytest.raises(SpecError) as exc:
        submitted(lead, expected_users=1000, image={"custom": "quay.io/org/img:1"})
    assert exc.value.errors == {
        "image.custom": ["the Education tier uses catalog images only"],
        "expected_users": ["the Education tier serves at most 500 users"],
    }


def test_it_refuses_a_cluster_the_tier_does_not_allow(catalog, lead):
    with pytest.raises(SpecError) as exc:
        submitted(lead, offering="research-dedicated", purpose="research")
    assert exc.value.errors == {
        "cluster": ["the Research (dedicated cluster) tier does not run on gcp-us-central1"]
    }


def test_it_refuses_an_event_in_the_past(catalog, lead):
    spec = event_spec(event={"start": "2020-01-01T09:00:00Z", "end": "2020-01-02T09:00:00Z"})
    with pytest.raises(SpecError) as exc:
        actions.create_request(lead, spec, submit=True)
    assert exc.value.errors == {"event.start": ["the start must be in the future"]}


def test_it_approves_and_creates_the_hub(
    catalog, lead, reviewer, django_capture_on_commit_callbacks
):
    request = submitted(lead)
    with django_capture_on_commit_callbacks(execute=True):
        hub = actions.approve_request(request, by=reviewer, comment="Welcome!")
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert request.decided_by == reviewer
    assert hub.state == HubState.PROVISIONING
    assert hub.domain == "bcc.us-central1.hubs.example.org"
    assert hub.current_revision == 1
    assert hub.community is not None and list(hub.community.leads.all()) == [lead]
    deployment = Deployment.objects.get(hub=hub)
    assert deployment.revision.number == 1
    # The (eager) task claimed it; what the backend made of it is tested in tests/provisioning.
    assert deployment.log.filter(step="claimed").exists()
    event = history(request).last()
    assert event is not None
    assert (event.actor, event.from_state, event.to_state, event.comment) == (
        reviewer,
        "submitted",
        "approved",
        "Welcome!",
    )


def test_it_approves_a_tier_without_review_at_once(catalog, lead):
    Offering.objects.filter(slug="education").update(requires_review=False)
    request = submitted(lead)
    assert request.state == RequestState.APPROVED
    assert Hub.objects.filter(request=request).exists()


def test_it_does_not_let_a_reviewer_approve_their_own(catalog, reviewer):
    request = submitted(reviewer)
    with pytest.raises(PermissionDenied):
        actions.approve_request(request, by=reviewer)


def test_it_does_not_let_a_lead_approve(catalog, lead, other_lead):
    request = submitted(lead)
    with pytest.raises(PermissionDenied):
        actions.approve_request(request, by=other_lead)


def test_it_refuses_a_second_approval(catalog, lead, reviewer, second_reviewer):
    request = submitted(lead)
    actions.approve_request(request, by=reviewer)
    with pytest.raises(IllegalTransition):
        actions.approve_request(request, by=second_reviewer)
    assert Hub.objects.count() == 1


def test_it_loses_a_race_cleanly(catalog, lead, reviewer):
    request = submitted(lead)
    stale = HubRequest.objects.get(pk=request.pk)
    actions.reject_request(request, by=reviewer, comment="no")
    # `stale` still thinks it is submitted; the conditional update catches it.
    with pytest.raises(IllegalTransition):
        transitions.move(stale, RequestState.APPROVED)
    assert HubRequest.objects.get(pk=request.pk).state == RequestState.REJECTED


def test_it_round_trips_changes_requested(catalog, lead, reviewer):
    request = submitted(lead)
    with pytest.raises(SpecError):
        actions.request_changes(request, by=reviewer, comment="  ")
    actions.request_changes(request, by=reviewer, comment="Please use the research tier")
    request.refresh_from_db()
    assert request.state == RequestState.CHANGES_REQUESTED
    actions.update_request(request, by=lead, spec=github_spec(expected_users=60))
    actions.submit_request(request, by=lead)
    request.refresh_from_db()
    assert request.submission_count == 2
    assert [s.spec["expected_users"] for s in request.submissions.all()] == [40, 60]


def test_it_refuses_edits_after_submission(catalog, lead):
    request = submitted(lead)
    with pytest.raises(IllegalTransition):
        actions.update_request(request, by=lead, spec=github_spec(expected_users=2))


def test_it_withdraws(catalog, lead, other_lead):
    request = submitted(lead)
    with pytest.raises(PermissionDenied):
        actions.withdraw_request(request, by=other_lead)
    actions.withdraw_request(request, by=lead, comment="not needed")
    request.refresh_from_db()
    assert request.state == RequestState.WITHDRAWN
    with pytest.raises(IllegalTransition):
        actions.submit_request(request, by=lead)


def test_it_refuses_a_name_waiting_for_review(catalog, lead, other_lead):
    submitted(lead)
    with pytest.raises(SpecError) as exc:
        submitted(other_lead)
    assert exc.value.errors["name"] == [
        "another request for bcc on gcp-us-central1 is waiting for review"
    ]


def test_it_refuses_an_approval_whose_config_cannot_be_checked(
    catalog, lead, reviewer, settings, tmp_path
):
    settings.PORTAL_UPSTREAM_DIR = tmp_path / "nowhere"
    request = submitted(lead)
    with pytest.raises(SpecError) as exc:
        actions.approve_request(request, by=reviewer)
    [message] = exc.value.errors[""]
    assert message.startswith("the configuration could not be generated: ")
    assert message.endswith("; tell the operators")
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED
    assert not Hub.objects.exists()
