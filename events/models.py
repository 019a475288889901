"""Events: the per-tier policy, cluster capacity, each event and the steps of its schedule.

An Event is created when an event hub is requested and drives everything
after its approval: its EventSteps are the schedule, each with a planned time
and a state (hubs/states.py StepState) that only hubs/transitions.move()
changes, so beat restarts and missed windows neither skip nor repeat a step.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.timezone import now

from hubs.models import Cluster, Hub, HubRequest, Offering
from hubs.states import HubState, RequestState, StepState


class EventPolicy(models.Model):
    """How an event tier's events are scheduled and which are approved without review."""

    offering = models.OneToOneField(Offering, on_delete=models.CASCADE, related_name="event_policy")
    deploy_ahead = models.DurationField(
        default=dt.timedelta(days=2), help_text="How long before the start the hub is deployed."
    )
    prewarm_lead = models.DurationField(
        default=dt.timedelta(hours=2),
        help_text="How long before the start its user placeholders are raised.",
    )
    teardown_grace = models.DurationField(
        default=dt.timedelta(hours=48),
        help_text="How long after the end the hub (and its users' work) is removed.",
    )
    max_duration = models.DurationField(
        default=dt.timedelta(days=14), help_text="The longest event this tier takes."
    )
    auto_approve = models.BooleanField(
        default=False, help_text="Approve events within the limits below without review."
    )
    auto_approve_max_attendees = models.PositiveIntegerField(default=100)
    auto_approve_max_duration = models.DurationField(default=dt.timedelta(days=5))
    auto_approve_returning_only = models.BooleanField(
        default=True, help_text="Only for organisers who already ran an approved event."
    )

    class Meta:
        verbose_name_plural = "event policies"

    def __str__(self) -> str:
        return f"event policy of {self.offering}"

    @classmethod
    def for_offering(cls, offering: Offering) -> EventPolicy:
        """The tier's policy, or the defaults when the operators set none."""
        try:
            return offering.event_policy
        except cls.DoesNotExist:
            return cls(offering=offering)


class ClusterCapacity(models.Model):
    """Event users a cluster serves at once: given, or node-pool limit times users per node."""

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="capacity")
    concurrent_users = models.PositiveIntegerField(null=True, blank=True)
    node_pool_limit = models.PositiveIntegerField(null=True, blank=True)
    users_per_node = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "cluster capacities"

    def __str__(self) -> str:
        return f"capacity of {self.cluster}"

    @property
    def limit(self) -> int | None:
        """Concurrent users, or None when nothing is set (no check)."""
        if self.concurrent_users is not None:
            return self.concurrent_users
        if self.node_pool_limit is not None and self.users_per_node is not None:
            return self.node_pool_limit * self.users_per_node
        return None


class Event(models.Model):
    """A time-boxed hub's event: when, where, for how many, and by whom."""

    request = models.OneToOneField(HubRequest, on_delete=models.CASCADE, related_name="event")
    hub = models.OneToOneField(
        Hub, on_delete=models.SET_NULL, null=True, blank=True, related_name="event"
    )
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="events"
    )
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="events")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="events")
    name = models.CharField(max_length=63)
    display_name = models.CharField(max_length=100)
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField(db_index=True)
    timezone = models.CharField(max_length=64, default="UTC")
    attendees = models.PositiveIntegerField()
    ended_early_at = models.DateTimeField(null=True, blank=True)
    # The organiser asked the reviewers to decide although the cluster is full then.
    capacity_review = models.BooleanField(default=False)
    # A reviewer let it past the cluster's capacity (audited).
    capacity_override = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["start", "pk"]
        indexes = [models.Index(fields=["cluster", "start", "end"], name="event_overlap")]

    def __str__(self) -> str:
        return f"event {self.pk} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("events:event", args=[self.pk])

    @property
    def deploys_at(self) -> dt.datetime | None:
        """When the hub is to be deployed, while that step still waits (else None)."""
        step = self.steps.filter(kind=EventStep.Kind.DEPLOY, state=StepState.PENDING).first()
        return step.planned_at if step is not None else None

    @property
    def cancelled(self) -> bool:
        """Ended by its organiser before it started."""
        return self.ended_early_at is not None and self.ended_early_at < self.start

    @property
    def status(self) -> str:
        """In words: awaiting review, scheduled, running, over, removed, cancelled."""
        request_state = self.request.state
        if request_state in (RequestState.REJECTED, RequestState.WITHDRAWN):
            return "cancelled"
        if request_state != RequestState.APPROVED or self.hub is None:
            return "awaiting review" if request_state == RequestState.SUBMITTED else "draft"
        if self.hub.state in (HubState.DECOMMISSIONING, HubState.DECOMMISSIONED):
            return "removed"
        if self.cancelled:
            return "cancelled"
        moment = now()
        if moment < self.start:
            return "scheduled"
        return "running" if moment < self.end else "over"


class EventStep(models.Model):
    """One step of an event's schedule: planned for a time, claimed once, its outcome kept."""

    class Kind(models.TextChoices):
        DEPLOY = "deploy", "Deploy the hub"
        REMINDER_WEEK = "reminder_week", "Reminder, a week before"
        REMINDER_DAY = "reminder_day", "Reminder, a day before"
        PREWARM = "prewarm", "Pre-warm (raise placeholders)"
        COOLDOWN = "cooldown", "Cool down (placeholders back to 0)"
        TEARDOWN_NOTICE = "teardown_notice", "Notice: download your work"
        TEARDOWN = "teardown", "Remove the hub"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    planned_at = models.DateTimeField()
    state = models.CharField(
        max_length=20, choices=StepState.choices, default=StepState.PENDING, db_index=True
    )
    # While running without a deployment yet: after this, beat may take it again.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Why it was skipped, what failed, or what it did.
    note = models.TextField(blank=True)
    deployment = models.ForeignKey(
        "provisioning.Deployment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="event_steps",
    )
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["planned_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["event", "kind"], name="one_step_per_kind")]
        indexes = [models.Index(fields=["state", "planned_at"], name="step_due")]

    def __str__(self) -> str:
        return f"{self.event} {self.kind}"
