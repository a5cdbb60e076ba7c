#!/bin/sh
# Prepare the container, then become the command given as arguments (the image's CMD by default).
set -e
mkdir -p "${DATA_DIR:-/app/data}"
date -u +%FT%TZ > "${DATA_DIR:-/app/data}/ready"
echo "entrypoint: ${DATA_DIR:-/app/data} is ready"
# exec: the command replaces this shell as PID 1, so docker stop's SIGTERM reaches it.
# "$@" with the quotes: every argument passes through unchanged, spaces and all.
exec "$@"
