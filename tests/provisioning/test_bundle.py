"""The Right to Replicate bundle: what a community takes to run its hub anywhere.

Nothing is installed: the bundle's values are checked the way Helm would check
them, against the Zero to JupyterHub chart's schema (../shared/upstream).
"""

from __future__ import annotations

import csv
import functools
import io
import shutil
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings

from hubs.models import Hub, HubSecret
from provisioning import bundle
from provisioning.fleet.importer import import_checkout
from provisioning.render.renderer import Rendered
from provisioning.render.validate import validate_rendered
from tests.conftest import live_hub
from tests.provisioning.gitops_fixtures import upstream_cloudbank

pytestmark = [pytest.mark.django_db, pytest.mark.upstream]


def unzip(data: bytes) -> dict[str, str]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name).decode() for name in archive.namelist()}


@functools.cache
def z2jh() -> tuple[jsonschema.Draft7Validator, dict]:
    root = Path(settings.PORTAL_UPSTREAM_DIR) / "z2jh"
    schema = yaml.safe_load((root / "values.schema.yaml").read_text())
    return jsonschema.Draft7Validator(schema), yaml.safe_load((root / "values.yaml").read_text())


def merged(base: object, override: object) -> object:
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    return {**base, **{k: merged(base.get(k), v) for k, v in override.items()}}


def check_z2jh(values_text: str) -> None:
    """Helm's check, straight from the chart: its defaults merged with the values, against
    its schema (not the portal's own stricter checks, which adopted hubs need not pass)."""
    validator, defaults = z2jh()
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(merged(defaults, yaml.safe_load(values_text)))
    ]
    assert errors == []


def test_a_portal_hub_bundles_values_members_image_and_secret_names(helm_cluster, lead, reviewer):
    upstream_cloudbank()  # the schemas ship beside the project
    hub = live_hub(
        lead, reviewer, cluster="k3d-local", admins=["alice-gh", "bob-gh"],
        allowed_users=["carol", "dave"],
    )  # fmt: skip
    HubSecret.objects.create(hub=hub, key="oauth_client_secret", value="s3cr3t-never-shown")

    files = unzip(bundle.bundle(hub))

    assert sorted(files) == [
        "bcc/README.md", "bcc/image.txt", "bcc/members.csv", "bcc/secret.yaml", "bcc/values.yaml",
    ]  # fmt: skip
    check_z2jh(files["bcc/values.yaml"])
    # A hub the portal made passes the portal's own checks too.
    validate_rendered(Rendered(layout="z2jh", files={"values.yaml": files["bcc/values.yaml"]}))
    assert list(csv.reader(io.StringIO(files["bcc/members.csv"]))) == [
        ["username", "role"], ["alice-gh", "admin"], ["bob-gh", "admin"],
        ["carol", "allowed"], ["dave", "allowed"],
    ]  # fmt: skip
    assert files["bcc/image.txt"].strip() == "quay.io/jupyter/scipy-notebook:2025-10-20"
    secret = yaml.safe_load(files["bcc/secret.yaml"])
    assert secret["metadata"]["name"] == "hub-portal-secrets"
    assert secret["stringData"] == {"oauth-client-id": "", "oauth-client-secret": ""}
    assert all("s3cr3t" not in text for text in files.values())
    readme = files["bcc/README.md"]
    assert "helm upgrade --install bcc jupyterhub/jupyterhub --version 4.4.0" in readme
    assert "https://bcc.hubs.localhost/hub/oauth_callback" in readme


def test_every_hub_adopted_from_cloudbank_bundles_values_the_z2jh_chart_accepts(
    tmp_path: Path, catalog
):
    checkout = tmp_path / "infrastructure"
    shutil.copytree(upstream_cloudbank(), checkout / "config" / "clusters" / "cloudbank")
    import_checkout(checkout)
    hubs = list(Hub.objects.filter(imported=True).order_by("name"))
    assert len(hubs) > 50

    for hub in hubs:
        files = unzip(bundle.bundle(hub))
        values = files[f"{hub.name}/values.yaml"]
        check_z2jh(values)
        parsed = yaml.safe_load(values)
        assert parsed["ingress"]["hosts"] == [hub.domain], hub.name
        assert any(path.startswith(f"{hub.name}/original/") for path in files), hub.name

    bcc = unzip(bundle.bundle(Hub.objects.get(name="bcc")))
    assert "ericvd@berkeley.edu,admin" in bcc["bcc/members.csv"]
    config = yaml.safe_load(bcc["bcc/values.yaml"])["hub"]["config"]
    assert config["CILogonOAuthenticator"]["oauth_callback_url"] == (
        "https://bcc.cloudbank.2i2c.cloud/hub/oauth_callback"
    )
    assert "not included" in bcc["bcc/README.md"]
