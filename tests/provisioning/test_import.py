"""Adopting an existing repository: the cloudbank example from ../shared/upstream."""

from __future__ import annotations

import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from hubs import actions
from hubs.models import Cluster, Hub, HubRevision, Offering
from hubs.states import HubState
from provisioning.fleet.drift import check_checkout
from provisioning.fleet.importer import conventions, import_checkout
from provisioning.layout.paths import CLUSTERS_DIR
from provisioning.render.inputs import input_specs

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "upstream" / "2i2c" / "examples"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout in the 2i2c layout holding the cloudbank cluster folder."""
    if not (EXAMPLES / "cloudbank" / "cluster.yaml").exists():
        if os.environ.get("CI") == "1":
            pytest.fail(f"{EXAMPLES} is required under CI=1")
        pytest.skip(f"{EXAMPLES} is missing (../shared is not beside the project)")
    folder = tmp_path / CLUSTERS_DIR / "cloudbank"
    shutil.copytree(EXAMPLES / "cloudbank", folder)
    return tmp_path


def test_it_imports_the_cloudbank_cluster_and_its_hubs(checkout, catalog):
    report = import_checkout(checkout)
    assert report.clusters_created == ["cloudbank"]
    cluster = Cluster.objects.get(slug="cloudbank")
    assert cluster.provider == "gcp" and cluster.region == "us-central1-b"
    assert cluster.base_domain == "cloudbank.2i2c.cloud"
    conventions = cluster.conventions
    assert {k: v for k, v in conventions.items() if k not in ("shared_values", "inputs")} == {
        "helm_chart": "basehub",
        "shared_values_files": ["common.values.yaml"],
        "secret_values_file": "enc-{hub}.secret.values.yaml",
        "provider": "gcp",
        "account_id": "cb-1003-1696",
    }
    common = checkout / CLUSTERS_DIR / "cloudbank" / "common.values.yaml"
    assert conventions["shared_values"] == {"common.values.yaml": common.read_text()}
    assert [(i["key"], i["type"]) for i in conventions["inputs"]] == [
        ("jupyterhub-home-nfs.gke.volumeId", "gcp-disk")
    ]
    # Every offering, until an operator restricts it.
    assert set(cluster.offerings.all()) == set(Offering.objects.all())
    hubs = Hub.objects.filter(cluster=cluster)
    assert hubs.count() == len(report.hubs_created) > 90
    bcc = hubs.get(name="bcc")
    assert (bcc.state, bcc.imported, bcc.current_revision) == (HubState.ACTIVE, True, 1)
    assert bcc.domain == "bcc.cloudbank.2i2c.cloud"
    assert bcc.spec["auth"] == {"provider": "cilogon"}
    assert "ericvd@berkeley.edu" in bcc.spec["admins"]
    authoring = hubs.get(name="authoring").spec["auth"]
    assert authoring == {"provider": "github", "github": {"organizations": ["ucb-ds"]}}
    assert hubs.get(name="ccsf").spec["auth"] == {"provider": "google"}
    files = bcc.revisions.get().files
    assert list(files["files"]) == ["config/clusters/cloudbank/bcc.values.yaml"]
    assert files["cluster_entry"]["helm_chart_values_files"][-1] == "enc-bcc.secret.values.yaml"


def test_it_updates_rather_than_duplicates(checkout, catalog):
    import_checkout(checkout)
    count = Hub.objects.count()
    values = checkout / CLUSTERS_DIR / "cloudbank" / "bcc.values.yaml"
    values.write_text(values.read_text().replace("limit: 1.5G", "limit: 2G"))
    report = import_checkout(checkout)
    assert Hub.objects.count() == count
    assert report.hubs_updated == ["cloudbank/bcc"]
    assert len(report.hubs_unchanged) == count - 1
    bcc = Hub.objects.get(name="bcc")
    assert bcc.current_revision == 2
    assert (
        "limit: 2G"
        in HubRevision.objects.get(hub=bcc, number=2).files["files"][
            "config/clusters/cloudbank/bcc.values.yaml"
        ]
    )


def test_it_reports_what_it_cannot_read(checkout, catalog):
    folder = checkout / CLUSTERS_DIR / "cloudbank"
    (folder / "bcc.values.yaml").unlink()
    (folder / "berea.values.yaml").write_text("jupyterhub: [unclosed\n")
    broken = checkout / CLUSTERS_DIR / "broken"
    broken.mkdir()
    (broken / "cluster.yaml").write_text("name: broken\nhubs: {{\n")
    report = import_checkout(checkout)
    assert (
        "config/clusters/cloudbank/bcc.values.yaml: listed for bcc but missing" in report.problems
    )
    assert any(p.startswith("config/clusters/cloudbank/berea.values.yaml: not valid YAML")
               for p in report.problems)  # fmt: skip
    assert any(p.startswith("config/clusters/broken/cluster.yaml:") for p in report.problems)
    assert report.clusters_created == ["cloudbank"]


def test_a_new_hub_on_an_imported_cluster_follows_its_conventions(
    checkout, catalog, lead, reviewer
):
    import_checkout(checkout)
    spec = {
        "name": "newcollege", "display_name": "New College", "purpose": "education",
        "cluster": "cloudbank", "offering": "education",
        "community": {"name": "New College"}, "image": {"catalog": "scipy-notebook"},
        "auth": {"provider": "github", "github": {"organizations": ["new-college"]}},
        "admins": ["ada"], "expected_users": 30,
    }  # fmt: skip
    request = actions.create_request(lead, spec, submit=True)
    # The cluster's learnt inputs (its own NFS disk) are given at approval (#12 item 3).
    cluster = Cluster.objects.get(slug="cloudbank")
    inputs = {s.key: s.example for s in input_specs(cluster.conventions)}
    hub = actions.approve_request(request, by=reviewer, inputs=inputs)
    assert hub.domain == "newcollege.cloudbank.2i2c.cloud"
    entry = hub.revisions.get().files["cluster_entry"]
    assert entry["helm_chart"] == "basehub"
    assert entry["helm_chart_values_files"] == [
        "common.values.yaml", "newcollege.values.yaml", "enc-newcollege.secret.values.yaml"
    ]  # fmt: skip


def test_it_learns_conventions_from_the_entries():
    entries = [
        {"name": n, "helm_chart": "daskhub",
         "helm_chart_values_files": ["common.values.yaml", f"{n}.values.yaml"]}
        for n in ("a", "b", "c")
    ]  # fmt: skip
    assert conventions(entries) == {
        "helm_chart": "daskhub", "shared_values_files": ["common.values.yaml"]
    }  # fmt: skip


def test_it_records_drift_when_the_repository_is_edited_by_hand(
    checkout, catalog, operator, django_assert_max_num_queries
):
    import_checkout(checkout)
    # One query for the current revisions, whatever the number of hubs.
    with django_assert_max_num_queries(2):
        assert check_checkout(checkout, Hub.objects.all()) == []
    folder = checkout / CLUSTERS_DIR / "cloudbank"
    values = folder / "bcc.values.yaml"
    # A comment is not drift; a changed value is.
    values.write_text("# reviewed\n" + values.read_text())
    assert check_checkout(checkout, Hub.objects.all()) == []
    values.write_text(values.read_text().replace("guarantee: 384M", "guarantee: 1G"))
    cluster = folder / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("display_name: Boise State University",
                                                   "display_name: Boise State"))  # fmt: skip
    drifted = check_checkout(checkout, Hub.objects.all())
    assert drifted == [
        "cloudbank/bcc: bcc.values.yaml was edited",
        "cloudbank/boise: cluster.yaml entry: display_name changed",
    ]
    assert Hub.objects.get(name="bcc").drift["summary"] == "bcc.values.yaml was edited"
    from tests.conftest import client_for

    page = client_for(operator).get("/operations/").content.decode()
    assert "bcc.values.yaml was edited" in page


def test_the_command_prints_a_report(checkout, catalog):
    out = StringIO()
    call_command("import_repo", str(checkout), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "clusters: 1 created, 0 updated"
    assert lines[1].startswith("hubs: ") and "created, 0 updated, 0 unchanged" in lines[1]
    assert lines[2] == (
        "cloudbank: basehub chart; a new hub needs jupyterhub-home-nfs.gke.volumeId (gcp-disk)"
    )
    with pytest.raises(CommandError, match="no deploy target named 'nope'"):
        call_command("import_repo", str(checkout), "--target", "nope")


def test_it_reads_the_examples_folder_itself(catalog):
    if not EXAMPLES.exists():
        pytest.skip(f"{EXAMPLES} is missing")
    report = import_checkout(EXAMPLES)
    assert report.clusters_created == ["cloudbank"]


def git(cwd: Path, *args: str) -> None:
    import subprocess

    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_the_beat_task_checks_the_deploy_repository(checkout, catalog, tmp_path):
    from provisioning.models import DeployTarget
    from provisioning.tasks import check_drift

    git(checkout, "init", "-q", "-b", "main")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "cloudbank")
    bare = tmp_path / "infrastructure.git"
    git(tmp_path, "clone", "-q", "--bare", str(checkout), str(bare))
    target = DeployTarget.objects.create(name="infra", repo_url=f"file://{bare}")
    import_checkout(checkout, target=target)
    assert check_drift() == 0
    values = checkout / CLUSTERS_DIR / "cloudbank" / "bcc.values.yaml"
    values.write_text(values.read_text().replace("limit: 1.5G", "limit: 3G"))
    git(checkout, "commit", "-q", "-am", "by hand")
    git(checkout, "push", "-q", str(bare), "main")
    assert check_drift() == 1
    assert Hub.objects.get(name="bcc").drift["differences"] == ["bcc.values.yaml was edited"]


def test_it_keeps_an_operators_inputs_list_and_refreshes_the_shared_files(checkout, catalog):
    import_checkout(checkout)
    cluster = Cluster.objects.get(slug="cloudbank")
    mine = [{"key": "nfs.pv.serverIP", "type": "ip", "example": "10.0.0.1", "why": "ours"}]
    cluster.conventions = {**cluster.conventions, "inputs": mine, "inputs_edited": True}
    cluster.save()
    common = checkout / CLUSTERS_DIR / "cloudbank" / "common.values.yaml"
    common.write_text(common.read_text() + "# edited\n")
    import_checkout(checkout)
    cluster.refresh_from_db()
    assert cluster.conventions["inputs"] == mine
    assert cluster.conventions["shared_values"]["common.values.yaml"].endswith("# edited\n")
    # A drift check reads the shared files again too.
    common.write_text(common.read_text() + "# again\n")
    check_checkout(checkout, Hub.objects.all())
    cluster.refresh_from_db()
    assert cluster.conventions["shared_values"]["common.values.yaml"].endswith("# again\n")
    assert cluster.conventions["inputs"] == mine
