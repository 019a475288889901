"""The `from`, `to` and `interval` a usage series is asked for, checked (pure).

The same rules for the CSV files on the pages and the API: dates as
YYYY-MM-DD (UTC days), `to` not after today, `from` not after `to`, at most
MAX_DAYS[interval] days in one answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

INTERVALS = ("day", "hour")
MAX_DAYS = {"day": 3660, "hour": 92}
DEFAULT_DAYS = {"day": 90, "hour": 2}
EARLIEST = dt.date(2000, 1, 1)


class RangeError(ValueError):
    """What is wrong, per parameter: {name: [message]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Range:
    start: dt.date
    end: dt.date
    interval: str


def _date(value: str, name: str, errors: dict[str, list[str]]) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = [f"{value[:40]!r} is not a date; use YYYY-MM-DD, e.g. 2026-12-01."]
        return None
    if day < EARLIEST:
        errors[name] = [f"Dates start at {EARLIEST.isoformat()}."]
        return None
    return day


def parse(params: Mapping[str, str], today: dt.date) -> Range:
    """The range `params` ask for (defaults: the last 90 days, by day), or RangeError."""
    errors: dict[str, list[str]] = {}
    interval = (params.get("interval") or "day").strip()
    if interval not in INTERVALS:
        errors["interval"] = [f"Use one of {', '.join(INTERVALS)} (not {interval[:40]!r})."]
        interval = "day"
    end = _date(params["to"], "to", errors) if params.get("to") else today
    if end is not None and end > today:
        errors["to"] = [f"{end.isoformat()} is in the future; the latest is {today.isoformat()}."]
    if params.get("from"):
        start = _date(params["from"], "from", errors)
    elif end is not None and end >= EARLIEST + dt.timedelta(days=DEFAULT_DAYS[interval]):
        start = end - dt.timedelta(days=DEFAULT_DAYS[interval] - 1)
    else:
        start = EARLIEST
    if not errors and start is not None and end is not None:
        if start > end:
            errors["from"] = [f"{start.isoformat()} is after to ({end.isoformat()})."]
        elif (end - start).days + 1 > MAX_DAYS[interval]:
            errors["from"] = [
                f"At most {MAX_DAYS[interval]} days by {interval} in one answer; "
                f"this asks for {(end - start).days + 1}."
            ]
    if errors or start is None or end is None:
        raise RangeError(errors)
    return Range(start, end, interval)
