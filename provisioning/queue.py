"""Ringing the doorbell: enqueue a deployment's task, by the task's registered name.

The Deployment row is the record of work; the message only wakes a worker
(provisioning/tasks.py). Enqueueing by name keeps the modules that decide
*what* to deploy (lifecycle, deployments) free of the task module, which
imports them.
"""

from __future__ import annotations

import logging

from celery import current_app

from provisioning.models import Deployment

RUN_DEPLOYMENT = "provisioning.tasks.run_deployment"

logger = logging.getLogger(__name__)


def enqueue(deployment_id: int) -> None:
    """Send the deployment's task (called after the row has committed)."""
    # Looked up in the app's registry, not sent by name over the wire, so an
    # eager test run executes it in-process like any other task call.
    result = current_app.tasks[RUN_DEPLOYMENT].delay(deployment_id)
    Deployment.objects.filter(pk=deployment_id).update(task_id=result.id or "")
