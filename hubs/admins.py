"""A hub's portal admins: who they are, inviting them by email, accepting, removing,
and matching people's linked sign-ins with the hub's JupyterHub admins.

A hub's portal admins are HubAdmin rows: its requester (from the start),
people who accepted an emailed invitation, and people whose linked sign-in
matches one of the admins in the hub's spec (a GitHub login linked through
allauth for a GitHub hub; a verified email address for a CILogon or Google
hub). The identity rows follow both sides: the spec (every revision calls
`sync_hub`) and the person (signing in, linking an account, confirming or
removing an address call `sync_user`). hubs/permissions.py reads the rows.
Each change runs in a transaction and is audited on the hub.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from hubs import audit
from hubs.models import AdminInvitation, Hub, HubAdmin
from hubs.spec import SpecError
from hubs.states import HubState
from portal.commit import after_commit
from portal.text import one_line

log = logging.getLogger(__name__)

# Login providers whose hub admins are email addresses, matched with verified ones.
EMAIL_PROVIDERS = ("cilogon", "google")


def admins_of(hub: Hub) -> QuerySet[HubAdmin]:
    return HubAdmin.objects.filter(hub=hub).select_related("user", "added_by")


def add_requester(hub: Hub, user: Any) -> HubAdmin:
    """The requester is the hub's first admin (provisioning.lifecycle.create_hub)."""
    row, _ = HubAdmin.objects.get_or_create(
        hub=hub, user=user, defaults={"how": HubAdmin.How.REQUESTER}
    )
    return row


