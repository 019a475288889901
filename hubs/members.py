"""A hub's members: who may log in (allowed users) and who administers it (admins).

Pure functions, no database and no network: reading what people paste or
upload, normalising each entry the way JupyterHub will see it, checking it
against the hub's login provider, and planning a change as a preview (to add,
already present, to remove, invalid with the reason). The hub's spec stays
the source of truth: provisioning/members.py turns a confirmed plan into the
spec's next revision.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubs.spec import HubSpec, username_problem

ROLES = ("admin", "allowed")
# The spec field each role is kept in.
FIELDS = {"admin": "admins", "allowed": "allowed_users"}
ROLE_NAMES = {"admin": "admins", "allowed": "allowlist"}
# What a CSV's `role` column may say for each role.
ROLE_ALIASES = {
    "admin": "admin",
    "admins": "admin",
    "administrator": "admin",
    "allowed": "allowed",
    "allowed_user": "allowed",
    "allowed_users": "allowed",
    "user": "allowed",
    "member": "allowed",
    "": "allowed",
}
MODES = ("add", "remove", "replace")
# A paste separates entries by line breaks, commas, semicolons or spaces.
SEPARATORS = re.compile(r"[\s,;]+")
MAX_ENTRIES = 50_000
MAX_LINE = 1000


class MembersError(ValueError):
    """Input that cannot be read at all (not one bad line: those are in the preview)."""


@dataclass(frozen=True)
class Entry:
    """One entry as given: where it was, what it said, the role it asks for."""

    line: int
    raw: str
    role: str = "allowed"


@dataclass
class Line:
    """One entry of a preview, and what applying the plan does with it."""

    line: int  # 0 for what a replace import removes (it is on no line)
    raw: str
    name: str
    role: str
    status: str  # add | present | remove | absent | invalid | duplicate
    reason: str = ""
    verified: bool | None = None  # GitHub: looked up and found (True), or could not be

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "input": self.raw,
            "username": self.name,
            "role": self.role,
            "status": self.status,
            "reason": self.reason,
            "verified": self.verified,
        }


@dataclass
class Plan:
    """What a paste, an import or a bulk change would do, before it is confirmed."""

    mode: str
    lines: list[Line] = field(default_factory=list)
    note: str = ""  # e.g. why some entries could not be verified

    def names(self, status: str) -> dict[str, list[str]]:
        """{role: [names]} of the lines with `status`."""
        out: dict[str, list[str]] = {role: [] for role in ROLES}
        for line in self.lines:
            if line.status == status:
                out[line.role].append(line.name)
        return out

    @property
    def add(self) -> dict[str, list[str]]:
        return self.names("add")

    @property
    def remove(self) -> dict[str, list[str]]:
        return self.names("remove")

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "added": self.count("add"),
            "present": self.count("present"),
            "removed": self.count("remove"),
            "absent": self.count("absent"),
            "invalid": self.count("invalid"),
            "duplicates": self.count("duplicate"),
            "not_verified": sum(
                1 for line in self.lines if line.status == "add" and line.verified is False
            ),
        }

    @property
    def changes_anything(self) -> bool:
        return any(line.status in ("add", "remove") for line in self.lines)

    def by_status(self, *statuses: str) -> list[Line]:
        return [line for line in self.lines if line.status in statuses]


# --- reading input -------------------------------------------------------------------


def normalise(raw: str, provider: str) -> str:
    """An entry as JupyterHub will see it: trimmed, lowercased, GitHub's `@` dropped.

    (JupyterHub's default Authenticator.normalize_username lowercases names.)
    """
    name = raw.strip().strip("\"'<>").strip()
    if provider == "github" and name.startswith("@"):
        name = name[1:]
    return name.lower()


def split_paste(text: str, role: str = "allowed") -> list[Entry]:
    """Entries from pasted text: one per line, or separated by commas, semicolons or spaces."""
    if role not in ROLES:
        raise MembersError(f"unknown role {role!r}; choose admin or allowed")
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        for raw in SEPARATORS.split(line):
            if raw:
                entries.append(Entry(line=number, raw=raw[:MAX_LINE], role=role))
                if len(entries) > MAX_ENTRIES:
                    raise MembersError(f"at most {MAX_ENTRIES} entries at once")
    return entries


def parse_csv(text: str, default_role: str = "allowed") -> list[Entry]:
    """Entries from a CSV with a `username` column and an optional `role` column.

    Line numbers are the file's own (the header is line 1). A role the file
    names but we do not know is kept as given, so the preview can say why.
    """
    text = text.lstrip("\ufeff")  # Excel's byte order mark
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise MembersError("the file is empty; it needs a header line with `username`") from None
    except csv.Error as exc:
        raise MembersError(f"not a CSV file: {exc}") from exc
    columns = [column.strip().lower() for column in header]
    if "username" not in columns:
        raise MembersError(
            "the first line must name the columns: `username`, and optionally `role` "
            "(admin or allowed)"
        )
    user_at = columns.index("username")
    role_at = columns.index("role") if "role" in columns else None
    entries = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            raw = row[user_at] if user_at < len(row) else ""
            role_text = (
                row[role_at].strip().lower() if role_at is not None and role_at < len(row) else ""
            )
            role = ROLE_ALIASES.get(role_text, role_text) or default_role
            if not role_text:
                role = default_role
            entries.append(Entry(line=reader.line_num, raw=raw[:MAX_LINE], role=role))
            if len(entries) > MAX_ENTRIES:
                raise MembersError(f"at most {MAX_ENTRIES} entries at once")
    except csv.Error as exc:
        raise MembersError(f"line {reader.line_num}: {exc}") from exc
    return entries


def as_entries(names: Iterable[Any], role: str) -> list[Entry]:
    """Entries from a list (an API body): item i is 'line' i + 1."""
    if role not in ROLES:
        raise MembersError(f"unknown role {role!r}; choose admin or allowed")
    return [Entry(line=i, raw=str(name)[:MAX_LINE], role=role) for i, name in enumerate(names, 1)]


def to_csv(members: Mapping[str, Iterable[str]]) -> str:
    """`username,role` lines, admins first: what parse_csv() reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username", "role"])
    for role in ROLES:
        for name in members.get(role, ()):
            writer.writerow([name, role])
    return out.getvalue()


# --- the login provider's rules ---------------------------------------------------------


def allowed_domains(spec: HubSpec) -> list[str] | None:
    """The email domains the hub's provider lets in, or None where any domain may log in."""
    auth = spec.auth
    if auth.provider == "google" and auth.google is not None:
        return list(auth.google.hosted_domains)
    if auth.provider == "cilogon" and auth.cilogon is not None:
        idps = auth.cilogon.idps
        if any(idp.allow_all for idp in idps):
            return None
        if all(idp.username_claim in ("email", "eppn") for idp in idps):
            return sorted({d for idp in idps for d in idp.allowed_domains})
    return None


def domain_problem(domains: list[str] | None, name: str) -> str:
    """Why `name` (an email) cannot log in to a hub limited to `domains`, or ''."""
    if domains is None or "@" not in name:
        return ""
    domain = name.rsplit("@", 1)[1].lower()
    if domain in domains:
        return ""
    return f"{name} is not in the hub's allowed domains ({', '.join(domains)})"


def entry_problem(spec: HubSpec, name: str, domains: list[str] | None = None) -> str:
    """Why `name` cannot be a member of the hub described by `spec`, or ''."""
    if not name:
        return "empty"
    problem = username_problem(spec.auth.provider, name, spec.auth)
    if problem:
        return problem
    return domain_problem(allowed_domains(spec) if domains is None else domains, name)


# --- planning a change -----------------------------------------------------------------


def plan(
    current: Mapping[str, Iterable[str]],
    entries: Iterable[Entry],
    spec: HubSpec,
    *,
    mode: str = "add",
    lookups: Mapping[str, tuple[bool | None, str]] | None = None,
    note: str = "",
) -> Plan:
    """What applying `entries` to `current` ({role: names}) would do, line by line.

    `mode` add: new names are added, known ones are already present. remove:
    known names are removed. replace: like add, and whatever a role the input
    names does not list is removed (roles the input does not mention stay).
    `lookups` are the login provider's answers for names ({name: (found, why)}:
    found False refuses the name, None marks it not verified).
    """
    if mode not in MODES:
        raise MembersError(f"unknown mode {mode!r}; choose {', '.join(MODES)}")
    have = {role: {name.lower() for name in current.get(role, ())} for role in ROLES}
    domains = allowed_domains(spec)
    provider = spec.auth.provider
    seen: dict[tuple[str, str], int] = {}
    result = Plan(mode=mode, note=note)
    for entry in entries:
        name = normalise(entry.raw, provider)
        line = Line(line=entry.line, raw=entry.raw, name=name, role=entry.role, status="")
        result.lines.append(line)
        if entry.role not in ROLES:
            line.status, line.reason = "invalid", f"unknown role {entry.role!r} (admin or allowed)"
            continue
        problem = entry_problem(spec, name, domains)
        if problem:
            line.status, line.reason = "invalid", problem
            continue
        key = (entry.role, name)
        if key in seen:
            line.status, line.reason = "duplicate", f"merged with line {seen[key]}"
            continue
        seen[key] = entry.line
        known = name in have[entry.role]
        if mode == "remove":
            line.status = "remove" if known else "absent"
            if not known:
                line.reason = f"not in the {ROLE_NAMES[entry.role]}"
            continue
        if known:
            line.status = "present"
            continue
        found, why = (lookups or {}).get(name, (True, ""))
        if found is False:
            line.status, line.reason = "invalid", why
            continue
        line.status = "add"
        if found is None:
            line.verified, line.reason = False, why or "not verified"
        elif lookups is not None and name in lookups:
            line.verified = True
    if mode == "replace":
        listed = {role for role, _ in seen}
        for role in ROLES:
            if role not in listed:
                continue
            for name in current.get(role, ()):
                if (role, name.lower()) not in seen:
                    gone = Line(line=0, raw="", name=name, role=role, status="remove")
                    gone.reason = "not in the file"
                    result.lines.append(gone)
    return result


def applied(
    current: Mapping[str, Iterable[str]],
    add: Mapping[str, Iterable[str]],
    remove: Mapping[str, Iterable[str]],
) -> dict[str, list[str]]:
    """`current` with `remove` taken out and `add` appended (order kept, no duplicates)."""
    out = {}
    for role in ROLES:
        gone = {name.lower() for name in remove.get(role, ())}
        names = [name for name in current.get(role, ()) if name.lower() not in gone]
        known = {name.lower() for name in names}
        for name in add.get(role, ()):
            if name.lower() not in known:
                names.append(name)
                known.add(name.lower())
        out[role] = names
    return out


def of_spec(spec: Mapping[str, Any]) -> dict[str, list[str]]:
    """{role: names} as a (possibly partial) spec lists them."""
    return {
        role: [str(name) for name in spec.get(field_name) or [] if isinstance(name, str)]
        for role, field_name in FIELDS.items()
    }


# Counts read like "+25 -3" but with a real minus sign, as people write it.
MINUS = "\u2212"


def summary(before: Mapping[str, Iterable[str]], after: Mapping[str, Iterable[str]]) -> str:
    """'allowlist: +25 -3, admins: +1', with a minus sign; unchanged roles are left out."""
    parts = []
    for role in ("allowed", "admin"):
        old = {name.lower() for name in before.get(role, ())}
        new = {name.lower() for name in after.get(role, ())}
        counts = []
        if new - old:
            counts.append(f"+{len(new - old)}")
        if old - new:
            counts.append(f"{MINUS}{len(old - new)}")
        if counts:
            parts.append(f"{ROLE_NAMES[role]}: {' '.join(counts)}")
    return ", ".join(parts)
