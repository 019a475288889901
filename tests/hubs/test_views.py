"""The web pages: the request form, the request page, the review queue, hubs, profile."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hubs import actions
from hubs.forms import RequestForm
from hubs.models import Hub, HubRequest
from hubs.states import RequestState
from tests.conftest import client_for, event_spec, github_spec, make_hub_admin, submitted

pytestmark = pytest.mark.django_db


def form_data(spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What a browser posts for `spec`: the form's own initial values, as strings."""
    data = {}
    for key, value in RequestForm.initial_from(spec).items():
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, dt.datetime):
            data[key] = value.strftime("%Y-%m-%dT%H:%M")
        elif value is not None:
            data[key] = str(value)
    data.update(extra)
    return data


# --- the form ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        github_spec(),
        github_spec(
            auth={
                "provider": "cilogon",
                "cilogon": {
                    "idps": [
                        {
                            "entity_id": "https://idp.example.edu/idp/shibboleth",
                            "allowed_domains": ["example.edu", "cs.example.edu"],
                            "username_claim": "email",
                        },
                        {
                            "entity_id": "http://github.com/login/oauth/authorize",
                            "allow_all": True,
                            "username_claim": "email",
                        },
                    ]
                },
            },
            admins=["ada@example.edu"],
        ),
        github_spec(
            auth={
                "provider": "generic-oidc",
                "generic-oidc": {
                    "authorize_url": "https://id.example.org/authorize",
                    "token_url": "https://id.example.org/token",
                    "userdata_url": "https://id.example.org/userinfo",
                    "username_claim": "sub",
                    "scopes": ["openid", "profile"],
                    "allow_all": True,
                },
            },
            admins=["ada"],
        ),
    ],
    ids=["github", "cilogon", "generic-oidc"],
)
def test_it_turns_form_fields_into_the_spec_and_back(catalog, spec):
    form = RequestForm(form_data(spec))
    assert form.is_valid(), form.errors
    assert form.spec() == spec


def test_it_keeps_event_times_in_the_chosen_zone(catalog):
    form = RequestForm(
        form_data(
            event_spec(),
            event_start="2027-03-01T09:00",
            event_end="2027-03-05T17:00",
            event_timezone="America/New_York",
        )
    )
    assert form.is_valid(), form.errors
    assert form.spec()["event"] == {
        "start": "2027-03-01T09:00:00-05:00",
        "end": "2027-03-05T17:00:00-05:00",
        "timezone": "America/New_York",
    }


def test_it_saves_a_draft_from_the_form(catalog, lead):
    response = client_for(lead).post(
        reverse("hubs:request_new"), {"name": "bcc", "cluster": "gcp-us-central1", "save": "1"}
    )
    request = HubRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request.get_absolute_url()
    assert request.state == RequestState.DRAFT
    assert request.spec == {
        "name": "bcc", "cluster": "gcp-us-central1", "admins": [], "allowed_users": []
    }  # fmt: skip


def test_it_submits_from_the_form(catalog, lead):
    response = client_for(lead).post(
        reverse("hubs:request_new"), form_data(github_spec(), submit="1")
    )
    request = HubRequest.objects.get()
    assert response.status_code == 302
    assert request.state == RequestState.SUBMITTED
    assert request.spec["auth"]["github"]["organizations"] == ["bcc-org", "bcc-org:staff"]


