#!/usr/bin/env bash
# The one test command (npm test, and what CI runs): installs what the tests
# need, builds, starts PostgreSQL, then runs unit, integration and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_build_from_source=true

[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/ensure-chromium.sh
npm run build

# schemathesis (PyPI) fuzzes the REST API from its OpenAPI document.
if [ ! -x .cache/fuzz-venv/bin/schemathesis ]; then
  python3 -m venv .cache/fuzz-venv
  .cache/fuzz-venv/bin/pip install -q schemathesis==4.32.5
fi

pgdir=$(mktemp -d /tmp/atrium-pg.XXXXXX)
cleanup() { bash scripts/postgres.sh stop "$pgdir" || true; rm -rf "$pgdir"; }
trap cleanup EXIT
export ATRIUM_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$pgdir" "${ATRIUM_TEST_PG_PORT:-55432}")

suite=${1:-all}
node scripts/run-tests.mjs "$suite"
