"""Email about an event's schedule: reminders, the teardown notice, and failures for staff.

Sent after the step that prompted it has committed (portal.commit.after_commit);
plain text; user text reaches a subject only through portal/text.py one_line.
A failure is logged, never raised: the event's page is the record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string

from events.models import Event, EventPolicy, EventStep
from hubs import audiences
from hubs.spec import EMAIL
from portal.text import one_line

log = logging.getLogger(__name__)


def send(subject: str, template: str, context: Mapping[str, object], to: list[str]) -> None:
    if not to:
        return
    subject = one_line(subject, 180)
    try:
        body = render_to_string(template, {**context, "base_url": settings.PORTAL_BASE_URL})
        # One message per recipient, so no one sees the others' addresses.
        send_mass_mail(
            [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in to],
            fail_silently=False,
        )
    except Exception:
        log.exception("could not send %r to %d recipients", subject, len(to))


def organisers(event: Event) -> list[str]:
    """The organiser and the leads of the hub's community."""
    found = {event.organiser.email} if event.organiser.email else set()
    hub = event.hub
    if hub is not None and hub.community is not None:
        found |= {u.email for u in hub.community.leads.all() if u.email}
    return sorted(found)


def attendees(event: Event) -> list[str]:
    """Attendees we can write to: the spec's admins and allowed users that are addresses."""
    spec = event.hub.spec if event.hub is not None else event.request.spec
    users = [*spec.get("admins", []), *spec.get("allowed_users", [])]
    return sorted({u for u in users if isinstance(u, str) and EMAIL.match(u)})


def _step(step_id: int) -> EventStep | None:
    return (
        EventStep.objects.select_related(
            "event__hub__cluster", "event__organiser", "event__offering", "event__request"
        )
        .filter(pk=step_id)
        .first()
    )


def reminder(step_id: int) -> None:
    """A week and a day before the start: what to check, the hub's address, its login."""
    step = _step(step_id)
    if step is None:
        return
    event = step.event
    when = "in a week" if step.kind == EventStep.Kind.REMINDER_WEEK else "tomorrow"
    send(
        f"[Hub Portal] {event.display_name} starts {when}",
        "emails/event_reminder.txt",
        {"event": event, "when": when, "hub": event.hub, "spec": event.hub and event.hub.spec},
        organisers(event),
    )


def teardown_notice(step_id: int) -> None:
    """A day before teardown: the date work is deleted, to the organiser and attendees."""
    step = _step(step_id)
    if step is None:
        return
    event = step.event
    policy = EventPolicy.for_offering(event.offering)
    context = {"event": event, "hub": event.hub, "deleted_at": event.end + policy.teardown_grace}
    send(
        f"[Hub Portal] {event.display_name}: download your work before the hub is removed",
        "emails/event_teardown_notice.txt",
        context,
        sorted(set(organisers(event)) | set(attendees(event))),
    )


def step_failed(step_id: int) -> None:
    """A deploy, pre-warm, cool-down or teardown failed: staff should look."""
    step = _step(step_id)
    if step is None:
        return
    event = step.event
    send(
        f"[Hub Portal] {event.display_name}: {step.get_kind_display().lower()} failed",
        "emails/event_step_failed.txt",
        {"event": event, "step": step},
        sorted({user.email for user in audiences.reviewers() if user.email}),
    )
