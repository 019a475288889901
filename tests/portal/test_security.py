"""Security settings and headers: check --deploy clean, HSTS and secure cookies over https,
X-Forwarded-Proto trusted only when configured, a Content-Security-Policy every page keeps,
and sign-in throttled (the admin's too)."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.urls import reverse

from hubs.models import Hub
from tests.conftest import PASSWORD, client_for, live_hub, submitted
from tests.portal.test_settings import settings_value

ROOT = Path(__file__).resolve().parents[2]


def production(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PORTAL_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "x7Gq2vB9rT4mWk8ZpL1sN6yH3dF5jC0aQeRtYuIoPlKmNbVcXz" * 2,
        "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PORTAL_BASE_URL": "https://portal.example.org",
        "ALLOWED_HOSTS": "portal.example.org",
        "DEBUG": "0",
        **extra,
    }


def test_it_passes_check_deploy_with_production_settings(tmp_path: Path) -> None:
    import os

    ours = ("PORTAL_", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_", "DEBUG")
    base = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings", **production(tmp_path)},
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_sets_hsts_secure_cookies_and_a_redirect_for_https(tmp_path: Path) -> None:
    names = (
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT"
    )
    https = settings_value(production(tmp_path), names)
    plain = settings_value(production(tmp_path, PORTAL_BASE_URL="http://127.0.0.1:8000"), names)

    assert https.stdout.strip() == "True True 31536000 True", https.stderr
    assert plain.stdout.strip() == "False False 0 False", plain.stderr


def test_it_trusts_x_forwarded_proto_only_when_configured(tmp_path: Path) -> None:
    default = settings_value(production(tmp_path), "settings.SECURE_PROXY_SSL_HEADER")
    trusted = settings_value(
        production(tmp_path, PORTAL_TRUST_X_FORWARDED_PROTO="1"),
        "settings.SECURE_PROXY_SSL_HEADER",
    )

    assert default.stdout.strip() == "None", default.stderr
    assert trusted.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", trusted.stderr


@pytest.mark.django_db
def test_it_does_not_take_a_forged_forwarded_proto_for_https(client: Any) -> None:
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.wsgi_request.is_secure() is False


# --- the Content-Security-Policy ---------------------------------------------


class Inline(HTMLParser):
    """What a strict policy (no 'unsafe-inline') would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src") and names.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")


@pytest.mark.django_db
def test_it_keeps_a_strict_content_security_policy_on_every_page(
    catalog: None, lead: Any, reviewer: Any, operator: Any
) -> None:
    request = submitted(lead, name="waiting")
    hub = live_hub(lead, reviewer, name="live")
    hub_page = reverse("hubs:hub", args=[hub.cluster.slug, hub.name])
    deployment = Hub.objects.get(pk=hub.pk).deployments.get()
    pages = {
        None: ["/", "/accounts/login/", "/accounts/signup/"],
        lead: [
            "/", "/requests/new/", request.get_absolute_url(), "/hubs/", hub_page,
            f"{hub_page}change/", f"{hub_page}decommission/",
            "/profile/", deployment.get_absolute_url(),
        ],
        reviewer: ["/review/", request.get_absolute_url()],
        operator: ["/operations/"],
    }  # fmt: skip
    for user, paths in pages.items():
        client = client_for(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            policy = response["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
            assert "frame-ancestors 'none'" in policy
            parser = Inline()
            parser.feed(response.content.decode())
            assert parser.found == [], (path, parser.found)


# --- sign-in throttling --------------------------------------------------------


@pytest.mark.django_db
def test_it_throttles_failed_sign_ins_to_an_account(lead: Any, client: Any) -> None:
    cache.clear()
    refused = [
        "Too many failed login attempts"
        in client.post("/accounts/login/", {"login": "alice", "password": "wrong"}).content.decode()
        for _ in range(6)
    ]
    right = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    cache.clear()

    assert refused == [False] * 5 + [True]  # five tries per account in five minutes
    # Even the right password waits out the window.
    assert "Too many failed login attempts" in right.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_it_signs_operators_into_the_admin_through_the_throttled_form(
    client: Any, operator: Any
) -> None:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
