#!/usr/bin/env bash
# Installs everything Dockyard needs on a Debian machine: system packages, the Python virtual
# environment and the pinned dependencies. Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(docker.io docker-compose docker-registry redis-server postgresql openssl debootstrap busybox-static e2fsprogs iproute2 chromium fonts-dejavu-core)

if [ "$(id -u)" != "0" ]; then
  echo "Dockyard's setup installs Debian packages and starts its own Docker daemons, so it runs as root." >&2
  echo "Run it again as root (for example: sudo make run)." >&2
  exit 1
fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Debian's docker-registry package would start a registry for the whole machine on port 5000, on every
# interface. Dockyard runs its own, one inside each sandbox daemon's loopback-only network namespace
# (sandbox/registry.py), and needs no other: the machine-wide service is masked before it can start.
if [ -d /run/systemd/system ] && ! systemctl is-enabled docker-registry 2>/dev/null | grep -q masked; then
  systemctl stop docker-registry >/dev/null 2>&1 || true
  systemctl mask docker-registry >/dev/null
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> Installing Debian packages: ${missing[*]}"
  apt-get update -q
  # Without systemd, the packages' init scripts would start machine-wide services at install time (a registry
  # on every interface, a second Redis, PostgreSQL). Dockyard starts its own, so a policy that refuses every
  # service start stands for the length of the install, unless the machine already has a policy of its own.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=yes
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtual environment in .venv"
  python3 -m venv .venv
fi
if ! cmp -s requirements.lock .venv/.installed-lock 2>/dev/null; then
  echo "==> Installing Python dependencies from requirements.lock"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.lock
  cp requirements.lock .venv/.installed-lock
fi
