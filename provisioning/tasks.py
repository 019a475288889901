"""Celery tasks. Each takes a primary key, re-reads the row and claims it first."""

from __future__ import annotations

import logging
import socket

from celery import shared_task
from django.utils import timezone

from hubs.states import DeploymentState
from provisioning.actions import log
from provisioning.models import Deployment

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True)
def run_deployment(self: object, deployment_id: int) -> str:
    """Carry out one deployment; a no-op if it is gone or someone else holds it."""
    now = timezone.now()
    claimed = Deployment.objects.filter(pk=deployment_id, state=DeploymentState.QUEUED).update(
        state=DeploymentState.RUNNING, started_at=now, heartbeat_at=now
    )
    if claimed != 1:
        logger.info("deployment %s is not queued; nothing to do", deployment_id)
        return "skipped"
    deployment = Deployment.objects.get(pk=deployment_id)
    Deployment.objects.filter(pk=deployment_id).update(attempts=deployment.attempts + 1)
    log(deployment, f"Picked up by worker {socket.gethostname()}.", step="claimed")
    return "claimed"
