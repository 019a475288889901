"""The Django admin: where operators edit the catalog and inspect everything else.

State fields are read-only here: states change only through hubs/transitions.py
(called by the named actions), so the audit trail stays complete. Clusters and
deploy targets are in provisioning/admin.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import escape

from hubs.models import (
    AuditEvent,
    Community,
    Hub,
    HubRequest,
    HubRevision,
    HubSecret,
    Offering,
    UserImage,
)
from hubs.spec import PURPOSES


def https_urls(field: models.Field, **kwargs: Any) -> Any:
    """Form fields for model fields, with addresses typed without a scheme read as https://."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class PortalAdmin(admin.ModelAdmin):
    # Addresses typed without a scheme are https:// (Django 6's default, today).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # The models' help texts are plain text ("<hub>.<base domain>"); the admin
        # writes help texts as HTML, where such words would vanish as tags.
        if field is not None and field.help_text:
            field.help_text = escape(str(field.help_text))
        return field


class OfferingForm(forms.ModelForm):
    """Purposes as checkboxes rather than a JSON list typed by hand."""

    purposes = forms.MultipleChoiceField(
        choices=[(p, p.capitalize()) for p in PURPOSES],
        widget=forms.CheckboxSelectMultiple,
        help_text="What the tier is for; requests must name one of these.",
    )

    class Meta:
        model = Offering
        fields = "__all__"  # noqa: DJ007 - operators edit every field of a tier


class SecretFieldsForm(forms.ModelForm):
    """Secrets are write-only: blank keeps the stored value, and it is never shown."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            if name in self.fields:
                field = self.fields[name]
                is_set = bool(getattr(self.instance, name, ""))
                if isinstance(field.widget, forms.Textarea):
                    # Multi-line secrets (a kubeconfig, a private key): a textarea
                    # that starts empty rather than showing what is stored.
                    field.widget = forms.Textarea(attrs={"rows": 8, "autocomplete": "off"})
                    self.initial[name] = ""
                else:
                    field.widget = forms.PasswordInput(render_value=False)
                field.required = False
                field.help_text = (
                    "Set; leave blank to keep it." if is_set else "Not set."
                ) + " Stored encrypted."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.secret_fields:
            if name in data and not data[name] and self.instance.pk is not None:
                data[name] = getattr(self.instance, name)
        return data


@admin.register(Offering)
class OfferingAdmin(PortalAdmin):
    form = OfferingForm
    list_display = (
        "slug", "name", "max_users", "monthly_fee", "user_hour_rate", "requires_review", "active",
    )  # fmt: skip
    list_filter = ("active", "requires_review")
    filter_horizontal = ("clusters",)
    search_fields = ("slug", "name")


@admin.register(UserImage)
class UserImageAdmin(PortalAdmin):
    list_display = ("slug", "name", "reference", "active")
    list_filter = ("active",)
    search_fields = ("slug", "name", "reference")


@admin.register(Community)
class CommunityAdmin(PortalAdmin):
    list_display = ("name", "url", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("leads",)


class ReadOnlyStateAdmin(admin.ModelAdmin):
    state_fields: tuple[str, ...] = ("state",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*super().get_readonly_fields(request, obj), *self.state_fields)


@admin.register(HubRequest)
class HubRequestAdmin(ReadOnlyStateAdmin):
    list_display = ("pk", "name", "requester", "state", "offering", "cluster", "submitted_at")
    list_filter = ("state", "offering", "cluster")
    search_fields = ("name", "requester__username", "requester__email")
    list_select_related = ("requester", "offering", "cluster")
    state_fields = ("state", "submitted_at", "decided_at", "decided_by", "submission_count")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests are made through the form or the API


@admin.register(Hub)
class HubAdmin(ReadOnlyStateAdmin):
    list_display = ("name", "cluster", "domain", "state", "current_revision", "imported")
    list_filter = ("state", "cluster", "imported")
    search_fields = ("name", "domain")
    list_select_related = ("cluster",)
    state_fields = ("state", "current_revision", "drift", "drift_checked_at")


@admin.register(HubRevision)
class HubRevisionAdmin(admin.ModelAdmin):
    list_display = ("hub", "number", "reason", "author", "created_at")
    list_select_related = ("hub__cluster", "author")
    search_fields = ("hub__name",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # immutable


class HubSecretForm(SecretFieldsForm):
    secret_fields = ("value",)

    class Meta:
        model = HubSecret
        fields = "__all__"  # noqa: DJ007 - operators edit every field here


@admin.register(HubSecret)
class HubSecretAdmin(admin.ModelAdmin):
    form = HubSecretForm
    list_display = ("hub", "key", "updated_at")
    list_select_related = ("hub__cluster",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "object_repr", "from_state", "to_state")
    list_filter = ("action", "content_type")
    search_fields = ("object_repr", "comment", "actor__username")
    list_select_related = ("actor", "content_type")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
