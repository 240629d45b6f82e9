#!/usr/bin/env bash
# Runs every check and test tier. Sets up what the tests need itself: PostgreSQL must answer on
# 127.0.0.1:5432 (started here if the machine has it installed but stopped), Redis is used at
# 127.0.0.1:6379 when it answers, and ClickHouse and Chromium are installed from Debian when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  fi
  echo "PostgreSQL is not reachable on 127.0.0.1:5432 (set TEST_POSTGRES_URL to use another server)." >&2
  exit 1
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis..."
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return; sleep 0.2; done
  fi
  echo "Redis is not reachable on 127.0.0.1:6379 (set TEST_REDIS_URL to use another server)." >&2
  exit 1
}

# Debian's Chromium for the browser tests of the sign-in pages (playwright-core drives it headless,
# at /usr/bin/chromium). The package lists may be missing or stale on a fresh machine: update only
# if the install fails. apt output goes to a log that is shown only when the install fails.
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  echo "Installing Chromium..."
  mkdir -p .tmp
  local log=.tmp/chromium-install.log status=0
  : >"$log"
  local install=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 chromium)
  if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >>"$log" 2>&1; then
    { DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive "${install[@]}" >>"$log" 2>&1; } || status=$?
  fi
  if [ "$status" = 0 ] && [ -x /usr/bin/chromium ]; then return; fi
  cat "$log" >&2
  echo "Chromium could not be installed at /usr/bin/chromium (apt-get install chromium)." >&2
  exit 1
}

[ -n "${TEST_POSTGRES_URL:-}" ] || ensure_postgres
[ -n "${TEST_REDIS_URL:-}" ] || ensure_redis
# ClickHouse (Debian's 18.16) is installed if missing; each test file starts its own server.
echo "== clickhouse"; bash scripts/clickhouse.sh ensure
echo "== chromium"; ensure_chromium

echo "== build"; node scripts/build-if-stale.mjs   # the CLI tests run the built bin, as users do
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint . --max-warnings 0
echo "== format"; npx prettier --check . --log-level warn
echo "== tests"
mkdir -p .tmp
status=0
npx jest --maxWorkers=2 --json --outputFile=.tmp/jest-results.json "$@" || status=$?
node -e 'const r = require("./.tmp/jest-results.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`)' || true
exit "$status"
