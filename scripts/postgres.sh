#!/usr/bin/env bash
# Start a throwaway PostgreSQL (Debian's packages) on a loopback port for tests.
# Usage: scripts/postgres.sh start DIR PORT | stop DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data dir}; port=${3:-55432}

find_bin() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
}
bin=$(find_bin || true)
if [ -z "$bin" ] && [ "$cmd" = start ]; then
  echo "Installing Debian's postgresql for tests..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  bin=$(find_bin)
fi

# PostgreSQL refuses to run as root: use the postgres system user when we are root.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir" -U atrium --auth=trust >/dev/null
    fi
    as_pg "$bin/pg_ctl" -D "$dir" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" -l "$dir/server.log" -w start >/dev/null
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U atrium atrium_test 2>/dev/null || true
    echo "postgres://atrium@127.0.0.1:$port/atrium_test"
    ;;
  stop)
    [ -f "$dir/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    ;;
esac
