import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    """manage.py with DEBUG off and a secret key of its own, unless told otherwise (None removes a variable)."""
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    environment["SECRET_KEY"] = "a-key-for-this-test-only-" + "k" * 40
    environment.update(env)
    environment = {name: value for name, value in environment.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_nothing_with_production_values():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x" * 30 + "a-real-random-production-secret-key",
        ALLOWED_HOSTS="dockyard.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_boolean_fails_loudly_naming_the_variable():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_a_bad_number_fails_loudly_naming_the_variable():
    result = run_manage("check", SANDBOX_COUNT="two")
    assert result.returncode != 0
    assert "SANDBOX_COUNT must be a whole number" in result.stderr


def test_database_url_switches_to_postgresql():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = run_manage("shell", "--no-imports", "-c", code, DATABASE_URL="postgres://u:p@127.0.0.1:5432/dockyard")
    assert result.stdout.strip() == "django.db.backends.postgresql", result.stderr


def test_sqlite_is_the_default_database():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    assert run_manage("shell", "--no-imports", "-c", code).stdout.strip() == "django.db.backends.sqlite3"


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = run_manage("check", DEBUG="false", SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY is not set (or is the public development key) and DEBUG is off" in result.stderr
    assert "set DEBUG=true for local development" in result.stderr


def test_production_settings_refuse_the_public_development_key():
    result = run_manage("check", DEBUG="false", SECRET_KEY="django-insecure-dockyard-local-development-key")
    assert result.returncode != 0
    assert "SECRET_KEY is not set (or is the public development key)" in result.stderr


def test_development_runs_on_the_development_key_with_debug_on():
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    result = run_manage("shell", "--no-imports", "-c", code, DEBUG="true", SECRET_KEY=None)
    assert result.stdout.strip() == "django-insecure-dockyard-local-development-key", result.stderr


def test_the_cache_is_shared_redis_when_redis_url_is_set_and_local_memory_otherwise():
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    shared = run_manage("shell", "--no-imports", "-c", code, REDIS_URL="redis://127.0.0.1:6379/9")
    assert shared.stdout.strip() == "django.core.cache.backends.redis.RedisCache", shared.stderr
    local = run_manage("shell", "--no-imports", "-c", code, REDIS_URL=None)
    assert local.stdout.strip() == "django.core.cache.backends.locmem.LocMemCache", local.stderr


def test_a_request_body_may_carry_a_whole_submission_json_escaped():
    code = (
        "from django.conf import settings; "
        "print(settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= 2 * settings.SUBMISSION_MAX_TOTAL_BYTES)"
    )
    assert run_manage("shell", "--no-imports", "-c", code).stdout.strip() == "True"
