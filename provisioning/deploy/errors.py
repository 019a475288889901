"""The one error every deploy step raises: permanent (a person must act) or not."""

from __future__ import annotations


class DeployError(Exception):
    """A deployment step failed.

    `permanent` errors (bad credentials, refused push, invalid config) fail the
    deployment with `message` shown to a person; transient ones (network, 5xx,
    timeouts, a locked clone) are retried with backoff.
    """

    def __init__(self, message: str, *, permanent: bool, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        # e.g. the tail of a subprocess's stderr, shown under the message
        self.detail = detail
