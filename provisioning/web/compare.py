"""What a change does, shown before it is made and between any two revisions:
the spec in plain words (who gains or loses access, what else changes) and
the rendered files as unified diffs. The history page, the confirmation
pages (rollback, "save and deploy") and the revisions API share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hubs import changes
from hubs import members as people
from hubs.models import Hub, HubRevision

# Names listed on a page before "and N more" (the API lists them all).
SHOWN = 200


@dataclass
class Comparison:
    before: str  # "r3", "now"
    after: str
    people: dict[str, dict[str, list[str]]]
    access: dict[str, list[str]]
    other: list[tuple[str, Any, Any]]
    files: list[tuple[str, str]]
    summary: str

    @property
    def changes_anything(self) -> bool:
        return bool(self.summary or self.other or self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.before,
            "to": self.after,
            "summary": self.summary,
            "admins": self.people["admins"],
            "allowed_users": self.people["allowed_users"],
            "gain_access": self.access["gain"],
            "lose_access": self.access["lose"],
            "other": [{"path": p, "before": a, "after": b} for p, a, b in self.other],
            "files": [{"path": p, "diff": d} for p, d in self.files],
        }

    def shown(self, key: str) -> list[str]:
        return self.access[key][:SHOWN]

    def hidden(self, key: str) -> int:
        return max(0, len(self.access[key]) - SHOWN)

    @property
    def gain_shown(self) -> list[str]:
        return self.shown("gain")

    @property
    def gain_hidden(self) -> int:
        return self.hidden("gain")

    @property
    def lose_shown(self) -> list[str]:
        return self.shown("lose")

    @property
    def lose_hidden(self) -> int:
        return self.hidden("lose")


def compare(
    before_spec: Any,
    before_files: Any,
    after_spec: Any,
    after_files: Any,
    *,
    labels: tuple[str, str],
) -> Comparison:
    return Comparison(
        before=labels[0],
        after=labels[1],
        people=changes.people_changes(before_spec, after_spec),
        access=changes.access_changes(before_spec, after_spec),
        other=changes.other_changes(before_spec, after_spec),
        files=changes.files_diff(before_files, after_files),
        summary=people.summary(people.of_spec(before_spec or {}), people.of_spec(after_spec or {})),
    )


def revisions_compared(older: HubRevision, newer: HubRevision) -> Comparison:
    return compare(
        older.spec,
        older.files,
        newer.spec,
        newer.files,
        labels=(f"r{older.number}", f"r{newer.number}"),
    )


def current_revision(hub: Hub) -> HubRevision | None:
    return hub.revisions.filter(number=hub.current_revision).first()
