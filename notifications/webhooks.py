"""Outgoing webhooks: `emit()` records a delivery per interested webhook, a Celery task
POSTs each one, signed, and retries transient failures with backoff.

- `emit(event, data, hub_id=…)` is the one function the named actions call
  (hubs/actions.py, provisioning/lifecycle.py, provisioning/deployments.py),
  inside their transaction: the delivery rows commit with the change, and the
  task is enqueued only after commit (portal.commit.after_commit).
- The body is JSON, `{"id", "event", "created_at", "data"}`; the header
  `X-Hub-Portal-Signature: sha256=<hex>` is HMAC-SHA256 of the exact body
  with the webhook's secret (like GitHub's X-Hub-Signature-256), so a
  receiver can check it came from the portal unchanged.
- Never to a private address (loopback, link-local, RFC 1918, …) unless
  PORTAL_WEBHOOK_ALLOW_PRIVATE is on: the address is resolved and checked at
  each delivery and the connection made to that checked address, so a name
  that re-resolves to 127.0.0.1 later cannot reach the portal's neighbours.
  Redirects are not followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import random
import secrets
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from notifications.models import Webhook, WebhookDelivery
from portal.commit import after_commit

DELIVER = "notifications.tasks.deliver_webhook"
SIGNATURE_HEADER = "X-Hub-Portal-Signature"
USER_AGENT = "HubPortal-Webhooks/1"
MAX_RESPONSE = 64 * 1024


class Refused(Exception):
    """An address the portal will not send to (a private one, or not http(s))."""


def new_secret() -> str:
    return secrets.token_hex(32)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`: "sha256=<hex>"."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


# --- emitting -----------------------------------------------------------------------


def emit(event: str, data: dict[str, Any], *, hub_id: int | None = None) -> int:
    """Record `event` for every active webhook that wants it; the number recorded.

    Operators' webhooks (no hub) get every event; a hub's webhooks get that
    hub's. Deliveries are enqueued once the caller's transaction commits.
    """
    scope = Q(hub__isnull=True) | Q(hub_id=hub_id) if hub_id is not None else Q(hub__isnull=True)
    hooks = [hook for hook in Webhook.objects.filter(scope, active=True) if hook.wants(event)]
    for hook in hooks:
        delivery = WebhookDelivery(webhook=hook, event=event)
        delivery.payload = {
            "id": str(delivery.uuid),
            "event": event,
            "created_at": timezone.now().isoformat(),
            "data": data,
        }
        delivery.save()
        after_commit(enqueue, delivery.pk)
    return len(hooks)


def enqueue(delivery_id: int, countdown: float = 0) -> None:
    """Ring the delivery task's doorbell, by its registered name (like provisioning/queue.py)."""
    task = current_app.tasks[DELIVER]
    if countdown:
        task.apply_async(args=(delivery_id,), countdown=countdown)
    else:
        task.delay(delivery_id)


# --- addresses ------------------------------------------------------------------------


def check_url(url: str) -> None:
    """Refuse what a webhook may not point at (raises Refused with the reason)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("the address must start with https:// (or http://)")
    if parts.username or parts.password:
        raise Refused("the address must not carry a user name or password")
    resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def resolve(host: str, port: int) -> str:
    """The address to connect to for `host`, once every address it has is checked."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"{host} does not resolve ({exc.strerror})") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not settings.PORTAL_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if not is_public(address):
                raise Refused(
                    f"{host} is a private address ({address}); the portal only sends webhooks "
                    "to public addresses"
                )
    return addresses[0]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (the Host header stays the name)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port or 80), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port or 443), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to `url` (never following a redirect); the response's status."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("the address must start with https:// (or http://)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(parts.hostname, port, address, timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE)
        return int(response.status)
    finally:
        connection.close()


# --- delivering ------------------------------------------------------------------------


def backoff(attempt: int) -> float:
    """Seconds before try `attempt + 1`: exponential with equal jitter, capped."""
    delay = min(
        settings.PORTAL_WEBHOOK_MAX_DELAY, settings.PORTAL_WEBHOOK_BASE_DELAY * 2 ** (attempt - 1)
    )
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - not for security  # nosec B311


def deliver(delivery_id: int) -> float | None:
    """Try one delivery once; seconds until the next try if it should be retried, else None.

    The row is claimed first (a conditional update of its attempt count), so a
    duplicate message sends nothing twice at once.
    """
    delivery = (
        WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    )  # fmt: skip
    if delivery is None or delivery.outcome != WebhookDelivery.Outcome.PENDING:
        return None
    now = timezone.now()
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + dt.timedelta(
        seconds=1
    ):
        return None  # an early or duplicate message; the due one follows
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, outcome=WebhookDelivery.Outcome.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=None)
    if not claimed:
        return None
    attempt = delivery.attempts + 1
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Hub-Portal-Event": delivery.event,
        "X-Hub-Portal-Delivery": str(delivery.uuid),
        SIGNATURE_HEADER: sign(delivery.webhook.secret, body),
    }
    started = time.monotonic()
    status: int | None = None
    error = ""
    permanent = False
    try:
        status = post(delivery.webhook.url, body, headers, settings.PORTAL_WEBHOOK_TIMEOUT)
    except Refused as exc:
        error, permanent = f"Refused: {exc}.", True
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    elapsed = int((time.monotonic() - started) * 1000)
    if status is not None and not 200 <= status < 300:
        error = f"The receiver answered {status}."
        # Retried: the receiver may be down or busy. Anything else will not improve.
        permanent = not (status >= 500 or status in (408, 429))
    entry = {"at": timezone.now().isoformat(), "status": status, "ms": elapsed, "error": error}
    fields: dict[str, Any] = {
        "status_code": status,
        "response_ms": elapsed,
        "error": error,
        "log": [*delivery.log, entry],
    }
    retry_in: float | None = None
    if not error:
        fields.update(outcome=WebhookDelivery.Outcome.DELIVERED, delivered_at=timezone.now())
    elif permanent or attempt >= settings.PORTAL_WEBHOOK_MAX_ATTEMPTS:
        fields["outcome"] = WebhookDelivery.Outcome.FAILED
    else:
        retry_in = backoff(attempt)
        fields["next_attempt_at"] = timezone.now() + dt.timedelta(seconds=retry_in)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return retry_in


def requeue_due() -> int:
    """Enqueue pending deliveries whose retry is overdue (a lost message); the number enqueued."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.PORTAL_WEBHOOK_SWEEP_AFTER)
    due = WebhookDelivery.objects.filter(outcome=WebhookDelivery.Outcome.PENDING).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff)
    )
    pks = list(due.values_list("pk", flat=True)[:500])
    for pk in pks:
        enqueue(pk)
    return len(pks)
