"""What the members, admins, revisions and activity API says, and the bodies it takes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from hubs.members import MAX_ENTRIES, ROLES
from hubs.models import AdminInvitation, AuditEvent, HubAdmin, HubRevision
from provisioning.web.serializers import DeploymentSerializer


def paginated(child: serializers.BaseSerializer[Any], name: str) -> Any:
    """The schema of a page of `child`s, as hubs.api.pagination.Pagination answers."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": child,
        },
    )


class MemberSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(source="name")
    role = serializers.ChoiceField(choices=ROLES)
    pending = serializers.CharField(
        help_text='"add" or "remove" while the change waits to be deployed, else "".'
    )
    portal_user = serializers.CharField(
        help_text="The portal user whose linked sign-in matches this admin, if any."
    )


class MembersBody(serializers.Serializer[dict[str, Any]]):
    role = serializers.ChoiceField(choices=ROLES, help_text="admin or allowed.")
    usernames = serializers.ListField(
        child=serializers.CharField(max_length=1000, trim_whitespace=False),
        min_length=1,
        max_length=MAX_ENTRIES,
        help_text="GitHub logins or email addresses; normalised (case, a leading @).",
    )


class PlanLineSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(help_text="Line of the input (item for a list); 0: none.")
    input = serializers.CharField(source="raw")
    username = serializers.CharField(source="name")
    role = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["add", "present", "remove", "absent", "invalid", "duplicate"]
    )
    reason = serializers.CharField()
    verified = serializers.BooleanField(
        allow_null=True, help_text="GitHub: found (true), could not be checked (false)."
    )


class PendingSerializer(serializers.Serializer[Any]):
    summary = serializers.CharField()
    due_at = serializers.DateTimeField()
    error = serializers.CharField()


COUNTS = ("added", "present", "removed", "absent", "invalid", "duplicates", "not_verified")


class ChangeResultSerializer(serializers.Serializer[Any]):
    """What a member change did (or, with dry_run, would do)."""

    dry_run = serializers.BooleanField()
    counts = inline_serializer(
        "MemberChangeCounts", {key: serializers.IntegerField() for key in COUNTS}
    )
    note = serializers.CharField(help_text="e.g. why some GitHub names could not be verified.")
    lines = PlanLineSerializer(
        many=True, help_text="Every entry but those already present, with what happens to it."
    )
    pending = PendingSerializer(
        allow_null=True, help_text="The batch of waiting changes it joined."
    )
    deployment = DeploymentSerializer(
        allow_null=True, help_text="The deployment, when the change was deployed at once."
    )


class PortalAdminSerializer(serializers.ModelSerializer[HubAdmin]):
    username = serializers.CharField(source="user.username")
    added_by = serializers.CharField(source="added_by.username", default=None, allow_null=True)

    class Meta:
        model = HubAdmin
        fields = ["username", "how", "identity", "added_by", "created_at"]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer[AdminInvitation]):
    status = serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"])
    invited_by = serializers.CharField(source="invited_by.username", default=None, allow_null=True)
    accepted_by = serializers.CharField(
        source="accepted_by.username", default=None, allow_null=True
    )

    class Meta:
        model = AdminInvitation
        fields = [
            "id", "email", "status", "invited_by", "created_at", "expires_at", "accepted_by",
            "accepted_at",
        ]  # fmt: skip
        read_only_fields = fields


class InvitationBody(serializers.Serializer[dict[str, Any]]):
    email = serializers.EmailField(help_text="Who to invite; they accept with this address.")


class AcceptBody(serializers.Serializer[dict[str, Any]]):
    token = serializers.CharField(max_length=200, help_text="The token from the invitation link.")


class RevisionSerializer(serializers.ModelSerializer[HubRevision]):
    author = serializers.CharField(source="author.username", default=None, allow_null=True)

    class Meta:
        model = HubRevision
        fields = ["number", "reason", "author", "created_at"]
        read_only_fields = fields


class RevisionDetailSerializer(RevisionSerializer):
    spec = serializers.JSONField()
    files = serializers.JSONField(help_text="{layout, files: {path: text}, cluster_entry}.")

    class Meta(RevisionSerializer.Meta):
        fields = [*RevisionSerializer.Meta.fields, "spec", "files"]
        read_only_fields = fields


_ADDED_REMOVED: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "added": serializers.ListField(child=serializers.CharField()),
    "removed": serializers.ListField(child=serializers.CharField()),
}


class DiffSerializer(serializers.Serializer[dict[str, Any]]):
    # "from" is a keyword: the field is declared in __init__ below.
    to = serializers.CharField()
    summary = serializers.CharField(help_text='e.g. "allowlist: +25 -3, admins: +1".')
    admins = inline_serializer("AdminsChanged", _ADDED_REMOVED)
    allowed_users = inline_serializer("AllowedUsersChanged", _ADDED_REMOVED)
    gain_access = serializers.ListField(child=serializers.CharField())
    lose_access = serializers.ListField(child=serializers.CharField())
    other = inline_serializer(
        "SpecFieldChange",
        {
            "path": serializers.CharField(),
            "before": serializers.JSONField(allow_null=True),
            "after": serializers.JSONField(allow_null=True),
        },
        many=True,
    )
    files = inline_serializer(
        "RevisionFileDiff",
        {"path": serializers.CharField(), "diff": serializers.CharField()},
        many=True,
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        return {"from": serializers.CharField(), **fields}


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor", "action", "from_state", "to_state", "comment",
            "before", "after",
        ]  # fmt: skip
        read_only_fields = fields
