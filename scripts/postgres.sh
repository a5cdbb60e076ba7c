#!/usr/bin/env bash
# A PostgreSQL of the tests' own (Debian's postgresql package), on 127.0.0.1 only, with its own data
# directory, so the database tests can run a second time on the engine production uses.
#
#   scripts/postgres.sh start   # initialise once, start, print the DATABASE_URL to use
#   scripts/postgres.sh stop
#
# PG_TEST_PORT (default 55432) and PG_TEST_DIR (default /var/lib/dockyard/postgres-test) choose where.
set -euo pipefail

PORT="${PG_TEST_PORT:-55432}"
DATA="${PG_TEST_DIR:-/var/lib/dockyard/postgres-test}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$BIN" ]; then
  echo "PostgreSQL is not installed: apt-get install postgresql" >&2
  exit 1
fi
as_postgres() { runuser -u postgres -- "$@"; }

start() {
  mkdir -p "$(dirname "$DATA")"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    echo "==> Initialising a test PostgreSQL in $DATA"
    install -d -o postgres -g postgres -m 700 "$DATA"
    # Trust is safe here: it listens on loopback only, and its socket sits in its own data directory.
    as_postgres "$BIN/initdb" -D "$DATA" --auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "==> The test PostgreSQL is already running on 127.0.0.1:$PORT"
  else
    echo "==> Starting the test PostgreSQL on 127.0.0.1:$PORT"
    # Durability is not needed for tests: no fsync makes them several times faster.
    as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
  fi
  psql_admin() { as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAq "$@"; }
  if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'dockyard'")" != "1" ]; then
    psql_admin -c "CREATE ROLE dockyard LOGIN CREATEDB"
  fi
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'dockyard'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE dockyard OWNER dockyard"
  fi
}

stop() {
  if [ -s "$DATA/PG_VERSION" ]; then
    as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "postgres://dockyard@127.0.0.1:$PORT/dockyard" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
