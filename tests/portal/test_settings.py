"""Settings come from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_value(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    ours = ("PORTAL_", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key(tmp_path):
    result = settings_value({"PORTAL_VAR_DIR": str(tmp_path)}, "1")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_reads_secrets_from_files(tmp_path):
    (tmp_path / "key").write_text("from-a-file\n")
    result = settings_value(
        {
            "PORTAL_VAR_DIR": str(tmp_path),
            "SECRET_KEY_FILE": str(tmp_path / "key"),
            "PORTAL_ENCRYPTION_KEY": "YnVpbGQtb25seS1rZXktYnVpbGQtb25seS1rZXktMDA=",
        },
        "settings.SECRET_KEY",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-a-file"


def test_it_generates_demo_secrets_once(tmp_path):
    env = {"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_DEMO": "1"}
    first = settings_value(env, "settings.SECRET_KEY, settings.DATABASES['default']['NAME']")
    second = settings_value(env, "settings.SECRET_KEY, settings.DATABASES['default']['NAME']")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert str(tmp_path / "portal.sqlite3") in first.stdout
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_it_uses_a_server_less_broker_by_default(tmp_path):
    env = {"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_DEMO": "1", "REDIS_URL": ""}
    result = settings_value(env, "settings.CELERY_BROKER_URL")
    assert result.stdout.strip() == "filesystem://"
    env["REDIS_URL"] = "redis://127.0.0.1:6379/3"
    result = settings_value(env, "settings.CELERY_BROKER_URL")
    assert result.stdout.strip() == "redis://127.0.0.1:6379/3"
