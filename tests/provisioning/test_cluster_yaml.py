"""Splicing hub entries into cluster.yaml: only the hub's own lines change."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from provisioning.layout import cluster_file as layout
from provisioning.layout import cluster_yaml
from tests.provisioning.gitops_fixtures import upstream_cloudbank

ENTRY = {
    "name": "newhub",
    "display_name": "New Hub: a test (with 'quotes')",
    "domain": "newhub.cloudbank.2i2c.cloud",
    "helm_chart": "basehub",
    "helm_chart_values_files": ["common.values.yaml", "newhub.values.yaml"],
}

INDENTED = """\
# A cluster written with indented lists and comments.
name: demo
provider: gcp
hubs:
  # staging first, by convention
  - name: staging
    display_name: Staging  # keep this comment
    domain: staging.example.org
    helm_chart: basehub
    helm_chart_values_files:
      - common.values.yaml
      - staging.values.yaml

  # the prod hub
  - name: prod
    domain: prod.example.org
    helm_chart: daskhub
    helm_chart_values_files:
      - common.values.yaml
      - prod.values.yaml
# trailing comment
"""


def diff(before: str, after: str) -> tuple[list[str], list[str]]:
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), n=0))
    added = [x[1:] for x in lines if x.startswith("+") and not x.startswith("+++")]
    removed = [x[1:] for x in lines if x.startswith("-") and not x.startswith("---")]
    return added, removed


@pytest.fixture
def cloudbank_text() -> str:
    return (upstream_cloudbank() / "cluster.yaml").read_text()


def test_it_adds_only_the_new_entry_lines_to_cloudbank(cloudbank_text: str) -> None:
    after = cluster_yaml.add(cloudbank_text, ENTRY)

    assert after is not None
    added, removed = diff(cloudbank_text, after)
    assert removed == []
    assert added == [
        "- name: newhub",
        "  display_name: \"New Hub: a test (with 'quotes')\"",
        "  domain: newhub.cloudbank.2i2c.cloud",
        "  helm_chart: basehub",
        "  helm_chart_values_files:",
        "  - common.values.yaml",
        "  - newhub.values.yaml",
    ]
    assert cluster_yaml.load(after)["hubs"][-1] == ENTRY


def test_it_keeps_the_files_own_indentation_and_comments() -> None:
    after = cluster_yaml.add(INDENTED, ENTRY)

    assert after is not None
    added, removed = diff(INDENTED, after)
    assert removed == []
    assert added[0] == "  - name: newhub"
    assert "      - newhub.values.yaml" in added
    # The new entry goes after the last hub, before the trailing comment.
    assert after.endswith("      - newhub.values.yaml\n# trailing comment\n")


def test_it_updates_one_entry_in_place(cloudbank_text: str) -> None:
    entry = cluster_yaml.entry(cloudbank_text, "bcc")
    assert entry is not None

    after = cluster_yaml.update(
        cloudbank_text, "bcc", {**entry, "display_name": "Berkeley City College (renamed)"}
    )

    assert after is not None
    added, removed = diff(cloudbank_text, after)
    assert removed == ["  display_name: Berkeley City College"]
    assert added == ["  display_name: Berkeley City College (renamed)"]


def test_it_keeps_comments_inside_an_updated_entry() -> None:
    entry = cluster_yaml.entry(INDENTED, "staging")
    assert entry is not None
    files = [*entry["helm_chart_values_files"], "enc-staging.secret.values.yaml"]

    after = cluster_yaml.update(
        INDENTED,
        "staging",
        {**entry, "display_name": "Staging hub", "helm_chart_values_files": files},
    )

    assert after is not None
    added, removed = diff(INDENTED, after)
    assert removed == ["    display_name: Staging  # keep this comment"]
    assert added == [
        "    display_name: Staging hub  # keep this comment",
        "      - enc-staging.secret.values.yaml",
    ]


def test_it_adds_a_missing_key_at_the_end_of_the_entry() -> None:
    entry = cluster_yaml.entry(INDENTED, "prod")
    assert entry is not None

    after = cluster_yaml.update(INDENTED, "prod", {**entry, "display_name": "Production"})

    assert after is not None
    added, removed = diff(INDENTED, after)
    assert (added, removed) == (["    display_name: Production"], [])


def test_it_removes_one_entry_and_keeps_the_next_ones_comment() -> None:
    result = cluster_yaml.remove(INDENTED, "staging")

    assert result is not None
    after, entry = result
    assert entry["name"] == "staging"
    assert "  # the prod hub\n  - name: prod" in after
    assert "# staging first, by convention" in after  # belongs to the list, not the entry
    assert [h["name"] for h in cluster_yaml.load(after)["hubs"]] == ["prod"]


def test_it_removes_a_cloudbank_hub_by_its_lines_only(cloudbank_text: str) -> None:
    result = cluster_yaml.remove(cloudbank_text, "bcc")

    assert result is not None
    added, removed = diff(cloudbank_text, result[0])
    assert added == []
    assert removed[0] == "- name: bcc" and len(removed) == 8


def test_it_declines_what_it_cannot_splice() -> None:
    assert cluster_yaml.add("name: x\nhubs: []\n", ENTRY) is None
    assert cluster_yaml.add("name: x\nhubs: [{name: a}]\n", ENTRY) is None
    assert cluster_yaml.update(INDENTED, "missing", ENTRY) is None
    # Dropping a key is more than a splice does.
    assert cluster_yaml.update(INDENTED, "prod", {"name": "prod"}) is None


def test_layout_falls_back_to_the_round_trip_for_an_empty_list(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "clusters" / "demo"
    folder.mkdir(parents=True)
    (folder / "cluster.yaml").write_text("name: demo  # the demo\nhubs: []\n")

    assert layout.upsert_entry(tmp_path, "demo", ENTRY)

    text = (folder / "cluster.yaml").read_text()
    assert text.startswith("name: demo  # the demo\n")
    assert cluster_yaml.load(text)["hubs"] == [ENTRY]


def test_layout_round_trips_add_update_remove_on_cloudbank(
    tmp_path: Path, cloudbank_text: str
) -> None:
    folder = tmp_path / "config" / "clusters" / "cloudbank"
    folder.mkdir(parents=True)
    (folder / "cluster.yaml").write_text(cloudbank_text)

    assert layout.upsert_entry(tmp_path, "cloudbank", ENTRY)
    assert not layout.upsert_entry(tmp_path, "cloudbank", ENTRY)  # no change the second time
    assert layout.upsert_entry(tmp_path, "cloudbank", {**ENTRY, "display_name": "New Hub"})
    assert layout.remove_entry(tmp_path, "cloudbank", "newhub") is not None

    assert (folder / "cluster.yaml").read_text() == cloudbank_text


def _fresh(text: str) -> cluster_yaml.Parsed:
    parsed = cluster_yaml._parse(text)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize("source", ["indented", "cloudbank"])
def test_reading_entries_added_by_another_worker_matches_a_full_parse(
    source: str, cloudbank_text: str
) -> None:
    text = INDENTED if source == "indented" else cloudbank_text
    before = _fresh(text)
    # Another process added three hubs: this one only has its parse of `text`.
    grown = text
    for name in ("one", "two", "three"):
        grown = cluster_yaml.add(grown, {**ENTRY, "name": name}) or ""
    extended = cluster_yaml._extend(before, grown)
    full = _fresh(grown)
    assert extended is not None
    assert extended.entries == full.entries
    assert [cluster_yaml._construct(i) for i in extended.items] == [
        cluster_yaml._construct(i) for i in full.items
    ]
    assert [i.start_mark.line for i in extended.items] == [i.start_mark.line for i in full.items]
    # Edits made from the extended parse land where a full parse would put them.
    target = {**ENTRY, "name": "two", "domain": "x.org"}
    cluster_yaml._cache.clear()
    cluster_yaml._remember(text, before)
    from_extended = cluster_yaml.update(grown, "two", target)
    cluster_yaml._cache.clear()
    assert from_extended is not None
    assert from_extended == cluster_yaml.update(grown, "two", target)


def test_it_parses_whole_what_changed_before_the_last_entry(cloudbank_text: str) -> None:
    before = _fresh(cloudbank_text)
    edited = cloudbank_text.replace("name: cloudbank", "name: cloudbank2", 1)
    grown = cluster_yaml.add(edited, {**ENTRY, "name": "one"}) or ""
    assert cluster_yaml._extend(before, grown) is None
    # An alias to an anchor outside the window cannot be read from the window.
    anchored = "hubs:\n- name: a\n  domain: &d a.org\n- name: b\n  domain: b.org\n"
    aliased = anchored + "- name: c\n  domain: *d\n"
    assert cluster_yaml._parse(aliased) is not None  # valid YAML, whole
    assert cluster_yaml._extend(_fresh(anchored), aliased) is None
