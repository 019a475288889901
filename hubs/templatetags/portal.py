"""Small display helpers shared by every page."""

from __future__ import annotations

import datetime as dt

from django import template
from django.forms import BoundField, CheckboxInput, Select
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# One colour per state, whatever the object: green done, blue moving, amber
# waiting on a person, red failed, grey over.
BADGES = {
    "draft": "text-bg-light border",
    "submitted": "text-bg-warning",
    "changes_requested": "text-bg-warning",
    "approved": "text-bg-success",
    "rejected": "text-bg-danger",
    "withdrawn": "text-bg-secondary",
    "provisioning": "text-bg-info",
    "awaiting_credentials": "text-bg-warning",
    "active": "text-bg-success",
    "updating": "text-bg-info",
    "decommissioning": "text-bg-info",
    "decommissioned": "text-bg-secondary",
    "failed": "text-bg-danger",
    "queued": "text-bg-light border",
    "running": "text-bg-info",
    "awaiting_merge": "text-bg-warning",
    "awaiting_health": "text-bg-info",
    "succeeded": "text-bg-success",
    "superseded": "text-bg-secondary",
}
LABELS = {"submitted": "Waiting for review", "changes_requested": "Changes requested",
          "awaiting_merge": "Awaiting merge", "awaiting_health": "Waiting for the hub to answer",
          "awaiting_credentials": "Waiting for credentials"}  # fmt: skip


@register.simple_tag
def state_badge(state: str, label: str = "") -> SafeString:
    """<span class="badge …">Waiting for review</span> for any object's state."""
    text = label or LABELS.get(state, state.replace("_", " ").capitalize())
    return format_html(
        '<span class="badge {}" data-state="{}">{}</span>',
        BADGES.get(state, "text-bg-light border"),
        state,
        text,
    )


@register.filter
def with_class(field: BoundField, css: str) -> SafeString:
    """Render a form field's widget with Bootstrap's classes (for allauth's forms)."""
    widget = field.field.widget
    if isinstance(widget, CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, Select):
        css = "form-select"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})


@register.filter
def span(value: dt.timedelta | None) -> str:
    """A timedelta as people say it: "2 days", "2 hours", "1 day 6 hours", "45 minutes"."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " ".join(parts) or "no time"
