"""The examples in docs/ are valid and agree with each other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hubs.validation import validate_spec

DOCS = Path(__file__).resolve().parent.parent / "docs" / "examples"


@pytest.mark.django_db
def test_the_example_specs_are_valid_and_the_same(catalog):
    as_yaml = yaml.safe_load((DOCS / "hub-spec.yaml").read_text())
    as_json = json.loads((DOCS / "hub-spec.json").read_text())
    assert as_yaml == as_json
    assert validate_spec(as_json).spec.name == "bcc"
