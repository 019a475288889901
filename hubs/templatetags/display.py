"""Values as people read them: times with their zone, providers and images by name.

Django's default formats print "11 p.m." (no minutes) and leave the zone
out; a spec's ISO time string would otherwise show raw. Every page shows
times through `when` (the portal's zone) or `spec_when` (the offset the
organiser gave), so they read alike everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from hubs import describe

register = template.Library()


@register.filter
def when(value: Any) -> str:
    """An aware date-time in the portal's time zone: "3 Mar 2027, 14:05 UTC"."""
    if not isinstance(value, dt.datetime):
        return "—" if value in (None, "") else str(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.strftime("%-d %b %Y, %H:%M ") + (local.tzname() or "")


@register.filter
def clock(value: Any) -> str:
    """Just the time of day, with seconds and zone, for step lists and logs."""
    if not isinstance(value, dt.datetime):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.strftime("%H:%M:%S ") + (local.tzname() or "")


@register.filter
def spec_when(value: Any) -> str:
    """A spec's ISO date-time in its own offset: "1 Mar 2027, 09:00 (UTC-05:00)"."""
    return describe.when(value)


@register.filter
def provider_name(value: Any) -> str:
    return describe.provider_name(str(value or ""))


@register.filter
def login_rules(spec: Any) -> list[str]:
    return describe.login_rules(spec) if isinstance(spec, dict) else []
