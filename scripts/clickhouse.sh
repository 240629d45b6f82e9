#!/usr/bin/env bash
# ClickHouse for the tests.
#
#   bash scripts/clickhouse.sh ensure
#
# Installs Debian's clickhouse-server and clickhouse-client (18.16.1 on bookworm) when they are
# missing. Idempotent, and silent when they are already installed. It never starts the system
# service: each test file starts servers of its own (test/support/clickhouse.ts), on free ports
# with a config in a temp directory.
set -euo pipefail

LOCK=${TMPDIR:-/tmp}/bulwark-clickhouse-ensure.lock

have_clickhouse() {
  # Debian puts the server in /usr/sbin (not on every user's PATH); upstream packages ship one
  # `clickhouse` binary that runs as `clickhouse server` and `clickhouse client`.
  local server=0 client=0
  if command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ]; then server=1; fi
  if command -v clickhouse-client >/dev/null 2>&1; then client=1; fi
  if [ -x /usr/bin/clickhouse ]; then server=1 client=1; fi
  [ "$server" = 1 ] && [ "$client" = 1 ]
}

# apt output goes to a log that is shown only when the install fails.
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    clickhouse-server clickhouse-client >>"$1" 2>&1
}

install() {
  local log status=0 policy=/usr/sbin/policy-rc.d added=0
  log=$(mktemp)
  # policy-rc.d exiting 101 tells the package scripts not to start the service. Added only for
  # the install, and only when the machine has none of its own (Docker images do).
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    added=1
  fi
  # The package lists may be missing or stale on a fresh machine: update only if install fails.
  if ! apt_install "$log"; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 && apt_install "$log" || status=$?
  fi
  if [ "$added" = 1 ]; then rm -f "$policy"; fi
  if [ "$status" != 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    echo "clickhouse install failed" >&2
    exit 1
  fi
  rm -f "$log"
  # Under systemd the package may still have enabled and started the service; tests never use
  # it, and it would hold ports 8123 and 9000.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet clickhouse-server 2>/dev/null; then
    systemctl stop clickhouse-server >/dev/null 2>&1 || true
    systemctl disable clickhouse-server >/dev/null 2>&1 || true
  fi
}

ensure() {
  if have_clickhouse; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "ClickHouse is not installed; run: sudo bash scripts/clickhouse.sh ensure" >&2
    exit 1
  fi
  # Two test workers on a fresh machine may both get here: one installs, the other waits.
  exec 9>"$LOCK"
  flock 9
  if have_clickhouse; then return 0; fi
  local started=$SECONDS
  echo "Installing clickhouse-server and clickhouse-client from Debian..." >&2
  install
  have_clickhouse || { echo "clickhouse install finished, but no binaries were found" >&2; exit 1; }
  echo "ClickHouse installed in $((SECONDS - started)) s." >&2
}

case "${1:-}" in
  ensure) ensure ;;
  *)
    echo "usage: $0 ensure" >&2
    exit 2
    ;;
esac
