"""Sending email to an audience: one message per person, plain text and HTML, never to
the person who acted, never in a category they turned off.

Each notice has a template pair per audience: `emails/<name>.txt` and
`emails/<name>.html`; the first line of the text template's output is not
special, the subject is given by the caller. A failure is logged, never
raised: the page is the record, and no mail server may undo or block the
change it reports.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from notifications.models import CATEGORIES, NotificationPreference
from portal.text import one_line

log = logging.getLogger(__name__)


def turned_off(users: Iterable[Any], category: str) -> set[int]:
    """The ids of those among `users` who turned `category` off (one query)."""
    ids = [user.pk for user in users]
    return {
        pref.user_id
        for pref in NotificationPreference.objects.filter(user_id__in=ids)
        if category in (pref.off or [])
    }


def send(
    users: Iterable[Any],
    *,
    category: str,
    template: str,
    subject: str,
    context: Mapping[str, object],
    actor: Any = None,
) -> int:
    """Email `template` to each of `users` (less the actor and those who opted out); how many."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown email category {category!r}")
    actor_id = getattr(actor, "pk", None)
    people = {user.pk: user for user in users if user.pk != actor_id and user.email}
    off = turned_off(people.values(), category)
    recipients = [user for pk, user in people.items() if pk not in off]
    if not recipients:
        return 0
    # User text (a display name) never reaches a header as more than one line.
    subject = one_line(f"[Hub Portal] {subject}", 180)
    try:
        messages = []
        for user in recipients:
            values = {
                **context,
                "recipient": user,
                "base_url": settings.PORTAL_BASE_URL,
                "category": CATEGORIES[category][0],
            }
            text = render_to_string(f"emails/{template}.txt", values)
            message = EmailMultiAlternatives(
                subject, text, settings.DEFAULT_FROM_EMAIL, [user.email]
            )
            message.attach_alternative(
                render_to_string(f"emails/{template}.html", values), "text/html"
            )
            messages.append(message)
        get_connection(fail_silently=False).send_messages(messages)
    except Exception:
        # Mail is a courtesy; nothing a mail server or a template does may
        # undo or block the change it reports.
        log.exception("could not send %r to %d recipients", subject, len(recipients))
        return 0
    return len(recipients)
