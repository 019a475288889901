"""Settings for the test suite: the portal's own, in demo mode, with test overrides.

DATABASE_URL and REDIS_URL still come from the environment (CI points them at
Postgres and Redis); without them the tests use SQLite and skip what needs Redis.
"""

from __future__ import annotations

import os

os.environ.setdefault("PORTAL_DEMO", "1")
os.environ.setdefault(
    "PORTAL_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test")
)
os.environ.setdefault("ACCOUNT_EMAIL_VERIFICATION", "mandatory")

from portal.settings import *  # noqa: F403
from portal.settings import DATABASES, VAR_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tasks run in the test process; a real worker a test starts (tests/workers.py) sets
# CELERY_TASK_ALWAYS_EAGER=0, so its beat and its own enqueues go through the broker.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") != "0"
CELERY_TASK_EAGER_PROPAGATES = True
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    }
}
# Failed token attempts are counted in that cache, which outlives a test: many tests
# send a wrong token on purpose. The limit's own test turns it on (tests/accounts/).
PORTAL_TOKEN_FAILURES = 0

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a worker process or a browser's server sees the
    # same database; one per test process so parallel runs do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
