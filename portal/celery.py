"""The Celery app. Settings come from Django's, under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # The database is the record of work, the broker only a doorbell: a task
    # is acknowledged after it ran, so a worker killed mid-task leaves the
    # message to be redelivered, and each worker takes one message at a time
    # so none sits behind a long deploy.
    # https://docs.celeryq.dev/en/stable/userguide/tasks.html#Task.acks_late
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_track_started=False,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # Redis redelivers an unacknowledged message after this long; it must be
    # longer than the slowest task (a helm --wait) or work runs twice.
    broker_transport_options={
        **app.conf.broker_transport_options,
        "visibility_timeout": 3600,
    },
)
app.autodiscover_tasks()
