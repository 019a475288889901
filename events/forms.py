"""Forms of the event pages: parse what a browser sends; events/actions.py decides."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms

from hubs.forms import RequestForm, event_initial


class EventForm(RequestForm):
    """The request form, for an event: purpose fixed, and a way past a full cluster."""

    review = forms.BooleanField(
        label="If the cluster is full at these dates, send it to the reviewers anyway",
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fix(purpose="event")
        offering = self.fields["offering"]
        assert isinstance(offering, forms.ChoiceField)  # noqa: S101 - declared by RequestForm  # nosec B101
        # Radio buttons: no empty "Choose…" button, and the only event tier chosen already.
        events = [(o.slug, o.name) for o in self.offerings if o.is_event]
        offering.choices = events
        if len(events) == 1 and not self.is_bound:
            self.initial.setdefault("offering", events[0][0])


class ExtendForm(forms.Form):
    """A new end, typed in the event's own time zone."""

    end = forms.DateTimeField(
        label="New end",
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
    )

    def __init__(self, *args: Any, zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["end"].help_text = f"In {zone}."

    @classmethod
    def for_event(cls, spec_event: dict[str, Any], zone: str) -> ExtendForm:
        return cls(initial={"end": event_initial(spec_event).get("event_end")}, zone=zone)

    def new_end(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["end"]
        return value.replace(tzinfo=None).replace(tzinfo=zoneinfo.ZoneInfo(self.zone))


class MoveForm(forms.Form):
    """Continuing attendees onto a lasting hub's allowlist."""

    hub = forms.ChoiceField(
        label="Lasting hub", widget=forms.Select(attrs={"class": "form-select"})
    )
    usernames = forms.CharField(
        label="Who continues",
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
        help_text="One per line.",
        max_length=200000,
    )

    def __init__(self, *args: Any, hubs: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["hub"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101  # nosec B101
        field.choices = hubs

    def names(self) -> list[str]:
        text: str = self.cleaned_data["usernames"]
        return [line.strip() for line in text.splitlines() if line.strip()]
