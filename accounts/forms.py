"""The profile page's form for a new API token."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from accounts.tokens import MAX_NAME

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


class NewTokenForm(forms.Form):
    name = forms.CharField(
        max_length=MAX_NAME, help_text="What will use it, e.g. “nightly report script”."
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, initial="90")

    def expires_at(self) -> dt.datetime | None:
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + dt.timedelta(days=int(days)) if days else None
