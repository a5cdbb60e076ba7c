#!/bin/sh
# Prepare the container, then start the command given as arguments (the image's CMD by default).
set -e
mkdir -p "${DATA_DIR:-/app/data}"
date -u +%FT%TZ > "${DATA_DIR:-/app/data}/ready"
echo "entrypoint: ${DATA_DIR:-/app/data} is ready"
$@
