"""The members, admins, revisions, activity and bundle API, for every persona."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from rest_framework.test import APIClient

from hubs.models import AdminInvitation, Hub, HubAdmin, PendingMembers
from hubs.states import HubState
from provisioning import lifecycle
from tests.conftest import api_client, github_spec, live_hub, make_hub_admin

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "lead", "other_lead", "hub_admin", "reviewer", "operator")


def url(hub: Hub, suffix: str = "") -> str:
    return f"/api/v1/hubs/{hub.cluster.slug}/{hub.name}/{suffix}"


def csv_import(client: Any, hub: Hub, text: str, query: str = "") -> Any:
    return client.generic(
        "POST", url(hub, f"members/import/{query}"), text.encode(), content_type="text/csv"
    )


def test_it_lists_members_paginated_and_filtered(
    catalog: None, lead: User, reviewer: User, django_assert_max_num_queries: Any
) -> None:
    hub = live_hub(lead, reviewer, allowed_users=[f"student-{i:03d}" for i in range(120)])
    client = api_client(lead)

    with django_assert_max_num_queries(8):
        first = client.get(url(hub, "members/")).json()
    admins = client.get(url(hub, "members/"), {"role": "admin"}).json()
    found = client.get(url(hub, "members/"), {"search": "STUDENT-11"}).json()
    bad = client.get(url(hub, "members/"), {"role": "owner"})

    assert first["count"] == 121 and len(first["results"]) == 50 and first["next"]
    assert first["results"][0] == {
        "username": "alice-gh", "role": "admin", "pending": "", "portal_user": "",
    }  # fmt: skip
    assert [m["username"] for m in admins["results"]] == ["alice-gh"]
    assert found["count"] == 10
    assert bad.status_code == 400 and "role" in bad.json()["errors"]


def test_it_adds_and_removes_in_bulk_and_merges_duplicates(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer, allowed_users=["carol"])
    client = api_client(lead)

    added = client.post(
        url(hub, "members/"),
        {"role": "allowed", "usernames": ["@Dave", "dave", "carol", "erin"]},
        format="json",
    )
    removed = client.delete(
        url(hub, "members/"), {"role": "allowed", "usernames": ["carol"]}, format="json"
    )
    refused = client.post(
        url(hub, "members/"), {"role": "allowed", "usernames": ["ok", "not ok"]}, format="json"
    )

    assert added.status_code == 202
    body = added.json()
    assert body["counts"]["added"] == 2 and body["counts"]["duplicates"] == 1
    assert body["counts"]["present"] == 1
    assert body["pending"]["summary"] == "allowlist: +2"
    assert body["deployment"] is None
    assert removed.json()["pending"]["summary"] == "allowlist: +2 \u22121"
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["usernames[1]"]
    listed = client.get(url(hub, "members/"), {"role": "allowed"}).json()["results"]
    assert [(m["username"], m["pending"]) for m in listed] == [
        ("carol", "remove"), ("dave", "add"), ("erin", "add"),
    ]  # fmt: skip

    deployed = client.post(url(hub, "members/deploy/"))

    assert deployed.status_code == 202
    assert deployed.json()["revision"] == 2
    hub.refresh_from_db()
    assert hub.spec["allowed_users"] == ["dave", "erin"]
    assert client.post(url(hub, "members/deploy/")).status_code == 400  # nothing waits


def test_it_previews_an_import_then_applies_it(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer, allowed_users=["carol", "dave"])
    client = api_client(lead)
    text = "username,role\nCarol,allowed\nerin\n@frank,allowed\nbad/name,allowed\nbob,admin\n"

    preview = csv_import(client, hub, text, "?dry_run=1&mode=replace")

    assert preview.status_code == 200
    data = preview.json()
    assert data["dry_run"] is True
    assert data["counts"] == {
        "added": 3, "present": 1, "removed": 2, "absent": 0, "invalid": 1, "duplicates": 0,
        "not_verified": 3,
    }  # fmt: skip
    invalid = [line for line in data["lines"] if line["status"] == "invalid"]
    assert invalid == [
        {"line": 5, "input": "bad/name", "username": "bad/name", "role": "allowed",
         "status": "invalid", "reason": "'bad/name' is not a GitHub username", "verified": None}
    ]  # fmt: skip
    assert not PendingMembers.objects.exists()

    applied = csv_import(client, hub, text, "?mode=replace")

    assert applied.status_code == 202
    # The file lists both roles, so it replaces both: bob is now the only admin.
    assert applied.json()["pending"]["summary"] == "allowlist: +2 \u22121, admins: +1 \u22121"
    exported = client.get(url(hub, "members/export/"), HTTP_ACCEPT="text/csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    assert exported.content.decode().splitlines() == [
        "username,role", "bob,admin", "carol,allowed", "erin,allowed",
        "frank,allowed",
    ]  # fmt: skip


def test_it_refuses_an_unreadable_import(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer)
    client = api_client(lead)

    no_column = csv_import(client, hub, "name\nx\n")
    bad_mode = csv_import(client, hub, "username\nx\n", "?mode=remove")
    as_json = client.post(url(hub, "members/import/"), {"username": "x"}, format="json")

    assert no_column.status_code == 400 and "username" in no_column.json()["errors"][""][0]
    assert bad_mode.status_code == 400
    assert as_json.status_code == 415


def test_it_invites_an_admin_who_accepts_and_manages_members(
    catalog: None,
    lead: User,
    reviewer: User,
    hub_admin: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    hub = live_hub(lead, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        invited = api_client(lead).post(
            url(hub, "admins/invitations/"), {"email": "hana@example.org"}, format="json"
        )
    assert invited.status_code == 201 and invited.json()["status"] == "pending"
    token = mail.outbox[0].body.split("/invitations/")[1].split("/")[0]
    assert token not in json.dumps(invited.json())
    hana = api_client(hub_admin)
    assert hana.get(url(hub, "members/")).status_code == 404

    accepted = hana.post("/api/v1/invitations/accept/", {"token": token}, format="json")

    assert accepted.status_code == 200 and accepted.json()["how"] == "invited"
    assert (
        hana.post(
            url(hub, "members/"), {"role": "allowed", "usernames": ["zoe"]}, format="json"
        ).status_code
        == 202
    )
    admins = hana.get(url(hub, "admins/")).json()["results"]
    assert [(a["username"], a["how"]) for a in admins] == [
        ("alice", "requester"),
        ("hana", "invited"),
    ]
    again = hana.post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert again.status_code == 400
    assert api_client(lead).delete(url(hub, "admins/hana/")).status_code == 204
    assert hana.get(url(hub)).status_code == 404


def test_it_revokes_an_invitation(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer)
    client = api_client(lead)
    made = client.post(url(hub, "admins/invitations/"), {"email": "x@example.org"}, format="json")

    revoked = client.delete(url(hub, f"admins/invitations/{made.json()['id']}/"))
    again = client.delete(url(hub, f"admins/invitations/{made.json()['id']}/"))

    assert revoked.status_code == 204 and again.status_code == 400
    listed = client.get(url(hub, "admins/invitations/")).json()["results"]
    assert [i["status"] for i in listed] == ["revoked"]
    bad = client.post(url(hub, "admins/invitations/"), {"email": "nope"}, format="json")
    assert bad.status_code == 400


def test_it_compares_revisions_and_rolls_back_one(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer, allowed_users=[f"s{i}" for i in range(150)])
    lifecycle.update_hub(hub, {**hub.spec, "allowed_users": ["s1"], "display_name": "New"}, by=lead)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    client = api_client(lead)

    listed = client.get(url(hub, "revisions/")).json()
    one = client.get(url(hub, "revisions/1/")).json()
    diff = client.get(url(hub, "revisions/2/diff/")).json()
    back = client.get(url(hub, "revisions/1/diff/"), {"against": 2}).json()
    missing = client.get(url(hub, "revisions/9/diff/"))

    assert [r["number"] for r in listed["results"]] == [2, 1] and listed["count"] == 2
    assert listed["results"][0]["reason"] == "edited"
    assert len(one["spec"]["allowed_users"]) == 150 and one["files"]["layout"] == "2i2c"
    assert (diff["from"], diff["to"], diff["summary"]) == ("r1", "r2", "allowlist: \u2212149")
    assert len(diff["lose_access"]) == 149 and "s0" in diff["lose_access"]
    assert diff["other"] == [
        {"path": "display_name", "before": "Berkeley City College", "after": "New"}
    ]
    (values,) = [f for f in diff["files"] if f["path"].endswith("bcc.values.yaml")]
    assert '\n-          - "s0"\n' in values["diff"]
    assert values["diff"].startswith("--- a/config/")
    assert len(back["gain_access"]) == 149
    assert missing.status_code == 404

    rolled = client.post(url(hub, "revisions/1/rollback/"))

    assert rolled.status_code == 202 and rolled.json()["revision"] == 3
    assert Hub.objects.get(pk=hub.pk).spec["allowed_users"][0] == "s0"


def test_it_shows_the_activity_with_before_and_after(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    client = api_client(lead)
    client.post(url(hub, "members/"), {"role": "allowed", "usernames": ["carol"]}, format="json")

    events = client.get(url(hub, "activity/")).json()["results"]

    latest = events[0]
    assert (latest["actor"], latest["action"], latest["comment"]) == (
        "alice", "hub.members", "allowlist: +1",
    )  # fmt: skip
    assert latest["after"] == {"allowed_users": ["carol"]}
    assert {"hub.created", "hub.revision"} <= {e["action"] for e in events}


def test_it_gives_the_bundle_as_a_zip(catalog: None, lead: User, reviewer: User) -> None:
    hub = live_hub(lead, reviewer)

    response = api_client(lead).get(url(hub, "bundle/"), HTTP_ACCEPT="application/zip")

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == [
        "bcc/README.md", "bcc/image.txt", "bcc/members.csv", "bcc/secret.yaml", "bcc/values.yaml",
    ]  # fmt: skip


def test_it_answers_errors_in_json_where_the_answer_would_be_a_zip_or_a_csv(
    catalog: None, lead: User, reviewer: User, other_lead: User
) -> None:
    hub = live_hub(lead, reviewer)

    for path in ("bundle/?format=zip", "members/export/?format=csv"):
        anonymous = APIClient().get(url(hub, path))
        stranger = api_client(other_lead).get(url(hub, path))

        assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"
        assert stranger.status_code == 404 and stranger.json() == {"detail": "No such hub."}


# --- who may do what -----------------------------------------------------------------

# (method, path after the hub's URL, body, answers for PERSONAS). The hub admin was
# invited to each hub and accepted; other_lead is nobody to it.
MEMBERS = {"role": "allowed", "usernames": ["zoe"]}
MATRIX: list[tuple[str, str, Any, tuple[int, ...]]] = [
    ("get", "members/", None, (401, 200, 404, 200, 200, 200)),
    ("post", "members/", MEMBERS, (401, 202, 404, 202, 403, 202)),
    ("delete", "members/", MEMBERS, (401, 202, 404, 202, 403, 202)),
    ("post", "members/import/?dry_run=1", "csv", (401, 200, 404, 200, 403, 200)),
    ("get", "members/export/", None, (401, 200, 404, 200, 200, 200)),
    ("post", "members/deploy/", None, (401, 400, 404, 400, 403, 400)),  # nothing waits
    ("get", "admins/", None, (401, 200, 404, 200, 200, 200)),
    ("delete", "admins/nobody/", None, (401, 404, 404, 404, 403, 404)),
    ("get", "admins/invitations/", None, (401, 200, 404, 200, 403, 200)),
    ("post", "admins/invitations/", {"email": "x@example.org"}, (401, 201, 404, 201, 403, 201)),
    ("get", "revisions/", None, (401, 200, 404, 200, 200, 200)),
    ("get", "revisions/1/", None, (401, 200, 404, 200, 200, 200)),
    ("get", "revisions/2/diff/", None, (401, 200, 404, 200, 200, 200)),
    ("post", "revisions/1/rollback/", None, (401, 202, 404, 202, 403, 202)),
    ("get", "activity/", None, (401, 200, 404, 200, 200, 200)),
    ("get", "bundle/", None, (401, 200, 404, 200, 200, 200)),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body", "expected"), MATRIX, ids=[f"{m} {s}" for m, s, *_ in MATRIX]
)
def test_it_answers_each_persona_as_the_matrix_says(
    request: pytest.FixtureRequest,
    catalog: None,
    lead: User,
    reviewer: User,
    method: str,
    suffix: str,
    body: Any,
    expected: tuple[int, ...],
) -> None:
    answers = []
    for i, persona in enumerate(PERSONAS):
        user = None if persona == "anonymous" else request.getfixturevalue(persona)
        hub = live_hub(lead, reviewer, name=f"hub-{i}", allowed_users=["zoe"])
        lifecycle.update_hub(hub, github_spec(name=hub.name, expected_users=50), by=lead)
        Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
        if persona == "hub_admin":
            assert user is not None
            make_hub_admin(hub, user, by=lead)
        client = api_client(user)
        if body == "csv":
            response = csv_import(
                client, hub, "username\nyves\n", suffix.removeprefix("members/import/")
            )
        else:
            response = getattr(client, method)(url(hub, suffix), body, format="json")
        answers.append(response.status_code)

    assert dict(zip(PERSONAS, answers, strict=True)) == dict(zip(PERSONAS, expected, strict=True))


def test_it_documents_the_new_endpoints_in_the_schema(lead: User) -> None:
    response = api_client(lead).get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    paths = json.loads(response.content)["paths"]
    hub = "/api/v1/hubs/{cluster}/{name}/"
    assert set(paths[hub + "members/"]) == {"get", "post", "delete"}
    assert "text/csv" in paths[hub + "members/import/"]["post"]["requestBody"]["content"]
    for suffix, methods in {
        "members/export/": {"get"},
        "members/deploy/": {"post"},
        "admins/": {"get"},
        "admins/{username}/": {"delete"},
        "admins/invitations/": {"get", "post"},
        "admins/invitations/{id}/": {"delete"},
        "revisions/": {"get"},
        "revisions/{number}/": {"get"},
        "revisions/{number}/diff/": {"get"},
        "revisions/{number}/rollback/": {"post"},
        "activity/": {"get"},
        "bundle/": {"get"},
    }.items():
        assert set(paths[hub + suffix]) == methods, suffix
    assert set(paths["/api/v1/invitations/accept/"]) == {"post"}
    listed = paths[hub + "members/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["$ref"].endswith("PaginatedMemberList")
    assert HubAdmin.objects.count() == 0 and AdminInvitation.objects.count() == 0


def test_it_names_a_bad_item_of_a_list_by_its_path(
    catalog: None, lead: User, reviewer: User
) -> None:
    # Found by `make fuzz`: DRF nests a list item's errors ({"usernames": {"0": [...]}}),
    # which is not the documented {field: [messages]}.
    hub = live_hub(lead, reviewer)

    response = api_client(lead).post(
        url(hub, "members/"), {"role": "admin", "usernames": ["ada", ""]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"usernames.1": ["This field may not be blank."]}
