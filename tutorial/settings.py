"""Dockyard settings: one file, driven by environment variables.

Every value can be set from the environment. A value that cannot be parsed stops the process at start-up
with a message naming the variable, rather than running with a surprising default.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# A fixed development key keeps sessions valid across restarts of a local run (`make run` sets DEBUG=true).
# It is public, so with DEBUG off the site refuses to start without a key of its own.
DEVELOPMENT_SECRET_KEY = "django-insecure-dockyard-local-development-key"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set (or is the public development key) and DEBUG is off. Set the SECRET_KEY "
        "environment variable to a long random value, for example the output of "
        "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`, or set DEBUG=true for local development."
    )
SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "lessons",
    "workspace",
    "practice",
    "accounts",
    "sandbox",
    "teach",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a request body: one over the limit is answered 413 in words.
    "workspace.limits.RequestTooLargeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tutorial.urls"
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
            ],
        },
    },
]
WSGI_APPLICATION = "tutorial.wsgi.application"
ASGI_APPLICATION = "tutorial.asgi.application"

# SQLite by default; DATABASE_URL (postgres://...) switches to PostgreSQL through psycopg 3.
DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and tests share one SQLite file; waiting on a lock beats failing on it.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "course"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Redis carries Celery's queue and the Channels layer.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 60},
    }
}
# The cache holds the rate limits and the log-in throttle, so every web process must share it: Redis whenever
# REDIS_URL is set (production, compose), this process's memory otherwise (one local `make run`; tests).
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dockyard-cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Production hardening, on whenever DEBUG is off (see `manage.py check --deploy`).
SECURE_HTTPS = env_bool("SECURE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Celery (see docs/architecture.md, "Reliability").
BUILD_HARD_TIME_LIMIT = env_int("BUILD_HARD_TIME_LIMIT", 900, minimum=60)
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = BUILD_HARD_TIME_LIMIT - 30
CELERY_TASK_TIME_LIMIT = BUILD_HARD_TIME_LIMIT
# A redelivery must not happen while the first attempt may still be running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": BUILD_HARD_TIME_LIMIT + 300}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": BUILD_HARD_TIME_LIMIT + 300}
CELERY_TASK_DEFAULT_QUEUE = "builds"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Sandbox daemons (see docs/architecture.md, "Sandbox facts" and "Limits").
SANDBOX_ROOT = Path(env_str("SANDBOX_ROOT", "/var/lib/dockyard/sandboxes"))
SANDBOX_COUNT = env_int("SANDBOX_COUNT", 2, minimum=0)
# Local daemons are named PREFIX0, PREFIX1, ...: the name is their folder under SANDBOX_ROOT, their cgroup and
# their network namespace. A test or a load run uses its own prefix to start daemons next to the usual ones.
SANDBOX_NAME_PREFIX = env_str("SANDBOX_NAME_PREFIX", "dockyard-sb")
if not re.fullmatch(r"[a-z][a-z0-9-]{0,15}", SANDBOX_NAME_PREFIX):
    # Kept short and plain: it names a network namespace and a cgroup, and unix socket paths are limited.
    raise ImproperlyConfigured(
        f"SANDBOX_NAME_PREFIX must be 1 to 16 lower-case letters, digits or dashes, not {SANDBOX_NAME_PREFIX!r}."
    )
SANDBOX_MEMORY_MB = env_int("SANDBOX_MEMORY_MB", 1024, minimum=128)
SANDBOX_PIDS = env_int("SANDBOX_PIDS", 512, minimum=64)
SANDBOX_CPUS = env_int("SANDBOX_CPUS", 1, minimum=1)
SANDBOX_DISK_GB = env_int("SANDBOX_DISK_GB", 8, minimum=2)
# Daemons run elsewhere (compose's docker:dind services, other machines) join the pool over TLS, with the
# client certificate (ca.pem, cert.pem, key.pem) in SANDBOX_TLS_CERT_PATH. SANDBOX_DOCKER_HOST is the older
# single remote daemon, which replaces the local ones.
SANDBOX_REMOTE_HOSTS = env_list("SANDBOX_REMOTE_HOSTS", "")
SANDBOX_DOCKER_HOST = env_str("SANDBOX_DOCKER_HOST", "")
SANDBOX_TLS_CERT_PATH = env_str("SANDBOX_TLS_CERT_PATH", os.environ.get("DOCKER_CERT_PATH", ""))
# A local daemon can also serve its API over TLS on 127.0.0.1:(PORT + its number) inside its own network
# namespace (ca.pem, server-cert.pem and server-key.pem in SANDBOX_TLS_SERVER_CERT_PATH); 0 means no.
SANDBOX_TLS_LISTEN_PORT = env_int("SANDBOX_TLS_LISTEN_PORT", 0)
SANDBOX_TLS_SERVER_CERT_PATH = env_str("SANDBOX_TLS_SERVER_CERT_PATH", "")
for _host in SANDBOX_REMOTE_HOSTS:
    if not _host.startswith("tcp://"):
        raise ImproperlyConfigured(f"SANDBOX_REMOTE_HOSTS takes tcp://HOST:PORT addresses, not {_host!r}.")
# The docker CLI used for BuildKit builds. A newer CLI without buildx silently falls back to the
# classic builder, so the BuildKit-capable client is named explicitly.
DOCKER_CLI = env_str("DOCKER_CLI", "/usr/bin/docker")

# The offline base-image catalog.
CATALOG_IMAGES = env_list("CATALOG_IMAGES", "busybox:latest,debian:bookworm-slim,python:3.11-slim,redis:7,postgres:15")
CATALOG_CACHE = Path(env_str("CATALOG_CACHE", str(BASE_DIR / ".cache" / "catalog")))
# An online deployment may pull the catalog from a registry mirror instead of building it.
CATALOG_REGISTRY_MIRROR = env_str("CATALOG_REGISTRY_MIRROR", "")

# Limits (docs/architecture.md, "Limits").
BUILD_TIMEOUT_SECONDS = env_int("BUILD_TIMEOUT_SECONDS", 300, minimum=10)
CHECK_TIMEOUT_SECONDS = env_int("CHECK_TIMEOUT_SECONDS", 30, minimum=1)
BUILD_LOG_LIMIT_BYTES = env_int("BUILD_LOG_LIMIT_BYTES", 1024 * 1024, minimum=1024)
SUBMISSION_MAX_TOTAL_BYTES = env_int("SUBMISSION_MAX_TOTAL_BYTES", 5 * 1024 * 1024, minimum=1024)
SUBMISSION_MAX_FILES = env_int("SUBMISSION_MAX_FILES", 50, minimum=1)
SUBMISSION_MAX_FILE_BYTES = env_int("SUBMISSION_MAX_FILE_BYTES", 256 * 1024, minimum=1024)
SUBMISSIONS_QUEUED_PER_USER = env_int("SUBMISSIONS_QUEUED_PER_USER", 3, minimum=1)
SUBMISSIONS_GLOBAL_QUEUE_CAP = env_int("SUBMISSIONS_GLOBAL_QUEUE_CAP", 100, minimum=1)
SUBMISSION_MAX_ATTEMPTS = env_int("SUBMISSION_MAX_ATTEMPTS", 2, minimum=1)
# A request body may hold a whole submission JSON-escaped (which doubles text full of newlines or quotes), and
# a little more; over it the answer is 413 in words (workspace/limits.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "REQUEST_MAX_BYTES", 2 * SUBMISSION_MAX_TOTAL_BYTES + 1024 * 1024, minimum=SUBMISSION_MAX_TOTAL_BYTES
)
# Live lint (workspace/lint.py): per client, per web process, and per request.
LINT_REQUESTS_PER_MINUTE = env_int("LINT_REQUESTS_PER_MINUTE", 60, minimum=1)
LINT_WORKERS = env_int("LINT_WORKERS", 2, minimum=1)
LINT_TIMEOUT_SECONDS = env_int("LINT_TIMEOUT_SECONDS", 5, minimum=1)
# Log-in and sign-up throttling (accounts/throttle.py, docs/security.md).
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1)
LOGIN_LOCK_MINUTES = env_int("LOGIN_LOCK_MINUTES", 15, minimum=1)
SIGNUPS_PER_ADDRESS_PER_HOUR = env_int("SIGNUPS_PER_ADDRESS_PER_HOUR", 10, minimum=1)

# Defence in depth (docs/security.md): the daemons' own memory, and the size of what a build can send back.
SANDBOX_DAEMON_MEMORY_MB = env_int("SANDBOX_DAEMON_MEMORY_MB", 1024, minimum=256)
IMAGE_CONFIG_MAX_BYTES = env_int("IMAGE_CONFIG_MAX_BYTES", 64 * 1024, minimum=4096)
RESULT_MAX_BYTES = env_int("RESULT_MAX_BYTES", 256 * 1024, minimum=64 * 1024)
EVENT_MAX_BYTES = env_int("EVENT_MAX_BYTES", 256 * 1024, minimum=64 * 1024)

# Upkeep (docs/architecture.md, "Reliability"): every worker runs it in a thread of its main process, one
# worker at a time. It re-enqueues submissions whose task was lost, ends those waiting past the give-up time,
# checks and restarts the sandbox daemons, tells waiting learners their place in the queue, and prunes.
UPKEEP_INTERVAL_SECONDS = env_int("UPKEEP_INTERVAL_SECONDS", 5, minimum=1)
SUBMISSION_GIVE_UP_SECONDS = env_int("SUBMISSION_GIVE_UP_SECONDS", 3600, minimum=60)
# Retention: build logs and other events, then the learner's files, then the submissions themselves.
# Verdicts and scores stay as long as the submission; course progress is kept apart and never pruned.
SUBMISSION_EVENTS_RETENTION_DAYS = env_int("SUBMISSION_EVENTS_RETENTION_DAYS", 30, minimum=1)
SUBMISSION_FILES_RETENTION_DAYS = env_int("SUBMISSION_FILES_RETENTION_DAYS", 180, minimum=1)
SUBMISSION_RETENTION_DAYS = env_int("SUBMISSION_RETENTION_DAYS", 365, minimum=1)

LESSONS_CONTENT_DIR = Path(env_str("LESSONS_CONTENT_DIR", str(BASE_DIR / "lessons" / "content")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