# --- invitations ---------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invite(hub: Hub, email: str, *, by: Any) -> tuple[AdminInvitation, str]:
    """Invite `email` to administer `hub`: (the invitation, the token for its link).

    An earlier invitation of the same address that is still open is revoked,
    so the newest link is the one that works. The email goes out after commit.
    """
    email = one_line(email, 254).lower()
    try:
        validate_email(email)
    except Exception:
        raise SpecError({"email": [f"{email!r} is not an email address"]}) from None
    if HubAdmin.objects.filter(
        hub=hub, user__emailaddress__email__iexact=email, user__emailaddress__verified=True
    ).exists():
        raise SpecError({"email": [f"{email} is already an admin of this hub"]})
    now = timezone.now()
    AdminInvitation.objects.filter(
        hub=hub, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    invitation = AdminInvitation.objects.create(
        hub=hub,
        email=email,
        token_hash=token_hash(token),
        invited_by=by if by is not None and by.is_authenticated else None,
        expires_at=now + dt.timedelta(days=settings.PORTAL_INVITATION_DAYS),
    )
    audit.record(by, hub, "hub.admin_invited", after={"email": email})
    after_commit(send_invitation, invitation.pk, token)
    return invitation, token


def find_invitation(token: str) -> AdminInvitation | None:
    return (
        AdminInvitation.objects.select_related("hub__cluster", "invited_by")
        .filter(token_hash=token_hash(token))
        .first()
    )


def can_accept(invitation: AdminInvitation, user: Any) -> bool:
    """Whether `user` holds the invited address, verified."""
    return EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists()


@transaction.atomic
def accept(invitation: AdminInvitation, user: Any) -> HubAdmin:
    """Make `user` an admin of the invitation's hub, once, if it is for their verified address."""
    if invitation.status != "pending" or invitation.hub.state == HubState.DECOMMISSIONED:
        raise SpecError({"": [f"This invitation is {invitation.status} and cannot be used."]})
    if not can_accept(invitation, user):
        raise PermissionDenied(
            f"This invitation is for {invitation.email}. Add that address to your account "
            "(Email addresses) and confirm it, then open the link again."
        )
    now = timezone.now()
    # Compare-and-set: of two tabs accepting at once, one wins.
    claimed = AdminInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(accepted_at=now, accepted_by=user)
    if claimed != 1:
        raise SpecError({"": ["This invitation has already been used."]})
    row, _ = HubAdmin.objects.get_or_create(
        hub=invitation.hub,
        user=user,
        defaults={"how": HubAdmin.How.INVITED, "added_by": invitation.invited_by},
    )
    audit.record(
        user,
        invitation.hub,
        "hub.admin_added",
        comment=f"accepted the invitation sent to {invitation.email}",
        after={"user": user.get_username(), "how": row.how},
    )
    return row


@transaction.atomic
def revoke(invitation: AdminInvitation, *, by: Any) -> None:
    if invitation.status != "pending":
        raise SpecError({"": [f"This invitation is {invitation.status} already."]})
    AdminInvitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    audit.record(
        by, invitation.hub, "hub.admin_invitation_revoked", before={"email": invitation.email}
    )


def send_invitation(invitation_id: int, token: str) -> None:
    """The invitation email (after commit; a failure is logged, never raised)."""
    invitation = (
        AdminInvitation.objects.select_related("hub", "invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None:
        return
    hub = invitation.hub
    subject = one_line(f"[Hub Portal] You are invited to administer {hub.display_name or hub.name}")
    link = settings.PORTAL_BASE_URL + reverse("hubs:invitation", args=[token])
    try:
        context = {"invitation": invitation, "hub": hub, "link": link}
        body = render_to_string("emails/hub_invitation.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    except Exception:
        log.exception("could not send the invitation %s", invitation_id)


# --- removing ----------------------------------------------------------------------


@transaction.atomic
def remove(hub: Hub, user: Any, *, by: Any) -> None:
    """Remove `user`'s admin role on `hub`; never the last admin, never the requester's."""
    Hub.objects.select_for_update().filter(pk=hub.pk).first()  # one removal at a time
    row = HubAdmin.objects.filter(hub=hub, user=user).first()
    if row is None:
        raise SpecError({"": [f"{user.get_username()} is not an admin of this hub."]})
    if row.how == HubAdmin.How.REQUESTER:
        raise SpecError({"": ["The hub's requester stays its admin."]})
    if row.how == HubAdmin.How.IDENTITY:
        raise SpecError(
            {
                "": [
                    f"{user.get_username()} is an admin because their sign-in matches the hub "
                    f"admin {row.identity}: remove {row.identity} from the hub's admins instead."
                ]
            }
        )
    if not HubAdmin.objects.filter(hub=hub).exclude(pk=row.pk).exists():
        raise SpecError({"": ["A hub keeps at least one admin: invite another one first."]})
    row.delete()
    audit.record(by, hub, "hub.admin_removed", before={"user": user.get_username(), "how": row.how})


# --- sign-ins that match a hub's admins ------------------------------------------------


def hub_identities(hub: Hub) -> dict[str, set[str]]:
    """{"github": logins, "email": addresses} that make someone an admin of `hub`."""
    spec = hub.spec if isinstance(hub.spec, dict) else {}
    auth = spec.get("auth")
    provider = auth.get("provider") if isinstance(auth, dict) else None
    names = {str(a).lower() for a in spec.get("admins") or [] if isinstance(a, str)}
    if provider == "github":
        return {"github": names, "email": set()}
    if provider in EMAIL_PROVIDERS:
        return {"github": set(), "email": {n for n in names if "@" in n}}
    return {"github": set(), "email": set()}


def user_identities(user: Any) -> dict[str, set[str]]:
    """The GitHub logins linked to `user` and their verified email addresses, lowercased."""
    logins = {
        str(login).lower()
        for login in SocialAccount.objects.filter(user=user, provider="github")
        .annotate(login=KeyTextTransform("login", "extra_data"))
        .values_list("login", flat=True)
        if login
    }
    emails = {
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    }
    return {"github": logins, "email": emails}


def _matching_users(wanted: dict[str, set[str]]) -> dict[int, str]:
    """{user id: the identity that matched} for the logins and addresses in `wanted`."""
    found: dict[int, str] = {}
    if wanted["github"]:
        accounts = (
            SocialAccount.objects.filter(provider="github")
            .annotate(login=Lower(KeyTextTransform("login", "extra_data")))
            .filter(login__in=sorted(wanted["github"]))
            .values_list("user_id", "login")
        )
        found.update(dict(accounts))
    if wanted["email"]:
        addresses = (
            EmailAddress.objects.filter(verified=True)
            .annotate(address=Lower("email"))
            .filter(address__in=sorted(wanted["email"]))
            .values_list("user_id", "address")
        )
        for uid, address in addresses:
            found.setdefault(uid, address)
    return found


@transaction.atomic
def sync_hub(hub: Hub) -> None:
    """Make the identity admins of `hub` those whose sign-in matches an admin in its spec."""
    matches = {} if hub.state == HubState.DECOMMISSIONED else _matching_users(hub_identities(hub))
    rows = {row.user_id: row for row in HubAdmin.objects.filter(hub=hub)}
    for uid, identity in matches.items():
        if uid not in rows:
            row = HubAdmin.objects.create(
                hub=hub, user_id=uid, how=HubAdmin.How.IDENTITY, identity=identity
            )
            audit.record(
                None, hub, "hub.admin_added", comment=f"sign-in matches the hub admin {identity}",
                after={"user": row.user.get_username(), "how": row.how},
            )  # fmt: skip
    for uid, row in rows.items():
        if row.how == HubAdmin.How.IDENTITY and uid not in matches:
            row.delete()
            audit.record(
                None, hub, "hub.admin_removed",
                comment=f"sign-in no longer matches a hub admin ({row.identity})",
                before={"user": row.user.get_username(), "how": row.how},
            )  # fmt: skip


def sync_user(user: Any) -> None:
    """Bring `user`'s identity admin roles up to date with their linked sign-ins."""
    if user is None or not getattr(user, "pk", None):
        return
    mine = user_identities(user)
    candidates = set(
        HubAdmin.objects.filter(user=user, how=HubAdmin.How.IDENTITY).values_list(
            "hub_id", flat=True
        )
    )
    live = Hub.objects.exclude(state=HubState.DECOMMISSIONED)
    for value in sorted(mine["github"] | mine["email"]):
        # A coarse filter in the database (the spec's admins as text), exact below.
        candidates |= set(live.filter(spec__admins__icontains=value).values_list("pk", flat=True))
    for hub in Hub.objects.filter(pk__in=candidates):
        sync_hub(hub)


def on_identity_change(sender: Any, **kwargs: Any) -> None:
    """allauth and Django signals: someone signed in, linked or unlinked an account,
    confirmed or removed an address."""
    user = kwargs.get("user")
    if user is None:
        for key in ("sociallogin", "socialaccount", "email_address"):
            holder = kwargs.get(key)
            if key == "sociallogin" and holder is not None:
                holder = holder.account
            user = getattr(holder, "user", None)
            if user is not None:
                break
    try:
        sync_user(user)
    except Exception:
        # A sign-in must never fail for this; the next one tries again.
        log.exception("could not match the sign-ins of user %s with hub admins", user)
