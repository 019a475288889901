"""Email about requests, sent after the change that prompted it has committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.template.loader import render_to_string

from hubs.models import HubRequest, RequestComment
from hubs.permissions import REVIEWERS_GROUP
from portal.text import one_line

log = logging.getLogger(__name__)


def reviewer_emails(exclude: int | None = None) -> list[str]:
    users = (
        get_user_model()
        .objects.filter(Q(groups__name=REVIEWERS_GROUP) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
    )
    if exclude is not None:
        users = users.exclude(pk=exclude)
    return sorted(set(users.values_list("email", flat=True)))


def _send(subject: str, template: str, context: Mapping[str, object], to: list[str]) -> None:
    if not to:
        return
    # User text (a display name) never reaches a header as more than one line.
    subject = one_line(subject, 180)
    try:
        body = render_to_string(template, {**context, "base_url": settings.PORTAL_BASE_URL})
        # One message per recipient, so no one sees the others' addresses.
        send_mass_mail(
            [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in to],
            fail_silently=False,
        )
    except Exception:
        # Mail is a courtesy; the request page is the record. Nothing a mail
        # server or a template does may undo or block the change it reports.
        log.exception("could not send %r to %d recipients", subject, len(to))


def request_changed(request_id: int, transition: str) -> None:
    """Tell the requester and the reviewers that a request moved."""
    request = (
        HubRequest.objects.select_related("requester", "decided_by").filter(pk=request_id).first()
    )
    if request is None:
        return
    comment = request.comments.filter(transition=transition).last()
    context = {"request": request, "transition": transition, "comment": comment}
    subject = f"[Hub Portal] {request.display_name}: {request.get_state_display().lower()}"
    recipients = reviewer_emails(exclude=request.requester_id)
    if request.requester.email:
        recipients = [
            request.requester.email,
            *[r for r in recipients if r != request.requester.email],
        ]
    _send(subject, "emails/request_changed.txt", context, recipients)


def request_commented(comment_id: int) -> None:
    comment = (
        RequestComment.objects.select_related("request__requester", "author")
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:
        return
    request = comment.request
    recipients = set(reviewer_emails(exclude=comment.author_id))
    if request.requester.email and request.requester_id != comment.author_id:
        recipients.add(request.requester.email)
    context = {"request": request, "comment": comment}
    subject = f"[Hub Portal] New comment on {request.display_name}"
    _send(subject, "emails/request_commented.txt", context, sorted(recipients))
