"""Dockyard settings: one file, driven by environment variables.

Every value can be set from the environment. A value that cannot be parsed stops the process at start-up
with a message naming the variable, rather than running with a surprising default.
"""

from __future__ import annotations

import os
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
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("DOCKYARD_REQUIRE_SECRET_KEY") == "1":
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # A fixed development key keeps sessions valid across restarts of a local run. Production sets
    # SECRET_KEY; `manage.py check --deploy` flags this key if it does not.
    SECRET_KEY = "django-insecure-dockyard-local-development-key"

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
SANDBOX_COUNT = env_int("SANDBOX_COUNT", 2, minimum=1)
SANDBOX_MEMORY_MB = env_int("SANDBOX_MEMORY_MB", 1024, minimum=128)
SANDBOX_PIDS = env_int("SANDBOX_PIDS", 512, minimum=64)
SANDBOX_CPUS = env_int("SANDBOX_CPUS", 1, minimum=1)
SANDBOX_DISK_GB = env_int("SANDBOX_DISK_GB", 8, minimum=2)
# Workers on other machines (compose) name their daemon with DOCKER_HOST instead of a local socket.
SANDBOX_DOCKER_HOST = env_str("SANDBOX_DOCKER_HOST", "")
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

LESSONS_CONTENT_DIR = Path(env_str("LESSONS_CONTENT_DIR", str(BASE_DIR / "lessons" / "content")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
