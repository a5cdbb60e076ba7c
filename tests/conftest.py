"""Plain factory helpers and fixtures shared by the test files."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from django.contrib.auth.models import User

UNIT_REDIS_URL = os.environ.get("DOCKYARD_UNIT_REDIS_URL", "redis://127.0.0.1:6379/6")


def make_user(username: str = "learner", password: str = "a-long-Passw0rd!", **extra) -> User:
    return User.objects.create_user(username=username, password=password, **extra)


def write_lesson(
    root: Path, folder: str, title: str = "A lesson", order: int = 1, body: str | None = None, front: str | None = None
) -> Path:
    lesson_dir = root / folder
    lesson_dir.mkdir(parents=True, exist_ok=True)
    front = (
        front
        if front is not None
        else (f"title: {title}\norder: {order}\nsummary: A summary.\nobjectives:\n  - Do a thing.\n")
    )
    body = body if body is not None else "Intro.\n\n## First section\n\nText.\n\n## Recap\n\n- Done.\n"
    (lesson_dir / "lesson.md").write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return lesson_dir


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def user(db) -> User:
    return make_user()


@pytest.fixture
def shipped_course(db):
    """The real course from lessons/content, loaded into the test database."""
    from django.conf import settings

    from lessons.loader import load_course

    return load_course(settings.LESSONS_CONTENT_DIR)


def pytest_configure(config):
    """Tests speak plain HTTP to the test client and the live server; production redirects to HTTPS.

    This is set once for the whole session because the live server's SecurityMiddleware reads these
    settings when the server starts, before any per-test fixture could change them. The same goes for the
    test doubles of the services below.
    """
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    # Test users need no slow password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests in this process never reach a Redis they did not choose: events go through an in-memory channel
    # layer, Celery's broker is in memory, and what still reads REDIS_URL (daemon leases) gets the suite's own
    # database. Integration tests that need the real thing start servers with a Redis URL of their own
    # (ops/livestack.py) or set one explicitly.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CELERY_BROKER_URL = "memory://"
    settings.REDIS_URL = UNIT_REDIS_URL
    # The cache (rate limits, the log-in throttle) is this process's memory, emptied before every test.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def empty_cache():
    """No test sees another's rate-limit or throttle counters."""
    from django.core.cache import cache

    cache.clear()


DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


def pytest_collection_modifyitems(config, items):
    """Mark every test that touches the database `database`: CI runs those a second time on PostgreSQL."""
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("django_db"):
            item.add_marker(pytest.mark.database)


@pytest.fixture
def docker_host() -> str:
    """A running sandbox daemon (DOCKYARD_TEST_DOCKER_HOST, or the first configured one).

    A missing daemon fails the test rather than skipping it: `make test` starts the daemons, so a
    daemon that does not answer is a real problem.
    """

    from sandbox.clients import SandboxError, make_client
    from sandbox.daemons import all_docker_hosts

    host = os.environ.get("DOCKYARD_TEST_DOCKER_HOST") or all_docker_hosts()[0]
    try:
        make_client(host).close()
    except SandboxError:
        pytest.fail(f"the sandbox daemon at {host} is not answering (start it with `manage.py sandbox start`)")
    return host


@pytest.fixture(scope="module")
def browser():
    """Chromium for the tests of one module, for use with pytest-django's live_server."""
    from playwright.sync_api import sync_playwright

    from .browser import launch_chromium

    # Playwright's sync API runs an event loop in this thread, which makes Django refuse ORM calls from the
    # test; they are plain sync calls, so allow them, for these tests only (the variable must not leak into
    # other tests, e.g. the subprocess that runs `check --deploy`).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def sandbox_root(settings, tmp_path):
    """Two local sandbox daemons named dockyard-sbN under a temporary SANDBOX_ROOT, for tests without Docker."""
    settings.SANDBOX_ROOT = tmp_path / "sandboxes"
    settings.SANDBOX_COUNT = 2
    settings.SANDBOX_DOCKER_HOST = ""
    settings.SANDBOX_REMOTE_HOSTS = []
    settings.SANDBOX_NAME_PREFIX = "dockyard-sb"
    settings.SANDBOX_TLS_LISTEN_PORT = 0
    return settings.SANDBOX_ROOT