def test_it_shows_each_problem_next_to_its_field_and_saves_nothing(catalog, lead):
    spec = github_spec(
        name="staging",
        auth={"provider": "github", "github": {"organizations": ["good-org", "bad org"]}},
        expected_users=0,
    )
    response = client_for(lead).post(reverse("hubs:request_new"), form_data(spec, submit="1"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["name"] == ["'staging' is reserved; choose another name"]
    assert form.errors["github_organizations"][0].startswith("Line 2: 'bad org' is not")
    assert "expected_users" in form.errors
    assert 'aria-invalid="true"' in response.content.decode()
    assert not HubRequest.objects.exists()


def test_it_asks_for_the_missing_fields_on_submit(catalog, lead):
    response = client_for(lead).post(reverse("hubs:request_new"), {"name": "bcc", "submit": "1"})
    form = response.context["form"]
    for field in ("display_name", "purpose", "offering", "community_name", "auth_provider"):
        assert form.errors[field] == ["This field is required"], field
    assert not HubRequest.objects.exists()


def test_it_shows_html_in_text_fields_escaped(catalog, lead):
    request = actions.create_request(
        lead, {"display_name": "<script>alert(1)</script>", "name": "x"}, notes="<b>hi</b>"
    )
    body = client_for(lead).get(request.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;hi&lt;/b&gt;" in body


def test_it_edits_when_changes_were_requested_and_shows_what_changed(catalog, lead, reviewer):
    request = submitted(lead)
    actions.request_changes(request, by=reviewer, comment="Please use the research tier.")
    client = client_for(lead)
    page = client.get(reverse("hubs:request_edit", args=[request.pk]))
    assert page.context["form"].initial["name"] == "bcc"
    client.post(
        reverse("hubs:request_edit", args=[request.pk]),
        form_data(github_spec(display_name="BCC Data Science"), submit="1"),
    )
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED and request.submission_count == 2
    page = client_for(reviewer).get(request.get_absolute_url())
    assert page.context["changes"] == [
        ("display_name", "Berkeley City College", "BCC Data Science")
    ]
    assert "Please use the research tier." in page.content.decode()


def test_it_does_not_let_a_submitted_request_be_edited(catalog, lead):
    request = submitted(lead)
    response = client_for(lead).post(
        reverse("hubs:request_edit", args=[request.pk]), form_data(github_spec(name="other"))
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.spec["name"] == "bcc"


# --- decisions -------------------------------------------------------------------------


def test_it_approves_from_the_request_page(catalog, lead, reviewer):
    request = submitted(lead)
    client = client_for(reviewer)
    assert "Your decision" in client.get(request.get_absolute_url()).content.decode()
    client.post(
        reverse("hubs:request_action", args=[request.pk, "approve"]), {"comment": "Welcome"}
    )
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    hub = Hub.objects.get(request=request)
    page = client_for(lead).get(request.get_absolute_url()).content.decode()
    assert 'data-state="approved"' in page
    assert hub.domain in page


def test_it_needs_a_comment_to_ask_for_changes(catalog, lead, reviewer):
    request = submitted(lead)
    response = client_for(reviewer).post(
        reverse("hubs:request_action", args=[request.pk, "request-changes"]),
        {"comment": "  "},
        follow=True,
    )
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED
    assert "Comment: say what the requester should change" in response.content.decode()


def test_it_refuses_an_illegal_transition_with_a_clear_message(catalog, lead, reviewer):
    request = actions.create_request(lead, github_spec())
    response = client_for(reviewer).post(
        reverse("hubs:request_action", args=[request.pk, "approve"]), follow=True
    )
    request.refresh_from_db()
    assert request.state == RequestState.DRAFT
    assert "This request is draft; it cannot be moved to approved." in response.content.decode()


def test_it_does_not_let_a_lead_approve(catalog, lead, other_lead):
    request = submitted(lead)
    response = client_for(other_lead).post(
        reverse("hubs:request_action", args=[request.pk, "approve"])
    )
    assert response.status_code == 404
    response = client_for(lead).post(
        reverse("hubs:request_action", args=[request.pk, "approve"]), follow=True
    )
    assert "Only reviewers can decide on requests." in response.content.decode()
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


def test_it_withdraws_and_comments(catalog, lead, reviewer):
    request = submitted(lead)
    client = client_for(lead)
    client.post(reverse("hubs:request_comment", args=[request.pk]), {"body": "One question"})
    client.post(reverse("hubs:request_action", args=[request.pk, "withdraw"]))
    request.refresh_from_db()
    assert request.state == RequestState.WITHDRAWN
    page = client_for(reviewer).get(request.get_absolute_url()).content.decode()
    assert "One question" in page and 'data-state="withdrawn"' in page


# --- the review queue ----------------------------------------------------------------


def make_requests(lead, count: int, prefix: str = "hub") -> None:
    now = timezone.now()
    for i in range(count):
        request = submitted(lead, name=f"{prefix}-{i}")
        HubRequest.objects.filter(pk=request.pk).update(
            submitted_at=now - dt.timedelta(hours=count - i)
        )


def test_it_lists_the_oldest_waiting_first_with_filters(catalog, lead, reviewer):
    make_requests(lead, 3)
    submitted(lead, name="research", offering="research-shared", purpose="research")
    client = client_for(reviewer)
    names = [r.name for r in client.get(reverse("hubs:review_queue")).context["page"]]
    assert names == ["hub-0", "hub-1", "hub-2", "research"]
    page = client.get(reverse("hubs:review_queue"), {"offering": "research-shared"})
    assert [r.name for r in page.context["page"]] == ["research"]
    page = client.get(reverse("hubs:review_queue"), {"state": "approved"})
    assert list(page.context["page"]) == []
    assert "Nothing to review here." in page.content.decode()
    page = client.get(reverse("hubs:review_queue"), {"cluster": "gcp-us-central1"})
    assert len(page.context["page"]) == 4


def test_the_queue_runs_a_constant_number_of_queries(catalog, lead, reviewer):
    client = client_for(reviewer)
    make_requests(lead, 3)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("hubs:review_queue"))
    make_requests(lead, 20, prefix="more")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("hubs:review_queue"))
    assert len(response.context["page"]) == 23
    assert 0 < len(many) == len(few)


def test_the_queue_is_for_reviewers(catalog, lead):
    assert client_for(lead).get(reverse("hubs:review_queue")).status_code == 403


# --- who sees which page ---------------------------------------------------------------

PAGES = ["home", "request_new", "request", "request_edit", "review_queue", "hub_list", "hub",
         "deployment", "operations", "profile"]  # fmt: skip
EXPECTED = {
    #   anonymous, lead, other lead, hub admin (of the hub, not the request), reviewer, operator
    "home": (200, 200, 200, 200, 200, 200),
    "request_new": (302, 200, 200, 200, 200, 200),
    "request": (302, 200, 404, 404, 200, 200),
    "request_edit": (302, 302, 404, 404, 302, 302),
    "review_queue": (302, 403, 403, 403, 200, 200),
    "hub_list": (302, 200, 200, 200, 200, 200),
    "hub": (302, 200, 404, 200, 200, 200),
    "deployment": (302, 200, 404, 200, 200, 200),
    "operations": (302, 403, 403, 403, 403, 200),
    "profile": (302, 200, 200, 200, 200, 200),
}


def test_it_shows_each_page_only_to_whom_it_should(
    catalog, lead, other_lead, hub_admin, reviewer, operator
):
    request = submitted(lead)
    hub = actions.approve_request(request, by=reviewer)
    make_hub_admin(hub, hub_admin, by=lead)
    args: dict[str, list[Any]] = {
        "request": [request.pk],
        "request_edit": [request.pk],
        "hub": [hub.cluster.slug, hub.name],
    }
    for page in PAGES:
        if page == "deployment":
            url = hub.deployments.get().get_absolute_url()
        else:
            url = reverse(f"hubs:{page}", args=args.get(page, []))
        got = tuple(
            client_for(user).get(url).status_code
            for user in (None, lead, other_lead, hub_admin, reviewer, operator)
        )
        assert got == EXPECTED[page], page


def test_the_hub_list_runs_a_constant_number_of_queries(catalog, lead, reviewer):
    client = client_for(reviewer)
    actions.approve_request(submitted(lead, name="one"), by=reviewer)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("hubs:hub_list"))
    for i in range(5):
        actions.approve_request(submitted(lead, name=f"more-{i}"), by=reviewer)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("hubs:hub_list"))
    assert len(response.context["page"]) == 6
    assert 0 < len(many) == len(few)


