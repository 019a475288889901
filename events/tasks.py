"""Celery tasks of the events app: beat's tick over every event's schedule."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from events.schedule import tick


@shared_task(acks_late=True)
def event_schedule(now: str | None = None) -> dict[str, int]:
    """Run the event steps that are due (beat: every PORTAL_EVENT_CHECK_EVERY seconds).

    `now` (an ISO time) lets a test play beat with a clock of its own.
    """
    return tick(dt.datetime.fromisoformat(now) if now else None)
