#!/usr/bin/env bash
# Runs the whole test suite the way CI does: installs what is missing, starts Redis and the sandbox
# daemons, checks the course content, then runs unit, sandbox and browser tests, and the database tests a
# second time on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/services.sh
.venv/bin/ruff check .
.venv/bin/python manage.py check
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
