#!/usr/bin/env bash
# The one test command (npm test, and what CI runs): installs what the tests
# need, builds, starts PostgreSQL, then runs unit, integration and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Downloads and build outputs live in the per-user cache (ATRIUM_CACHE), so
# later runs and other clones on this machine start warm.
source scripts/cache-dir.sh

suite=${1:-all}
# --ignore-scripts: no dependency may build or download anything at install.
[ -d node_modules ] || npm ci --no-audit --no-fund --ignore-scripts
bash scripts/ensure-system-packages.sh --tests

# Free loopback ports, so a second run on the same machine cannot collide.
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

pgdir=$(mktemp -d /tmp/atrium-pg.XXXXXX)
kcdir=$(mktemp -d /tmp/atrium-kc.XXXXXX)
s3dir=$(mktemp -d /tmp/atrium-s3.XXXXXX)
kubedir=$(mktemp -d /tmp/atrium-kube.XXXXXX)
testtmp=$(mktemp -d /tmp/atrium-test.XXXXXX)
failures="$pgdir.failures"
cleanup() {
  bash scripts/kube.sh stop "$kubedir/cluster" || true
  bash scripts/s3.sh stop "$s3dir/server" || true
  bash scripts/keycloak.sh stop "$kcdir" || true
  bash scripts/postgres.sh stop "$pgdir" || true
  rm -rf "$pgdir" "$kcdir" "$s3dir" "$kubedir" "$pgdir.failures" "$testtmp"
}
trap cleanup EXIT

note_failure() { # message, log file
  { echo "$1"; tail -n 40 "$2"; echo; } | tee -a "$failures" >&2
}

# Single sign-on tests run against a real Keycloak (downloaded once into the
# per-user cache); it starts in the background while the build runs.
kc_pid=
if [ "$suite" = all ] || [ "$suite" = e2e ]; then
  bash scripts/keycloak.sh start "$kcdir" "${ATRIUM_TEST_KC_PORT:-$(free_port)}" >"$kcdir/url" 2>"$kcdir/start.err" &
  kc_pid=$!
fi

# Object-store tests run against a real S3-compatible server (versitygw,
# built once from Go modules into the per-user cache); it builds and starts while the
# code builds.
s3_pid=
if [ "$suite" != unit ]; then
  bash scripts/s3.sh start "$s3dir/server" "${ATRIUM_TEST_S3_PORT:-$(free_port)}" >"$s3dir/url" 2>"$s3dir/start.err" &
  s3_pid=$!
fi

# The Kubernetes spawner's tests run against a real cluster (kube-apiserver,
# controller-manager, scheduler, kine, kwok nodes, and one real node: kubelet,
# containerd, kube-proxy, CoreDNS), built from Go modules into
# $ATRIUM_CACHE/k8s once (10-20 min cold), then started in seconds.
kube_pid=
if [ "$suite" != unit ]; then
  bash scripts/kube.sh start "$kubedir/cluster" "${ATRIUM_TEST_KUBE_PORT:-$(free_port)}" >"$kubedir/kubeconfig" 2>"$kubedir/start.err" &
  kube_pid=$!
fi

npm run build

# The images the real node's pods run (scripts/images.sh: Debian base from
# mmdebstrap, buildah, PyPI; cached by input hash, so warm runs build nothing),
# built from the fresh wheels and hub while the servers start.
img_pid=
if [ "$suite" != unit ]; then
  bash scripts/images.sh >"$kubedir/images" 2>"$kubedir/images.err" &
  img_pid=$!
fi

# schemathesis (PyPI) fuzzes the REST API from its OpenAPI document.
# Kept in the per-user cache (tests/src/integration/fuzz.test.ts names the same folder).
fuzz_venv="$ATRIUM_CACHE/fuzz-venv-4.32.5"
if [ ! -x "$fuzz_venv/bin/schemathesis" ]; then
  rm -rf "$fuzz_venv"
  python3 -m venv "$fuzz_venv"
  "$fuzz_venv/bin/pip" install -q schemathesis==4.32.5
fi
# A plain assignment, so a failed start stops the run (set -e) instead of
# leaving the PostgreSQL tests without a database.
pgurl=$(bash scripts/postgres.sh start "$pgdir" "${ATRIUM_TEST_PG_PORT:-$(free_port)}")
export ATRIUM_TEST_POSTGRES_URL=$pgurl

if [ -n "$kc_pid" ]; then
  if wait "$kc_pid"; then
    export ATRIUM_TEST_KEYCLOAK_URL=$(cat "$kcdir/url")
  else
    note_failure "Keycloak did not start; single sign-on tests will fail in CI:" "$kcdir/start.err"
  fi
fi

if [ -n "$s3_pid" ]; then
  if wait "$s3_pid"; then
    export ATRIUM_TEST_S3_URL=$(cat "$s3dir/url")
    export ATRIUM_TEST_S3_ACCESS_KEY_ID=$(cat "$s3dir/server/access-key")
    export ATRIUM_TEST_S3_SECRET_ACCESS_KEY=$(cat "$s3dir/server/secret-key")
  else
    note_failure "The S3 server (versitygw) did not start; object-store tests will fail in CI and be skipped locally:" "$s3dir/start.err"
  fi
fi

if [ -n "$kube_pid" ]; then
  if wait "$kube_pid"; then
    export ATRIUM_TEST_KUBECONFIG=$(cat "$kubedir/kubeconfig")
    # The real node's description (scripts/kube.sh), for tests that run real pods.
    if [ -f "$kubedir/cluster/real-node.json" ]; then
      if wait "$img_pid"; then
        # shellcheck disable=SC2046 # one archive path per line
        if bash scripts/kube.sh load "$kubedir/cluster" $(awk '{print $2}' "$kubedir/images") >"$kubedir/load.log" 2>&1; then
          export ATRIUM_TEST_REAL_NODE="$kubedir/cluster/real-node.json"
        else
          note_failure "The images could not be loaded into the real node; real-pod tests will fail in CI:" "$kubedir/load.log"
        fi
      else
        note_failure "The images (scripts/images.sh) did not build; real-pod tests will fail in CI:" "$kubedir/images.err"
      fi
    fi
  else
    note_failure "The Kubernetes test cluster did not start; Kubernetes tests will fail in CI:" "$kubedir/start.err"
  fi
fi

# Tests make temporary folders (state dirs, bundles, browser profiles); one
# folder per run, removed at the end, keeps crashed or killed tests from
# filling /tmp across runs.
export TMPDIR="$testtmp"
status=0
node scripts/run-tests.mjs "$suite" || status=$?
# A server that failed to start fails many tests at once; its reason was printed
# before them, so repeat it where the end of the log is read.
if [ -s "$failures" ]; then
  echo >&2
  echo "== Test servers that did not start (the tests that needed them failed) ==" >&2
  cat "$failures" >&2
  df -h "$PWD" /tmp >&2 || true
fi
exit $status
