"""Fast, faithful edits of the `hubs:` list in a cluster.yaml, by splicing lines.

A round-trip load and dump of a whole cluster.yaml with ruamel.yaml keeps it
faithful but costs seconds once a cluster holds hundreds of hubs, and each
hub change pays it. Here libyaml (C) finds where each hub entry and each of
its values starts and ends; an edit inserts or deletes an entry's lines, or
replaces just the values that changed (so comments beside them stay); and
the result is parsed again and compared with what the edit meant, so a
splice can never produce a different document than intended. Anything
unusual (a flow-style list, no hubs yet, a multi-line value) returns None and
the caller uses the whole-file round trip instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import yaml

try:  # libyaml is bundled with PyYAML's wheels; the pure loader is the fallback
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as Loader  # type: ignore[assignment]

PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./@+-]*( [A-Za-z0-9_./@+(),&'-]+)*$")
CACHE_SIZE = 8


@dataclass(frozen=True)
class Entry:
    name: Any
    start: int  # first line (the one with the dash)
    end: int  # one past the last line of the entry's own content


@dataclass(frozen=True)
class Parsed:
    lines: tuple[str, ...]
    keys: tuple[Any, ...]  # the top-level keys, in order
    entries: tuple[Entry, ...]
    items: tuple[Any, ...]  # the entries' libyaml nodes, with their positions
    dash_column: int
    key_column: int
    nested_offset: int  # a nested list's dash, relative to the entry's keys
    hubs_line: int = 0  # the line of the `hubs:` key


_cache: OrderedDict[bytes, Parsed | None] = OrderedDict()


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _remember(text: str, parsed: Parsed | None) -> None:
    _cache[_digest(text)] = parsed
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def load(text: str) -> Any:
    return yaml.load(text, Loader=Loader)  # a safe loader  # nosec B506


def parse(text: str) -> Parsed | None:
    """Where each hub entry of `text` lies; None if the file is not in block style."""
    key = _digest(text)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    parsed = None
    for earlier in reversed(list(_cache.values())):
        if earlier is not None:
            parsed = _extend(earlier, text)
            if parsed is not None:
                break
    if parsed is None:
        parsed = _parse(text)
    _remember(text, parsed)
    return parsed


def _construct(node: Any) -> Any:
    """Plain data from one libyaml node (constructing a whole document is the slow part)."""
    return yaml.constructor.SafeConstructor().construct_document(node)


def _name(item: Any) -> Any:
    for key, value in item.value:
        if getattr(key, "value", None) == "name":
            if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:str":
                return value.value
            return _construct(value)
    return None


def _parse(text: str) -> Parsed | None:
    loader = Loader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        return None
    keys = tuple(getattr(key, "value", None) for key, _ in root.value)
    hubs_key, hubs = next(
        ((key, value) for key, value in root.value if getattr(key, "value", None) == "hubs"),
        (None, None),
    )
    if not isinstance(hubs, yaml.SequenceNode) or hubs.flow_style or not hubs.value:
        return None
    lines = tuple(text.splitlines(keepends=True))
    entries = []
    items = hubs.value
    for i, item in enumerate(items):
        if not isinstance(item, yaml.MappingNode) or item.flow_style:
            return None
        start = _dash_line(lines, item.start_mark.line, item.start_mark.column)
        if start is None:
            return None
        if i + 1 < len(items):
            following = _dash_line(
                lines, items[i + 1].start_mark.line, items[i + 1].start_mark.column
            )
            if following is None:
                return None
        else:
            mark = hubs.end_mark
            following = mark.line if mark.column == 0 else mark.line + 1
            following = min(following, len(lines))
        end = following
        # Blank and comment lines before the next entry belong to what follows.
        while end > start + 1 and (not lines[end - 1].strip() or _is_comment(lines[end - 1])):
            end -= 1
        entries.append(Entry(name=_name(item), start=start, end=end))
    first = items[0]
    dash_column = lines[entries[0].start].index("-")
    key_column = first.start_mark.column
    return Parsed(
        lines=lines,
        keys=keys,
        entries=tuple(entries),
        items=tuple(items),
        dash_column=dash_column,
        key_column=key_column,
        nested_offset=_nested_offset(items, key_column),
        hubs_line=hubs_key.start_mark.line if hubs_key is not None else 0,
    )


def _shifted(node: Any, lines: int) -> Any:
    """`node` (and what it holds) with its marks moved down by `lines` lines."""

    def mark(old: Any) -> Any:
        return yaml.Mark(old.name, 0, old.line + lines, old.column, None, None)  # type: ignore[arg-type]

    node.start_mark, node.end_mark = mark(node.start_mark), mark(node.end_mark)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _shifted(key, lines)
            _shifted(value, lines)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _shifted(item, lines)
    return node


def _extend(before: Parsed, text: str) -> Parsed | None:
    """`text`'s Parsed, when it is `before`'s text with entries added after its last one.

    Hubs are added at the end of the list, usually by another worker, and a
    cluster.yaml of hundreds of hubs takes tens of milliseconds to parse
    whole. Only the window from the `hubs:` key to the end needs reading:
    the lines before it are unchanged, and they held nothing but complete
    top-level keys and complete entries. Anything unusual (an alias to an
    anchor outside the window, other lines changed) returns None, and the
    caller parses the whole text.
    """
    last = before.entries[-1]
    lines = tuple(text.splitlines(keepends=True))
    tail = before.lines[last.end :]
    added = len(lines) - len(before.lines)
    if added <= 0 or lines[: last.end] != before.lines[: last.end]:
        return None
    if tail and lines[len(lines) - len(tail) :] != tail:
        return None
    window_start = last.start - 1  # window line 1 is the last old entry's first line
    window = "".join((before.lines[before.hubs_line], *lines[last.start :]))
    try:
        part = _parse(window)
    except yaml.YAMLError:
        return None
    hubs_at = before.keys.index("hubs") if "hubs" in before.keys else -1
    if part is None or hubs_at < 0 or part.keys != before.keys[hubs_at:]:
        return None
    if len(part.entries) < 2 or part.entries[0].name != last.name:
        return None
    if _construct(part.items[0]) != _construct(before.items[-1]):
        return None
    if part.dash_column != before.dash_column or part.key_column != before.key_column:
        return None
    new_entries = tuple(
        Entry(name=e.name, start=e.start + window_start, end=e.end + window_start)
        for e in part.entries[1:]
    )
    new_items = tuple(_shifted(item, window_start) for item in part.items[1:])
    return Parsed(
        lines=lines,
        keys=before.keys,
        entries=before.entries + new_entries,
        items=before.items + new_items,
        dash_column=before.dash_column,
        key_column=before.key_column,
        nested_offset=before.nested_offset,
        hubs_line=before.hubs_line,
    )


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _dash_line(lines: tuple[str, ...], line: int, column: int) -> int | None:
    """The line holding the `-` of the entry whose first key is at (line, column)."""
    for number in range(line, max(-1, line - 5), -1):
        text = lines[number]
        upto = text[:column] if number == line else text
        stripped = upto.rstrip()
        if stripped.endswith("-") and stripped.strip() == "-":
            return number
        if number != line and upto.strip() and not _is_comment(upto):
            return None
    return None


def _nested_offset(items: list[Any], key_column: int) -> int:
    for item in items:
        for _key, value in item.value:
            if isinstance(value, yaml.SequenceNode) and value.value and not value.flow_style:
                return max(0, value.value[0].start_mark.column - 2 - key_column)
    return 0


def scalar(value: Any) -> str:
    """`value` as a YAML scalar: plain where that reads back the same, else double-quoted."""
    if isinstance(value, str):
        if PLAIN.match(value) and load(value) == value:
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} into a hub entry")


def entry_text(parsed: Parsed, entry: dict[str, Any]) -> str:
    """A new hub entry written in the file's own indentation."""
    dash, keys = parsed.dash_column, parsed.key_column
    nested = " " * (keys + parsed.nested_offset)
    out = []
    for i, (key, value) in enumerate(entry.items()):
        lead = " " * dash + "-" + " " * (keys - dash - 1) if i == 0 else " " * keys
        if isinstance(value, list):
            out.append(f"{lead}{key}:\n")
            out.extend(f"{nested}- {scalar(item)}\n" for item in value)
        else:
            out.append(f"{lead}{key}: {scalar(value)}\n")
    return "".join(out)


