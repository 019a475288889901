"""Operator inputs: per-hub values a cluster needs from infrastructure made outside the repository.

On some clusters every hub's own file names things that were made for that hub
by hand or by terraform: its NFS server's address, its home-directory volume,
its buckets. The portal cannot invent them. Import learns which keys they are
(provisioning/fleet/learn.py) and stores the list in the cluster's
conventions as `inputs`:

    [{"key": "nfs.pv.serverIP", "type": "ip", "example": "10.100.254.159",
      "why": "its common.values.yaml turns nfs.pv on, and ..."}, ...]

A reviewer or operator supplies the values when approving (`check_inputs`),
and the renderer writes them into the hub's own file (`apply_inputs`). A later
revision (a change, a rollback) takes them back from the hub's current files
(`read_inputs`), so nobody has to type them twice.

Keys are dotted paths in basehub's shape (a daskhub hub's `basehub:` is
added by the renderer). A segment holding a dot is written in brackets:
`userServiceAccount.annotations["iam.gke.io/gcp-service-account"]`. Where the
parent is a list of `{name: ..., value: ...}` items (an env list such as
`jupyterhub.singleuser.extraEnv`), the last segment names the item, so
`jupyterhub.singleuser.extraEnv.SCRATCH_BUCKET` is the `value` of the entry
named SCRATCH_BUCKET; an input learnt from such a list says `list_item: true`
and is written as a list item, otherwise as a mapping key (z2jh accepts both).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from typing import Any

from hubs.spec import CONTROL, HOSTNAME, HTTP_URL, SpecError

KEY_SEGMENT = re.compile(r'([^.\[\]"]+)|\["([^"\]]+)"\]')
GCP_DISK = (
    r"projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/(?:zones|regions)/[-a-z0-9]+"
    r"/disks/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?"
)


# --- types ------------------------------------------------------------------------------


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _pattern(regex: str) -> Callable[[str], bool]:
    compiled = re.compile(regex)
    return lambda value: bool(compiled.fullmatch(value))


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


@dataclass(frozen=True)
class InputType:
    name: str
    describe: str  # "must be {describe}"
    check: Callable[[str], bool]
    infrastructure: bool  # a value only something outside the repository can give


TYPES: dict[str, InputType] = {
    t.name: t
    for t in (
        InputType("ip", "an IP address such as 10.100.0.12", _ip, True),
        InputType(
            "host",
            "an IP address or a host name",
            lambda v: _ip(v) or bool(HOSTNAME.match(v.lower())),
            True,
        ),
        InputType(
            "aws-volume-id",
            "an EBS volume id such as vol-0123456789abcdef0",
            _pattern(r"vol-[0-9a-f]{8}(?:[0-9a-f]{9})?"),
            True,
        ),
        InputType(
            "aws-efs-id",
            "an EFS file system id such as fs-0123456789abcdef0",
            _pattern(r"fs-[0-9a-f]{8}(?:[0-9a-f]{9})?"),
            True,
        ),
        InputType(
            "gcp-disk",
            "a persistent disk such as projects/PROJECT/zones/ZONE/disks/NAME",
            _pattern(GCP_DISK),
            True,
        ),
        InputType(
            "bucket-url",
            "a bucket address such as gs://bucket/path or s3://bucket/path",
            _pattern(r"(?:gs|gcs|s3|az|abfss?)://[a-z0-9][-a-z0-9._]{1,221}(?:/\S*)?"),
            True,
        ),
        InputType("url", "an http(s) address", lambda v: bool(HTTP_URL.match(v)), False),
        InputType("integer", "a whole number", _pattern(r"-?[0-9]{1,18}"), False),
        InputType("number", "a number", _number, False),
        InputType("boolean", "true or false", lambda v: v.lower() in ("true", "false"), False),
        InputType("string", "one line of text", lambda v: True, False),
    )
}
# Most specific first: what a value learnt from the repository is taken to be.
DETECT_ORDER = (
    "ip", "aws-volume-id", "aws-efs-id", "gcp-disk", "bucket-url", "url", "boolean",
    "integer", "number", "host", "string",
)  # fmt: skip


def detect_type(values: Sequence[Any]) -> str:
    """The most specific type every one of `values` (as written in YAML) fits."""
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "number"
    texts = [str(v) for v in values]
    for name in DETECT_ORDER:
        if name in ("boolean", "integer", "number"):
            continue  # a string that looks like a number stays a string
        if all(TYPES[name].check(t) for t in texts):
            return name
    return "string"


# --- keys -------------------------------------------------------------------------------


def split_key(key: str) -> list[str]:
    """`a.b["c.d"].e` -> ["a", "b", "c.d", "e"]; ValueError if it is not a key."""
    parts: list[str] = []
    position = 0
    while position < len(key):
        match = KEY_SEGMENT.match(key, position)
        if match is None:
            raise ValueError(f"{key!r} is not a dotted key")
        parts.append(match[1] if match[1] is not None else match[2])
        position = match.end()
        if position < len(key):
            if key[position] == ".":
                position += 1
                if position == len(key):
                    raise ValueError(f"{key!r} is not a dotted key: it ends with a dot")
            elif key[position] != "[":
                raise ValueError(f"{key!r} is not a dotted key")
    if not parts:
        raise ValueError("a key cannot be empty")
    return parts


def join_key(parts: Sequence[str]) -> str:
    """The dotted key of `parts` (segments holding a dot go in brackets)."""
    out = ""
    for part in parts:
        if "." in part or "[" in part or "]" in part:
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else part
    return out


# --- the learnt list --------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    key: str
    type: str = "string"
    example: str = ""
    why: str = ""
    list_item: bool = False  # the last segment names an item of a {name, value} list

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InputSpec:
        kind = str(data.get("type") or "string")
        if kind not in TYPES:
            raise ValueError(f"unknown type {kind!r}; one of {', '.join(TYPES)}")
        key = str(data.get("key") or "")
        split_key(key)  # refuse what cannot be written
        return cls(
            key=key,
            type=kind,
            example=str(data.get("example") or ""),
            why=str(data.get("why") or ""),
            list_item=bool(data.get("list_item")),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "type": self.type,
            "example": self.example,
            "why": self.why,
        }
        if self.list_item:
            data["list_item"] = True
        return data

    def typed(self, value: str) -> Any:
        """`value` as the values file holds it: numbers and booleans unquoted, else text."""
        if self.type == "integer":
            return int(value)
        if self.type == "number":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
        if self.type == "boolean":
            return value.lower() == "true"
        return value


def input_specs(conventions: Mapping[str, Any] | None) -> list[InputSpec]:
    """The inputs a cluster's conventions ask for (ValueError on a malformed entry)."""
    found = (conventions or {}).get("inputs") or []
    if not isinstance(found, list):
        raise ValueError("conventions.inputs must be a list")
    return [InputSpec.from_json(item) for item in found if isinstance(item, Mapping)]


