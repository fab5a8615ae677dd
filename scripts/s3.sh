#!/usr/bin/env bash
# A real S3-compatible object store for tests, benchmarks and
# `storage.kind: s3` tried locally: Versity Gateway (versitygw, Apache-2.0)
# serving a POSIX directory. It is built once from Go modules into
# $ATRIUM_CACHE/s3/ (no Docker, no prebuilt binaries here).
#
# Every start generates its own root credentials; they are written to
# DIR/access-key and DIR/secret-key (mode 600), never printed or passed on a
# command line (where `ps` would show them).
#
# Usage: scripts/s3.sh build
#        scripts/s3.sh start DIR [PORT] prints the endpoint URL once it answers (no PORT: a free one)
#        scripts/s3.sh stop DIR
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
VERSITYGW_VERSION=v1.8.0
source "$root/scripts/cache-dir.sh"
cache="$ATRIUM_CACHE/s3"
bin="$cache/versitygw-$VERSITYGW_VERSION/versitygw"
cmd=${1:?build|start|stop}

build() {
  [ -x "$bin" ] && return 0
  if ! command -v go >/dev/null; then
    echo "Go (1.25 or newer) is needed to build versitygw $VERSITYGW_VERSION from Go modules; it is not on PATH." >&2
    exit 1
  fi
  mkdir -p "$cache"
  # Clones and worktrees share the cache: one build at a time, the others wait for it.
  exec 9>"$cache/build.lock"
  flock 9
  if [ -x "$bin" ]; then exec 9>&-; return 0; fi
  echo "Building versitygw $VERSITYGW_VERSION from Go modules into $cache (once; several minutes on 2 cores)..." >&2
  local out="$cache/versitygw-$VERSITYGW_VERSION.partial"
  rm -rf "$out" && mkdir -p "$out"
  # Module and build caches live beside the binary, in the per-user cache;
  # -modcacherw keeps them removable.
  GOBIN="$out" GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS=-modcacherw CGO_ENABLED=0 \
    nice -n 10 go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >&2
  rm -rf "$(dirname "$bin")"
  mv "$out" "$(dirname "$bin")"
  # Only a rebuild would use the compile cache; the binary is what runs.
  rm -rf "$cache/go/build"
  exec 9>&-
}

random_token() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }

case "$cmd" in
  build)
    build
    echo "$bin"
    ;;
  start)
    dir=${2:?state dir}; port=${3:-0}
    build
    # No port (or 0): take a free one, since the URL printed must name it.
    if [ "$port" = 0 ]; then
      port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "Port $port is already in use (another object store or test run?); choose another port (npm test: ATRIUM_TEST_S3_PORT)." >&2
      exit 1
    fi
    mkdir -p "$dir/data" "$dir/iam"
    umask 077
    random_token 20 >"$dir/access-key"
    random_token 40 >"$dir/secret-key"
    (
      export ROOT_ACCESS_KEY_ID; ROOT_ACCESS_KEY_ID=$(cat "$dir/access-key")
      export ROOT_SECRET_ACCESS_KEY; ROOT_SECRET_ACCESS_KEY=$(cat "$dir/secret-key")
      # --iam-dir: the gateway's own flat-file accounts, so read-only users can
      # be added through its admin API; --quiet: no per-request log lines.
      exec setsid "$bin" --port "127.0.0.1:$port" --region us-east-1 --iam-dir "$dir/iam" --quiet \
        posix "$dir/data" >"$dir/versitygw.log" 2>&1 </dev/null
    ) &
    echo $! >"$dir/versitygw.pid"
    url="http://127.0.0.1:$port"
    for _ in $(seq 1 300); do
      # Any HTTP answer (an anonymous request gets 403) means it is serving.
      code=$(curl -s -o /dev/null -w '%{http_code}' "$url/" 2>/dev/null || true)
      if [ -n "$code" ] && [ "$code" != 000 ]; then
        echo "$url"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/versitygw.pid")" 2>/dev/null; then
        echo "versitygw exited during start-up; its log:" >&2
        tail -n 40 "$dir/versitygw.log" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "versitygw did not answer within 30 s; its log:" >&2
    tail -n 40 "$dir/versitygw.log" >&2
    kill -KILL -- "-$(cat "$dir/versitygw.pid")" 2>/dev/null || true
    rm -f "$dir/versitygw.pid"
    exit 1
    ;;
  stop)
    dir=${2:?state dir}
    if [ -f "$dir/versitygw.pid" ]; then
      pid=$(cat "$dir/versitygw.pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      rm -f "$dir/versitygw.pid"
    fi
    ;;
  *)
    echo "usage: $0 build | start DIR [PORT] | stop DIR" >&2
    exit 2
    ;;
esac
