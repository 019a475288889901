"""Outgoing webhooks, registered in the browser: operators' (every hub's events) on
/operations/webhooks/, a hub's own (its admins and operators) on the hub's page.

The secret is made by the portal and shown once, when the webhook is added;
each delivery is signed with it (notifications/webhooks.py). The page lists
recent deliveries with their status and response time, and can send a test.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from hubs import payloads, permissions
from hubs.models import Hub
from notifications import webhooks
from notifications.models import EVENTS, FAMILIES, Webhook, WebhookDelivery
from portal.commit import after_commit
from provisioning.web.pages import managed_hub

EVENT_CHOICES = [(f, f"every {f.removesuffix('.*')} event") for f in FAMILIES] + [
    (name, f"{name}: {what}") for name, what in EVENTS.items()
]


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Address",
        max_length=500,
        assume_scheme="https",
        help_text="Where the portal POSTs each event, as JSON.",
        widget=forms.URLInput(attrs={"class": "form-control"}),
    )
    events = forms.MultipleChoiceField(
        label="Events", choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        try:
            webhooks.check_url(url)
        except webhooks.Refused as exc:
            raise forms.ValidationError(f"The portal cannot send there: {exc}.") from exc
        return url


def _page(request: HttpRequest, hub: Hub | None) -> HttpResponse:
    user: Any = request.user  # signed in (login_required)
    hooks = Webhook.objects.filter(hub=hub) if hub is not None else Webhook.objects.filter(
        hub__isnull=True
    )  # fmt: skip
    form = WebhookForm(request.POST if request.POST.get("action") == "add" else None)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add" and form.is_valid():
            secret = webhooks.new_secret()
            Webhook.objects.create(
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                secret=secret,
                hub=hub,
                created_by=user,
            )
            messages.success(
                request,
                f"Webhook added. Its signing secret, shown only now: {secret} — check each "
                "delivery's X-Hub-Portal-Signature header (sha256=HMAC of the body) with it.",
            )
            return redirect(request.path)
        hook = hooks.filter(pk=request.POST.get("webhook") or 0).first()
        if action == "delete" and hook is not None:
            hook.delete()
            messages.success(request, "Webhook removed.")
            return redirect(request.path)
        if action == "test" and hook is not None:
            _send_test(hook, hub, request.user)
            messages.info(request, "Test event sent; its delivery shows below.")
            return redirect(request.path)
    deliveries = (
        WebhookDelivery.objects.filter(webhook__in=hooks)
        .select_related("webhook")
        .order_by("-created_at", "-pk")[:30]
    )
    return render(
        request,
        "hubs/webhooks.html",
        {"hub": hub, "hooks": list(hooks), "form": form, "deliveries": deliveries},
    )


def _send_test(hook: Webhook, hub: Hub | None, user: Any) -> None:
    delivery = WebhookDelivery(webhook=hook, event="ping")
    delivery.payload = {
        "id": str(delivery.uuid),
        "event": "ping",
        "data": {
            "hub": payloads.hub_data(hub) if hub is not None else None,
            "actor": user.get_username(),
        },
    }
    delivery.save()
    after_commit(webhooks.enqueue, delivery.pk)


@login_required
def hub_webhooks(request: HttpRequest, cluster: str, name: str) -> HttpResponse:
    """A hub's webhooks: its admins and the operators."""
    return _page(request, managed_hub(request, cluster, name))


@login_required
def operations_webhooks(request: HttpRequest) -> HttpResponse:
    """Webhooks for every hub's and request's events: operators only."""
    if not permissions.is_operator(request.user):
        raise PermissionDenied("Only operators register webhooks for every hub.")
    return _page(request, None)
