"""What the API takes: every string storable, bodies bounded, booleans strict, errors JSON.

The probe's 500s came from a NUL (PostgreSQL refuses it), a lone surrogate
(SQLite cannot encode it) and JSON nested 10,000 deep (RecursionError); each
is now a 400 that names the field, on either database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import RequestFactory, override_settings

from hubs import actions
from hubs.models import HubRequest
from hubs.spec import SpecError, check_draft
from portal.errors import server_error
from tests.conftest import api_client, github_spec, live_hub, submitted

pytestmark = pytest.mark.django_db


def post_raw(client: Any, url: str, text: str, method: str = "post") -> Any:
    return getattr(client, method)(url, data=text, content_type="application/json")


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "ok\udfffok"])
def test_it_refuses_unstorable_text_in_a_draft(catalog: None, lead: Any, bad: str) -> None:
    body = json.dumps({**github_spec(display_name=f"BCC{bad}", admins=[f"a{bad}"]), "notes": bad})

    response = post_raw(api_client(lead), "/api/v1/requests/", body)

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert {"display_name", "admins[0]", "notes"} <= set(errors)
    assert "NUL" in errors["display_name"][0]
    assert not HubRequest.objects.exists()


def test_it_refuses_unstorable_text_in_every_body(catalog: None, lead: Any, reviewer: Any) -> None:
    request = submitted(lead)
    hub = live_hub(lead, reviewer, name="live")
    reviewer_client, lead_client = api_client(reviewer), api_client(lead)
    cases = [
        (reviewer_client, f"/api/v1/requests/{request.pk}/reject/", {"comment": "no\x00"}, "post"),
        (lead_client, f"/api/v1/requests/{request.pk}/", {"notes": "\ud800"}, "patch"),
        (lead_client, f"/api/v1/hubs/{hub.cluster.slug}/live/", {"reason": "\x00"}, "patch"),
        (lead_client, "/api/v1/requests/", {"na\x00me": "x"}, "post"),
    ]
    for client, url, body, method in cases:
        response = post_raw(client, url, json.dumps(body), method)
        assert response.status_code == 400, (url, response.content)
        assert response.json()["detail"] == "The request has invalid fields."


def test_it_refuses_unstorable_text_in_the_domain_too(catalog: None, lead: Any) -> None:
    """Drafts are saved without full validation; check_draft still refuses what cannot be kept."""
    with pytest.raises(SpecError) as caught:
        check_draft({"display_name": "x\x00", "auth": {"github": {"organizations": ["\ud800"]}}})
    assert set(caught.value.errors) == {"display_name", "auth.github.organizations[0]"}
    with pytest.raises(SpecError, match="notes"):
        actions.create_request(lead, {"name": "bcc"}, notes="\x00")
    with pytest.raises(SpecError, match="nests more than"):
        check_draft({"community": {"name": [[[[[[[[[["deep"]]]]]]]]]]}})


def test_it_refuses_json_nested_ten_thousand_deep(lead: Any) -> None:
    body = '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}"

    response = post_raw(api_client(lead), "/api/v1/requests/", body)

    assert response.status_code == 400
    assert "nests more than" in json.dumps(response.json())


def test_it_refuses_a_body_nested_past_the_limit_but_parseable(lead: Any) -> None:
    body = json.dumps({"name": json.loads("[" * 30 + "]" * 30)})

    response = post_raw(api_client(lead), "/api/v1/requests/", body)

    assert response.status_code == 400
    assert "nests more than 20 levels" in json.dumps(response.json())


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_it_answers_413_in_json_for_an_oversize_body(lead: Any) -> None:
    response = post_raw(api_client(lead), "/api/v1/requests/", json.dumps({"notes": "x" * 2000}))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "larger than 1000 bytes" in response.json()["detail"]


def test_it_answers_json_for_unknown_paths_under_the_api(lead: Any) -> None:
    for path in ("/api/v1/nothing/", "/api/v1/requests/abc/", "/api/v2/"):
        response = api_client(lead).get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found: no such endpoint."}
    page = api_client(lead).get("/no-such-page/")
    assert page.status_code == 404
    assert "text/html" in page["Content-Type"]


def test_it_answers_json_for_a_server_error_under_the_api(db: None) -> None:
    response = server_error(RequestFactory().get("/api/v1/requests/"))
    assert response.status_code == 500
    assert json.loads(response.content)["detail"].startswith("Server error")
    assert "text/html" in server_error(RequestFactory().get("/")).headers["Content-Type"]


def test_it_answers_404_not_500_for_a_huge_id(catalog: None, reviewer: Any) -> None:
    client = api_client(reviewer)
    huge = "9" * 25
    for path in (f"/api/v1/requests/{huge}/", f"/api/v1/deployments/{huge}/"):
        assert client.get(path).status_code == 404


# --- booleans are booleans ---------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "false", None])
def test_it_takes_only_a_json_boolean_for_submit(catalog: None, lead: Any, value: Any) -> None:
    response = api_client(lead).post(
        "/api/v1/requests/", {**github_spec(), "submit": value}, format="json"
    )

    assert response.status_code == 400, value
    assert response.json()["errors"]["submit"][0] in (
        "Must be a JSON boolean, true or false.",
        "This field may not be null.",
    )
    assert not HubRequest.objects.exists()


def test_it_takes_only_a_json_boolean_for_confirm_data_loss(
    catalog: None, lead: Any, reviewer: Any
) -> None:
    hub = live_hub(lead, reviewer)
    url = f"/api/v1/hubs/{hub.cluster.slug}/{hub.name}/decommission/"

    response = api_client(lead).post(url, {"confirm_data_loss": "true"}, format="json")

    assert response.status_code == 400
    assert "confirm_data_loss" in response.json()["errors"]


def test_it_takes_only_json_booleans_in_a_spec(catalog: None, lead: Any) -> None:
    spec = github_spec(
        auth={"provider": "cilogon", "cilogon": {"idps": [
            {"entity_id": "https://idp.uni.edu/idp/shibboleth", "allow_all": "yes"}
        ]}},
        admins=["alice@uni.edu"],
    )  # fmt: skip
    response = api_client(lead).post("/api/v1/requests/", {**spec, "submit": True}, format="json")

    assert response.status_code == 400
    assert "auth.cilogon.idps[0].allow_all" in response.json()["errors"]


# --- the API agrees with its OpenAPI document --------------------------------


def test_it_takes_an_empty_comment_on_submit_and_null_notes(catalog: None, lead: Any) -> None:
    client = api_client(lead)
    draft = actions.create_request(lead, github_spec(), notes="first")

    edited = client.patch(f"/api/v1/requests/{draft.pk}/", {"notes": None}, format="json")
    sent = client.post(f"/api/v1/requests/{draft.pk}/submit/", {"comment": ""}, format="json")

    assert edited.status_code == 200 and edited.json()["notes"] == ""
    assert sent.status_code == 200 and sent.json()["state"] == "submitted"
    refused = client.post(f"/api/v1/requests/{draft.pk}/submit/", {"comment": "hi"}, format="json")
    assert refused.status_code == 400


@pytest.mark.parametrize("size", ["abc", "0", "-1", "201", "1.5", "١٢"])
def test_it_refuses_a_junk_page_size(lead: Any, size: str) -> None:
    response = api_client(lead).get("/api/v1/requests/", {"page_size": size})

    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


def test_it_documents_what_can_be_null_or_empty(lead: Any) -> None:
    schema = api_client(lead).get("/api/v1/schema/?format=json").json()["components"]["schemas"]

    request = schema["RequestDetail"]["properties"]
    for field in ("cluster", "offering", "decided_by"):
        assert request[field].get("nullable") is True, field
    assert "format" not in schema["DeploymentDetail"]["properties"]["pr_url"]
    assert schema["PatchedRequestEditBodyRequest"]["properties"]["notes"]["nullable"] is True
    submit = schema["RequestCreateBodyRequest"]["properties"]["submit"]
    assert submit["type"] == "boolean"


@override_settings(DEBUG=True, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_it_answers_json_with_debug_on_too(lead: Any) -> None:
    # `make run` runs with DEBUG on, where Django answers its HTML debug pages.
    client = api_client(lead)
    missing = client.get("/api/v1/nothing/")
    oversize = post_raw(client, "/api/v1/requests/", json.dumps({"notes": "x" * 2000}))

    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found: no such endpoint."}
    assert oversize.status_code == 413
    assert "larger than 1000 bytes" in oversize.json()["detail"]
    assert "text/html" in client.get("/no-such-page/")["Content-Type"]
