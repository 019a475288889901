"""The approval page's form for a cluster's operator inputs: one field per learnt key.

Built from the cluster's `conventions["inputs"]` (see provisioning/render/inputs.py):
each field says why the cluster needs it and gives an example, and the whole is
checked by `check_inputs`, so the page and the API refuse the same values with
the same words. `form.inputs` holds the checked {key: value} once valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from hubs.spec import SpecError
from provisioning.render.inputs import TYPES, check_inputs, input_specs


class InputsForm(forms.Form):
    def __init__(
        self,
        conventions: Mapping[str, Any] | None,
        *args: Any,
        current: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """`current`: values the hub already has (read_inputs of its files), shown as initial."""
        kwargs.setdefault("prefix", "inputs")
        super().__init__(*args, **kwargs)
        self.conventions = conventions
        self.inputs: dict[str, str] = {}
        for spec in input_specs(conventions):
            example = f" e.g. {spec.example}" if spec.example else ""
            self.fields[spec.key] = forms.CharField(
                label=spec.key,
                # Missing values are named by check_inputs, with the cluster's reason.
                required=False,
                max_length=500,
                initial=(current or {}).get(spec.key),
                help_text=f"{TYPES[spec.type].describe.capitalize()}.{example} {spec.why}",
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = {key: value for key, value in data.items() if value}
        try:
            self.inputs = check_inputs(self.conventions, given)
        except SpecError as exc:
            for path, messages in exc.errors.items():
                key = path.removeprefix("inputs.")
                for message in messages:
                    self.add_error(key if key in self.fields else None, message)
        return data
