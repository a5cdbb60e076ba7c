#!/usr/bin/env bash
# Runs the whole test suite the way CI does: installs what is missing, starts Redis and the sandbox
# daemons, checks the course content, then runs unit, sandbox and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/services.sh
.venv/bin/ruff check .
.venv/bin/python manage.py check
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
.venv/bin/python -m pytest "$@"
