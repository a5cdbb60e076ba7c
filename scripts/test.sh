#!/usr/bin/env bash
# Runs the whole test suite the way CI does: installs what is missing, starts Redis and the sandbox
# daemons, checks the course content, then runs unit, sandbox and browser tests, and the database tests a
# second time on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# Tests run with DEBUG off, as production does, so the run brings a secret key of its own.
export DEBUG=false
SECRET_KEY="${SECRET_KEY:-test-run-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(40))')}"
export SECRET_KEY
scripts/services.sh
.venv/bin/ruff check .
.venv/bin/python manage.py check
# Django's deployment checklist, with production-like values: any warning fails CI.
env DEBUG=false ALLOWED_HOSTS=dockyard.example.org REDIS_URL=redis://127.0.0.1:6379/0 \
  SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
# Every reference solution must pass its checks and every starter must fail one, graded for real in
# the sandbox, on a database of its own.
validate_env=(env DATABASE_URL="sqlite:///$PWD/.state/validate.sqlite3")
"${validate_env[@]}" .venv/bin/python manage.py migrate --noinput -v0
"${validate_env[@]}" .venv/bin/python manage.py loadlessons
"${validate_env[@]}" .venv/bin/python manage.py validate_content
.venv/bin/python -m pytest "$@"
# The database tests again on PostgreSQL, which production uses (Debian's package, started here on loopback).
if [ $# -eq 0 ]; then
  scripts/postgres.sh start
  DATABASE_URL="$(scripts/postgres.sh url)" .venv/bin/python -m pytest -q -m "database and not e2e"
fi