def check_inputs(
    conventions: Mapping[str, Any] | None, inputs: Mapping[str, Any] | None
) -> dict[str, str]:
    """The inputs a new hub gives for its cluster, checked: {dotted key: value}.

    Raises hubs.spec.SpecError with one message per missing, invalid or unknown
    key (`inputs.<key>`), saying why the cluster needs it and an example.
    """
    given = {str(k): ("" if v is None else str(v)).strip() for k, v in (inputs or {}).items()}
    try:
        specs = {spec.key: spec for spec in input_specs(conventions)}
    except ValueError as exc:
        raise SpecError({"inputs": [f"the cluster's list of inputs is broken: {exc}"]}) from exc
    errors: dict[str, list[str]] = {}
    for key, spec in specs.items():
        value = given.get(key, "")
        example = f"; e.g. {spec.example}" if spec.example else ""
        if not value:
            why = spec.why or "every hub of this cluster sets it in its own file"
            errors[f"inputs.{key}"] = [f"needed by this cluster: {why}{example}"]
        elif CONTROL.search(value) or len(value) > 500:
            errors[f"inputs.{key}"] = ["must be one line of at most 500 characters"]
        elif not TYPES[spec.type].check(value):
            errors[f"inputs.{key}"] = [f"must be {TYPES[spec.type].describe}{example}"]
    for key in given:
        if key not in specs:
            takes = ", ".join(specs) or "none"
            errors[f"inputs.{key}"] = [f"this cluster takes no such input (it takes: {takes})"]
    if errors:
        raise SpecError(errors)
    return {key: given[key] for key in specs}


# --- writing them into a hub's file ---------------------------------------------------


def apply_inputs(
    text: str,
    inputs: Mapping[str, str],
    specs: Sequence[InputSpec],
    *,
    root: Sequence[str] = (),
) -> str:
    """The values file `text` with each input written at its key under `root`.

    A round trip through ruamel.yaml, so the template's comments and order
    stay; string values are double-quoted, like every value the templates write.
    """
    if not inputs:
        return text
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)  # as the templates write lists
    # ruamel's round-trip loader builds only plain data (comments kept), never objects.
    data = yaml.load(text)  # nosemgrep: portal-yaml-load
    by_key = {spec.key: spec for spec in specs}
    for key, raw in inputs.items():
        spec = by_key.get(key) or InputSpec(key)
        value = spec.typed(raw)
        if isinstance(value, str):
            value = DoubleQuotedScalarString(value)
        path = [*root, *split_key(key)]
        node = data
        for part in path[:-2]:
            child = node.get(part)
            if child is None:
                child = node[part] = CommentedMap()
            if not isinstance(child, dict):
                raise ValueError(f"cannot write {key}: {part} is not a mapping")
            node = child
        container, name = (path[-2], path[-1]) if len(path) > 1 else ("", path[-1])
        target = node.get(container) if container else node
        if target is None:
            # Learnt from hubs that write this as a {name, value} list, or as a mapping.
            target = node[container] = CommentedSeq() if spec.list_item else CommentedMap()
        if isinstance(target, list):
            _set_item(target, name, value)
        elif isinstance(target, dict):
            target[name] = value
        else:
            raise ValueError(f"cannot write {key}: {container} is not a mapping or a list")
    out = StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _set_item(items: list[Any], name: str, value: Any) -> None:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    for item in items:
        if isinstance(item, dict) and item.get("name") == name:
            item["value"] = value
            return
    entry = CommentedMap()
    entry["name"] = DoubleQuotedScalarString(name)
    entry["value"] = value
    items.append(entry)


def read_inputs(
    files: Mapping[str, str], specs: Sequence[InputSpec], *, wraps: str = ""
) -> dict[str, str]:
    """The inputs a hub's own files already hold, {key: value} (for its next revision).

    `wraps` is the key a wrapper chart reads under (`basehub` for daskhub).
    """
    import yaml

    found: dict[str, str] = {}
    for text in files.values():
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if wraps and isinstance(data, Mapping):
            data = data.get(wraps)
        for spec in specs:
            value: Any = data
            for part in split_key(spec.key):
                if isinstance(value, Mapping):
                    value = value.get(part)
                elif isinstance(value, list):
                    named = [i for i in value if isinstance(i, Mapping) and i.get("name") == part]
                    value = named[0].get("value") if named else None
                else:
                    value = None
            if value is not None and not isinstance(value, Mapping | list):
                found[spec.key] = str(value).lower() if isinstance(value, bool) else str(value)
    return found
