"""Every state of every stateful object, and the transitions allowed between them.

This module is the one place that knows which move is legal; actions call
`check()` before they change a state and the database update itself is
conditional on the state read (see hubs/transitions.py), so a race loses cleanly.
"""

from __future__ import annotations

from django.db import models


class IllegalTransition(Exception):
    """A move the state table does not allow (answered 409 by the API)."""

    def __init__(self, kind: str, current: str, target: str, message: str = "") -> None:
        self.kind, self.current, self.target = kind, current, target
        super().__init__(
            message or f"This {kind} is {_words(current)}; it cannot be moved to {_words(target)}."
        )


def _words(state: str) -> str:
    return state.replace("_", " ")


class RequestState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Waiting for review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestState.DRAFT: frozenset({RequestState.SUBMITTED, RequestState.WITHDRAWN}),
    RequestState.SUBMITTED: frozenset(
        {
            RequestState.APPROVED,
            RequestState.REJECTED,
            RequestState.CHANGES_REQUESTED,
            RequestState.WITHDRAWN,
        }
    ),
    RequestState.CHANGES_REQUESTED: frozenset({RequestState.SUBMITTED, RequestState.WITHDRAWN}),
    RequestState.APPROVED: frozenset(),
    RequestState.REJECTED: frozenset(),
    RequestState.WITHDRAWN: frozenset(),
}
# The requester may change the spec only in these states.
REQUEST_EDITABLE = frozenset({RequestState.DRAFT, RequestState.CHANGES_REQUESTED})
REQUEST_OPEN = frozenset(
    {RequestState.DRAFT, RequestState.SUBMITTED, RequestState.CHANGES_REQUESTED}
)
REQUEST_FINAL = frozenset({RequestState.APPROVED, RequestState.REJECTED, RequestState.WITHDRAWN})


class HubState(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    # Deployed, but its login needs secrets only the operators can add (an encrypted file).
    AWAITING_CREDENTIALS = "awaiting_credentials", "Waiting for credentials"
    ACTIVE = "active", "Active"
    UPDATING = "updating", "Updating"
    DECOMMISSIONING = "decommissioning", "Decommissioning"
    DECOMMISSIONED = "decommissioned", "Decommissioned"
    FAILED = "failed", "Failed"


HUB_TRANSITIONS: dict[str, frozenset[str]] = {
    # ...or decommissioned at once: an event hub cancelled before its schedule deployed it.
    HubState.PROVISIONING: frozenset(
        {
            HubState.ACTIVE,
            HubState.AWAITING_CREDENTIALS,
            HubState.FAILED,
            HubState.DECOMMISSIONING,
            HubState.DECOMMISSIONED,
        }
    ),
    HubState.AWAITING_CREDENTIALS: frozenset(
        {HubState.ACTIVE, HubState.UPDATING, HubState.DECOMMISSIONING}
    ),
    HubState.ACTIVE: frozenset({HubState.UPDATING, HubState.DECOMMISSIONING}),
    HubState.UPDATING: frozenset(
        {
            HubState.ACTIVE,
            HubState.AWAITING_CREDENTIALS,
            HubState.FAILED,
            HubState.DECOMMISSIONING,
        }
    ),
    # A failed hub can be retried (a new deployment moves it back on) or removed.
    HubState.FAILED: frozenset(
        {HubState.PROVISIONING, HubState.UPDATING, HubState.DECOMMISSIONING}
    ),
    HubState.DECOMMISSIONING: frozenset({HubState.DECOMMISSIONED, HubState.FAILED}),
    HubState.DECOMMISSIONED: frozenset(),
}
# A hub in one of these states is waiting for a deployment to finish.
HUB_BUSY = frozenset({HubState.PROVISIONING, HubState.UPDATING, HubState.DECOMMISSIONING})
# A hub in one of these states has (or is getting) a running deployment.
HUB_LIVE = frozenset(
    {
        HubState.PROVISIONING,
        HubState.AWAITING_CREDENTIALS,
        HubState.ACTIVE,
        HubState.UPDATING,
        HubState.FAILED,
    }
)


class DeploymentState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    AWAITING_MERGE = "awaiting_merge", "Awaiting merge"
    # Merged; the cluster's deploy pipeline runs it until the hub answers /hub/health.
    AWAITING_HEALTH = "awaiting_health", "Waiting for the hub to answer"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


DEPLOYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    DeploymentState.QUEUED: frozenset(
        {
            DeploymentState.RUNNING,
            DeploymentState.FAILED,
            DeploymentState.SUPERSEDED,
        }
    ),
    DeploymentState.RUNNING: frozenset(
        {
            # back to queued: a transient fault, retried with backoff, or the
            # sweeper re-queueing work a lost worker left behind
            DeploymentState.QUEUED,
            DeploymentState.AWAITING_MERGE,
            DeploymentState.AWAITING_HEALTH,  # committed straight to the base branch
            DeploymentState.SUCCEEDED,
            DeploymentState.FAILED,
            DeploymentState.SUPERSEDED,
        }
    ),
    DeploymentState.AWAITING_MERGE: frozenset(
        {
            DeploymentState.AWAITING_HEALTH,
            DeploymentState.SUCCEEDED,
            DeploymentState.FAILED,
            DeploymentState.SUPERSEDED,
            # the pull request was updated after its base branch moved
            DeploymentState.RUNNING,
        }
    ),
    DeploymentState.AWAITING_HEALTH: frozenset(
        {DeploymentState.SUCCEEDED, DeploymentState.FAILED, DeploymentState.SUPERSEDED}
    ),
    DeploymentState.SUCCEEDED: frozenset(),
    # a failed deployment may be retried by staff
    DeploymentState.FAILED: frozenset({DeploymentState.QUEUED}),
    DeploymentState.SUPERSEDED: frozenset(),
}
DEPLOYMENT_ACTIVE = frozenset(
    {
        DeploymentState.QUEUED,
        DeploymentState.RUNNING,
        DeploymentState.AWAITING_MERGE,
        DeploymentState.AWAITING_HEALTH,
    }
)
DEPLOYMENT_FINAL = frozenset(
    {DeploymentState.SUCCEEDED, DeploymentState.FAILED, DeploymentState.SUPERSEDED}
)


class StepState(models.TextChoices):
    """A step of an event's schedule (events/models.py EventStep)."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


STEP_TRANSITIONS: dict[str, frozenset[str]] = {
    # claimed by beat (with a lease), or skipped with a reason (too late to mean anything)
    StepState.PENDING: frozenset({StepState.RUNNING, StepState.SKIPPED}),
    StepState.RUNNING: frozenset(
        {
            StepState.DONE,
            StepState.FAILED,
            StepState.SKIPPED,
            # not ready yet (the hub still deploying), or its lease ran out: tried again
            StepState.PENDING,
        }
    ),
    # staff may run a failed step again
    StepState.FAILED: frozenset({StepState.PENDING}),
    StepState.DONE: frozenset(),
    StepState.SKIPPED: frozenset(),
}
STEP_FINAL = frozenset({StepState.DONE, StepState.FAILED, StepState.SKIPPED})

_TABLES = {
    "request": REQUEST_TRANSITIONS,
    "hub": HUB_TRANSITIONS,
    "deployment": DEPLOYMENT_TRANSITIONS,
    "step": STEP_TRANSITIONS,
}


def allowed(kind: str, current: str, target: str) -> bool:
    return target in _TABLES[kind].get(current, frozenset())


def check(kind: str, current: str, target: str) -> None:
    """Raise IllegalTransition unless `kind` may move from `current` to `target`."""
    if not allowed(kind, current, target):
        raise IllegalTransition(kind, current, target)
