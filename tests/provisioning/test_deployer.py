"""What 2i2c's deployer hands Helm for a hub, built as it does (provisioning/render/deployer.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from provisioning.render.deployer import (
    ClusterValues,
    HubVars,
    build,
    chart,
    chart_values,
    cluster_facts,
    merge_files,
    shared_files,
    unwrap,
)

pytestmark = pytest.mark.upstream
CHARTS = str(Path(settings.PORTAL_UPSTREAM_DIR) / "2i2c" / "charts")


@pytest.fixture(autouse=True)
def upstream() -> None:
    """2i2c's charts ship beside the project; CI must have them."""
    if not (Path(CHARTS) / "basehub" / "values.jsonnet").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHARTS} is missing; CI needs ../shared/upstream")
        pytest.skip(f"{CHARTS} is missing (../shared/upstream ships beside the project)")


def entry(name: str = "bcc", chart_name: str = "basehub", *files: str) -> dict[str, Any]:
    return {
        "name": name,
        "domain": f"{name}.example.org",
        "helm_chart": chart_name,
        "helm_chart_values_files": list(files)
        or ["common.values.yaml", f"{name}.values.yaml", f"enc-{name}.secret.values.yaml"],
    }


def test_it_merges_values_files_as_helm_does() -> None:
    first = {"a": {"b": 1, "c": [1, 2]}, "d": {"e": 1}, "f": 1}
    merged = merge_files(first, {"a": {"c": [3]}, "d": None, "f": {"g": 1}})
    # Maps merge; lists and scalars replace; a null stays, to delete a default later.
    assert merged == {"a": {"b": 1, "c": [3]}, "d": None, "f": {"g": 1}}
    assert first == {"a": {"b": 1, "c": [1, 2]}, "d": {"e": 1}, "f": 1}


def test_it_takes_provider_and_account_from_cluster_yaml() -> None:
    assert cluster_facts({"provider": "aws", "aws": {"account": 211125465508}}) == {
        "provider": "aws", "account_id": "211125465508",
    }  # fmt: skip
    assert cluster_facts({"provider": "gcp", "gcp": {"project": "cb-1003-1696"}}) == {
        "provider": "gcp", "account_id": "cb-1003-1696",
    }  # fmt: skip
    assert cluster_facts({}) == {"provider": "kubeconfig", "account_id": ""}


def test_it_renders_values_jsonnet_with_the_deployers_variables() -> None:
    hub = HubVars("jupyter-health", "aws", "prod", "jh.example.org", "211125465508")
    values = chart_values(chart(CHARTS, "basehub"), hub)
    assert values["jupyterhub"]["ingress"]["hosts"] == ["jh.example.org"]
    assert values["userServiceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::211125465508:role/jupyter-health-prod"
    }
    assert values["jupyterhub-home-nfs"]["eks"] == {"enabled": True}
    assert "serverIP" not in values["nfs"]["pv"]  # on AWS each hub names its own
    gcp = HubVars("awi-ciroh", "gcp", "staging", "s.example.org", "ciroh-423218")
    wrapped = chart_values(chart(CHARTS, "daskhub"), gcp)
    assert list(wrapped) == ["basehub"]  # daskhub's values.jsonnet wraps its output
    inner = wrapped["basehub"]
    assert inner["nfs"]["pv"]["serverIP"] == "storage-quota-home-nfs.staging.svc.cluster.local"
    assert (
        inner["jupyterhub-home-nfs"]["quotaEnforcer"]["config"]["QuotaManager"]["hard_quota"] == 1
    )  # "staging" in the hub's name
    assert unwrap(wrapped, "basehub") == (inner, [])
    assert unwrap({"basehub": {}, "jupyterhub": {}}, "basehub") == ({}, ["jupyterhub"])


def test_it_builds_from_values_jsonnet_and_the_entrys_files_in_order() -> None:
    cluster = ClusterValues(
        "c", "gcp", "p", shared_values={"common.values.yaml": "jupyterhub:\n  cull: {timeout: 1}\n"}
    )
    own = {"config/clusters/c/bcc.values.yaml": "jupyterhub:\n  cull: {timeout: 2}\n"}
    built = build(CHARTS, cluster, entry(), own)
    assert [source for source, _ in built.layers] == [
        "values.jsonnet", "common.values.yaml", "bcc.values.yaml",
    ]  # fmt: skip
    assert built.values["jupyterhub"]["cull"] == {"timeout": 2}
    assert built.values["jupyterhub"]["ingress"]["hosts"] == ["bcc.example.org"]
    assert built.skipped == ["enc-bcc.secret.values.yaml"]
    assert (built.missing, built.unchecked, built.problems) == ([], [], [])


def test_it_tells_missing_from_unread_shared_files() -> None:
    own = {"config/clusters/c/bcc.values.yaml": "{}\n"}
    never_read = build(CHARTS, ClusterValues("c"), entry(), own)
    assert (never_read.unchecked, never_read.missing) == (["common.values.yaml"], [])
    read = build(CHARTS, ClusterValues("c", shared_values={}), entry(), own)
    assert (read.unchecked, read.missing) == ([], ["common.values.yaml"])


def test_it_unwraps_a_daskhub_hubs_files() -> None:
    cluster = ClusterValues("c", "gcp", shared_values={"common.values.yaml": "basehub: {}\n"})
    own = {"config/clusters/c/bcc.values.yaml": "basehub:\n  nfs: {enabled: true}\nnfs: {}\n"}
    built = build(CHARTS, cluster, entry("bcc", "daskhub"), own)
    assert built.values["nfs"]["enabled"] is True
    assert built.ignored == {"config/clusters/c/bcc.values.yaml": ["nfs"]}


def test_it_lists_the_files_hubs_share() -> None:
    common = ("common.values.yaml", "enc-common.secret.values.yaml")
    entries = [
        entry("a", "basehub", *common, "a.values.yaml"),
        entry("b", "basehub", *common[:1], "gpu.values.yaml", "b.values.yaml"),
    ]
    assert shared_files(entries) == ["common.values.yaml", "gpu.values.yaml"]


def test_it_reports_a_values_jsonnet_that_fails(tmp_path: Path) -> None:
    chart_dir = tmp_path / "basehub"
    chart_dir.mkdir()
    (chart_dir / "Chart.yaml").write_text("name: basehub\n")
    (chart_dir / "values.jsonnet").write_text("{a: std.extVar('VARS_2I2C_NOPE')}\n")
    own = {"config/clusters/c/bcc.values.yaml": "{}\n"}
    built = build(str(tmp_path), ClusterValues("c", shared_values={}), entry(), own)
    ((where, message),) = built.problems
    assert where == "helm-charts/basehub/values.jsonnet"
    assert "VARS_2I2C_NOPE" in message
