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

from hubs.models import Cluster
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
    call_command("render_hub", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# An AWS cluster where each hub has its own home-directory NFS server (like
# 2i2c's jupyter-health): the shared file turns nfs.pv on, each hub names its server.
AWS_COMMON = "nfs:\n  enabled: true\n  pv:\n    enabled: true\n"
AWS_INPUTS = [
    {"key": "nfs.pv.serverIP", "type": "ip", "example": "10.100.254.159",
     "why": "its common.values.yaml turns nfs.pv on, and every hub sets serverIP to the "
            "address of a server made for it outside this repository"},
    {"key": "jupyterhub-home-nfs.eks.volumeId", "type": "aws-volume-id",
     "example": "vol-02741e24417a9c2c2", "why": "every hub sets volumeId to an EBS volume"},
]  # fmt: skip


def per_hub_nfs(tmp_path: Path) -> Path:
    """The spec of a hub on the AWS cluster, now with per-hub NFS conventions."""
    Cluster.objects.filter(slug="aws-us-west2").update(
        conventions={
            "helm_chart": "basehub",
            "shared_values_files": ["common.values.yaml", "enc-common.secret.values.yaml"],
            "provider": "aws",
            "account_id": "211125465508",
            "shared_values": {"common.values.yaml": AWS_COMMON},
            "inputs": AWS_INPUTS,
        }
    )
    return spec_file(tmp_path, cluster="aws-us-west2")


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
    (folder / "common.values.yaml").write_text("jupyterhub:\n  cull:\n    timeout: 600\n")
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


# --- a cluster's operator inputs ----------------------------------------------------


@pytest.mark.upstream
@needs_upstream
def test_it_refuses_a_hub_without_the_clusters_inputs_and_writes_nothing(
    catalog: None, tmp_path: Path
) -> None:
    spec = per_hub_nfs(tmp_path)
    with pytest.raises(CommandError) as info:
        run(str(spec), "--out", str(tmp_path / "out"))
    lines = str(info.value).splitlines()
    assert lines[0] == "the cluster's inputs has 2 problem(s):"
    assert (
        "inputs.nfs.pv.serverIP: needed by this cluster: its common.values.yaml turns nfs.pv "
        "on, and every hub sets serverIP to the address of a server made for it outside this "
        "repository; e.g. 10.100.254.159"
    ) in lines
    assert any(line.startswith("inputs.jupyterhub-home-nfs.eks.volumeId: needed") for line in lines)
    assert not (tmp_path / "out").exists()


@pytest.mark.upstream
@needs_upstream
def test_it_checks_each_input(catalog: None, tmp_path: Path) -> None:
    spec = per_hub_nfs(tmp_path)
    with pytest.raises(CommandError) as info:
        run(
            str(spec),
            *("--input", "nfs.pv.serverIP=10.0.0"),
            *("--input", "jupyterhub-home-nfs.eks.volumeId=vol-1"),
            *("--input", "nfs.pv.serverIp=10.0.0.5"),
        )
    text = str(info.value)
    assert "inputs.nfs.pv.serverIP: must be an IP address" in text
    assert "inputs.jupyterhub-home-nfs.eks.volumeId: must be an EBS volume id" in text
    assert "inputs.nfs.pv.serverIp: this cluster takes no such input" in text
    with pytest.raises(CommandError, match="write it as KEY=VALUE"):
        run(str(spec), "--input", "nfs.pv.serverIP")


@pytest.mark.upstream
@needs_upstream
def test_it_writes_the_inputs_into_the_hubs_own_file(catalog: None, tmp_path: Path) -> None:
    spec = per_hub_nfs(tmp_path)
    out = tmp_path / "out"
    err = io.StringIO()
    call_command(
        "render_hub", str(spec), "--out", str(out), "--input", "nfs.pv.serverIP=10.0.0.5",
        "--input", "jupyterhub-home-nfs.eks.volumeId=vol-0123456789abcdef0",
        stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    values = yaml.safe_load((out / "config/clusters/aws-us-west2/bcc.values.yaml").read_text())
    assert values["nfs"] == {"pv": {"serverIP": "10.0.0.5"}}
    assert values["jupyterhub-home-nfs"] == {"eks": {"volumeId": "vol-0123456789abcdef0"}}
    entry = yaml.safe_load((out / "cluster-entry.yaml").read_text())
    assert entry["helm_chart_values_files"] == [
        "common.values.yaml", "enc-common.secret.values.yaml", "bcc.values.yaml",
        "enc-bcc.secret.values.yaml",
    ]  # fmt: skip
    # The encrypted files could not be read; the command says so.
    assert err.getvalue().splitlines() == [
        "not checked (encrypted): config/clusters/aws-us-west2/enc-common.secret.values.yaml",
        "not checked (encrypted): config/clusters/aws-us-west2/enc-bcc.secret.values.yaml",
    ]


@pytest.mark.upstream
@needs_upstream
def test_it_checks_against_the_shared_files_of_the_checkout(catalog: None, tmp_path: Path) -> None:
    spec = per_hub_nfs(tmp_path)
    folder = tmp_path / "repo" / "config" / "clusters" / "aws-us-west2"
    folder.mkdir(parents=True)
    cluster_yaml = CLUSTER_YAML.replace("gcp-us-central1", "aws-us-west2")
    (folder / "cluster.yaml").write_text(cluster_yaml)
    # The checkout's shared file changed since import: the chart now refuses the hub.
    (folder / "common.values.yaml").write_text(AWS_COMMON + "    baseShareName: 7\n")
    inputs = ["--input", "nfs.pv.serverIP=10.0.0.5",
              "--input", "jupyterhub-home-nfs.eks.volumeId=vol-0123456789abcdef0"]  # fmt: skip
    with pytest.raises(CommandError, match=r"nfs\.pv\.baseShareName: 7 is not of type 'string'"):
        run(str(spec), "--into", str(tmp_path / "repo"), *inputs)
    assert (folder / "cluster.yaml").read_text() == cluster_yaml
    assert not (folder / "bcc.values.yaml").exists()
