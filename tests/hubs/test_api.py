"""The catalog and hub request API end to end, with token authentication."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from hubs import actions
from hubs.models import Cluster, Hub, HubRequest
from hubs.states import RequestState
from tests.conftest import api_client, github_spec, submitted

pytestmark = pytest.mark.django_db

# A hub admin (of others' hubs) is, for requests, like any other lead.
PERSONAS = ("anonymous", "lead", "other_lead", "hub_admin", "reviewer", "operator")


def draft(lead: User, name: str = "bcc", **overrides: Any) -> HubRequest:
    return actions.create_request(lead, github_spec(name=name, **overrides))


# --- the catalog -------------------------------------------------------------


def test_it_lists_the_active_catalog(catalog: None, lead: User) -> None:
    Cluster.objects.filter(slug="aws-us-west2").update(active=False)
    client = api_client(lead)

    clusters = client.get("/api/v1/clusters/").json()["results"]
    offerings = client.get("/api/v1/offerings/").json()["results"]
    images = client.get("/api/v1/images/").json()["results"]

    assert "aws-us-west2" not in [c["slug"] for c in clusters]
    assert "gcp-us-central1" in [c["slug"] for c in clusters]
    assert "kubeconfig" not in clusters[0]
    education = next(o for o in offerings if o["slug"] == "education")
    assert "gcp-us-central1" in education["clusters"]
    assert all("aws-us-west2" not in o["clusters"] for o in offerings)
    assert "scipy-notebook" in [i["slug"] for i in images]


# --- creating ------------------------------------------------------------------


def test_it_creates_a_draft(catalog: None, lead: User) -> None:
    response = api_client(lead).post(
        "/api/v1/requests/", {**github_spec(), "notes": "For our fall course."}, format="json"
    )

    assert response.status_code == 201
    data = response.json()
    assert data["state"] == RequestState.DRAFT
    assert data["requester"] == "alice"
    assert data["spec"]["name"] == "bcc"
    assert data["notes"] == "For our fall course."
    assert HubRequest.objects.get(pk=data["id"]).requester == lead


def test_it_saves_an_incomplete_draft(catalog: None, lead: User) -> None:
    response = api_client(lead).post("/api/v1/requests/", {"name": "bcc"}, format="json")

    assert response.status_code == 201
    assert response.json()["spec"] == {"name": "bcc"}


def test_it_creates_and_submits_at_once(catalog: None, lead: User) -> None:
    response = api_client(lead).post(
        "/api/v1/requests/", {**github_spec(), "submit": True}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["state"] == RequestState.SUBMITTED
    assert response.json()["submitted_at"] is not None


def test_it_refuses_a_bad_spec_field_by_field(catalog: None, lead: User) -> None:
    response = api_client(lead).post(
        "/api/v1/requests/",
        {**github_spec(name="staging", expected_users="many"), "submit": True},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["name"] == ["'staging' is reserved; choose another name"]
    assert errors["expected_users"] == ["must be a whole number"]
    assert not HubRequest.objects.exists()


def test_it_refuses_unknown_top_level_fields(catalog: None, lead: User) -> None:
    client = api_client(lead)
    request = draft(lead)

    created = client.post("/api/v1/requests/", {**github_spec(), "colour": "blue"}, format="json")
    edited = client.patch(f"/api/v1/requests/{request.pk}/", {"submit": True}, format="json")
    withdrawn = client.post(
        f"/api/v1/requests/{request.pk}/withdraw/", {"reason": "no"}, format="json"
    )
    submitted_ = client.post(
        f"/api/v1/requests/{request.pk}/submit/", {"comment": "please"}, format="json"
    )

    assert created.status_code == 400
    assert list(created.json()["errors"]) == ["colour"]
    assert "Unknown field" in created.json()["errors"]["colour"][0]
    assert edited.status_code == 400
    assert list(edited.json()["errors"]) == ["submit"]
    assert withdrawn.status_code == 400
    assert list(withdrawn.json()["errors"]) == ["reason"]
    assert submitted_.status_code == 400
    assert list(submitted_.json()["errors"]) == ["comment"]
    assert HubRequest.objects.get().state == RequestState.DRAFT
    assert HubRequest.objects.count() == 1


def test_it_refuses_unknown_fields_inside_the_spec(catalog: None, lead: User) -> None:
    spec = github_spec(community={"name": "BCC", "colour": "blue"})

    response = api_client(lead).post("/api/v1/requests/", {**spec, "submit": True}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"community.colour": ["unknown field"]}


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"bcc"', b"42", b"null", b"{not json"],
    ids=["list", "string", "number", "null", "malformed"],
)
def test_it_refuses_bodies_that_are_not_json_objects(
    catalog: None, lead: User, body: bytes
) -> None:
    request = draft(lead)
    client = api_client(lead)

    for method, url in [
        (client.post, "/api/v1/requests/"),
        (client.patch, f"/api/v1/requests/{request.pk}/"),
        (client.post, f"/api/v1/requests/{request.pk}/withdraw/"),
    ]:
        response = method(url, body, content_type="application/json")
        assert response.status_code == 400, url
        detail = response.json()["detail"]
        assert ("JSON parse error" if body == b"{not json" else "must be a JSON object") in detail
    assert HubRequest.objects.count() == 1


def test_it_takes_only_json(catalog: None, lead: User) -> None:
    response = api_client(lead).post("/api/v1/requests/", {"name": "bcc"})  # multipart form

    assert response.status_code == 415


def test_it_bounds_notes_and_comments(catalog: None, lead: User, reviewer: User) -> None:
    request = submitted(lead)

    created = api_client(lead).post(
        "/api/v1/requests/", {**github_spec(), "notes": "x" * 5001}, format="json"
    )
    rejected = api_client(reviewer).post(
        f"/api/v1/requests/{request.pk}/reject/", {"comment": "x" * 5001}, format="json"
    )

    assert created.status_code == 400
    assert list(created.json()["errors"]) == ["notes"]
    assert rejected.status_code == 400
    assert list(rejected.json()["errors"]) == ["comment"]
    assert HubRequest.objects.get().state == RequestState.SUBMITTED


# --- listing -------------------------------------------------------------------


def test_it_lists_a_lead_only_their_own_requests(
    catalog: None, lead: User, other_lead: User, reviewer: User, operator: User
) -> None:
    mine = draft(lead, "alices")
    theirs = draft(other_lead, "bobs")

    def ids(user: User) -> list[int]:
        return [r["id"] for r in api_client(user).get("/api/v1/requests/").json()["results"]]

    assert ids(lead) == [mine.pk]
    assert ids(other_lead) == [theirs.pk]
    # Newest first.
    assert ids(reviewer) == [theirs.pk, mine.pk]
    assert ids(operator) == [theirs.pk, mine.pk]


def test_it_filters_by_state(catalog: None, lead: User, reviewer: User) -> None:
    waiting = submitted(lead, name="one")
    draft(lead, "two")
    withdrawn = draft(lead, "three")
    actions.withdraw_request(withdrawn, by=lead)
    client = api_client(reviewer)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/requests/?{query}")
        assert response.status_code == 200
        return [r["id"] for r in response.json()["results"]]

    assert ids("state=submitted") == [waiting.pk]
    assert ids("state=submitted&state=withdrawn") == [withdrawn.pk, waiting.pk]
    assert len(ids("")) == 3
    unknown = client.get("/api/v1/requests/?state=pending")
    assert unknown.status_code == 400
    assert "Unknown state 'pending'" in unknown.json()["errors"]["state"][0]


def test_it_paginates(catalog: None, lead: User) -> None:
    for i in range(3):
        draft(lead, f"hub-{i}")

    page = api_client(lead).get("/api/v1/requests/?page_size=2").json()

    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"] is not None


def test_it_lists_requests_in_constant_queries(
    catalog: None,
    lead: User,
    other_lead: User,
    reviewer: User,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    def add(start: int, count: int) -> None:
        for i in range(start, start + count):
            draft(lead if i % 2 else other_lead, f"hub-{i}")

    approved = submitted(lead, name="approved")
    actions.approve_request(approved, by=reviewer)
    add(0, 4)
    client = api_client(reviewer)
    client.get("/api/v1/requests/")  # its first use records last_used_at (once a minute)

    # The token (with its user), the reviewer check, the count and the page.
    with django_assert_num_queries(4):
        few = client.get("/api/v1/requests/").json()
    add(4, 25)
    with django_assert_num_queries(4):
        many = client.get("/api/v1/requests/").json()

    assert (few["count"], many["count"]) == (5, 30)
    assert len(many["results"]) == 30
    hub = next(r["hub"] for r in many["results"] if r["id"] == approved.pk)
    assert hub["name"] == "approved"


# --- one request -------------------------------------------------------------


def test_it_shows_a_request_to_its_requester_and_reviewers_only(
    catalog: None, lead: User, other_lead: User, reviewer: User
) -> None:
    request = draft(lead)
    url = f"/api/v1/requests/{request.pk}/"

    data = api_client(lead).get(url).json()

    assert data["id"] == request.pk
    assert data["spec"] == github_spec()
    assert data["comments"] == []
    assert data["hub"] is None
    assert api_client(reviewer).get(url).status_code == 200
    # As if it did not exist: ids do not leak.
    assert api_client(other_lead).get(url).status_code == 404
    assert (
        api_client(other_lead).get(url).json()
        == api_client(lead).get("/api/v1/requests/999999/").json()
    )


def test_it_edits_a_draft(catalog: None, lead: User) -> None:
    request = draft(lead)
    url = f"/api/v1/requests/{request.pk}/"

    response = api_client(lead).patch(
        url, {"display_name": "BCC", "domain": None, "notes": "Now with notes."}, format="json"
    )

    assert response.status_code == 200
    request.refresh_from_db()
    assert request.spec == {**github_spec(), "display_name": "BCC"}
    assert request.notes == "Now with notes."
    # Only notes: the spec stays as it is.
    assert api_client(lead).patch(url, {"notes": ""}, format="json").json()["spec"] == request.spec


def test_it_removes_spec_fields_given_as_null(catalog: None, lead: User) -> None:
    request = draft(lead)

    response = api_client(lead).patch(
        f"/api/v1/requests/{request.pk}/", {"allowed_users": None}, format="json"
    )

    assert response.status_code == 200
    assert "allowed_users" not in response.json()["spec"]


def test_it_refuses_edits_once_submitted(catalog: None, lead: User, reviewer: User) -> None:
    request = submitted(lead)
    url = f"/api/v1/requests/{request.pk}/"

    response = api_client(lead).patch(url, {"display_name": "BCC"}, format="json")

    assert response.status_code == 409
    assert response.json()["state"] == RequestState.SUBMITTED
    assert (
        api_client(reviewer).patch(url, {"display_name": "BCC"}, format="json").status_code == 403
    )
    request.refresh_from_db()
    assert request.spec["display_name"] == "Berkeley City College"


def test_it_refuses_a_bad_edit_field_by_field(catalog: None, lead: User) -> None:
    request = draft(lead)

    response = api_client(lead).patch(
        f"/api/v1/requests/{request.pk}/", {"favourite": "blue"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["favourite"]


# --- moving requests on ------------------------------------------------------


def test_it_goes_from_draft_to_approved(catalog: None, lead: User, reviewer: User) -> None:
    request = draft(lead)
    base = f"/api/v1/requests/{request.pk}"

    submit = api_client(lead).post(f"{base}/submit/")
    approve = api_client(reviewer).post(f"{base}/approve/", {"comment": "Welcome!"}, format="json")

    assert submit.status_code == 200
    assert submit.json()["state"] == RequestState.SUBMITTED
    assert approve.status_code == 200
    data = approve.json()
    assert data["state"] == RequestState.APPROVED
    assert data["decided_by"] == "charlie"
    assert [(c["author"], c["body"], c["transition"]) for c in data["comments"]] == [
        ("charlie", "Welcome!", "approved")
    ]
    hub = Hub.objects.get(request=request)
    assert data["hub"] == {"cluster": "gcp-us-central1", "name": "bcc", "state": hub.state}


def test_it_sends_a_request_back_with_a_comment_only(
    catalog: None, lead: User, reviewer: User
) -> None:
    request = submitted(lead)
    url = f"/api/v1/requests/{request.pk}/request-changes/"

    missing = api_client(reviewer).post(url)
    blank = api_client(reviewer).post(url, {"comment": "  "}, format="json")
    sent_back = api_client(reviewer).post(url, {"comment": "Fewer users, please."}, format="json")

    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["comment"]
    assert blank.status_code == 400
    assert sent_back.status_code == 200
    assert sent_back.json()["state"] == RequestState.CHANGES_REQUESTED

    # The requester answers: edit, then submit again.
    edited = api_client(lead).patch(
        f"/api/v1/requests/{request.pk}/", {"expected_users": 20}, format="json"
    )
    again = api_client(lead).post(f"/api/v1/requests/{request.pk}/submit/")
    assert edited.status_code == 200
    assert again.json()["state"] == RequestState.SUBMITTED
    assert again.json()["submission_count"] == 2


def test_it_rejects_and_withdraws(catalog: None, lead: User, reviewer: User) -> None:
    one, two = submitted(lead, name="one"), submitted(lead, name="two")

    uncommented = api_client(reviewer).post(f"/api/v1/requests/{one.pk}/reject/")
    rejected = api_client(reviewer).post(
        f"/api/v1/requests/{one.pk}/reject/", {"comment": "Out of scope."}, format="json"
    )
    withdrawn = api_client(lead).post(
        f"/api/v1/requests/{two.pk}/withdraw/", {"comment": "Not this term."}, format="json"
    )

    # A rejection says why: the requester deserves a reason.
    assert uncommented.status_code == 400
    assert uncommented.json()["errors"] == {"comment": ["say why the request is rejected"]}
    assert rejected.json()["state"] == RequestState.REJECTED
    assert withdrawn.json()["state"] == RequestState.WITHDRAWN
    assert withdrawn.json()["comments"][0]["body"] == "Not this term."


def test_it_answers_409_for_illegal_transitions(catalog: None, lead: User, reviewer: User) -> None:
    request = draft(lead)
    base = f"/api/v1/requests/{request.pk}"

    approve = api_client(reviewer).post(f"{base}/approve/")
    assert api_client(lead).post(f"{base}/withdraw/").status_code == 200
    again = api_client(lead).post(f"{base}/withdraw/")
    submit = api_client(lead).post(f"{base}/submit/")

    assert approve.status_code == 409
    assert approve.json()["state"] == RequestState.DRAFT
    assert "cannot be moved to approved" in approve.json()["detail"]
    assert (again.status_code, submit.status_code) == (409, 409)
    assert again.json()["state"] == RequestState.WITHDRAWN
    assert not Hub.objects.exists()


def test_it_checks_the_whole_spec_on_submit(catalog: None, lead: User) -> None:
    request = actions.create_request(lead, {"name": "staging"})

    response = api_client(lead).post(f"/api/v1/requests/{request.pk}/submit/")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "'staging' is reserved" in errors["name"][0]
    assert errors["cluster"] == ["this field is required"]


def test_it_answers_404_for_an_unknown_action(catalog: None, lead: User) -> None:
    request = draft(lead)

    response = api_client(lead).post(f"/api/v1/requests/{request.pk}/publish/")

    assert response.status_code == 404
    assert "submit" in response.json()["detail"]


# --- who may do what ---------------------------------------------------------

# (method, path, state of alice's request, body, answers for PERSONAS)
MATRIX: list[tuple[str, str, str | None, dict[str, Any] | None, tuple[int, ...]]] = [
    ("get", "/api/v1/clusters/", None, None, (401, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/offerings/", None, None, (401, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/images/", None, None, (401, 200, 200, 200, 200, 200)),
    ("get", "/api/v1/requests/", None, None, (401, 200, 200, 200, 200, 200)),
    ("post", "/api/v1/requests/", None, {"name": "new"}, (401, 201, 201, 201, 201, 201)),
    ("get", "/api/v1/requests/{id}/", "draft", None, (401, 200, 404, 404, 200, 200)),
    ("patch", "/api/v1/requests/{id}/", "draft", {"notes": "Hi"}, (401, 200, 404, 404, 403, 403)),
    ("post", "/api/v1/requests/{id}/submit/", "draft", None, (401, 200, 404, 404, 403, 403)),
    ("post", "/api/v1/requests/{id}/approve/", "submitted", None, (401, 403, 404, 404, 200, 200)),
    (
        "post",
        "/api/v1/requests/{id}/reject/",
        "submitted",
        {"comment": "Not for us."},
        (401, 403, 404, 404, 200, 200),
    ),
    (
        "post",
        "/api/v1/requests/{id}/request-changes/",
        "submitted",
        {"comment": "Fewer users."},
        (401, 403, 404, 404, 200, 200),
    ),
    ("post", "/api/v1/requests/{id}/withdraw/", "submitted", None, (401, 200, 404, 404, 403, 403)),
    # The API's documentation is public (drf-spectacular's SERVE_PERMISSIONS default).
    ("get", "/api/v1/schema/", None, None, (200, 200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize(
    ("method", "path", "state", "body", "expected"),
    MATRIX,
    ids=[f"{m} {p}" for m, p, *_ in MATRIX],
)
def test_it_answers_each_persona_as_the_matrix_says(
    request: pytest.FixtureRequest,
    catalog: None,
    lead: User,
    method: str,
    path: str,
    state: str | None,
    body: dict[str, Any] | None,
    expected: tuple[int, ...],
) -> None:
    answers = []
    for i, persona in enumerate(PERSONAS):
        user = None if persona == "anonymous" else request.getfixturevalue(persona)
        url = path
        if state is not None:
            # A fresh request for each persona: a move changes it.
            hub_request = (submitted if state == "submitted" else draft)(lead, name=f"hub-{i}")
            url = path.format(id=hub_request.pk)
        response = getattr(api_client(user), method)(url, body, format="json")
        answers.append(response.status_code)

    assert dict(zip(PERSONAS, answers, strict=True)) == dict(zip(PERSONAS, expected, strict=True))


# --- tokens and the schema ---------------------------------------------------


def test_it_prints_creates_and_rotates_a_token(lead: User) -> None:
    def run(*args: str) -> str:
        out = StringIO()
        call_command("create_token", *args, stdout=out)
        return out.getvalue().strip()

    first = run("alice", "--name", "nightly")
    second = run("alice", "--name", "nightly")
    assert first != second  # a key is shown once, so each run makes a new one
    rotated = run("alice", "--name", "nightly", "--rotate")
    assert rotated not in (first, second)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {rotated}")
    assert client.get("/api/v1/requests/").status_code == 200
    for old in (first, second):
        client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
        assert client.get("/api/v1/requests/").status_code == 401
    assert lead.api_tokens.filter(revoked_at__isnull=True).get().name == "nightly"


def test_it_refuses_a_token_for_an_unknown_user(db: None) -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("create_token", "nobody")


def test_it_documents_the_endpoints_in_the_schema(lead: User) -> None:
    response = api_client(lead).get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path in [
        "/api/v1/clusters/",
        "/api/v1/offerings/",
        "/api/v1/images/",
        "/api/v1/requests/",
        "/api/v1/requests/{id}/",
        "/api/v1/requests/{id}/{action}/",
    ]:
        assert path in paths, path
    assert set(paths["/api/v1/requests/"]) == {"get", "post"}
    assert set(paths["/api/v1/requests/{id}/"]) == {"get", "patch"}
    action = next(
        p
        for p in paths["/api/v1/requests/{id}/{action}/"]["post"]["parameters"]
        if p["name"] == "action"
    )
    assert set(action["schema"]["enum"]) == {
        "submit", "approve", "reject", "request-changes", "withdraw"
    }  # fmt: skip
    body = schema["components"]["schemas"]["RequestCreateBodyRequest"]["properties"]
    assert {"name", "auth", "notes", "submit"} <= set(body)


def test_the_schema_generates_without_warnings(db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    err = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO(), stderr=err)
    assert "Warning" not in err.getvalue()