def _verified(
    text: str, before: Parsed, names: list[Any], index: int | None, wanted: Any
) -> str | None:
    """`text` if it parses as the edit meant, else None.

    Outside the spliced lines the text is the same as before; so it is
    enough that the top-level keys and the list of hubs are as expected and
    that the edited entry reads back as `wanted`.
    """
    try:
        after = _extend(before, text) or _parse(text)
    except yaml.YAMLError:
        return None
    if after is None or after.keys != before.keys:
        return None
    if [entry.name for entry in after.entries] != names:
        return None
    if index is not None and _construct(after.items[index]) != wanted:
        return None
    _remember(text, after)
    return text


def _with_newline(lines: list[str]) -> list[str]:
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def add(text: str, entry: dict[str, Any]) -> str | None:
    """`text` with `entry` appended to its hubs; None if this cannot be done by splicing."""
    parsed = parse(text)
    if parsed is None:
        return None
    last = parsed.entries[-1]
    lines = _with_newline(list(parsed.lines[: last.end]))
    lines.append(entry_text(parsed, entry))
    lines.extend(parsed.lines[last.end :])
    names = [*(e.name for e in parsed.entries), entry["name"]]
    return _verified("".join(lines), parsed, names, len(names) - 1, entry)


def entry(text: str, name: str) -> dict[str, Any] | None:
    """Hub `name`'s entry as plain data, or None."""
    parsed = parse(text)
    if parsed is None:
        hubs = (load(text) or {}).get("hubs") or []
        return next((h for h in hubs if isinstance(h, dict) and h.get("name") == name), None)
    index = next((i for i, e in enumerate(parsed.entries) if e.name == name), None)
    return None if index is None else _construct(parsed.items[index])


