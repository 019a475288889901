"""What people and other systems are told: each person's email preferences, and the
outgoing webhooks operators (every hub) and hub admins (their hub) register, with a
log of every delivery.

This app sits between the configuration (portal/) and the domain (hubs/):
the domain's actions and the pipeline call `notifications.webhooks.emit()`;
nothing here knows what a request or a hub is beyond its id.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.crypto import EncryptedTextField

# Email categories a person can turn off on their profile: key -> (title, what it covers).
CATEGORIES: dict[str, tuple[str, str]] = {
    "request_updates": (
        "Your requests",
        "A reviewer approved, rejected or asked for changes to a request of yours.",
    ),
    "review": (
        "Requests to review",
        "Reviewers: a request was submitted for review or withdrawn.",
    ),
    "comments": ("Comments", "Someone commented on a request you asked for or review."),
    "hub_status": (
        "Your hubs",
        "A hub you manage is live, failed to deploy, or was removed.",
    ),
    "operations": ("Operations", "Operators: a deployment failed, with its error."),
    "digest": ("Daily digest", "Reviewers: once a day, the requests waiting for review."),
}


class NotificationPreference(models.Model):
    """The email categories one person turned off (none by default)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    off = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} off: {', '.join(self.off) or 'nothing'}"


# Events a webhook can subscribe to ("request.*" for a family, "*" for all).
EVENTS: dict[str, str] = {
    "request.submitted": "a request was submitted for review",
    "request.approved": "a request was approved",
    "request.rejected": "a request was rejected",
    "request.changes_requested": "reviewers asked for changes to a request",
    "request.withdrawn": "a request was withdrawn",
    "request.commented": "someone commented on a request",
    "hub.created": "a hub was created (its first deployment is queued)",
    "hub.live": "a new hub answers for the first time",
    "hub.updated": "a change to a hub was deployed",
    "hub.failed": "a hub's deployment failed",
    "hub.removed": "a hub was removed",
    "hub.credentials_needed": "a GitOps hub's login needs secrets the operators must add",
    "hub.credentials_added": "a hub's login secrets were added; it is active",
    "hub.down": "a hub stopped answering its health check (monitoring)",
    "hub.recovered": "a hub that was down answers again",
    "deployment.queued": "a deployment was queued",
    "deployment.awaiting_merge": "a deployment waits for its pull request to be merged",
    "deployment.succeeded": "a deployment succeeded",
    "deployment.failed": "a deployment failed",
}
FAMILIES = ("request.*", "hub.*", "deployment.*")


class Webhook(models.Model):
    """An address told about events: every hub's (hub empty, operators) or one hub's."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text='Event names or families ("hub.*").')
    secret = EncryptedTextField(help_text="Signs each delivery (HMAC-SHA256). Stored encrypted.")
    hub = models.ForeignKey(
        "hubs.Hub", on_delete=models.CASCADE, null=True, blank=True, related_name="webhooks"
    )
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        family = event.split(".", 1)[0] + ".*"
        return any(pattern in ("*", event, family) for pattern in self.events)


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with each attempt's result."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # One entry per attempt: {"at", "status", "ms", "error"}.
    log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["outcome", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.outcome})"
