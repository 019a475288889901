"""The admin's read of a cluster's conventions, the operators' edit of its inputs, and the
approval page's form for them."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from hubs.models import Cluster
from provisioning.fleet.admin_helpers import (
    ConventionsInputsMixin,
    conventions_summary,
    inputs_yaml,
)
from provisioning.fleet.inputs_form import InputsForm

pytestmark = pytest.mark.django_db

SERVER = {"key": "nfs.pv.serverIP", "type": "ip", "example": "10.100.254.159", "why": "NFS"}


class ClusterForm(ConventionsInputsMixin, forms.ModelForm):
    class Meta:
        model = Cluster
        fields = ["name", "conventions"]


@pytest.fixture
def cluster(catalog: None) -> Cluster:
    cluster = Cluster.objects.get(slug="aws-us-west2")
    cluster.conventions = {
        "helm_chart": "basehub",
        "shared_values_files": ["common.values.yaml", "enc-common.secret.values.yaml"],
        "shared_values": {"common.values.yaml": "nfs:\n  enabled: true\n"},
        "provider": "aws",
        "account_id": "211125465508",
        "inputs": [SERVER],
    }
    cluster.save()
    return cluster


def form_for(cluster: Cluster, inputs: str) -> ClusterForm:
    data: dict[str, Any] = {
        "name": cluster.name,
        "conventions": forms.JSONField().prepare_value(cluster.conventions),
        "inputs": inputs,
    }
    return ClusterForm(data, instance=cluster)


def test_it_shows_the_conventions_readably(cluster: Cluster) -> None:
    html = str(conventions_summary(cluster))
    assert "<th>Helm chart</th><td>basehub</td>" in html
    assert "<code>common.values.yaml</code></td><td>read, 2 lines" in html
    assert "<code>enc-common.secret.values.yaml</code></td><td>encrypted: not read" in html
    assert "<td><code>nfs.pv.serverIP</code></td><td>ip</td>" in html
    assert "1 a new hub must be given" in html


def test_it_lets_operators_edit_the_inputs(cluster: Cluster) -> None:
    volume = {"key": "jupyterhub-home-nfs.eks.volumeId", "type": "aws-volume-id",
              "example": "vol-02741e24417a9c2c2", "why": "its own volume"}  # fmt: skip
    form = form_for(cluster, inputs_yaml([SERVER, volume]))
    assert form.is_valid(), form.errors
    saved = form.save()
    assert saved.conventions["inputs"] == [SERVER, volume]
    assert saved.conventions["inputs_edited"] is True
    assert saved.conventions["account_id"] == "211125465508"  # the rest stays


def test_it_keeps_the_list_unmarked_when_nothing_changed(cluster: Cluster) -> None:
    form = form_for(cluster, inputs_yaml([SERVER]))
    assert form.is_valid(), form.errors
    assert "inputs_edited" not in form.save().conventions


def test_it_names_each_bad_input(cluster: Cluster) -> None:
    text = inputs_yaml([
        {"key": "nfs.pv.serverIP", "type": "colour"},
        {"key": "a..b", "type": "ip"},
        {"key": "x", "type": "ip", "example": "not an address"},
        "just text",
    ])  # fmt: skip
    form = form_for(cluster, text)
    assert not form.is_valid()
    assert form.errors["inputs"] == [
        "Item 1: unknown type 'colour'; one of ip, host, aws-volume-id, aws-efs-id, gcp-disk, "
        "bucket-url, url, integer, number, boolean, string",
        "Item 2: 'a..b' is not a dotted key",
        "Item 3: its example is not an IP address such as 10.100.0.12",
        "Item 4: must be a mapping with key, type, example and why",
    ]
    assert not form_for(cluster, "a: [").is_valid()


# --- the approval page's fields ---------------------------------------------------


def test_it_builds_the_approval_form_from_the_clusters_inputs(cluster: Cluster) -> None:
    empty = InputsForm(cluster.conventions, {})
    assert list(empty.fields) == ["nfs.pv.serverIP"]
    assert not empty.is_valid()
    assert empty.errors["nfs.pv.serverIP"] == ["needed by this cluster: NFS; e.g. 10.100.254.159"]
    bad = InputsForm(cluster.conventions, {"inputs-nfs.pv.serverIP": "10.1"})
    assert not bad.is_valid()
    assert bad.errors["nfs.pv.serverIP"] == [
        "must be an IP address such as 10.100.0.12; e.g. 10.100.254.159"
    ]
    good = InputsForm(cluster.conventions, {"inputs-nfs.pv.serverIP": " 10.1.2.3 "})
    assert good.is_valid(), good.errors
    assert good.inputs == {"nfs.pv.serverIP": "10.1.2.3"}
    shown = InputsForm(cluster.conventions, current={"nfs.pv.serverIP": "10.9.9.9"})
    assert 'value="10.9.9.9"' in str(shown["nfs.pv.serverIP"])
    assert InputsForm({}, {}).is_valid()