def test_the_operations_page_lists_drifted_hubs(catalog, lead, reviewer, operator):
    hub = actions.approve_request(submitted(lead), by=reviewer)
    Hub.objects.filter(pk=hub.pk).update(drift={"summary": "bcc.values.yaml differs"})
    page = client_for(operator).get(reverse("hubs:operations")).content.decode()
    assert "bcc.values.yaml differs" in page


# --- profile --------------------------------------------------------------------------


def test_it_creates_shows_once_and_revokes_an_api_token(lead):
    client = client_for(lead)
    response = client.post(reverse("hubs:profile"), {"action": "create", "name": "report"})
    found = re.search(r'value="(hp_[^"]+)"', response.content.decode())
    assert found is not None
    key = found[1]
    assert response["Cache-Control"] == "no-store"
    token = lead.api_tokens.get()
    assert token.name == "report" and key.startswith(f"hp_{token.prefix}_")
    assert key not in client.get(reverse("hubs:profile")).content.decode()
    api = client_for(None).get("/api/v1/requests/", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.status_code == 200
    client.post(reverse("hubs:profile"), {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.status == "revoked"
    api = client_for(None).get("/api/v1/requests/", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.status_code == 401


def test_it_revokes_only_your_own_tokens(lead, other_lead):
    from accounts.tokens import create_token

    token, _ = create_token(other_lead, "bob's")
    response = client_for(lead).post(
        reverse("hubs:profile"), {"action": "revoke", "token": token.pk}
    )
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.status == "active"


def test_staff_retry_a_failed_deployment_from_its_page(
    catalog, lead, reviewer, django_capture_on_commit_callbacks
):
    from provisioning.models import Deployment

    with django_capture_on_commit_callbacks(execute=True):
        hub = actions.approve_request(submitted(lead), by=reviewer)
    deployment = Deployment.objects.get(hub=hub)
    # The seeded clusters have no deploy target here, so the deployment failed.
    assert deployment.state == "failed"
    page = client_for(reviewer).get(deployment.get_absolute_url()).content.decode()
    assert "Retry this deployment" in page
    url = reverse("provisioning:deployment_retry", args=[deployment.pk])
    assert client_for(lead).post(url).status_code == 403
    client_for(reviewer).post(url)
    deployment.refresh_from_db()
    assert deployment.log.filter(message="Retried by charlie.").exists()


def test_it_exports_a_hub_as_a_z2jh_values_file(catalog, lead, other_lead, reviewer):
    import yaml

    hub = actions.approve_request(submitted(lead), by=reviewer)
    url = reverse("hubs:hub_export", args=[hub.cluster.slug, hub.name])
    assert client_for(other_lead).get(url).status_code == 404
    response = client_for(lead).get(url)
    assert response["Content-Disposition"] == 'attachment; filename="bcc.values.yaml"'
    values = yaml.safe_load(response.content)
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "github"
    assert values["hub"]["config"]["Authenticator"]["admin_users"] == ["alice-gh"]


def test_the_hub_list_filters_by_state(catalog, lead, reviewer):
    first = actions.approve_request(submitted(lead, name="first"), by=reviewer)
    actions.approve_request(submitted(lead, name="second"), by=reviewer)
    Hub.objects.filter(pk=first.pk).update(state="active")
    client = client_for(reviewer)
    page = client.get(reverse("hubs:hub_list"), {"state": "active"})
    assert [h.name for h in page.context["page"]] == ["first"]
    assert '<option value="active" selected>' in page.content.decode()
    empty = client.get(reverse("hubs:hub_list"), {"state": "decommissioned"})
    assert "No hubs in this state." in empty.content.decode()


def test_the_queue_pages_keep_their_filters(catalog, lead, reviewer):
    make_requests(lead, 51)
    client = client_for(reviewer)
    first = client.get(reverse("hubs:review_queue"), {"offering": "education"})
    assert len(first.context["page"]) == 50
    link = "?offering=education&amp;state=submitted&amp;page=2"
    assert f'href="{link}"' in first.content.decode()
    second = client.get(reverse("hubs:review_queue") + link.replace("&amp;", "&"))
    assert [r.name for r in second.context["page"]] == ["hub-50"]
