"""Forms: the request form (the hub spec, flattened into fields people can fill in).

Forms only parse what a browser sends into the spec's shape; whether the spec
is acceptable is decided by hubs/spec.py and hubs/validation.py, the same code
the API uses. `RequestForm.add_spec_errors()` puts each of their messages next
to the field it is about.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings

from hubs.describe import estimate, resources
from hubs.members import normalise, split_paste
from hubs.models import Cluster, Offering, UserImage
from hubs.spec import CILOGON_CLAIMS, PROVIDERS, PURPOSES, SpecError
from hubs.states import RequestState
from hubs.timezones import zone_choices, zone_names
from portal.text import sentence

PROVIDER_LABELS = {
    "github": "GitHub organisations and teams",
    "cilogon": "CILogon (university and institutional logins)",
    "google": "Google Workspace domains",
    "generic-oidc": "Another OpenID Connect provider",
    "tmp": "Temporary users (events only)",
    "shared-password": "One shared password (events only)",
}
# One zone per place, by its current name, grouped by region (hubs/timezones.py).
TIMEZONES = list(zone_names())
# A stored zone outside the menu (an old alias) is shown in UTC: the instant is kept.
ZONES = frozenset(TIMEZONES)
# The image menu's entry for "give a reference instead" (tiers that allow custom images).
CUSTOM_IMAGE = "custom"

# Spec path prefix -> form field, most specific first (see _field_for()).
PATH_FIELDS: tuple[tuple[str, str], ...] = (
    ("community.name", "community_name"),
    ("community.url", "community_url"),
    ("community.logo_url", "community_logo_url"),
    ("community", "community_name"),
    ("auth.github", "github_organizations"),
    ("auth.cilogon", "cilogon_idps"),
    ("auth.google", "google_hosted_domains"),
    ("auth.generic-oidc.authorize_url", "oidc_authorize_url"),
    ("auth.generic-oidc.token_url", "oidc_token_url"),
    ("auth.generic-oidc.userdata_url", "oidc_userdata_url"),
    ("auth.generic-oidc.username_claim", "oidc_username_claim"),
    ("auth.generic-oidc.scopes", "oidc_scopes"),
    ("auth.generic-oidc", "oidc_authorize_url"),
    ("auth", "auth_provider"),
    ("image.catalog", "image_catalog"),
    ("image.custom", "image_custom"),
    ("image", "image_catalog"),
    ("event.start", "event_start"),
    ("event.end", "event_end"),
    ("event", "event_start"),
)
LINE_FIELDS = {
    "github_organizations": "auth.github.organizations",
    "cilogon_idps": "auth.cilogon.idps",
    "google_hosted_domains": "auth.google.hosted_domains",
    "admins": "admins",
    "allowed_users": "allowed_users",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _people(text: str, provider: str) -> list[str]:
    """Names pasted one per line or separated by commas, semicolons or spaces; normalised
    (case, `@` before a GitHub login) and each kept once (hubs/members.py)."""
    names: dict[str, None] = {}
    for entry in split_paste(text):
        name = normalise(entry.raw, provider)
        if name:
            names.setdefault(name)
    return list(names)


def _field_for(path: str, fields: dict[str, Any]) -> str | None:
    for prefix, field in PATH_FIELDS:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return field
    top = path.split(".", 1)[0].split("[", 1)[0]
    return top if top in fields else None


def _line_note(path: str, field: str) -> str:
    """'line 2: ' for an error about the second line of a one-per-line field."""
    prefix = LINE_FIELDS.get(field)
    if prefix and path.startswith(prefix + "["):
        index = path[len(prefix) + 1 :].split("]", 1)[0]
        if index.isdigit():
            return f"Line {int(index) + 1}: "
    return ""


class RequestForm(forms.Form):
    """Every field of the hub spec (DESIGN.md "The hub spec"), plus notes."""

    # --- the community
    community_name = forms.CharField(
        label="Community name", max_length=200, required=False, help_text="Who the hub is for."
    )
    community_url = forms.CharField(
        label="Community homepage", max_length=500, required=False, help_text="https://…"
    )
    community_logo_url = forms.CharField(
        label="Logo URL", max_length=500, required=False, help_text="Shown on the hub's home page."
    )
    # --- the hub
    name = forms.CharField(
        label="Hub name",
        max_length=63,
        required=False,
        help_text=(
            "Lowercase letters, digits and '-', at most 63 characters. It becomes part of the "
            "hub's address and its Kubernetes namespace."
        ),
    )
    display_name = forms.CharField(label="Display name", max_length=100, required=False)
    purpose = forms.ChoiceField(
        label="Purpose",
        choices=[("", "Choose…")] + [(p, p.capitalize()) for p in PURPOSES],
        required=False,
    )
    # Shown as cards with each tier's resources and fee (hubs/partials/tier_cards.html).
    offering = forms.ChoiceField(label="Tier", required=False, widget=forms.RadioSelect)
    cluster = forms.ChoiceField(
        label="Cluster", required=False, help_text="Only clusters your tier runs on are accepted."
    )
    # Bounds are the spec's (hubs/spec.py), so its message shows with the others.
    expected_users = forms.IntegerField(label="Expected users", required=False)
    # --- login
    auth_provider = forms.ChoiceField(
        label="How people log in",
        choices=[("", "Choose…")] + [(p, PROVIDER_LABELS[p]) for p in PROVIDERS],
        required=False,
    )
    github_organizations = forms.CharField(
        label="GitHub organisations",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
        help_text="One per line; members may log in. Use org:team for one team only.",
    )
    cilogon_idps = forms.CharField(
        label="Identity providers",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=20000,
        required=False,
        help_text=(
            "One per line: the provider's EntityID, then the email domains allowed to log in "
            "separated by spaces, or * to allow all of its users. "
            "Example: https://idp.example.edu/idp/shibboleth example.edu"
        ),
    )
    cilogon_username_claim = forms.ChoiceField(
        label="Username",
        choices=[(c, c) for c in CILOGON_CLAIMS],
        initial="email",
        required=False,
        help_text="Which identity claim becomes the username.",
    )
    google_hosted_domains = forms.CharField(
        label="Google Workspace domains",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        required=False,
        help_text="One per line, e.g. example.edu.",
    )
    oidc_authorize_url = forms.CharField(label="Authorize URL", max_length=500, required=False)
    oidc_token_url = forms.CharField(label="Token URL", max_length=500, required=False)
    oidc_userdata_url = forms.CharField(label="User info URL", max_length=500, required=False)
    oidc_username_claim = forms.CharField(
        label="Username claim", max_length=64, required=False, initial="preferred_username"
    )
    oidc_scopes = forms.CharField(
        label="Scopes", max_length=2000, required=False, initial="openid email",
        help_text="Separated by spaces.",
    )  # fmt: skip
    oidc_allow_all = forms.BooleanField(
        label="Allow everyone this provider authenticates", required=False
    )
    admins = forms.CharField(
        label="Hub admins",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=20000,
        required=False,
        help_text=(
            "One per line (or separated by commas): GitHub usernames for GitHub login, email "
            "addresses for CILogon and Google. Case does not matter; each is kept once."
        ),
    )
    allowed_users = forms.CharField(
        label="Other allowed users",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1_000_000,
        required=False,
        help_text=(
            "One per line or separated by commas, on top of what the login provider allows "
            "(optional). A long list is easier to keep on the hub's members page."
        ),
    )
    # --- image
    image_catalog = forms.ChoiceField(label="User image", required=False)
    image_custom = forms.CharField(
        label="Custom image",
        max_length=512,
        required=False,
        help_text="A full reference such as quay.io/org/image:tag, where your tier allows it.",
    )
    # --- events
    event_start = forms.DateTimeField(
        label="Event starts",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    event_end = forms.DateTimeField(
        label="Event ends",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    event_timezone = forms.ChoiceField(
        label="Time zone", choices=zone_choices, initial="UTC", required=False
    )
    notes = forms.CharField(
        label="Notes for the reviewers",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offerings = list(Offering.objects.filter(active=True).prefetch_related("clusters"))
        self.offerings = offerings
        field = self.fields["offering"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above  # nosec B101
        field.choices = [(o.slug, o.name) for o in offerings]
        field = self.fields["cluster"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - an invariant, not a check  # nosec B101
        field.choices = [("", "Choose…")] + [
            (c.slug, cluster_label(c)) for c in Cluster.objects.filter(active=True)
        ]
        field = self.fields["image_catalog"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - an invariant  # nosec B101
        images = list(UserImage.objects.filter(active=True))
        # A catalog image by default; a custom reference is the exception (and tier-bound).
        field.choices = [(i.slug, f"{i.name} — {i.reference}") for i in images] + [
            (CUSTOM_IMAGE, "Another image: give its reference below (where the tier allows it)")
        ]
        field.initial = images[0].slug if images else CUSTOM_IMAGE
        self.fields["event_end"].help_text = (
            "The hub is removed a while after the end (your tier's grace period, shown on the "
            "event's page), with everything stored on it; it is scaled up before the start."
        )
        for name, bound in self.fields.items():
            widget = bound.widget
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            widget.attrs.setdefault("class", css)
            if bound.help_text:
                widget.attrs["aria-describedby"] = f"id_{name}-help"

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self._mark_invalid()

    def full_clean(self) -> None:
        super().full_clean()
        self._mark_invalid()

    def _mark_invalid(self) -> None:
        # Bootstrap shows the message styled only next to an .is-invalid control.
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = attrs.get("class", "") + " is-invalid"
                attrs["aria-invalid"] = "true"

    def fix(self, **values: str) -> None:
        """Show these fields but keep them at `values` (a live hub's name and cluster)."""
        for name, value in values.items():
            field = self.fields[name]
            field.disabled = True
            field.initial = value
            if isinstance(field, forms.ChoiceField):
                field.choices = [(value, value)]

    def tier_clusters(self) -> dict[str, list[str]]:
        """{offering slug: [cluster slugs]} for the page script that narrows the choice."""
        return {o.slug: sorted(c.slug for c in o.clusters.all()) for o in self.offerings}

    def tier_cards(self) -> list[dict[str, Any]]:
        """Each tier with what it gives, for the cards people choose from."""
        chosen = str(self["offering"].value() or "")
        users = self["expected_users"].value()
        return [
            {
                "offering": o,
                "estimate": estimate(o, users, gigabytes(o.mem_guarantee)),
                "resources": resources(o),
                "purposes": ", ".join(str(p) for p in o.purposes),
                "checked": o.slug == chosen,
                "id": f"id_offering_{o.slug}",
            }
            for o in self.offerings
        ]

    def tier_costs(self) -> dict[str, dict[str, float]]:
        """{slug: fee, most users, guarantees} for the script that estimates the expected users."""
        return {
            o.slug: {
                "fee": float(o.monthly_fee),
                "rate": float(o.user_hour_rate),
                "hours": float(settings.PORTAL_COST_HOURS_PER_USER),
                "max_users": o.max_users,
                "cpu": float(o.cpu_guarantee),
                "memory_gb": gigabytes(o.mem_guarantee),
            }
            for o in self.offerings
        }

    # --- form data -> spec -------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """The spec as far as the requester filled it in (a draft may be partial)."""
        data = self.cleaned_data
        spec: dict[str, Any] = {}
        for key in ("name", "display_name", "purpose", "cluster", "offering"):
            if data.get(key):
                spec[key] = data[key]
        if data.get("expected_users") is not None:
            spec["expected_users"] = data["expected_users"]
        community = {
            key: data[f"community_{key}"]
            for key in ("name", "url", "logo_url")
            if data.get(f"community_{key}")
        }
        if community:
            spec["community"] = community
        choice, custom = data.get("image_catalog") or "", data.get("image_custom") or ""
        if choice == CUSTOM_IMAGE or (not choice and custom):
            spec["image"] = {"custom": custom}
        elif choice:
            spec["image"] = {"catalog": choice}
        provider = data.get("auth_provider")
        if provider:
            spec["auth"] = self._auth(provider)
        for key in ("admins", "allowed_users"):
            spec[key] = _people(data.get(key) or "", provider or "")
        start, end = data.get("event_start"), data.get("event_end")
        if start or end:
            name = data.get("event_timezone") or "UTC"
            zone = zoneinfo.ZoneInfo(name)
            spec["event"] = {
                key: _in_zone(value, zone).isoformat()
                for key, value in (("start", start), ("end", end))
                if value
            }
            # The zone travels with the times, so editing shows them as typed.
            spec["event"]["timezone"] = name
        return spec

    def _auth(self, provider: str) -> dict[str, Any]:
        data = self.cleaned_data
        settings: dict[str, Any] | None = None
        if provider == "github":
            settings = {"organizations": _lines(data.get("github_organizations") or "")}
        elif provider == "cilogon":
            claim = data.get("cilogon_username_claim") or "email"
            idps = []
            for line in _lines(data.get("cilogon_idps") or ""):
                entity_id, *rest = line.split()
                idp: dict[str, Any] = {"entity_id": entity_id, "username_claim": claim}
                if rest == ["*"]:
                    idp["allow_all"] = True
                else:
                    idp["allowed_domains"] = rest
                idps.append(idp)
            settings = {"idps": idps}
        elif provider == "google":
            settings = {"hosted_domains": _lines(data.get("google_hosted_domains") or "")}
        elif provider == "generic-oidc":
            settings = {
                key: data.get(f"oidc_{key}") or ""
                for key in ("authorize_url", "token_url", "userdata_url")
            }
            settings["username_claim"] = data.get("oidc_username_claim") or "preferred_username"
            settings["scopes"] = (data.get("oidc_scopes") or "openid email").split()
            settings["allow_all"] = bool(data.get("oidc_allow_all"))
        auth: dict[str, Any] = {"provider": provider}
        if settings is not None:
            auth[provider] = settings
        return auth

    # --- spec -> form data (editing) -------------------------------------------------

    @classmethod
    def initial_from(cls, spec: dict[str, Any], notes: str = "") -> dict[str, Any]:
        initial: dict[str, Any] = {"notes": notes}
        for key in ("name", "display_name", "purpose", "cluster", "offering", "expected_users"):
            if key in spec:
                initial[key] = spec[key]
        for key, value in (spec.get("community") or {}).items():
            initial[f"community_{key}"] = value
        image = spec.get("image") or {}
        initial["image_catalog"] = CUSTOM_IMAGE if image.get("custom") else image.get("catalog", "")
        initial["image_custom"] = image.get("custom", "")
        for key in ("admins", "allowed_users"):
            initial[key] = "\n".join(str(v) for v in spec.get(key) or [])
        auth = spec.get("auth") or {}
        provider = auth.get("provider", "")
        initial["auth_provider"] = provider
        settings = auth.get(provider) or {}
        if provider == "github":
            initial["github_organizations"] = "\n".join(settings.get("organizations", []))
        elif provider == "cilogon":
            lines = []
            for idp in settings.get("idps", []):
                rule = "*" if idp.get("allow_all") else " ".join(idp.get("allowed_domains", []))
                lines.append(f"{idp.get('entity_id', '')} {rule}".strip())
                initial["cilogon_username_claim"] = idp.get("username_claim", "email")
            initial["cilogon_idps"] = "\n".join(lines)
        elif provider == "google":
            initial["google_hosted_domains"] = "\n".join(settings.get("hosted_domains", []))
        elif provider == "generic-oidc":
            for key in ("authorize_url", "token_url", "userdata_url", "username_claim"):
                initial[f"oidc_{key}"] = settings.get(key, "")
            initial["oidc_scopes"] = " ".join(settings.get("scopes", []))
            initial["oidc_allow_all"] = bool(settings.get("allow_all"))
        initial.update(event_initial(spec.get("event")))
        return initial

    def add_spec_errors(self, error: SpecError) -> None:
        """Show each problem next to the field it is about; the rest above the form."""
        for path, messages in error.errors.items():
            field = _field_for(path, self.fields)
            if field == "auth_provider" and path.startswith("auth.") and path != "auth.provider":
                # e.g. "auth.github": the provider's own settings are missing.
                field = {
                    "github": "github_organizations",
                    "cilogon": "cilogon_idps",
                    "google": "google_hosted_domains",
                    "generic-oidc": "oidc_authorize_url",
                }.get(path.split(".")[1], "auth_provider")
            if field in ("body", "comment"):
                field = None
            for message in messages:
                text = sentence(message)
                if field is None:
                    self.add_error(None, f"{path}: {text}" if path else text)
                else:
                    self.add_error(field, _line_note(path, field) + text)


def cluster_label(cluster: Cluster) -> str:
    """E.g. "Shared cluster, GCP us-central1 — Google Cloud, us-central1, Shared"."""
    where = ", ".join(
        part
        for part in (cluster.get_provider_display(), cluster.region, cluster.get_tenancy_display())
        if part
    )
    return f"{cluster.name} — {where}"


_UNITS = {"": 1e-9, "k": 1e-6, "M": 1e-3, "G": 1, "T": 1e3, "Ki": 2**10 / 1e9,
          "Mi": 2**20 / 1e9, "Gi": 2**30 / 1e9, "Ti": 2**40 / 1e9}  # fmt: skip


def gigabytes(quantity: str) -> float:
    """A Kubernetes quantity ("2G", "512Mi") in gigabytes, for estimates."""
    number = quantity.rstrip("kMGTi")
    try:
        return float(number) * _UNITS[quantity[len(number) :]]
    except (ValueError, KeyError):
        return 0.0


def event_zone(event: Any) -> str:
    """The zone an event is shown and edited in: its own, else UTC.

    An ISO time with only an offset (-05:00) names no zone; showing its wall
    clock under "UTC" is what silently moved events, so such a time is
    converted to UTC instead (the instant is kept).
    """
    name = event.get("timezone") if isinstance(event, dict) else None
    return name if isinstance(name, str) and name in ZONES else "UTC"


def event_initial(event: Any) -> dict[str, Any]:
    """The form's start, end and zone for a spec's `event`: the same instants, in its zone."""
    if not isinstance(event, dict):
        return {}
    name = event_zone(event)
    zone = zoneinfo.ZoneInfo(name)
    initial: dict[str, Any] = {"event_timezone": name}
    for key in ("start", "end"):
        if isinstance(event.get(key), str):
            try:
                when = dt.datetime.fromisoformat(event[key])
            except ValueError:
                continue
            if when.tzinfo is None:
                continue
            initial[f"event_{key}"] = when.astimezone(zone).replace(tzinfo=None)
    return initial


def _in_zone(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The wall-clock time the requester typed, in the zone they chose."""
    return value.replace(tzinfo=None).replace(tzinfo=zone)


class DecisionForm(forms.Form):
    """A reviewer's (or requester's) decision, with an optional comment."""

    comment = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        max_length=5000,
        required=False,
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        max_length=5000,
    )


class QueueFilterForm(forms.Form):
    """The review queue's filters; unknown values are ignored, not errors."""

    state = forms.ChoiceField(required=False)
    offering = forms.ChoiceField(required=False)
    cluster = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = {
            "state": [("", "Any state"), *list(RequestState.choices)],
            "offering": [("", "Any tier"), *list(Offering.objects.values_list("slug", "name"))],
            "cluster": [("", "Any cluster"), *list(Cluster.objects.values_list("slug", "slug"))],
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 - an invariant, not a check  # nosec B101
            field.choices = options
            field.widget.attrs["class"] = "form-select form-select-sm"
