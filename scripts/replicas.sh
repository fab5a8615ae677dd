#!/usr/bin/env bash
# Try several hub replicas on this machine: PostgreSQL (scripts/postgres.sh),
# two hub processes sharing one state folder, and HAProxy (Debian's haproxy)
# in front on PORT with the workspace data plane (docs/data-plane.md), with
# the demo's teams and users. Ctrl-C stops them all.
#
#   bash scripts/replicas.sh [DIR] [PORT]     (default .atrium-replicas, 8000)
#
# Then open http://127.0.0.1:PORT/, or kill one hub (its pid is printed) and
# watch the other carry on. docs/replicas.md says what holds across replicas.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mkdir -p "${1:-$root/.atrium-replicas}" && cd "${1:-$root/.atrium-replicas}" && pwd)
port=${2:-8000}
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$haproxy" ] || { echo "replicas.sh: HAProxy is not installed (Debian: apt-get install haproxy)" >&2; exit 1; }
[ -f "$root/hub/dist/main.js" ] || { echo "replicas.sh: build first (npm run build)" >&2; exit 1; }

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$root/scripts/postgres.sh" stop "$dir/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

database=$(bash "$root/scripts/postgres.sh" start "$dir/pg" "$(free_port)")
# drainSeconds: a replica told to stop (Ctrl-C, SIGTERM) leaves HAProxy's rotation before it stops listening.
# trustedProxies: HAProxy (on loopback) says whom it forwards for, so failed sign-ins count per user's address.
printf 'database: %s\nhttp: { drainSeconds: 1.5, trustedProxies: [127.0.0.1/32] }\n' "$database" >"$dir/atrium.yaml"
# Shared by the hubs and HAProxy: only HAProxy's Lua may ask the hubs for decisions.
export ATRIUM_DATA_PLANE_SECRET
ATRIUM_DATA_PLANE_SECRET=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")
servers=""
for name in a b; do
  hub_port=$(free_port)
  node "$root/hub/dist/main.js" --demo --config "$dir/atrium.yaml" --state-dir "$dir/state" --port "$hub_port" >"$dir/hub-$name.log" 2>&1 &
  pids+=($!)
  echo "hub $name: pid $!, http://127.0.0.1:$hub_port/ (log $dir/hub-$name.log)"
  servers+="  server hub-$name 127.0.0.1:$hub_port check"$'\n'
  # The first hub creates the database's tables and the demo data before the second starts.
  for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$hub_port/hub/health" >/dev/null 2>&1 && break; sleep 0.2; done
done
template=$(cat "$root/deploy/haproxy/atrium.cfg.template")
template=${template//@LISTEN@/127.0.0.1:$port}
template=${template//@CONTROL@/127.0.0.1:$(free_port)}
template=${template//@DIR@/$root/deploy/haproxy}
printf '%s\n' "${template//@SERVERS@/${servers%$'\n'}}" >"$dir/haproxy.cfg"
"$haproxy" -f "$dir/haproxy.cfg" -db &
pids+=($!)
echo "HAProxy: http://127.0.0.1:$port/ (demo users: alice, bob, carol, dan; password atrium-demo)"
wait -n "${pids[@]}"
