#!/bin/sh
# The entrypoint of Dockyard's redis:7 (Debian's redis-server package), shaped like the official image's:
# options alone run redis-server with them, and redis-server started as root drops to the redis user.
set -e

# `docker run redis:7 --appendonly yes` passes the options to redis-server.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = "redis-server" ]; then
	shift
	# The official image is compiled with protected mode off, so other containers may connect without a
	# password. Debian's redis-server keeps it on, so it is turned off here, unless a configuration file is
	# named (redis-server wants that file first): then the file decides. A later option still wins.
	if [ -n "${1:-}" ] && [ "${1#-}" = "$1" ]; then
		set -- redis-server "$@"
	else
		set -- redis-server --protected-mode no "$@"
	fi
	# Started as root (the default), own /data and run as the redis user; `docker run --user` skips this.
	if [ "$(id -u)" = "0" ]; then
		find . \! -user redis -exec chown redis '{}' +
		exec setpriv --reuid=redis --regid=redis --init-groups "$@"
	fi
fi

exec "$@"
