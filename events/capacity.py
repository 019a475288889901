"""Cluster capacity: the expected attendees of overlapping events against what a cluster holds.

Overlap is counted at its peak, not summed over the window: two events that
each overlap a new one but not each other do not add up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from events.models import ClusterCapacity, Event
from hubs.models import Cluster
from hubs.spec import SpecError
from hubs.states import HubState, RequestState


@dataclass(frozen=True)
class Conflict:
    """Over capacity: the peak of concurrent users and the events that make it."""

    cluster: Cluster
    limit: int
    peak: int
    overlapping: list[Event]

    def lines(self) -> list[str]:
        return [
            f"{e.display_name} ({e.name}): {e.start:%Y-%m-%d %H:%M} to {e.end:%Y-%m-%d %H:%M} "
            f"UTC, {e.attendees} attendees"
            for e in self.overlapping
        ]

    def message(self, attendees: int) -> str:
        return (
            f"{self.cluster.slug} holds {self.limit} event users at once; with these "
            f"{attendees} it would need {self.peak}. Overlapping: " + "; ".join(self.lines())
        )


class CapacityConflict(SpecError):
    """Refused: the cluster is full at those dates (409 in the events API)."""

    def __init__(self, conflict: Conflict, attendees: int) -> None:
        self.conflict = conflict
        super().__init__({"event": [conflict.message(attendees)]})


def holding() -> Q:
    """Events that hold capacity: approved and not yet removed."""
    return Q(request__state=RequestState.APPROVED) & ~Q(
        hub__state__in=(HubState.DECOMMISSIONING, HubState.DECOMMISSIONED)
    )


def overlapping(
    cluster: Cluster, start: dt.datetime, end: dt.datetime, *, exclude: int | None = None
) -> QuerySet[Event]:
    events = Event.objects.filter(holding(), cluster=cluster, start__lt=end, end__gt=start)
    if exclude is not None:
        events = events.exclude(pk=exclude)
    return events.order_by("start", "pk")


def peak(windows: Iterable[tuple[dt.datetime, dt.datetime, int]]) -> int:
    """The most users at any one instant of these [start, end) windows."""
    edges = sorted(
        [(start, 1, users) for start, _, users in windows]
        + [(end, 0, -users) for _, end, users in windows]
    )  # at equal times the ends (0) come before the starts (1)
    now = best = 0
    for _, _, delta in edges:
        now += delta
        best = max(best, now)
    return best


def limit_of(cluster: Cluster) -> int | None:
    capacity = ClusterCapacity.objects.filter(cluster=cluster).first()
    return capacity.limit if capacity is not None else None


def check(
    cluster: Cluster,
    start: dt.datetime,
    end: dt.datetime,
    attendees: int,
    *,
    exclude: int | None = None,
) -> Conflict | None:
    """The conflict if `attendees` more users from `start` to `end` exceed the capacity."""
    limit = limit_of(cluster)
    if limit is None:
        return None
    others = list(overlapping(cluster, start, end, exclude=exclude))
    top = peak([(start, end, attendees)] + [(e.start, e.end, e.attendees) for e in others])
    if top <= limit:
        return None
    return Conflict(cluster=cluster, limit=limit, peak=top, overlapping=others)


def refuse_if_full(event: Event, *, start: dt.datetime, end: dt.datetime, attendees: int) -> None:
    """Raise CapacityConflict unless a reviewer has overridden capacity for this event."""
    if event.capacity_override:
        return
    conflict = check(event.cluster, start, end, attendees, exclude=event.pk)
    if conflict is not None:
        raise CapacityConflict(conflict, attendees)


@dataclass(frozen=True)
class Row:
    cluster: Cluster
    limit: int | None
    events: list[Event]
    peak: int

    @property
    def over(self) -> bool:
        return self.limit is not None and self.peak > self.limit


def timeline(start: dt.datetime, end: dt.datetime) -> list[Row]:
    """Per active cluster: events overlapping [start, end) and their peak against capacity.

    Three queries whatever the number of clusters and events.
    """
    clusters = list(Cluster.objects.filter(active=True).select_related("capacity"))
    events = (
        Event.objects.filter(holding(), start__lt=end, end__gt=start)
        .select_related("hub__cluster", "organiser")
        .order_by("start", "pk")
    )
    by_cluster: dict[int, list[Event]] = {}
    for event in events:
        by_cluster.setdefault(event.cluster_id, []).append(event)
    rows = []
    for cluster in clusters:
        mine = by_cluster.get(cluster.pk, [])
        try:
            limit = cluster.capacity.limit
        except ClusterCapacity.DoesNotExist:
            limit = None
        rows.append(
            Row(
                cluster=cluster,
                limit=limit,
                events=mine,
                peak=peak([(e.start, e.end, e.attendees) for e in mine]),
            )
        )
    return rows
