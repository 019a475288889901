"""Learn a cluster's operator inputs from its existing hubs. Pure: values in, a list out.

On a cluster where each hub has its own home-directory server, volume or
buckets, every hub's own file names them, and a new hub without them is
broken (or refused by the chart). Nothing in the repository says what a new
hub's would be, so they become operator inputs (provisioning/render/inputs.py),
supplied when a request is approved.

A key is learnt when
- every hub (or, on a cluster of ten or more, nine in ten) sets it in its own
  file, to a scalar (a `{name, value}` list item counts, by its name);
- the hubs do not all say the same (then it is a convention, not a per-hub value);
- nothing a new hub gets anyway supplies it: the chart's defaults, its
  values.jsonnet for that hub, the cluster's shared files;
- and it is infrastructure: a value of a kind only something outside the
  repository makes (an IP address, a volume or disk, a bucket), or it sits
  under a feature the cluster's shared files or values.jsonnet turn on
  (`nfs.pv.enabled: true` in common.values.yaml).

What a hub's own template writes (its login, homepage, resources) is none of
these: the chart's defaults supply it, or the hubs' values are ordinary text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from provisioning.render.inputs import TYPES, InputSpec, detect_type, join_key

# (source, values) in the order Helm merges them, before the hub's own files:
# ("the chart's defaults", ...), ("values.jsonnet", ...), ("common.values.yaml", ...)
Layers = Sequence[tuple[str, Mapping[str, Any]]]
DEFAULTS = "the chart's defaults"

NOUNS = {
    "ip": "the address of a server made for it outside this repository",
    "host": "a server made for it outside this repository",
    "aws-volume-id": "an EBS volume made for it",
    "aws-efs-id": "an EFS file system made for it",
    "gcp-disk": "a persistent disk made for it",
    "bucket-url": "a bucket made for it",
}


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _env_list(value: Any) -> bool:
    """A list of `{name: ..., value: ...}` items (an env list, say)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, Mapping) and "name" in item and set(item) <= {"name", "value"}
            for item in value
        )
    )


def leaves(
    values: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
    """(path, scalar value, whether the last step names a list item) for each leaf."""
    for key, value in values.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from leaves(value, path)
        elif _env_list(value):
            for item in value:
                if _scalar(item.get("value")):
                    yield (*path, str(item["name"])), item["value"], True
        elif _scalar(value):
            yield path, value, False


def lookup(values: Any, path: Sequence[str]) -> Any:
    """The value at `path`, stepping into `{name, value}` lists by name; None if absent."""
    for part in path:
        if isinstance(values, Mapping):
            values = values.get(part)
        elif isinstance(values, list):
            found = [i for i in values if isinstance(i, Mapping) and i.get("name") == part]
            values = found[0].get("value") if found else None
        else:
            return None
    return values


def _merged(layers: Layers) -> dict[str, Any]:
    from provisioning.render.deployer import merge_files

    merged: dict[str, Any] = {}
    for _, values in layers:
        merged = merge_files(merged, values)
    return merged


def _turned_on(
    layers: Layers, merged: Mapping[str, Any], path: Sequence[str]
) -> tuple[str, str] | None:
    """(feature, the file that turns it on) for the nearest enclosing feature the
    cluster's files or values.jsonnet turn on (`<feature>.enabled: true`)."""
    for end in range(len(path) - 1, 0, -1):
        feature = path[:end]
        if lookup(merged, [*feature, "enabled"]) is not True:
            continue
        setters = [src for src, values in layers if lookup(values, [*feature, "enabled"]) is True]
        if setters[-1] != DEFAULTS:
            return join_key(feature), setters[-1]
    return None


def learn_inputs(
    own: Mapping[str, Mapping[str, Any]],
    layers: Callable[[str], Layers],
    *,
    provider: str = "",
) -> list[dict[str, Any]]:
    """The operator inputs of a cluster whose hubs' own files are `own` ({hub: values}).

    Values are in basehub's shape (a daskhub hub's `basehub:` taken out).
    `layers(hub)` gives what that hub gets besides its own files, in Helm's
    order; it is asked only about the hubs it needs to be.
    """
    if not own:
        return []
    count = len(own)
    needed = count if count < 10 else math.ceil(0.9 * count)
    seen: dict[tuple[str, ...], list[tuple[str, Any, bool]]] = {}
    for hub, values in own.items():
        for path, value, list_item in leaves(values):
            seen.setdefault(path, []).append((hub, value, list_item))
    # A hub whose name says staging is the least typical example.
    order = sorted(own, key=lambda hub: "staging" in hub)
    cache: dict[str, tuple[Layers, dict[str, Any]]] = {}
    learnt = []
    for path, found in seen.items():
        if len(found) < needed:
            continue
        examples = [value for _, value, _ in found]
        if len(found) > 1 and len({repr(v) for v in examples}) == 1:
            continue  # the same in every hub: a convention, not a per-hub value
        by_hub = {hub: value for hub, value, _ in found}
        hub = next(h for h in order if h in by_hub)
        if hub not in cache:
            found_layers = layers(hub)
            cache[hub] = (found_layers, _merged(found_layers))
        base, merged = cache[hub]
        if lookup(merged, path) is not None:
            continue  # a new hub gets it anyway
        kind = detect_type(examples)
        feature = _turned_on(base, merged, path)
        if feature is None and not TYPES[kind].infrastructure:
            continue
        spec = InputSpec(
            key=join_key(path),
            type=kind,
            example=str(by_hub[hub]),
            why=_why(path, kind, feature, provider, len(found), count),
            list_item=found[0][2],
        )
        learnt.append(spec.to_json())
    return learnt


def _why(
    path: Sequence[str], kind: str, feature: tuple[str, str] | None, provider: str, sets: int,
    count: int,
) -> str:  # fmt: skip
    noun = NOUNS.get(kind, "a value of its own")
    every = "every hub" if sets == count else f"{sets} of its {count} hubs"
    what = f"{every} sets {path[-1]} to {noun}"
    if feature is None:
        return what
    name, source = feature
    if source == "values.jsonnet" and provider:
        source = f"chart's values.jsonnet (on {provider} clusters)"
    return f"its {source} turns {name} on, and {what}"
