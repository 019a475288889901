"""Operator inputs: learnt from existing hubs, checked, and written into a new hub's file."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from hubs.spec import SpecError
from provisioning.fleet.learn import DEFAULTS, learn_inputs
from provisioning.render.inputs import (
    InputSpec,
    apply_inputs,
    check_inputs,
    detect_type,
    join_key,
    read_inputs,
    split_key,
)

SERVER: dict[str, Any] = {
    "key": "nfs.pv.serverIP",
    "type": "ip",
    "example": "10.100.254.159",
    "why": "its common.values.yaml turns nfs.pv on, and every hub sets serverIP",
}
BUCKET: dict[str, Any] = {
    "key": "jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET",
    "type": "bucket-url",
    "example": "gs://scratch/$(JUPYTERHUB_USER)",
    "why": "every hub sets SCRATCH_BUCKET to a bucket made for it",
    "list_item": True,
}


def test_it_reads_and_writes_dotted_keys() -> None:
    assert split_key('userServiceAccount.annotations["iam.gke.io/gcp-sa"].x') == [
        "userServiceAccount", "annotations", "iam.gke.io/gcp-sa", "x",
    ]  # fmt: skip
    assert join_key(["a", "iam.gke.io/x", "b"]) == 'a["iam.gke.io/x"].b'
    for bad in ("", "a.", "a..b", 'a["b'):
        with pytest.raises(ValueError, match="key"):
            split_key(bad)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["10.100.254.159", "10.100.113.233"], "ip"),
        (["vol-02741e24417a9c2c2", "vol-097e117991afc3759"], "aws-volume-id"),
        (["projects/cb-1003-1696/zones/us-central1-b/disks/hub-nfs-homedirs-bcc"], "gcp-disk"),
        (["gs://awi-ciroh-scratch/$(JUPYTERHUB_USER)", "s3://my-bucket/x"], "bucket-url"),
        (["https://jhe.example.org"], "url"),
        (["fs-0123abcd.efs.us-east-2.amazonaws.com"], "host"),
        ([40, 20], "integer"),
        ([1.5, 2], "number"),
        (["10.0.0.1", "not an address"], "string"),
    ],
)
def test_it_tells_the_type_of_learnt_values(values: list[Any], kind: str) -> None:
    assert detect_type(values) == kind


def test_it_names_each_missing_invalid_or_unknown_input() -> None:
    conventions = {"inputs": [SERVER, BUCKET]}
    with pytest.raises(SpecError) as info:
        check_inputs(conventions, {"jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET": "bucket",
                                   "nfs.pv.server": "10.0.0.5"})  # fmt: skip
    assert info.value.errors == {
        "inputs.nfs.pv.serverIP": [
            "needed by this cluster: its common.values.yaml turns nfs.pv on, and every hub "
            "sets serverIP; e.g. 10.100.254.159"
        ],
        "inputs.jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET": [
            "must be a bucket address such as gs://bucket/path or s3://bucket/path; "
            "e.g. gs://scratch/$(JUPYTERHUB_USER)"
        ],
        "inputs.nfs.pv.server": [
            "this cluster takes no such input (it takes: nfs.pv.serverIP, "
            "jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET)"
        ],
    }
    given = {"nfs.pv.serverIP": " 10.0.0.5 ", str(BUCKET["key"]): "gs://hub-scratch/x"}
    assert check_inputs(conventions, given) == {"nfs.pv.serverIP": "10.0.0.5",
                                                BUCKET["key"]: "gs://hub-scratch/x"}  # fmt: skip
    assert check_inputs({}, None) == {}


def test_it_refuses_a_broken_inputs_list() -> None:
    with pytest.raises(SpecError, match="list of inputs is broken"):
        check_inputs({"inputs": [{"key": "a", "type": "colour"}]}, {})


def test_it_writes_inputs_at_their_keys_keeping_the_file_as_it_was() -> None:
    text = (
        "# a comment people read\n"
        "jupyterhub:\n"
        "  singleuser:\n"
        '    image: {name: "x", tag: "y"}  # kept\n'
        "    extraEnv:\n"
        "      - name: OTHER\n"
        "        value: one\n"
    )
    specs = [InputSpec.from_json(SERVER), InputSpec.from_json(BUCKET), InputSpec("a.n", "integer")]
    out = apply_inputs(
        text,
        {"nfs.pv.serverIP": "10.0.0.5", BUCKET["key"]: "gs://hub-scratch/x", "a.n": "3"},
        specs,
    )
    assert out.startswith(text)  # the template's lines stay; the inputs come after
    data = yaml.safe_load(out)
    assert data["nfs"] == {"pv": {"serverIP": "10.0.0.5"}}
    assert data["jupyterhub"]["singleuser"]["extraEnv"] == [
        {"name": "OTHER", "value": "one"},
        {"name": "SCRATCH_BUCKET", "value": "gs://hub-scratch/x"},
    ]
    assert data["a"] == {"n": 3}
    assert '    serverIP: "10.0.0.5"\n' in out  # quoted, like every value the templates write
    nested = apply_inputs("basehub:\n  jupyterhub: {}\n", {"nfs.pv.serverIP": "10.0.0.5"}, specs,
                          root=("basehub",))  # fmt: skip
    assert yaml.safe_load(nested)["basehub"]["nfs"] == {"pv": {"serverIP": "10.0.0.5"}}
    assert apply_inputs(text, {}, specs) == text


def test_it_reads_inputs_back_from_a_hubs_files() -> None:
    specs = [
        InputSpec.from_json(SERVER),
        InputSpec.from_json(BUCKET),
        InputSpec("a.enabled", "boolean"),
    ]
    given = {
        "nfs.pv.serverIP": "10.0.0.5",
        BUCKET["key"]: "gs://hub-scratch/x",
        "a.enabled": "true",
    }
    text = apply_inputs("basehub:\n  jupyterhub: {}\n", given, specs, root=("basehub",))
    assert read_inputs({"x.values.yaml": text}, specs, wraps="basehub") == given
    assert read_inputs({"x.values.yaml": "a: ["}, specs) == {}


# --- learning ----------------------------------------------------------------------


def layers_for(common: dict[str, Any], generated: dict[str, Any] | None = None) -> Any:
    defaults = {"nfs": {"enabled": False, "pv": {"enabled": False, "baseShareName": "/"}}}
    return lambda hub: [
        (DEFAULTS, defaults),
        ("values.jsonnet", generated or {}),
        ("common.values.yaml", common),
    ]


def hub(server: str, **more: Any) -> dict[str, Any]:
    return {
        "nfs": {"pv": {"serverIP": server, "baseShareName": "/homes/"}},
        "jupyterhub": {"custom": {"homepage": {"org": {"name": f"Org {server}"}}}},
        **more,
    }


def test_it_learns_per_hub_infrastructure_that_nothing_else_supplies() -> None:
    common = {"nfs": {"enabled": True, "pv": {"enabled": True}}}
    own = {"staging": hub("10.0.0.1"), "prod": hub("10.0.0.2")}
    learnt = learn_inputs(own, layers_for(common), provider="aws")
    # baseShareName is the same everywhere (a convention); the org's name is ordinary text.
    assert learnt == [
        {
            "key": "nfs.pv.serverIP",
            "type": "ip",
            "example": "10.0.0.2",  # not the staging hub's
            "why": "its common.values.yaml turns nfs.pv on, and every hub sets serverIP to "
            "the address of a server made for it outside this repository",
        }
    ]


def test_it_learns_nothing_the_chart_or_shared_files_already_give() -> None:
    common = {"nfs": {"enabled": True, "pv": {"enabled": True}}}
    generated = {"nfs": {"pv": {"serverIP": "storage.svc.cluster.local"}}}
    own = {"a": hub("10.0.0.1"), "b": hub("10.0.0.2")}
    assert learn_inputs(own, layers_for(common, generated)) == []


def test_it_learns_what_nearly_every_hub_of_a_big_cluster_sets() -> None:
    common: dict[str, Any] = {}
    own = {f"hub{i}": {"x": {"volume": f"vol-{i:017x}"}} for i in range(19)}
    own["shared-one"] = {}  # one hub in twenty uses the cluster's volume
    assert [i["key"] for i in learn_inputs(own, layers_for(common))] == ["x.volume"]
    own["shared-two"] = {}
    own["shared-three"] = {}  # three in twenty-two is more than nearly none
    assert learn_inputs(own, layers_for(common)) == []


def test_it_learns_env_list_items_by_name() -> None:
    own = {
        name: {"jupyterhub": {"singleuser": {"extraEnv": [
            {"name": "SCRATCH_BUCKET", "value": f"s3://{name}-scratch"},
            {"name": "TZ", "value": "UTC"},
        ]}}}
        for name in ("a", "b")
    }  # fmt: skip
    (learnt,) = learn_inputs(own, layers_for({}))
    assert learnt["key"] == "jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET"
    assert (learnt["type"], learnt["list_item"]) == ("bucket-url", True)
