"""Outgoing webhooks, delivered over real HTTP to a local server that checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notifications import webhooks
from notifications.models import Webhook, WebhookDelivery
from tests.conftest import client_for, live_hub, submitted

pytestmark = pytest.mark.django_db
SECRET = "s3cret-for-tests"


@pytest.fixture
def private_allowed(settings: Any) -> None:
    """The local server listens on 127.0.0.1, which the portal refuses by default."""
    settings.PORTAL_WEBHOOK_ALLOW_PRIVATE = True


def hook(server: HTTPServer, events: list[str], **fields: Any) -> Webhook:
    return Webhook.objects.create(
        url=server.url_for("/hook"), events=events, secret=SECRET, **fields
    )


def signed(request: Request) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.get_data(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers.get("X-Hub-Portal-Signature", ""), expected)


def test_it_delivers_a_signed_event_to_a_local_server(
    httpserver: HTTPServer,
    private_allowed: None,
    catalog: None,
    lead: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    received: list[dict[str, Any]] = []

    def handler(request: Request) -> Response:
        assert signed(request)
        assert request.headers["X-Hub-Portal-Event"] == "request.submitted"
        received.append(json.loads(request.get_data()))
        return Response("ok", status=204)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    hook(httpserver, ["request.*"])

    with django_capture_on_commit_callbacks(execute=True):
        request = submitted(lead)

    [body] = received
    assert body["event"] == "request.submitted"
    assert body["data"]["request"]["id"] == request.pk
    assert body["data"]["actor"] == "alice"
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "delivered" and delivery.status_code == 204
    assert delivery.response_ms is not None and delivery.attempts == 1
    assert str(delivery.uuid) == body["id"]


def test_it_retries_a_receiver_that_is_down_then_delivers(
    httpserver: HTTPServer, private_allowed: None, catalog: None, lead: User
) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=200)
    webhook = hook(httpserver, ["*"])
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="ping", payload={"event": "ping"}
    )

    retry_in = webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert retry_in is not None and retry_in > 0
    assert (delivery.outcome, delivery.attempts, delivery.status_code) == ("pending", 1, 503)
    assert delivery.next_attempt_at is not None
    assert webhooks.deliver(delivery.pk) is None  # not due yet: nothing is sent

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    assert webhooks.deliver(delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.outcome, delivery.attempts) == ("delivered", 2)
    assert [entry["status"] for entry in delivery.log] == [503, 200]


def test_it_gives_up_on_a_client_error_and_after_the_last_attempt(
    httpserver: HTTPServer, private_allowed: None, settings: Any, db: None
) -> None:
    httpserver.expect_request("/hook").respond_with_data("no", status=410)
    webhook = hook(httpserver, ["*"])
    gone = WebhookDelivery.objects.create(webhook=webhook, event="ping", payload={})
    assert webhooks.deliver(gone.pk) is None
    gone.refresh_from_db()
    assert gone.outcome == "failed" and gone.error == "The receiver answered 410."

    settings.PORTAL_WEBHOOK_MAX_ATTEMPTS = 1
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("busy", status=500)
    busy = WebhookDelivery.objects.create(webhook=webhook, event="ping", payload={})
    assert webhooks.deliver(busy.pk) is None
    busy.refresh_from_db()
    assert busy.outcome == "failed"


def test_it_refuses_private_addresses_by_default(httpserver: HTTPServer, db: None) -> None:
    for url in ("http://127.0.0.1:9/x", "http://10.0.0.1/", "http://169.254.169.254/latest/"):
        with pytest.raises(webhooks.Refused, match="private address"):
            webhooks.check_url(url)
    with pytest.raises(webhooks.Refused):
        webhooks.check_url("ftp://example.org/")
    webhook = hook(httpserver, ["*"])
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="ping", payload={})

    assert webhooks.deliver(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.outcome == "failed" and "private address" in delivery.error
    assert httpserver.log == []  # nothing reached the server


def test_a_hubs_webhook_hears_only_its_hub(
    httpserver: HTTPServer, private_allowed: None, catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    other = live_hub(lead, reviewer, name="other")
    mine = hook(httpserver, ["hub.*", "deployment.*"], hub=hub)
    theirs = hook(httpserver, ["hub.*"], hub=other)

    assert webhooks.emit("hub.updated", {"x": 1}, hub_id=hub.pk) == 1
    assert webhooks.emit("request.submitted", {"x": 1}) == 0
    assert list(WebhookDelivery.objects.values_list("webhook", flat=True)) == [mine.pk]
    assert theirs.deliveries.count() == 0


def test_hub_admins_and_operators_register_webhooks_in_the_browser(
    private_allowed: None, catalog: None, lead: User, other_lead: User, reviewer: User,
    operator: User,
) -> None:  # fmt: skip
    hub = live_hub(lead, reviewer)
    page = f"/hubs/{hub.cluster.slug}/{hub.name}/webhooks/"
    data = {"action": "add", "url": "http://127.0.0.1:8001/x", "events": ["hub.*"]}

    assert client_for(other_lead).get(page).status_code == 404
    assert client_for(reviewer).get("/operations/webhooks/").status_code == 403
    response = client_for(lead).post(page, data, follow=True)

    webhook = Webhook.objects.get()
    assert webhook.hub == hub and webhook.created_by == lead
    assert webhook.secret in response.content.decode()  # shown once
    assert client_for(operator).post("/operations/webhooks/", data).status_code == 302
    assert Webhook.objects.filter(hub__isnull=True).count() == 1


def test_the_page_refuses_a_private_address_without_the_setting(
    catalog: None, lead: User, reviewer: User
) -> None:
    hub = live_hub(lead, reviewer)
    response = client_for(lead).post(
        f"/hubs/{hub.cluster.slug}/{hub.name}/webhooks/",
        {"action": "add", "url": "http://127.0.0.1/x", "events": ["hub.*"]},
    )
    assert "private address" in response.content.decode()
    assert not Webhook.objects.exists()
