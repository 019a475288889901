"""Forms of the hub pages: removing a hub, and its write-only secrets."""

from __future__ import annotations

from typing import Any

from django import forms


class DecommissionForm(forms.Form):
    confirm_data_loss = forms.BooleanField(
        label=(
            "I understand that removing the hub deletes its users' home directories and "
            "everything else stored on it, and that what must be kept has been backed up."
        ),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class SecretsForm(forms.Form):
    """Write-only: fields start empty; leave one empty to keep its value."""

    oauth_client_id = forms.CharField(label="OAuth client id", max_length=4096, required=False)
    oauth_client_secret = forms.CharField(
        label="OAuth client secret",
        max_length=4096,
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )
    shared_password = forms.CharField(
        label="Shared password (event hubs)",
        max_length=4096,
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )
    remove = forms.MultipleChoiceField(
        label="Remove",
        required=False,
        choices=[
            ("oauth_client_id", "OAuth client id"),
            ("oauth_client_secret", "OAuth client secret"),
            ("shared_password", "Shared password"),
        ],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("oauth_client_id", "oauth_client_secret", "shared_password"):
            self.fields[name].widget.attrs.update({"class": "form-control", "autocomplete": "off"})

    def values(self) -> dict[str, str]:
        """{key: new value, or "" to remove} for what was filled in or ticked."""
        data = self.cleaned_data
        values = {
            key: data[key]
            for key in ("oauth_client_id", "oauth_client_secret", "shared_password")
            if data.get(key)
        }
        values.update(dict.fromkeys(data.get("remove") or [], ""))
        return values
