"""The members, history and activity pages, and who may open them."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hubs.models import AdminInvitation, Hub, HubAdmin, PendingMembers
from hubs.states import HubState
from provisioning import lifecycle, members
from provisioning.models import Deployment
from tests.conftest import client_for, github_spec, live_hub, make_hub_admin

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "lead", "other_lead", "hub_admin", "reviewer", "operator")


def url(name: str, hub: Hub, *args: Any) -> str:
    return reverse(f"hubs:{name}", args=[hub.cluster.slug, hub.name, *args])


def test_the_members_page_of_ten_thousand_is_paginated_in_constant_queries(
    catalog, lead, reviewer, django_assert_max_num_queries
):
    students = [f"student-{i:05d}" for i in range(10_000)]
    hub = live_hub(lead, reviewer, allowed_users=students)
    client = client_for(lead)
    client.get(url("hub_members", hub))  # the session and the like, once

    for query in ({}, {"page": 150}, {"q": "student-0999", "role": "allowed"}):
        with django_assert_max_num_queries(12):
            page = client.get(url("hub_members", hub), query)
        assert page.status_code == 200
    first = client.get(url("hub_members", hub)).context["page"]
    assert (first.paginator.count, first.paginator.num_pages) == (10_001, 201)
    found = client.get(url("hub_members", hub), {"q": "student-0999"}).context["page"]
    assert [m.name for m in found] == [f"student-0999{i}" for i in range(10)]


def test_a_paste_is_previewed_then_confirmed(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol"])
    client = client_for(lead)
    paste = {"source": "paste", "role": "allowed", "mode": "add",
             "text": "@Dave, carol; erin\ndave\nnot/valid"}  # fmt: skip

    preview = client.post(url("hub_members_preview", hub), paste)

    assert preview.status_code == 200
    assert preview.context["counts"]["added"] == 2
    assert preview.context["counts"]["present"] == 1
    assert preview.context["counts"]["duplicates"] == 1
    assert preview.context["counts"]["invalid"] == 1
    body = preview.content.decode()
    assert "Nothing has changed yet" in body and "not a GitHub username" in body
    assert not PendingMembers.objects.exists()

    applied = client.post(url("hub_members_apply", hub), preview.context["payload"], follow=True)

    assert "2 to add, 1 present" in applied.content.decode()
    pending = members.pending_of(hub)
    assert pending is not None and pending.changes["allowed"]["add"] == ["dave", "erin"]


def test_a_csv_import_can_replace_the_list(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol", "dave"])
    upload = SimpleUploadedFile("class.csv", b"username\ncarol\nerin\n", content_type="text/csv")

    preview = client_for(lead).post(
        url("hub_members_preview", hub), {"source": "csv", "mode": "replace", "file": upload}
    )

    assert (preview.context["counts"]["added"], preview.context["counts"]["removed"]) == (1, 1)
    assert [line.name for line in preview.context["plan"].by_status("remove")] == ["dave"]
    assert preview.context["payload"]["text"] == "username\ncarol\nerin\n"
    client_for(lead).post(url("hub_members_apply", hub), preview.context["payload"])
    assert members.effective(hub, members.pending_of(hub))["allowed"] == ["carol", "erin"]


def test_one_at_a_time_then_save_and_deploy_after_seeing_who_loses_access(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol", "dave"])
    client = client_for(lead)
    client.post(url("hub_member_add", hub), {"username": "Erin", "role": "allowed"})
    client.post(url("hub_member_remove", hub), {"username": "carol", "role": "allowed"})
    page = client.get(url("hub_members", hub)).content.decode()
    assert "allowlist: +1 \u22121" in page

    confirm = client.get(url("hub_members_deploy", hub))

    comparison = confirm.context["comparison"]
    assert comparison.access == {"gain": ["erin"], "lose": ["carol"]}
    assert "1 loses access by name" in confirm.content.decode()
    deployed = client.post(url("hub_members_deploy", hub))
    assert deployed.status_code == 302
    hub.refresh_from_db()
    assert hub.spec["allowed_users"] == ["dave", "erin"]
    assert Deployment.objects.filter(hub=hub, revision__number=2).exists()


def test_waiting_changes_can_be_discarded(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    client = client_for(lead)
    client.post(url("hub_member_add", hub), {"username": "zoe", "role": "allowed"})

    client.post(url("hub_members_discard", hub))

    assert not PendingMembers.objects.exists()
    refused = client.post(url("hub_member_add", hub), {"username": "no/pe"}, follow=True)
    assert "not a GitHub username" in refused.content.decode()


def test_the_export_is_a_csv(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol"])

    response = client_for(lead).get(url("hub_members_export", hub))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode() == "username,role\nalice-gh,admin\ncarol,allowed\n"


def test_admins_are_invited_and_removed_on_the_members_page(
    catalog, lead, reviewer, hub_admin, django_capture_on_commit_callbacks
):
    hub = live_hub(lead, reviewer)
    client = client_for(lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("hub_admin_invite", hub), {"email": "hana@example.org"})
    invitation = AdminInvitation.objects.get()
    page = client.get(url("hub_members", hub)).content.decode()
    assert "hana@example.org · pending" in page
    make_hub_admin(hub, hub_admin, by=lead)  # (a second invitation, accepted)

    client.post(url("hub_admin_remove", hub, hub_admin.pk))

    assert not HubAdmin.objects.filter(user=hub_admin).exists()
    client.post(url("hub_invitation_revoke", hub, invitation.pk))
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_the_history_page_compares_any_two_revisions(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer, allowed_users=["carol", "dave"])
    lifecycle.update_hub(hub, {**hub.spec, "allowed_users": ["dave"]}, by=lead)
    Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    hub.refresh_from_db()
    lifecycle.update_hub(hub, {**hub.spec, "display_name": "BCC"}, by=lead)
    client = client_for(lead)

    latest = client.get(url("hub_history", hub))
    chosen = client.get(url("hub_history", hub), {"a": 1, "b": 3})
    same = client.get(url("hub_history", hub), {"a": 2, "b": 2}, follow=True)

    assert latest.context["comparison"].other == [("display_name", "Berkeley City College", "BCC")]
    comparison = chosen.context["comparison"]
    assert (comparison.before, comparison.after, comparison.access["lose"]) == (
        "r1", "r3", ["carol"],
    )  # fmt: skip
    body = chosen.content.decode()
    assert "1 loses access by name" in body and "bcc.values.yaml" in body
    assert "Choose two different revisions" in same.content.decode()


def test_the_activity_page_shows_who_did_what(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)
    client_for(lead).post(url("hub_member_add", hub), {"username": "zoe", "role": "allowed"})

    page = client_for(lead).get(url("hub_activity", hub)).content.decode()

    assert "hub.members" in page and "allowlist: +1" in page and "zoe" in page


def test_the_bundle_page_downloads_a_zip(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)

    response = client_for(lead).get(url("hub_bundle", hub))

    assert response["Content-Type"] == "application/zip"
    assert "bcc/values.yaml" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()


# --- who may open what -------------------------------------------------------------

# (method, page, data, answers for PERSONAS); anonymous people are sent to sign in.
PAGES: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("get", "hub_members", None, (302, 200, 404, 200, 200, 200)),
    ("post", "hub_member_add", {"username": "zoe"}, (302, 302, 404, 302, 403, 302)),
    ("post", "hub_member_remove", {"username": "zoe"}, (302, 302, 404, 302, 403, 302)),
    ("post", "hub_members_preview", {"text": "zoe"}, (302, 200, 404, 200, 403, 200)),
    ("post", "hub_members_apply", {"text": "zoe"}, (302, 302, 404, 302, 403, 302)),
    ("get", "hub_members_export", None, (302, 200, 404, 200, 200, 200)),
    ("get", "hub_members_deploy", None, (302, 302, 404, 302, 403, 302)),
    ("post", "hub_members_discard", None, (302, 302, 404, 302, 403, 302)),
    ("post", "hub_admin_invite", {"email": "x@example.org"}, (302, 302, 404, 302, 403, 302)),
    ("get", "hub_history", None, (302, 200, 404, 200, 200, 200)),
    ("get", "hub_activity", None, (302, 200, 404, 200, 200, 200)),
    ("get", "hub_bundle", None, (302, 200, 404, 200, 200, 200)),
    ("get", "hub_rollback", {"revision": 1}, (302, 200, 404, 200, 403, 200)),
    ("post", "hub_rollback", {"revision": 1}, (302, 302, 404, 302, 403, 302)),
    ("post", "hub_credentials", {"note": "in"}, (302, 403, 404, 403, 403, 302)),
    ("post", "hub_drift", {"action": "repush"}, (302, 403, 404, 403, 403, 302)),
]


@pytest.mark.parametrize(
    ("method", "page", "data", "expected"), PAGES, ids=[f"{m} {p}" for m, p, *_ in PAGES]
)
def test_each_persona_opens_what_the_matrix_says(
    request, catalog, lead, reviewer, method, page, data, expected
):
    answers = []
    for i, persona in enumerate(PERSONAS):
        user = None if persona == "anonymous" else request.getfixturevalue(persona)
        hub = live_hub(lead, reviewer, name=f"hub-{i}")
        lifecycle.update_hub(hub, github_spec(name=hub.name, expected_users=50), by=lead)
        Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
        if persona == "hub_admin":
            assert user is not None
            make_hub_admin(hub, user, by=lead)
        response = getattr(client_for(user), method)(url(page, hub), data)
        answers.append(response.status_code)

    assert dict(zip(PERSONAS, answers, strict=True)) == dict(zip(PERSONAS, expected, strict=True))
