"""Work that runs once the current transaction has committed, each piece on its own.

Email and the Celery doorbell are sent after commit, so nothing is announced
or enqueued for a change that rolled back. Each callback is robust: one that
fails (a mail server down, a broker unreachable) is logged and never stops
the others: a failed email cannot lose a deployment's enqueueing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction


def after_commit(func: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Call `func(*args, **kwargs)` after the current transaction commits (at once if none)."""

    def callback() -> None:
        func(*args, **kwargs)

    # Django names the callback when it logs a failure.
    callback.__qualname__ = getattr(func, "__qualname__", repr(func))
    transaction.on_commit(callback, robust=True)
