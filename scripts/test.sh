#!/usr/bin/env bash
# The one test command (npm test, and what CI runs): installs what the tests
# need, builds, starts PostgreSQL, then runs unit, integration and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_build_from_source=true

suite=${1:-all}
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/ensure-chromium.sh

# Free loopback ports, so a second run on the same machine cannot collide.
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

pgdir=$(mktemp -d /tmp/atrium-pg.XXXXXX)
kcdir=$(mktemp -d /tmp/atrium-kc.XXXXXX)
cleanup() {
  bash scripts/keycloak.sh stop "$kcdir" || true
  bash scripts/postgres.sh stop "$pgdir" || true
  rm -rf "$pgdir" "$kcdir"
}
trap cleanup EXIT

# Single sign-on tests run against a real Keycloak (downloaded once into
# .cache/); it starts in the background while the build runs.
kc_pid=
if [ "$suite" = all ] || [ "$suite" = e2e ]; then
  bash scripts/keycloak.sh start "$kcdir" "${ATRIUM_TEST_KC_PORT:-$(free_port)}" >"$kcdir/url" 2>"$kcdir/start.err" &
  kc_pid=$!
fi

npm run build

# schemathesis (PyPI) fuzzes the REST API from its OpenAPI document.
if [ ! -x .cache/fuzz-venv/bin/schemathesis ]; then
  python3 -m venv .cache/fuzz-venv
  .cache/fuzz-venv/bin/pip install -q schemathesis==4.32.5
fi
# A plain assignment, so a failed start stops the run (set -e) instead of
# leaving the PostgreSQL tests without a database.
pgurl=$(bash scripts/postgres.sh start "$pgdir" "${ATRIUM_TEST_PG_PORT:-$(free_port)}")
export ATRIUM_TEST_POSTGRES_URL=$pgurl

if [ -n "$kc_pid" ]; then
  if wait "$kc_pid"; then
    export ATRIUM_TEST_KEYCLOAK_URL=$(cat "$kcdir/url")
  else
    echo "Keycloak did not start; single sign-on tests will fail in CI:" >&2
    cat "$kcdir/start.err" >&2
  fi
fi

node scripts/run-tests.mjs "$suite"
