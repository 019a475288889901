"""The admin's view of a cluster's learnt conventions, and the operators' edit of its inputs.

Import stores in `Cluster.conventions` the chart its hubs use, the shared
values files (and their text), the provider and account values.jsonnet is
rendered with, and the operator inputs a new hub must be given. As raw JSON
that is hard to read and easy to break, so:

- `conventions_summary(cluster)`: the conventions as a short table (for a
  read-only field of the cluster's admin page);
- `ConventionsInputsMixin`: a cluster ModelForm mixin adding an "Operator
  inputs" field, the inputs list as YAML, each entry checked (a known type, a
  key that can be written). An operator's edit is kept by later imports.
"""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from provisioning.render.inputs import TYPES, InputSpec

INPUTS_HELP = (
    "Values every new hub on this cluster must be given at approval, written into its own "
    "file: one item per key, with `key` (dotted, e.g. nfs.pv.serverIP), `type` (one of "
    f"{', '.join(TYPES)}), an `example` and `why` it is needed. Learnt on import; "
    "your edits are kept by later imports."
)


def inputs_yaml(inputs: Any) -> str:
    """The inputs list as operators edit it (YAML, in the learnt order)."""
    return yaml.safe_dump(inputs or [], sort_keys=False, allow_unicode=True, width=100)


def parse_inputs(text: str) -> list[dict[str, Any]]:
    """The inputs list from its YAML text; forms.ValidationError naming each bad entry."""
    try:
        data = yaml.safe_load(text or "") or []
    except yaml.YAMLError as exc:
        raise forms.ValidationError(f"Not valid YAML: {exc}") from exc
    if not isinstance(data, list):
        raise forms.ValidationError("Write a list: one `- key: ...` item per input.")
    errors, found, keys = [], [], set()
    for number, item in enumerate(data, start=1):
        try:
            if not isinstance(item, dict):
                raise ValueError("must be a mapping with key, type, example and why")
            spec = InputSpec.from_json(item)
            if spec.example and not TYPES[spec.type].check(spec.example):
                raise ValueError(f"its example is not {TYPES[spec.type].describe}")
            if spec.key in keys:
                raise ValueError(f"{spec.key} is listed twice")
        except ValueError as exc:
            errors.append(forms.ValidationError(f"Item {number}: {exc}"))
            continue
        keys.add(spec.key)
        found.append(spec.to_json())
    if errors:
        raise forms.ValidationError(errors)
    return found


class ConventionsInputsMixin(forms.ModelForm):
    """Adds the cluster's inputs list (as YAML) to a Cluster ModelForm with `conventions`."""

    inputs = forms.CharField(
        label="Operator inputs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "style": "font-family: monospace"}),
        help_text=INPUTS_HELP,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        conventions = getattr(self.instance, "conventions", None)
        learnt = conventions.get("inputs") if isinstance(conventions, dict) else None
        self.initial.setdefault("inputs", inputs_yaml(learnt))

    def clean_inputs(self) -> list[dict[str, Any]]:
        return parse_inputs(self.cleaned_data.get("inputs") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "inputs" not in data:
            return data  # invalid: clean_inputs said why
        conventions = data.get("conventions", getattr(self.instance, "conventions", None))
        conventions = dict(conventions) if isinstance(conventions, dict) else {}
        if data["inputs"] != (conventions.get("inputs") or []):
            conventions["inputs"] = data["inputs"]
            conventions["inputs_edited"] = True  # later imports keep the operator's list
        data["conventions"] = conventions
        if "conventions" not in self.fields:
            self.instance.conventions = conventions
        return data


def conventions_summary(cluster: Any) -> SafeString:
    """A cluster's conventions, readably: chart, provider, shared files, inputs."""
    conventions = cluster.conventions if isinstance(cluster.conventions, dict) else {}
    shared = conventions.get("shared_values")
    files = conventions.get("shared_values_files") or []

    def state(name: str) -> str:
        if name.startswith("enc-") or ".secret." in name:
            return "encrypted: not read"
        if not isinstance(shared, dict):
            return "not read yet (import or a drift check reads it)"
        if name not in shared:
            return "missing from the repository"
        return f"read, {len(str(shared[name]).splitlines())} lines"

    facts = [
        ("Helm chart", conventions.get("helm_chart") or "basehub"),
        ("Provider (values.jsonnet)", conventions.get("provider") or cluster.provider),
        ("Account id (values.jsonnet)", conventions.get("account_id") or "—"),
        ("Secret values file", conventions.get("secret_values_file") or "—"),
    ]
    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", facts)
    file_rows = format_html_join(
        "", "<tr><td><code>{}</code></td><td>{}</td></tr>", ((f, state(f)) for f in files)
    )
    inputs = [i for i in conventions.get("inputs") or [] if isinstance(i, dict)]
    input_rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
        ((i.get("key", ""), i.get("type", ""), i.get("example", ""), i.get("why", ""))
         for i in inputs),
    )  # fmt: skip
    edited = " (edited by an operator)" if conventions.get("inputs_edited") else ""
    return format_html(
        "<table>{}</table>"
        "<p><strong>Shared values files</strong>, in the hubs' order:</p>"
        "<table>{}</table>"
        "<p><strong>Operator inputs</strong>{}: {}</p>"
        "<table><tr><th>key</th><th>type</th><th>example</th><th>why</th></tr>{}</table>",
        rows,
        file_rows or format_html("<tr><td>{}</td></tr>", "none"),
        edited,
        f"{len(inputs)} a new hub must be given" if inputs else "none",
        input_rows,
    )
