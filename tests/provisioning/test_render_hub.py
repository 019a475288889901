"""`manage.py render_hub`: a spec file to checked files, without deploying."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import github_spec

# The files are checked against the charts in ../shared/upstream; CI must have them.
needs_upstream = pytest.mark.skipif(
    not (Path(settings.PORTAL_UPSTREAM_DIR) / "z2jh").is_dir() and not os.environ.get("CI"),
    reason="../shared/upstream (the chart schemas) is missing",
)

CLUSTER_YAML = """\
name: gcp-us-central1
provider: gcp  # people write comments here
hubs:
  - name: staging
    display_name: Staging
    domain: staging.us-central1.hubs.example.org
    helm_chart: basehub
    helm_chart_values_files:
      - common.values.yaml
      - staging.values.yaml
"""


def spec_file(tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(github_spec(**overrides)))
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("render_hub", *args, stdout=out)
    return out.getvalue()


@pytest.mark.upstream
@needs_upstream
def test_it_writes_2i2c_files(catalog: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(str(spec_file(tmp_path)), "--layout", "2i2c", "--out", str(out))
    values = out / "config" / "clusters" / "gcp-us-central1" / "bcc.values.yaml"
    data = yaml.safe_load(values.read_text())
    assert data["jupyterhub"]["hub"]["config"]["JupyterHub"]["authenticator_class"] == "github"
    entry = yaml.safe_load((out / "cluster-entry.yaml").read_text())
    assert entry["domain"] == "bcc.us-central1.hubs.example.org"


@pytest.mark.upstream
@needs_upstream
def test_it_writes_a_z2jh_values_file(catalog: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(str(spec_file(tmp_path)), "--layout", "z2jh", "--out", str(out))
    assert sorted(p.name for p in out.iterdir()) == ["values.yaml"]
    data = yaml.safe_load((out / "values.yaml").read_text())
    assert data["ingress"]["hosts"] == ["bcc.us-central1.hubs.example.org"]


@pytest.mark.upstream
@needs_upstream
def test_it_prints_the_files_by_default(catalog: None, tmp_path: Path) -> None:
    printed = run(str(spec_file(tmp_path)))  # the cluster deploys by gitops: 2i2c
    assert "# --- config/clusters/gcp-us-central1/bcc.values.yaml" in printed
    assert "# --- cluster.yaml hubs: entry" in printed


@pytest.mark.upstream
@needs_upstream
def test_it_edits_a_checkout_in_place(catalog: None, tmp_path: Path) -> None:
    folder = tmp_path / "repo" / "config" / "clusters" / "gcp-us-central1"
    folder.mkdir(parents=True)
    (folder / "cluster.yaml").write_text(CLUSTER_YAML)
    run(str(spec_file(tmp_path)), "--layout", "2i2c", "--into", str(tmp_path / "repo"))
    text = (folder / "cluster.yaml").read_text()
    assert text.startswith(CLUSTER_YAML)  # what people wrote stays as it was
    hubs = yaml.safe_load(text)["hubs"]
    assert [h["name"] for h in hubs] == ["staging", "bcc"]
    assert (folder / "bcc.values.yaml").exists()


def test_it_names_every_bad_field(catalog: None, tmp_path: Path) -> None:
    path = spec_file(tmp_path, name="Not A Name", display_name="", expected_users=0)
    with pytest.raises(CommandError) as info:
        run(str(path), "--out", str(tmp_path / "out"))
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path} has 3 problem(s):"
    assert any(line.startswith("name: ") for line in lines)
    assert any(line.startswith("display_name: ") for line in lines)
    assert any(line.startswith("expected_users: ") for line in lines)
    assert not (tmp_path / "out").exists()


def test_it_names_catalog_problems(catalog: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cluster: there is no cluster 'nowhere'"):
        run(str(spec_file(tmp_path, cluster="nowhere")))


def test_it_refuses_a_file_that_is_not_yaml(catalog: None, tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("name: [\n")
    with pytest.raises(CommandError, match="is not valid YAML"):
        run(str(path))


def test_it_edits_only_2i2c_checkouts(catalog: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--into edits a 2i2c checkout"):
        run(str(spec_file(tmp_path)), "--layout", "z2jh", "--into", str(tmp_path))


@pytest.mark.upstream
@needs_upstream
def test_it_refuses_a_checkout_without_the_cluster(catalog: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"cluster\.yaml is missing"):
        run(str(spec_file(tmp_path)), "--layout", "2i2c", "--into", str(tmp_path))
