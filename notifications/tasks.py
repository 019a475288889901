"""Celery tasks for outgoing webhooks: take a delivery's primary key, try it, retry later.

The WebhookDelivery row bounds the attempts (PORTAL_WEBHOOK_MAX_ATTEMPTS), not
Celery: a retry is a new message with a countdown, and the beat sweeper
re-sends what a lost message left pending.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from notifications import webhooks


@shared_task(bind=True, acks_late=True)
def deliver_webhook(self: Any, delivery_id: int) -> str:
    retry_in = webhooks.deliver(delivery_id)
    if retry_in is None:
        return "done"
    if self.request.is_eager:
        # In-process (tests): nothing would deliver a delayed message; the row
        # says when it is due and the sweeper sends it then.
        return "retry_scheduled"
    raise self.retry(countdown=retry_in, max_retries=None)


@shared_task(acks_late=True)
def sweep_webhooks() -> int:
    """Re-send deliveries whose retry message was lost."""
    return webhooks.requeue_due()
