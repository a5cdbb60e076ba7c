#!/usr/bin/env bash
# Starts what the app and its tests need: Redis on loopback (unless one already answers) and the
# sandbox Docker daemons with the offline base-image catalog loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .state
# Starting daemons is development work: without a DEBUG of its own, the development secret key will do.
export DEBUG="${DEBUG:-true}"

REDIS_PORT="${REDIS_PORT:-6379}"
if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "==> Redis is already answering on 127.0.0.1:$REDIS_PORT"
else
  echo "==> Starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$PWD/.state/redis.pid" --dir "$PWD/.state" --logfile "$PWD/.state/redis.log" \
    --save "" --appendonly no
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

echo "==> Starting the sandbox Docker daemons and loading the base-image catalog"
.venv/bin/python manage.py sandbox start