def update(text: str, name: str, target: dict[str, Any]) -> str | None:
    """`text` with hub `name`'s entry made equal to `target`, editing only what differs.

    A changed scalar is replaced where it stands (a comment after it stays);
    a new key goes after the entry's last line; files added to a list go
    after its last item. None if the change needs more than that.
    """
    parsed = parse(text)
    if parsed is None:
        return None
    index = next((i for i, e in enumerate(parsed.entries) if e.name == name), None)
    if index is None:
        return None
    found, node = parsed.entries[index], parsed.items[index]
    current = _construct(node)
    if set(current) - set(target):
        return None
    values = {key.value: value for key, value in node.value}
    # (line, column, end line, end column, replacement) and (after line, new lines)
    replace: list[tuple[int, int, int, int, str]] = []
    insert: dict[int, list[str]] = {}
    keys = " " * parsed.key_column
    nested = " " * (parsed.key_column + parsed.nested_offset)
    for key, wanted in target.items():
        if key in current and current[key] == wanted:
            continue
        value = values.get(key)
        if value is None:
            if isinstance(wanted, list):
                lines = [f"{keys}{key}:\n", *(f"{nested}- {scalar(v)}\n" for v in wanted)]
            else:
                lines = [f"{keys}{key}: {scalar(wanted)}\n"]
            insert.setdefault(found.end, []).extend(lines)
        elif isinstance(value, yaml.ScalarNode) and not isinstance(wanted, list | dict):
            start, end = value.start_mark, value.end_mark
            replace.append((start.line, start.column, end.line, end.column, scalar(wanted)))
        elif (
            isinstance(value, yaml.SequenceNode)
            and not value.flow_style
            and value.value
            and isinstance(wanted, list)
            and wanted[: len(current[key])] == current[key]
        ):
            last = value.value[-1].end_mark.line + 1
            extra = wanted[len(current[key]) :]
            insert.setdefault(last, []).extend(f"{nested}- {scalar(v)}\n" for v in extra)
        else:
            return None
    lines = list(parsed.lines)
    for line, column, end_line, end_column, text_ in sorted(replace, reverse=True):
        if line != end_line:
            return None
        row = lines[line]
        lines[line] = row[:column] + text_ + row[end_column:]
    for at in sorted(insert, reverse=True):
        if at > 0 and not lines[at - 1].endswith("\n"):
            lines[at - 1] += "\n"
        lines[at:at] = insert[at]
    names = [e.name for e in parsed.entries]
    return _verified("".join(lines), parsed, names, index, target)


def remove(text: str, name: str) -> tuple[str, dict[str, Any]] | None:
    """`text` without hub `name`'s entry, and the entry; None if not found or not spliceable."""
    parsed = parse(text)
    if parsed is None:
        return None
    index = next((i for i, e in enumerate(parsed.entries) if e.name == name), None)
    if index is None:
        return None
    found = parsed.entries[index]
    lines = [*parsed.lines[: found.start], *parsed.lines[found.end :]]
    names = [e.name for i, e in enumerate(parsed.entries) if i != index]
    result = _verified("".join(lines), parsed, names, None, None)
    if result is None:
        return None
    return result, _construct(parsed.items[index])
