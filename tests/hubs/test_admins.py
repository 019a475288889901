"""A hub's portal admins (hubs/admins.py): the requester, invited people, matching sign-ins."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from hubs import admins, permissions
from hubs.models import AdminInvitation, AuditEvent, Hub, HubAdmin
from hubs.spec import SpecError
from provisioning import lifecycle
from tests.conftest import PASSWORD, client_for, github_spec, live_hub, make_hub_admin, make_user

pytestmark = pytest.mark.django_db

CILOGON = {
    "provider": "cilogon",
    "cilogon": {"idps": [{"entity_id": "https://idp.uni.edu/idp", "allowed_domains": ["uni.edu"]}]},
}


def link_github(user, login: str) -> SocialAccount:
    return SocialAccount.objects.create(
        user=user, provider="github", uid=str(abs(hash(login)) % 10**8),
        extra_data={"login": login, "id": 1},
    )  # fmt: skip


def test_the_requester_is_the_hubs_first_admin(catalog, lead, reviewer):
    hub = live_hub(lead, reviewer)

    assert list(HubAdmin.objects.filter(hub=hub).values_list("user__username", "how")) == [
        ("alice", "requester")
    ]
    assert permissions.is_hub_admin(lead, hub)


def test_an_invitation_emails_a_link_that_works_once_for_that_address(
    catalog, lead, reviewer, hub_admin, other_lead, django_capture_on_commit_callbacks
):
    hub = live_hub(lead, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = admins.invite(hub, " Hana@Example.org ", by=lead)

    assert invitation.email == "hana@example.org"
    assert invitation.token_hash == admins.token_hash(token) and token not in invitation.token_hash
    (message,) = mail.outbox
    assert message.to == ["hana@example.org"]
    assert message.subject == "[Hub Portal] You are invited to administer Berkeley City College"
    assert f"/invitations/{token}/" in message.body
    # Someone else holding the link cannot use it; hana can, once.
    with pytest.raises(PermissionDenied, match="Add that address"):
        admins.accept(invitation, other_lead)
    admins.accept(invitation, hub_admin)
    used = admins.find_invitation(token)
    assert used is not None
    with pytest.raises(SpecError, match="accepted"):
        admins.accept(used, hub_admin)
    row = HubAdmin.objects.get(hub=hub, user=hub_admin)
    assert (row.how, row.added_by) == ("invited", lead)
    assert permissions.can_manage_hub(hub_admin, hub)
    assert not permissions.can_decommission_hub(hub_admin, hub)
    actions = list(
        AuditEvent.objects.filter(object_id=str(hub.pk)).values_list("action", flat=True)
    )
    assert "hub.admin_invited" in actions and "hub.admin_added" in actions


def test_an_unverified_address_does_not_accept(catalog, lead, reviewer, hub_admin):
    hub = live_hub(lead, reviewer)
    EmailAddress.objects.filter(user=hub_admin).update(verified=False)
    invitation, _ = admins.invite(hub, hub_admin.email, by=lead)

    with pytest.raises(PermissionDenied):
        admins.accept(invitation, hub_admin)


def test_expired_revoked_and_replaced_invitations_do_not_work(catalog, lead, reviewer, hub_admin):
    hub = live_hub(lead, reviewer)
    first, _ = admins.invite(hub, hub_admin.email, by=lead)
    second, _ = admins.invite(hub, hub_admin.email, by=lead)  # a new link replaces the old
    first.refresh_from_db()
    assert first.status == "revoked"
    AdminInvitation.objects.filter(pk=second.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    second.refresh_from_db()

    with pytest.raises(SpecError, match="expired"):
        admins.accept(second, hub_admin)
    third, _ = admins.invite(hub, hub_admin.email, by=lead)
    admins.revoke(third, by=lead)
    third.refresh_from_db()
    with pytest.raises(SpecError, match="revoked"):
        admins.accept(third, hub_admin)
    assert not HubAdmin.objects.filter(user=hub_admin).exists()


def test_the_invitation_page_accepts_for_a_signed_in_user_with_that_address(
    catalog, lead, reviewer, hub_admin, other_lead
):
    hub = live_hub(lead, reviewer)
    _, token = admins.invite(hub, hub_admin.email, by=lead)
    link = f"/invitations/{token}/"

    assert Client().get(link).status_code == 302  # sign in first
    assert client_for(other_lead).get(link).context["can_accept"] is False
    assert client_for(other_lead).post(link).status_code == 200  # refused, says why
    response = client_for(hub_admin).post(link)
    assert response.status_code == 302
    assert response["Location"] == f"/hubs/{hub.cluster.slug}/{hub.name}/members/"
    assert client_for(hub_admin).get("/invitations/not-a-token/").status_code == 404


def test_an_admin_cannot_remove_the_last_admin_the_requester_or_a_matched_sign_in(
    catalog, lead, reviewer, hub_admin, operator
):
    cluster_hub = live_hub(lead, reviewer)
    make_hub_admin(cluster_hub, hub_admin, by=lead)
    with pytest.raises(SpecError, match="requester stays"):
        admins.remove(cluster_hub, lead, by=hub_admin)
    admins.remove(cluster_hub, hub_admin, by=lead)
    assert not permissions.is_hub_admin(make_user("x"), cluster_hub)

    # An adopted hub has no requester: its last invited admin stays.
    adopted = Hub.objects.create(
        name="adopted", cluster=cluster_hub.cluster, domain="adopted.example.org",
        imported=True, spec={"name": "adopted"},
    )  # fmt: skip
    make_hub_admin(adopted, hub_admin, by=operator)
    with pytest.raises(SpecError, match="at least one admin"):
        admins.remove(adopted, hub_admin, by=hub_admin)


def test_a_github_login_linked_to_a_portal_user_makes_them_admin_of_that_hub(
    catalog, lead, reviewer, hub_admin
):
    hub = live_hub(lead, reviewer, admins=["alice-gh", "Hana-GH"])
    assert not permissions.is_hub_admin(hub_admin, hub)

    link_github(hub_admin, "hana-gh")
    Client().login(username="hana", password=PASSWORD)  # signing in matches the sign-ins

    row = HubAdmin.objects.get(hub=hub, user=hub_admin)
    assert (row.how, row.identity) == ("identity", "hana-gh")
    assert client_for(hub_admin).get(hub.get_absolute_url()).status_code == 200
    with pytest.raises(SpecError, match="remove hana-gh from the hub's admins instead"):
        admins.remove(hub, hub_admin, by=lead)
    # Once hana-gh is no longer a hub admin, neither is she.
    lifecycle.update_hub(hub, {**hub.spec, "admins": ["alice-gh"]}, by=lead)
    assert not HubAdmin.objects.filter(hub=hub, user=hub_admin).exists()


def test_a_verified_email_matches_a_cilogon_hubs_admin_and_an_unverified_one_does_not(
    catalog, lead, reviewer
):
    prof = make_user("prof")
    EmailAddress.objects.create(user=prof, email="Prof@Uni.edu", verified=True)
    student = make_user("student")
    EmailAddress.objects.create(user=student, email="ta@uni.edu", verified=False)

    hub = live_hub(lead, reviewer, auth=CILOGON, admins=["prof@uni.edu", "ta@uni.edu"])

    assert list(HubAdmin.objects.filter(hub=hub, how="identity").values_list(
        "user__username", "identity"
    )) == [("prof", "prof@uni.edu")]  # fmt: skip
    # A GitHub login of the same name matches nothing on a CILogon hub.
    link_github(student, "prof@uni.edu")
    admins.sync_user(student)
    assert not permissions.is_hub_admin(student, hub)


def test_hub_admins_see_the_hubs_they_administer_in_constant_queries(
    catalog, lead, reviewer, hub_admin, django_assert_max_num_queries
):
    for i in range(5):
        hub = live_hub(lead, reviewer, name=f"hub-{i}")
        if i % 2 == 0:
            make_hub_admin(hub, hub_admin, by=lead)

    with django_assert_max_num_queries(2):  # is she a reviewer; the hubs
        names = sorted(h.name for h in permissions.visible_hubs(hub_admin))

    assert names == ["hub-0", "hub-2", "hub-4"]
    page = client_for(hub_admin).get("/hubs/").content.decode()
    assert "hub-2" in page and "hub-1" not in page
    home = client_for(hub_admin).get("/").context["hubs"]
    assert sorted(h.name for h in home) == ["hub-0", "hub-2", "hub-4"]


def test_an_identity_admin_is_made_for_a_hub_created_after_they_linked_their_login(
    catalog, lead, reviewer, hub_admin
):
    link_github(hub_admin, "hana-gh")

    hub = live_hub(lead, reviewer, admins=["alice-gh", "hana-gh"])

    assert permissions.is_hub_admin(hub_admin, Hub.objects.get(pk=hub.pk))
    assert github_spec()["admins"] == ["alice-gh"]  # the fixture spec was not changed


def test_confirming_an_address_makes_its_owner_admin_of_the_hubs_naming_it(catalog, lead, reviewer):
    google = {"provider": "google", "google": {"hosted_domains": ["uni.edu"]}}
    hub = live_hub(lead, reviewer, auth=google, admins=["prof@uni.edu"])
    prof = make_user("prof")
    address = EmailAddress.objects.create(user=prof, email="prof@uni.edu", verified=False)
    assert not permissions.is_hub_admin(prof, hub)

    address.verified = True
    address.save()
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    assert HubAdmin.objects.filter(hub=hub, user=prof, how="identity").exists()
    with pytest.raises(SpecError, match="already an admin"):
        admins.invite(hub, "Prof@uni.edu", by=lead)
    with pytest.raises(SpecError, match="not an email address"):
        admins.invite(hub, "prof at uni", by=lead)
