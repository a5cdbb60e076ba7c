#!/usr/bin/env bash
# The entrypoint of Dockyard's postgres:15 (Debian's postgresql-15 package), a small version of the official
# image's: on the first start it initialises PGDATA from POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB and
# POSTGRES_HOST_AUTH_METHOD (and runs /docker-entrypoint-initdb.d/*.sh, *.sql, *.sql.gz), then runs postgres in
# the foreground as the postgres user, listening on every address. Existing data is never initialised again.
set -Eeo pipefail

# `docker run postgres:15 -c max_connections=50` passes the options to postgres.
if [ "${1:0:1}" = "-" ]; then
	set -- postgres "$@"
fi
if [ "$1" != "postgres" ]; then
	exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

# Started as root (the default): make the data and socket folders postgres's own, then run this script again
# as postgres. `docker run --user` skips this.
if [ "$(id -u)" = "0" ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 00700 "$PGDATA" || :
	chmod 03775 /var/run/postgresql || :
	find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

initialise() {
	: "${POSTGRES_USER:=postgres}"
	: "${POSTGRES_DB:=$POSTGRES_USER}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != "trust" ]; then
		cat >&2 <<-'MESSAGE'
			Error: the database is not initialised and the superuser has no password.
			       Set POSTGRES_PASSWORD to a non-empty value, for example
			       "-e POSTGRES_PASSWORD=password" on "docker run".
			       POSTGRES_HOST_AUTH_METHOD=trust instead allows every connection without a password
			       (never do that outside a throwaway container).
		MESSAGE
		exit 1
	fi
	# initdb refuses an empty password file, hence the newline.
	# shellcheck disable=SC2086
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") ${POSTGRES_INITDB_ARGS:-}

	# Connections from other hosts use the given method; scram-sha-256 when a password is set.
	local method="${POSTGRES_HOST_AUTH_METHOD:-}"
	if [ -z "$method" ]; then
		method="$(postgres -C password_encryption)"
	fi
	printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"

	# A server on the Unix socket only, so nothing outside reaches the database before it is ready.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
	export PGUSER="$POSTGRES_USER" PGPASSWORD="${POSTGRES_PASSWORD:-}"
	local psql=(psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc)
	if [ "$POSTGRES_DB" != "postgres" ]; then
		"${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db" ;
		SQL
	fi
	local script
	for script in /docker-entrypoint-initdb.d/*; do
		case "$script" in
			*.sh)
				echo "running $script"
				# shellcheck disable=SC1090
				if [ -x "$script" ]; then "$script"; else . "$script"; fi
				;;
			*.sql) echo "running $script"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$script" ;;
			*.sql.gz) echo "running $script"; gunzip -c "$script" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
			*) [ -e "$script" ] && echo "ignoring $script" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop
	unset PGUSER PGPASSWORD
	echo "PostgreSQL init process complete; ready for start up."
}

if [ -s "$PGDATA/PG_VERSION" ]; then
	echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
else
	initialise
fi

exec "$@"
