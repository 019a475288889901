"""Settings, read from the environment (every variable is listed in README.md).

One module, no class-based settings: defaults give an embedded demo (SQLite,
a server-less Celery broker, a local bare git repository) and every default
can be replaced by an environment variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (for Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
# Demo mode generates the secrets a first run needs into var/ instead of
# requiring them; `make run` turns it on, production must not.
DEMO = env.bool("PORTAL_DEMO", default=False)


def _demo_secret(name: str, make: Callable[[], str]) -> str:
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEMO:
        raise ImproperlyConfigured("SECRET_KEY is required (or set PORTAL_DEMO=1 for a demo).")
    SECRET_KEY = _demo_secret("secret_key", lambda: secrets.token_urlsafe(50))

# Fernet keys for secrets at rest, comma-separated: the first encrypts, all
# decrypt, so a key can be rotated (`manage.py rotate_secrets`).
ENCRYPTION_KEYS = [k.strip() for k in env_secret("PORTAL_ENCRYPTION_KEY").split(",") if k.strip()]
if not ENCRYPTION_KEYS:
    if not DEMO:
        raise ImproperlyConfigured(
            "PORTAL_ENCRYPTION_KEY is required (generate one with `python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)."
        )
    ENCRYPTION_KEYS = [_demo_secret("encryption_key", lambda: Fernet.generate_key().decode())]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute address of the portal, for links in emails and pull request bodies.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "csp",
    "portal",
    "notifications",
    "accounts",
    "hubs",
    "provisioning",
    # After provisioning: its ready() installs the seams' event-aware provisioner.
    "events",
    # Health, usage and cost (issue 16): adds its panels to hub pages through hubs.seams.
    "monitoring",
]

MIDDLEWARE = [
    "portal.errors.APIErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hubs.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process, the worker and beat share one file: WAL lets readers
    # run beside a writer, IMMEDIATE avoids upgrade deadlocks between them.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Each process's memory, with room for the GitHub lookups of a classroom import
    # (hubs/identities.py; Django's default keeps only 300 entries).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages come from npm (package.json); only their dist folders
# are exposed, under /static/vendor/<package>/.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    # The API reference at /api/v1/docs/ (portal/apidocs.py).
    ("vendor/swagger-ui", NODE_MODULES / "swagger-ui-dist"),
    # The hub page's and the fleet page's charts (monitoring/).
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "hubs:home"

# --- email -------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hub Portal <portal@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- accounts (django-allauth) ----------------------------------------------
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PORTAL_BASE_URL.startswith("https") else "http"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False

# Each sign-in provider is switched on by configuring its client credentials.
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
for _provider, _prefix, _extra in [
    ("github", "GITHUB", {"SCOPE": ["user:email"]}),
    ("google", "GOOGLE", {"SCOPE": ["profile", "email"]}),
    ("orcid", "ORCID", {"BASE_DOMAIN": env.str("ORCID_BASE_DOMAIN", default="orcid.org")}),
]:
    _client_id = env_secret(f"{_prefix}_CLIENT_ID")
    if _client_id:
        INSTALLED_APPS.append(f"allauth.socialaccount.providers.{_provider}")
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [{"client_id": _client_id, "secret": env_secret(f"{_prefix}_CLIENT_SECRET")}],
            **_extra,
        }
OIDC_CLIENT_ID = env_secret("OIDC_CLIENT_ID")
if OIDC_CLIENT_ID:
    # e.g. CILogon: OIDC_SERVER_URL=https://cilogon.org, OIDC_NAME=CILogon
    INSTALLED_APPS.append("allauth.socialaccount.providers.openid_connect")
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env.str("OIDC_PROVIDER_ID", default="cilogon"),
                "name": env.str("OIDC_NAME", default="CILogon"),
                "client_id": OIDC_CLIENT_ID,
                "secret": env_secret("OIDC_CLIENT_SECRET"),
                "settings": {
                    "server_url": env.str("OIDC_SERVER_URL", default="https://cilogon.org"),
                    "scope": ["openid", "email", "profile", "org.cilogon.userinfo"],
                },
            }
        ]
    }

# --- REST API ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, bounded in size and depth, every string storable (portal/api.py).
    "DEFAULT_PARSER_CLASSES": ["portal.api.JSONBodyParser"],
    "DEFAULT_PAGINATION_CLASS": "hubs.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hubs.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Failed token attempts a client address may make per minute before it gets 429
# (accounts/authentication.py); 0 turns the limit off.
PORTAL_TOKEN_FAILURES = env.int("PORTAL_TOKEN_FAILURES", default=20)
SPECTACULAR_SETTINGS = {
    "TITLE": "Hub Portal API",
    "DESCRIPTION": "Request, review and follow managed JupyterHubs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's error answers (400, 401, 403, 404, 409, 413, 415, 429) as JSON.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.document_errors",
    ],
    # Requests, hubs and deployments each have a `state`: name their enums.
    "ENUM_NAME_OVERRIDES": {
        "RequestStateEnum": "hubs.states.RequestState",
        "HubStateEnum": "hubs.states.HubState",
        "DeploymentStateEnum": "hubs.states.DeploymentState",
        "SecretKeyEnum": "hubs.models.HubSecret.Key",
        "DeploymentActionEnum": "provisioning.models.Deployment.Action",
        "PreviewActionEnum": ["request", "change", "rollback", "decommission"],
    },
}

# --- Celery (see portal/celery.py) ------------------------------------------
# The broker: CELERY_BROKER_URL, else REDIS_URL, else kombu's filesystem
# transport under var/ so the demo needs no server at all.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the cwd.
        "control_folder": str(_queue_dir / "control"),
    }
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="portal")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Deployments (provisioning/tasks.py, provisioning/deployments.py). Seconds.
# Transient faults are retried with exponential backoff and jitter, at most
# PORTAL_DEPLOY_MAX_ATTEMPTS tries in all; then the deployment fails.
PORTAL_DEPLOY_MAX_ATTEMPTS = env.int("PORTAL_DEPLOY_MAX_ATTEMPTS", default=5)
PORTAL_RETRY_BASE_DELAY = env.float("PORTAL_RETRY_BASE_DELAY", default=15.0)
PORTAL_RETRY_MAX_DELAY = env.float("PORTAL_RETRY_MAX_DELAY", default=600.0)
# A worker touches a running deployment this often, however slow its step; the
# sweeper (beat, every PORTAL_SWEEP_EVERY) re-queues one whose heartbeat (or a
# queued one nobody took) is older than PORTAL_SWEEP_AFTER, so the work of a
# worker killed mid-deployment resumes within about a minute and a half at most.
# portal/checks.py insists on a few heartbeats per PORTAL_SWEEP_AFTER.
PORTAL_HEARTBEAT_EVERY = env.float("PORTAL_HEARTBEAT_EVERY", default=15.0)
PORTAL_SWEEP_AFTER = env.float("PORTAL_SWEEP_AFTER", default=60.0)
PORTAL_SWEEP_EVERY = env.float("PORTAL_SWEEP_EVERY", default=30.0)
# Pull request status is polled as a fallback for missed webhooks.
PORTAL_PR_POLL_EVERY = env.float("PORTAL_PR_POLL_EVERY", default=300.0)
PORTAL_POLL_BATCH = env.int("PORTAL_POLL_BATCH", default=200)
# Seconds after a merge a GitOps hub has to answer /hub/health (its repository's deploy
# pipeline runs meanwhile) before the deployment is marked failed.
PORTAL_GITOPS_HEALTH_TIMEOUT = env.float("PORTAL_GITOPS_HEALTH_TIMEOUT", default=3600.0)
# Git and forge calls: per git command, waiting for another worker's lock on
# a clone, per forge HTTP request.
PORTAL_GIT_TIMEOUT = env.float("PORTAL_GIT_TIMEOUT", default=120.0)
PORTAL_GIT_LOCK_TIMEOUT = env.float("PORTAL_GIT_LOCK_TIMEOUT", default=300.0)
PORTAL_FORGE_TIMEOUT = env.int("PORTAL_FORGE_TIMEOUT", default=20)
# Helm installs: how often readiness (the hub Deployment, /hub/health) is polled.
PORTAL_HELM_POLL_EVERY = env.float("PORTAL_HELM_POLL_EVERY", default=5.0)
# Event hubs (events/schedule.py). Each tier's timings are its EventPolicy (the
# admin); these are the most placeholders a pre-warmed event holds, how often
# beat runs the due steps, how many per tick, and seconds a claimed step is
# held before another tick may take it again (its worker died).
PORTAL_EVENT_MAX_PLACEHOLDERS = env.int("PORTAL_EVENT_MAX_PLACEHOLDERS", default=100)
PORTAL_EVENT_CHECK_EVERY = env.float("PORTAL_EVENT_CHECK_EVERY", default=60.0)
PORTAL_EVENT_BATCH = env.int("PORTAL_EVENT_BATCH", default=200)
PORTAL_EVENT_STEP_LEASE = env.int("PORTAL_EVENT_STEP_LEASE", default=600)
# How often beat compares hubs with their deploy repository (provisioning/drift.py).
PORTAL_DRIFT_EVERY = env.float("PORTAL_DRIFT_EVERY", default=3600.0)
# Hub admins and members (hubs/admins.py, hubs/identities.py, provisioning/members.py).
# Member changes made within PORTAL_MEMBERS_DEBOUNCE seconds of each other are
# deployed as one revision (0: each at once), at most PORTAL_MEMBERS_MAX_WAIT
# seconds after the first; beat deploys batches that are due every
# PORTAL_MEMBERS_FLUSH_EVERY seconds (the delayed task is only a shortcut).
PORTAL_MEMBERS_DEBOUNCE = env.float("PORTAL_MEMBERS_DEBOUNCE", default=60.0)
PORTAL_MEMBERS_MAX_WAIT = env.float("PORTAL_MEMBERS_MAX_WAIT", default=600.0)
PORTAL_MEMBERS_FLUSH_EVERY = env.float("PORTAL_MEMBERS_FLUSH_EVERY", default=30.0)
PORTAL_INVITATION_DAYS = env.int("PORTAL_INVITATION_DAYS", default=14)
# GitHub names are checked against GitHub's REST API with this token (none: not
# checked, marked "not verified"); answers are cached for the TTL; at most
# CONCURRENCY lookups at once, and a change waits at most BUDGET seconds for them.
PORTAL_GITHUB_LOOKUP_TOKEN = env_secret("PORTAL_GITHUB_LOOKUP_TOKEN")
PORTAL_GITHUB_API_URL = env.str("PORTAL_GITHUB_API_URL", default="https://api.github.com")
PORTAL_GITHUB_LOOKUP_TTL = env.int("PORTAL_GITHUB_LOOKUP_TTL", default=86400)
PORTAL_GITHUB_LOOKUP_CONCURRENCY = env.int("PORTAL_GITHUB_LOOKUP_CONCURRENCY", default=32)
PORTAL_GITHUB_LOOKUP_BUDGET = env.float("PORTAL_GITHUB_LOOKUP_BUDGET", default=10.0)
# Outgoing webhooks (notifications/webhooks.py): tries per delivery, backoff
# between them (seconds), per-request timeout, and when the sweeper re-sends
# a delivery whose retry message was lost. Private addresses (loopback,
# RFC 1918, link-local) are refused unless PORTAL_WEBHOOK_ALLOW_PRIVATE is on
# (tests, labs): a webhook must not reach the portal's own network.
PORTAL_WEBHOOK_MAX_ATTEMPTS = env.int("PORTAL_WEBHOOK_MAX_ATTEMPTS", default=6)
PORTAL_WEBHOOK_BASE_DELAY = env.float("PORTAL_WEBHOOK_BASE_DELAY", default=30.0)
PORTAL_WEBHOOK_MAX_DELAY = env.float("PORTAL_WEBHOOK_MAX_DELAY", default=3600.0)
PORTAL_WEBHOOK_TIMEOUT = env.float("PORTAL_WEBHOOK_TIMEOUT", default=10.0)
PORTAL_WEBHOOK_SWEEP_AFTER = env.int("PORTAL_WEBHOOK_SWEEP_AFTER", default=600)
PORTAL_WEBHOOK_ALLOW_PRIVATE = env.bool("PORTAL_WEBHOOK_ALLOW_PRIVATE", default=False)
# The reviewers' daily digest of requests waiting for review, at this hour (UTC).
PORTAL_DIGEST_HOUR = env.int("PORTAL_DIGEST_HOUR", default=8)
# Monitoring (monitoring/, docs/monitoring.md): beat checks every active hub's
# /hub/health each PORTAL_HEALTH_INTERVAL seconds, at most PORTAL_HEALTH_CONCURRENCY
# at once, each within PORTAL_HEALTH_TIMEOUT; a hub failing PORTAL_HEALTH_DOWN_AFTER
# checks in a row is down (its admins and the operators are told once, and once
# more when it answers again). Usage is read from each hub's REST API every
# PORTAL_USAGE_INTERVAL seconds. Costs are shown in PORTAL_COST_CURRENCY; an
# estimate assumes PORTAL_COST_HOURS_PER_USER server-hours per user a month.
PORTAL_HEALTH_INTERVAL = env.float("PORTAL_HEALTH_INTERVAL", default=60.0)
PORTAL_HEALTH_TIMEOUT = env.float("PORTAL_HEALTH_TIMEOUT", default=10.0)
PORTAL_HEALTH_CONCURRENCY = env.int("PORTAL_HEALTH_CONCURRENCY", default=100)
PORTAL_HEALTH_DOWN_AFTER = env.int("PORTAL_HEALTH_DOWN_AFTER", default=3)
PORTAL_USAGE_INTERVAL = env.float("PORTAL_USAGE_INTERVAL", default=300.0)
PORTAL_USAGE_TIMEOUT = env.float("PORTAL_USAGE_TIMEOUT", default=30.0)
PORTAL_COST_CURRENCY = env.str("PORTAL_COST_CURRENCY", default="USD")
PORTAL_COST_HOURS_PER_USER = env.float("PORTAL_COST_HOURS_PER_USER", default=20.0)
CELERY_BEAT_SCHEDULE = {
    "health-sweep": {
        "task": "monitoring.tasks.health_sweep",
        "schedule": PORTAL_HEALTH_INTERVAL,
    },
    "usage-poll": {
        "task": "monitoring.tasks.usage_poll",
        "schedule": PORTAL_USAGE_INTERVAL,
    },
    "uptime-rollup": {
        "task": "monitoring.tasks.uptime_rollup",
        "schedule": 3600.0,
    },
    "sweep-deployments": {
        "task": "provisioning.tasks.sweep_deployments",
        "schedule": PORTAL_SWEEP_EVERY,
    },
    "poll-pull-requests": {
        "task": "provisioning.tasks.poll_pull_requests",
        "schedule": PORTAL_PR_POLL_EVERY,
    },
    "maintain-clones": {
        "task": "provisioning.tasks.maintain_clones",
        "schedule": 3600.0,
    },
    "event-schedule": {
        "task": "events.tasks.event_schedule",
        "schedule": PORTAL_EVENT_CHECK_EVERY,
    },
    "check-drift": {
        "task": "provisioning.tasks.check_drift",
        "schedule": PORTAL_DRIFT_EVERY,
    },
    "deploy-member-changes": {
        "task": "provisioning.tasks.deploy_member_changes",
        "schedule": PORTAL_MEMBERS_FLUSH_EVERY,
    },
    "sweep-webhooks": {
        "task": "notifications.tasks.sweep_webhooks",
        "schedule": 300.0,
    },
    "review-digest": {
        "task": "provisioning.tasks.review_digest",
        "schedule": crontab(minute=0, hour=PORTAL_DIGEST_HOUR),
    },
}

# --- provisioning ------------------------------------------------------------
# Operators may override the hub templates without code changes: a folder
# laid out like provisioning/templates/ whose files take precedence.
PORTAL_TEMPLATE_DIR = env.str("PORTAL_TEMPLATE_DIR", default="")
# The charts' own schemas and defaults, which rendered values are checked
# against (z2jh/values.schema.yaml, z2jh/values.yaml, 2i2c/...).
PORTAL_UPSTREAM_DIR = Path(
    env.str("PORTAL_UPSTREAM_DIR", default=str(BASE_DIR.parent / "shared" / "upstream"))
)
# Persistent clones of deploy repositories live here.
PORTAL_CLONE_DIR = Path(env.str("PORTAL_CLONE_DIR", default=str(VAR_DIR / "clones")))
# The demo's deploy target: a bare repository initialised in the 2i2c layout.
PORTAL_DEMO_REPO = Path(env.str("PORTAL_DEMO_REPO", default=str(VAR_DIR / "infrastructure.git")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- security headers (README.md, "Security headers"; SECURITY.md) -------------
# Served over https (PORTAL_BASE_URL says so): cookies only over TLS, HSTS, and
# plain-http requests redirected. `manage.py check --deploy` is clean with these.
HTTPS = PORTAL_BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("PORTAL_HSTS_SECONDS", default=31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("PORTAL_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("PORTAL_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("PORTAL_SSL_REDIRECT", default=HTTPS)
# Preloading is a promise to browsers' built-in lists that cannot be taken back
# quickly: an operator's decision (PORTAL_HSTS_PRELOAD), not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD or not HTTPS else ["security.W021"]
# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto only when told to:
# anyone can send the header, and trusting it unasked lets plain-http requests
# pass as secure. Set it only when the proxy always sets (or strips) the header.
if env.bool("PORTAL_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, fonts and images from the
# portal only (front-end packages are served from node_modules, no CDN), no inline
# script or style, no plugins, never framed. Bootstrap's CSS draws a few icons as
# data: SVG images. htmx is configured not to inject its indicator <style> and not
# to eval (templates/base.html's htmx-config meta tag).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- sign-in throttling (django-allauth's rate limits, kept in the cache) ----
# Per address and per account; with REDIS_URL set, shared by every web process.
# The admin's own login form is replaced by allauth's (portal/urls.py), so it is
# throttled too.
ACCOUNT_RATE_LIMITS = {
    "login": env.str("PORTAL_LOGIN_RATE", default="30/m/ip"),
    "login_failed": env.str("PORTAL_LOGIN_FAILED_RATE", default="10/m/ip,5/300s/key"),
}
