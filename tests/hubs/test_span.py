"""Durations on pages read as people say them (the event page showed "2 days, 0:00:00")."""

from __future__ import annotations

import datetime as dt

from hubs.templatetags.portal import span


def test_it_says_durations_in_words() -> None:
    assert span(dt.timedelta(days=2)) == "2 days"
    assert span(dt.timedelta(hours=2)) == "2 hours"
    assert span(dt.timedelta(days=1, hours=6, minutes=1)) == "1 day 6 hours 1 minute"
    assert span(dt.timedelta(0)) == "no time"
    assert span(None) == ""
