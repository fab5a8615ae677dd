#!/usr/bin/env bash
# A real Keycloak for single sign-on tests and `npm start -- --auth keycloak`.
# The server distribution comes from Maven Central (no Docker here) and is
# cached in $ATRIUM_CACHE/keycloak/ (scripts/cache-dir.sh). Each start imports tests/keycloak/atrium-realm.json
# into an in-memory database, so every run begins from the committed realm.
#
# Usage: scripts/keycloak.sh download
#        scripts/keycloak.sh start DIR PORT   prints the base URL once ready
#        scripts/keycloak.sh stop DIR
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
KEYCLOAK_VERSION=26.4.7
source "$root/scripts/cache-dir.sh"
cache="$ATRIUM_CACHE/keycloak"
home="$cache/keycloak-$KEYCLOAK_VERSION"
cmd=${1:?download|start|stop}

# Java and Maven from Debian's packages when missing (as scripts/postgres.sh does for PostgreSQL).
ensure_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || [ -x "$home/bin/kc.sh" ] || missing+=(maven)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing ${missing[*]} from Debian's packages for Keycloak..." >&2
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

download() {
  ensure_tools
  [ -x "$home/bin/kc.sh" ] && return 0
  mkdir -p "$cache"
  local archive="$cache/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz"
  if [ ! -s "$archive" ]; then
    echo "Downloading Keycloak $KEYCLOAK_VERSION from Maven Central..." >&2
    (cd "$cache" && mvn -q -B dependency:copy \
      "-Dartifact=org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
      "-DoutputDirectory=$cache" >&2)
  fi
  rm -rf "$home.partial" && mkdir -p "$home.partial"
  tar -xzf "$archive" -C "$home.partial" --strip-components=1
  mv "$home.partial" "$home"
}

case "$cmd" in
  download)
    download
    ;;
  start)
    dir=${2:?state dir}; port=${3:-58080}
    download
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "Port $port is already in use (another Keycloak or test run?); choose another port (npm test: ATRIUM_TEST_KC_PORT)." >&2
      exit 1
    fi
    mkdir -p "$dir"
    # Keycloak reads realm files to import from its own data/import folder.
    mkdir -p "$home/data/import"
    cp "$root/tests/keycloak/atrium-realm.json" "$home/data/import/atrium-realm.json"
    (
      export KC_BOOTSTRAP_ADMIN_USERNAME=${KC_BOOTSTRAP_ADMIN_USERNAME:-kcadmin}
      export KC_BOOTSTRAP_ADMIN_PASSWORD=${KC_BOOTSTRAP_ADMIN_PASSWORD:-kcadmin-password}
      export JAVA_OPTS_KC_HEAP=${JAVA_OPTS_KC_HEAP:--Xms256m -Xmx1g}
      exec setsid "$home/bin/kc.sh" start-dev --http-port="$port" --http-host=127.0.0.1 \
        --db=dev-mem --import-realm --cache=local --log-level=warn,org.keycloak.services:info \
        >"$dir/keycloak.log" 2>&1 </dev/null
    ) &
    echo $! >"$dir/keycloak.pid"
    url="http://127.0.0.1:$port"
    for _ in $(seq 1 180); do
      if curl -fsS -o /dev/null "$url/realms/atrium/.well-known/openid-configuration" 2>/dev/null; then
        echo "$url"
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/keycloak.pid")" 2>/dev/null; then
        echo "Keycloak exited during start-up; its log:" >&2
        tail -n 40 "$dir/keycloak.log" >&2
        exit 1
      fi
      sleep 1
    done
    echo "Keycloak did not answer within 180 s; its log:" >&2
    tail -n 40 "$dir/keycloak.log" >&2
    exit 1
    ;;
  stop)
    dir=${2:?state dir}
    if [ -f "$dir/keycloak.pid" ]; then
      pid=$(cat "$dir/keycloak.pid")
      # setsid made Keycloak's shell the leader of its own process group.
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      rm -f "$dir/keycloak.pid"
    fi
    ;;
  *)
    echo "usage: $0 download | start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
