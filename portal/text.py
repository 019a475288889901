"""Making user text safe for the places it is written into: a header, a commit, Markdown.

User text (display names, reasons, comments) reaches an email subject, a git
commit message and a pull request body. Each of those has its own syntax that
text could otherwise step out of: a line break ends a header or starts a git
trailer, Markdown turns `@team` into a notification and `<img>` into HTML.
"""

from __future__ import annotations

import re
from typing import Any

# Line breaks (including Unicode's), tabs and other control characters.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
_SPACES = re.compile(r"\s+")
# ASCII punctuation, any of which CommonMark lets a backslash make literal:
# emphasis, code, links, headings, tables, and `<`/`&` that would start HTML.
_MARKDOWN = re.compile(r"([!-/:-@\[-`{-~])")


def one_line(text: object, limit: int = 200) -> str:
    """`text` on one line: breaks and control characters become spaces, at most `limit` long."""
    line = _SPACES.sub(" ", _BREAKS.sub(" ", str(text))).strip()
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


# An ordinary first word: letters only (not a slug, a domain, a quoted value or a number).
_WORD = re.compile(r"^[a-z][a-z]*(?=[\s,;:.]|$)")


def sentence(text: str) -> str:
    """`text` starting with a capital, unless it starts with a value a capital would change.

    Messages name slugs, domains and usernames ("gcp-europe-west2 …", "'bob' is …");
    capitalising those would show a name that does not exist.
    """
    if _WORD.match(text):
        return text[:1].upper() + text[1:]
    return text


def markdown_text(text: object, limit: int = 200) -> str:
    """`text` as literal Markdown: one line, no formatting, no HTML, no @-mentions."""
    escaped = _MARKDOWN.sub(r"\\\1", one_line(text, limit))
    # A word joiner after @ keeps GitHub and GitLab from notifying a user or team.
    return escaped.replace("\\@", "\\@\u2060")


# What no text column holds: NUL (PostgreSQL refuses it) and lone UTF-16
# surrogates (not encodable as UTF-8: SQLite, psycopg and YAML writers fail).
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "must not contain NUL characters or lone surrogates (\\u0000, \\ud800-\\udfff)"


def unstorable(text: str) -> bool:
    """Whether `text` holds a character no database column or YAML file can keep."""
    return _UNSTORABLE.search(text) is not None


def path_of(parts: list[str | int]) -> str:
    """["auth", "github", "organizations", 0] -> "auth.github.organizations[0]"."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def check_json(data: Any, *, max_depth: int) -> dict[str, list[str]]:
    """{field path: [problem]} for strings no column can hold and nesting past max_depth.

    Iterative, so no input is deep enough to exhaust the stack.
    """
    problems: dict[str, list[str]] = {}
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > max_depth:
            problems.setdefault(path_of(path[:max_depth]), []).append(
                f"nests more than {max_depth} levels deep"
            )
            continue
        if isinstance(value, str):
            if unstorable(value):
                problems.setdefault(path_of(path), []).append(UNSTORABLE_MESSAGE)
        elif isinstance(value, dict):
            for key, item in value.items():
                if unstorable(key):
                    problems.setdefault(path_of(path) or "(a field name)", []).append(
                        f"has a field name that {UNSTORABLE_MESSAGE}"
                    )
                    continue
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((item, [*path, i]) for i, item in enumerate(value))
    return problems
