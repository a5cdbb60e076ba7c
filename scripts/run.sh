#!/usr/bin/env bash
# Sets up and runs the whole app: web (Daphne, HTTP and WebSockets), a Celery worker, Redis,
# the sandbox daemons and the base-image catalog, on SQLite, at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
# A local run is a development run: DEBUG on, and with it the development secret key (tutorial/settings.py).
export DEBUG="${DEBUG:-true}"

scripts/setup.sh
scripts/services.sh
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py loadlessons

worker_pid=""
stop_worker() {
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid"
    wait "$worker_pid" 2>/dev/null || true
  fi
}
trap stop_worker EXIT INT TERM

echo "==> Starting the build worker (log: .state/worker.log)"
.venv/bin/celery -A tutorial worker -Q builds --pool prefork \
  --concurrency "${SANDBOX_COUNT:-2}" --loglevel INFO >.state/worker.log 2>&1 &
worker_pid=$!

echo "==> Dockyard is at http://127.0.0.1:${PORT:-8000} (Ctrl+C stops the web server and the worker)"
.venv/bin/daphne -b 127.0.0.1 -p "${PORT:-8000}" tutorial.asgi:application
