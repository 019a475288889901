"""Beat's monitoring jobs: thin tasks calling the functions that do the work."""

from __future__ import annotations

import logging

from celery import shared_task

from monitoring import health, usage

log = logging.getLogger(__name__)


@shared_task(name="monitoring.tasks.health_sweep", ignore_result=True)
def health_sweep() -> dict[str, int]:
    """Check every active hub that is due (hubs another sweep holds are left to it)."""
    outcome = health.sweep()
    if outcome["down"] or outcome["recovered"]:
        log.info("health sweep: %s", outcome)
    return outcome


@shared_task(name="monitoring.tasks.usage_poll", ignore_result=True)
def usage_poll() -> dict[str, int]:
    """Read each connected hub's users and add them to its hourly and daily usage."""
    return usage.poll()


@shared_task(name="monitoring.tasks.uptime_rollup", ignore_result=True)
def uptime_rollup() -> int:
    """Refresh every hub's 7- and 30-day uptime from its daily health rows."""
    return health.refresh_uptime()
