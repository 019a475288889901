"""Real 2i2c cluster folders: every hub passes the deployer's build; a new hub does too,
once the inputs the cluster needs are supplied, and is refused without them.

The folders are every `cluster.yaml` under ../shared/upstream/2i2c (cloudbank;
jupyter-health with a home-directory NFS server per hub, on AWS; awi-ciroh,
whose hubs use the daskhub chart): nothing here is written for one of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from hubs.models import Cluster, Hub, HubRevision
from hubs.spec import SpecError, parse_spec
from hubs.validation import validate_spec
from provisioning.fleet.importer import import_checkout
from provisioning.layout.paths import CLUSTERS_DIR
from provisioning.render.deployer import ClusterValues, cluster_facts
from provisioning.render.inputs import InputSpec, check_inputs, input_specs
from provisioning.render.renderer import Rendered, cluster_values, context_for, render
from provisioning.render.validate import ConfigError, validate_rendered
from tests.conftest import github_spec
from tests.provisioning.test_render import GOLDEN, spec_for, tier_context

pytestmark = pytest.mark.upstream
UPSTREAM = Path(settings.PORTAL_UPSTREAM_DIR) / "2i2c"
FOLDERS = sorted(p.parent for p in UPSTREAM.glob("**/cluster.yaml"))
# What import must learn where we know the answer (other folders: whatever they need).
LEARNT = {
    "cloudbank": ["jupyterhub-home-nfs.gke.volumeId"],
    "jupyter-health": ["nfs.pv.serverIP", "jupyterhub-home-nfs.eks.volumeId"],
    "awi-ciroh": [
        "jupyterhub-home-nfs.gke.volumeId",
        "jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET",
        "jupyterhub.singleuser.extraEnv.PANGEO_SCRATCH",
        "jupyterhub.singleuser.extraEnv.PERSISTENT_BUCKET",
    ],
}


@pytest.fixture
def folders() -> list[Path]:
    if not {"cloudbank", "jupyter-health", "awi-ciroh"} <= {f.name for f in FOLDERS}:
        if os.environ.get("CI"):
            pytest.fail(f"{UPSTREAM} lacks the cluster folders; CI needs ../shared/upstream")
        pytest.skip(f"{UPSTREAM} lacks the cluster folders (../shared is not beside the project)")
    return FOLDERS


@pytest.fixture
def checkout(tmp_path: Path, folders: list[Path]) -> Path:
    """A checkout in the 2i2c layout holding every upstream cluster folder."""
    for folder in folders:
        shutil.copytree(folder, tmp_path / CLUSTERS_DIR / folder.name)
    return tmp_path


@pytest.fixture
def imported(checkout: Path, catalog: None) -> list[Cluster]:
    report = import_checkout(checkout)
    assert report.problems == []
    return list(Cluster.objects.filter(slug__in=[f.name for f in FOLDERS]))


def new_hub(cluster: Cluster, **overrides: Any) -> Any:
    return validate_spec(github_spec(name="newcollege", cluster=cluster.slug, **overrides))


@pytest.mark.django_db
def test_it_validates_every_hub_of_every_cluster_the_deployers_way(
    imported: list[Cluster],
) -> None:
    assert {c.slug for c in imported} == {f.name for f in FOLDERS}
    checked = 0
    for cluster in imported:
        values = cluster_values(cluster)
        revisions = HubRevision.objects.filter(hub__cluster=cluster, number=1)
        for revision in revisions:
            report = validate_rendered(Rendered.from_json(revision.files), cluster=values)
            # Every real hub here has an encrypted file, which cannot be read: it says so.
            assert any(path.startswith(f"{CLUSTERS_DIR}/") for path in report.skipped)
            assert report.unchecked == []
            checked += 1
    assert checked == Hub.objects.count() >= 99


@pytest.mark.django_db
def test_it_learns_each_clusters_chart_and_inputs(imported: list[Cluster]) -> None:
    charts = {c.slug: c.conventions["helm_chart"] for c in imported}
    assert (charts["cloudbank"], charts["jupyter-health"], charts["awi-ciroh"]) == (
        "basehub", "basehub", "daskhub",
    )  # fmt: skip
    for cluster in imported:
        learnt = [spec.key for spec in input_specs(cluster.conventions)]
        assert learnt == LEARNT.get(cluster.slug, learnt)
    health = next(c for c in imported if c.slug == "jupyter-health")
    assert health.conventions["provider"] == "aws"
    assert health.conventions["account_id"] == "211125465508"
    server = input_specs(health.conventions)[0]
    assert (server.type, server.example) == ("ip", "10.100.254.159")
    assert "common.values.yaml turns nfs.pv on" in server.why


@pytest.mark.django_db
def test_it_refuses_a_new_hub_on_each_cluster_without_its_inputs(
    imported: list[Cluster],
) -> None:
    for cluster in imported:
        keys = LEARNT.get(cluster.slug) or [s.key for s in input_specs(cluster.conventions)]
        if not keys:
            continue
        with pytest.raises(SpecError) as info:
            check_inputs(cluster.conventions, {})
        assert list(info.value.errors) == [f"inputs.{key}" for key in keys]
        for messages in info.value.errors.values():
            assert messages[0].startswith("needed by this cluster: ")
            assert "; e.g. " in messages[0]


@pytest.mark.django_db
def test_it_passes_a_new_hub_on_each_cluster_given_its_inputs(imported: list[Cluster]) -> None:
    for cluster in imported:
        for tier in ("education", "research-shared"):
            examples = {s.key: s.example for s in input_specs(cluster.conventions)}
            checked = new_hub(cluster, offering=tier, purpose="research" if tier != "education"
                              else "education")  # fmt: skip
            inputs = check_inputs(cluster.conventions, examples)
            rendered = render(checked.spec, context_for(checked, inputs=inputs), "2i2c")
            report = validate_rendered(rendered, cluster=cluster_values(cluster))
            assert f"{CLUSTERS_DIR}/{cluster.slug}/enc-newcollege.secret.values.yaml" in (
                report.skipped
            )
            assert rendered.cluster_entry is not None
            assert rendered.cluster_entry["helm_chart"] == cluster.conventions["helm_chart"]


@pytest.mark.django_db
def test_it_shows_the_chart_refuses_a_hub_without_its_own_nfs_server(
    imported: list[Cluster],
) -> None:
    # What the inputs are for: on jupyter-health the chart itself refuses such a hub.
    health = next(c for c in imported if c.slug == "jupyter-health")
    checked = new_hub(health)
    rendered = render(checked.spec, context_for(checked), "2i2c")
    with pytest.raises(ConfigError) as info:
        validate_rendered(rendered, cluster=cluster_values(health))
    assert (
        "config/clusters/jupyter-health/newcollege.values.yaml: nfs.pv: 'serverIP' is a "
        "required property" in info.value.lines()
    )


@pytest.mark.django_db
def test_it_writes_a_daskhub_hub_under_basehub(imported: list[Cluster]) -> None:
    ciroh = next(c for c in imported if c.slug == "awi-ciroh")
    examples = {s.key: s.example for s in input_specs(ciroh.conventions)}
    checked = new_hub(ciroh, offering="research-shared", purpose="research")
    rendered = render(checked.spec, context_for(checked, inputs=examples), "2i2c")
    (text,) = rendered.files.values()
    data = yaml.safe_load(text)
    assert list(data) == ["basehub"]
    assert data["basehub"]["dask-gateway"] == {"enabled": True}
    assert data["basehub"]["jupyterhub"]["hub"]["config"]["JupyterHub"] == {
        "authenticator_class": "github"
    }
    env = data["basehub"]["jupyterhub"]["singleuser"]["extraEnv"]
    assert env["SCRATCH_BUCKET"] == "gs://awi-ciroh-scratch/$(JUPYTERHUB_USER)"


@pytest.mark.django_db
def test_it_refuses_daskhub_values_helm_would_ignore(imported: list[Cluster]) -> None:
    ciroh = next(c for c in imported if c.slug == "awi-ciroh")
    prod = Rendered.from_json(HubRevision.objects.get(hub__name="prod", hub__cluster=ciroh).files)
    ((path, text),) = prod.files.items()
    # The mistake this issue is about: basehub's shape at the top of a daskhub file.
    flat = Rendered(prod.layout, {path: text + "jupyterhub:\n  cull:\n    timeout: 60\n"},
                    prod.cluster_entry)  # fmt: skip
    with pytest.raises(ConfigError) as info:
        validate_rendered(flat, cluster=cluster_values(ciroh))
    assert info.value.lines() == [
        f"{path}: jupyterhub: the daskhub chart reads its values under `basehub:`, so Helm "
        "would silently ignore this"
    ]


# --- golden files -------------------------------------------------------------------

# The inputs import learns on those clusters, as fleet tests above check.
GOLDEN_CLUSTERS: dict[str, dict[str, Any]] = {
    "awi-ciroh": {
        "helm_chart": "daskhub",
        "tier": "research-shared",
        "inputs": {
            "jupyterhub-home-nfs.gke.volumeId": (
                "gcp-disk",
                "projects/ciroh-jupyterhub-423218/zones/us-central1-b/disks/hub-nfs-homedirs-bcc",
            ),
            "jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET": (
                "bucket-url",
                "gs://awi-ciroh-scratch-bcc/$(JUPYTERHUB_USER)",
            ),
        },
    },
    "jupyter-health": {
        "helm_chart": "basehub",
        "tier": "education",
        "inputs": {
            "nfs.pv.serverIP": ("ip", "10.100.7.21"),
            "jupyterhub-home-nfs.eks.volumeId": ("aws-volume-id", "vol-0a1b2c3d4e5f60718"),
        },
    },
}


@pytest.mark.parametrize("cluster", sorted(GOLDEN_CLUSTERS))
def test_it_matches_the_golden_files(cluster: str, folders: list[Path]) -> None:
    case = GOLDEN_CLUSTERS[cluster]
    specs = tuple(InputSpec(key, kind) for key, (kind, _) in case["inputs"].items())
    context = tier_context(
        case["tier"],
        cluster=cluster,
        domain=f"bcc.{cluster}.2i2c.cloud",
        helm_chart=case["helm_chart"],
        inputs={key: value for key, (_, value) in case["inputs"].items()},
        input_specs=specs,
    )
    tier = case["tier"]
    spec = dict(spec_for("github", tier), cluster=cluster)
    rendered = render(parse_spec(spec), context, "2i2c")
    (text,) = rendered.files.values()
    golden = GOLDEN / f"{cluster}.2i2c.values.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing: run with UPDATE_GOLDEN=1"
    assert text == golden.read_text(), f"{golden.name} changed: review, then UPDATE_GOLDEN=1"
    # And it is what the deployer would hand Helm on that cluster.
    folder = UPSTREAM / "variants" / cluster
    facts = yaml.safe_load((folder / "cluster.yaml").read_text())
    shared = {"common.values.yaml": (folder / "common.values.yaml").read_text()}
    values = ClusterValues.from_conventions(
        cluster, {**cluster_facts(facts), "helm_chart": case["helm_chart"], "shared_values": shared}
    )
    validate_rendered(rendered, cluster=values)
