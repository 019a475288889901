"""The time zones an event organiser chooses from: one per place, grouped by region.

`zoneinfo.available_timezones()` holds ~600 names, a quarter of them
deprecated aliases and backward links ("US/Eastern", "Asia/Calcutta",
"Europe/Kiev", "Etc/GMT+5"). The tz database's own `zone.tab` lists the zones
people live in, one or more per country, by their current names; that list,
plus UTC, is the menu. Where a system has no zone.tab, the canonical-looking
names (Region/City, without the database's `L` links) stand in.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from pathlib import Path

REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


def _tz_file(name: str) -> Path | None:
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def _from_zone_tab(available: set[str]) -> set[str]:
    path = _tz_file("zone.tab")
    if path is None:
        return set()
    zones = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) >= 3 and columns[2].strip() in available:
            zones.add(columns[2].strip())
    return zones


def _without_links(available: set[str]) -> set[str]:
    links: set[str] = set()
    path = _tz_file("tzdata.zi")
    if path is not None:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("L "):
                links.add(line.split()[2])
    return {z for z in available if z.split("/", 1)[0] in REGIONS and z not in links}


@cache
def zone_names() -> tuple[str, ...]:
    """Every zone on the menu, sorted, UTC first."""
    available = set(zoneinfo.available_timezones())
    zones = _from_zone_tab(available) or _without_links(available)
    return ("UTC", *sorted(zones - {"UTC"}))


def label(zone: str) -> str:
    """ "America/Argentina/Buenos_Aires" -> "Argentina / Buenos Aires"."""
    parts = zone.split("/")
    return " / ".join(parts[1:] or parts).replace("_", " ")


@cache
def zone_choices() -> list[tuple[str, object]]:
    """Choices for a select: UTC, then one group per region (Django renders optgroups)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in zone_names()[1:]:
        groups.setdefault(zone.split("/", 1)[0], []).append((zone, label(zone)))
    return [("UTC", "UTC"), *((region, groups[region]) for region in sorted(groups))]
