#!/usr/bin/env bash
# Start a throwaway but real Kubernetes cluster for tests: kine (etcd API
# over SQLite) + kube-apiserver + kube-controller-manager + kube-scheduler
# (upstream code, one binary built by scripts/k8s/build.sh into
# $ATRIUM_CACHE/k8s) with two kinds of nodes:
#   - kwok nodes, which simulate pod lifecycles (pods reach Running without a
#     container): for the spawner, quota, informer and scale tests;
#   - one real node (scripts/k8s/node.sh): kubelet + containerd + runc + CNI
#     bridge, kube-proxy, CoreDNS and a local-volume provisioner, for tests
#     that run real containers. Tainted and labelled so only pods that ask
#     for it land there. KUBE_REAL_NODE=0 leaves it out.
# With the real node, also metrics-server (scripts/k8s/metrics-server.sh):
# the resource metrics API (metrics.k8s.io) through API aggregation, read
# from the real node's kubelet; `start` returns once that API answers.
#
# Usage: scripts/kube.sh start DIR PORT   → prints the admin kubeconfig path
#        scripts/kube.sh stop DIR
#        scripts/kube.sh load DIR ARCHIVE...   import OCI archives into the real
#            node's containerd (skips images already there with the same digest)
# KUBE_AUDIT=1 writes an audit log of every request (DIR/audit.log, metadata
# only): the benchmark counts the hub's API requests from it.
#
# Generates its own CA, serving/client certificates and service-account keys
# (openssl), writes DIR/admin.kubeconfig and creates simulated nodes:
#   kwok-cpu-0..3  1000 CPUs, 4Ti, 500 pods each (room for the 1,000-workspace benchmark)
#   kwok-gpu-0     32 CPUs, 128Gi, 8 nvidia.com/gpu, tainted nvidia.com/gpu=present:NoSchedule,
#                  labelled atrium.dev/node-pool=gpu
# and, with the real node, DIR/real-node.json describing it (name, the
# nodeSelector and toleration that place a pod there, hostIp where pods reach
# the host, podCidr, storageClass, clusterDns).
# The controller-manager runs the controllers the tests rely on: service
# accounts and their default account, namespaces, quota status, garbage
# collection, PersistentVolume binding, endpoints, and Deployments (model
# servers); with the real node also the kube-root-ca.crt publisher (pods'
# service-account volumes need it), DaemonSets (the chart's image puller) and
# PodDisruptionBudgets' status (the chart's hub budget).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?state dir}; port=${3:-0}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/cache-dir.sh"
bin="$ATRIUM_CACHE/k8s/bin"
real_node=${KUBE_REAL_NODE:-1}
. "$root/scripts/k8s/node.sh"
. "$root/scripts/k8s/metrics-server.sh"

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

stop_all() {
  node_stop
  # The control plane together (each takes a second or more to shut down),
  # then its storage: the API server removes its endpoint lease on the way out.
  stop_pids kwok scheduler controller-manager metrics-server apiserver
  stop_pids kine
}
stop_pids() { # name...: TERM them all, wait up to 5 s, then KILL
  local name f pid pids=()
  for name in "$@"; do
    f="$dir/$name.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f"); pids+=("$pid")
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  for name in "$@"; do rm -f "$dir/$name.pid"; done
}

if [ "$cmd" = stop ]; then
  [ -d "$dir" ] && dir=$(cd "$dir" && pwd)
  stop_all; exit 0
fi
if [ "$cmd" = load ]; then
  dir=$(cd "$dir" && pwd)
  [ -S "$dir/node/containerd.sock" ] || { echo "kube.sh load: the cluster in $dir has no real node" >&2; exit 1; }
  shift 2
  node_load "$@"; exit
fi
[ "$cmd" = start ] || { echo "usage: $0 start DIR PORT | stop DIR | load DIR ARCHIVE..." >&2; exit 2; }

# build.sh checks each binary's stamp (versions and wrapper inputs) and
# rebuilds only what changed.
builds=(kine kwok kube helm coredns kube-router)
[ "$real_node" = 1 ] && builds+=(metrics-server)
bash "$root/scripts/k8s/build.sh" "${builds[@]}" >&2
mkdir -p "$dir/pki"
dir=$(cd "$dir" && pwd)
[ "$port" = 0 ] && port=$(free_port)
kine_port=$(free_port)
began=$(date +%s%N)

# --- certificates (EC keys: fast to generate) --------------------------------
pki="$dir/pki"
if [ ! -f "$pki/ca.crt" ]; then
  (
    cd "$pki"
    key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
    key ca.key
    openssl req -x509 -new -key ca.key -subj "/CN=atrium-test-ca" -days 3650 -out ca.crt 2>/dev/null
    sign() { # name subject [extfile]
      key "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        ${3:+-extfile "$3"} -out "$1.crt" 2>/dev/null
    }
    printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:%s,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' "$NODE_IP" > server.ext
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    sign apiserver "/CN=kube-apiserver" server.ext
    sign admin "/O=system:masters/CN=atrium-test-admin" client.ext
    # Service-account token signing keys.
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
fi
# API aggregation (front-proxy CA and client) and metrics-server's certificates.
metrics_certs
metrics_apiserver_flags

b64() { base64 -w0 < "$1"; }
cat > "$dir/admin.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: atrium-test
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: atrium-test
  context: {cluster: atrium-test, user: admin}
current-context: atrium-test
EOF

start_bg() { # name command...
  local name=$1; shift
  nohup "$@" >"$dir/$name.log" 2>&1 &
  echo $! > "$dir/$name.pid"
}
fail() {
  echo "kube.sh: $1" >&2
  for f in "$dir"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  stop_all
  exit 1
}
curl_k() { curl -sS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"; }

# --- storage -----------------------------------------------------------------
start_bg kine "$bin/kine" --listen-address "127.0.0.1:$kine_port" --metrics-bind-address 0 \
  --endpoint "sqlite://$dir/state.db?_journal=WAL&cache=shared&_busy_timeout=30000"

# --- the real node: claim it, its images and certificates ----------------------
if [ "$real_node" = 1 ] && node_supported && node_claim; then
  read -r PAUSE_REF PAUSE_ARCHIVE < <(bash "$root/scripts/k8s/node-images.sh" pause)
  read -r BUSYBOX_REF BUSYBOX_ARCHIVE < <(bash "$root/scripts/k8s/node-images.sh" busybox)
  [ -f "${PAUSE_ARCHIVE:-}" ] && [ -f "${BUSYBOX_ARCHIVE:-}" ] || fail "could not build the real node's images (scripts/k8s/node-images.sh)"
  node_certs
else
  real_node=0
fi

# --- API server --------------------------------------------------------------
# With the real node, pods reach the API server through the kubernetes
# Service, whose endpoint is the host's bridge address: listen on all
# addresses, advertise that one, and let the API server keep the endpoint.
# Without it, loopback only (a loopback address cannot be an endpoint).
if [ "$real_node" = 1 ]; then
  network=(--bind-address 0.0.0.0 --advertise-address "$NODE_IP"
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key"
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP)
else
  network=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none)
fi
audit=()
if [ "${KUBE_AUDIT:-0}" = 1 ]; then
  printf 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n' > "$dir/audit-policy.yaml"
  audit=(--audit-policy-file "$dir/audit-policy.yaml" --audit-log-path "$dir/audit.log" --audit-log-maxsize 0)
fi
start_bg apiserver "$bin/kube" kube-apiserver \
  --etcd-servers "http://127.0.0.1:$kine_port" \
  "${network[@]}" --secure-port "$port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-cluster-ip-range 10.96.0.0/16 \
  --authorization-mode Node,RBAC "${aggregation[@]}" \
  --profiling=false --enable-priority-and-fairness=false \
  --max-requests-inflight 2000 --max-mutating-requests-inflight 1000 "${audit[@]}"

# The node's network, cgroups, containerd and images while the API server starts.
[ "$real_node" = 1 ] && node_prepare

for i in $(seq 600); do
  [ "$(curl_k "https://127.0.0.1:$port/readyz" 2>/dev/null)" = ok ] && break
  kill -0 "$(cat "$dir/apiserver.pid")" 2>/dev/null || fail "kube-apiserver exited"
  [ "$i" = 600 ] && fail "kube-apiserver not ready after 60 s"
  sleep 0.1
done
# metrics-server starts with the rest; its API is waited for at the end.
if [ "$real_node" = 1 ]; then metrics_start; else metrics_unregister; fi

# --- controllers, scheduler, simulated nodes -----------------------------------
controllers=serviceaccount-controller,serviceaccount-token-controller,namespace-controller,resourcequota-controller,garbage-collector-controller,persistentvolume-binder-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,endpointslice-controller,endpoints-controller,deployment-controller,replicaset-controller
[ "$real_node" = 1 ] && controllers+=,root-ca-certificate-publisher-controller,daemonset-controller,disruption-controller
start_bg controller-manager "$bin/kube" kube-controller-manager \
  --kubeconfig "$dir/admin.kubeconfig" --leader-elect=false --secure-port 0 \
  --controllers "$controllers" \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --concurrent-resource-quota-syncs 10 --resource-quota-sync-period 30s \
  --kube-api-qps 500 --kube-api-burst 1000
start_bg scheduler "$bin/kube" kube-scheduler \
  --kubeconfig "$dir/admin.kubeconfig" --leader-elect=false --secure-port 0 \
  --kube-api-qps 500 --kube-api-burst 1000
# kwok's lifecycle stages ship with its module (the ones kwokctl uses):
# nodes become Ready, pods Pending → Running/Ready, deleted pods go away.
stages="$ATRIUM_CACHE/k8s/gomod/sigs.k8s.io/kwok@$(cat "$bin/kwok.version")/kustomize/stage"
: > "$dir/kwok.yaml"
for f in node/fast/node-initialize.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  [ -f "$stages/$f" ] || fail "kwok stage $stages/$f missing (run scripts/k8s/build.sh kwok)"
  { echo "---"; cat "$stages/$f"; } >> "$dir/kwok.yaml"
done
start_bg kwok "$bin/kwok" --config "$dir/kwok.yaml" \
  --kubeconfig "$dir/admin.kubeconfig" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip 10.244.0.1 --cidr 10.244.0.0/16 --server-address 127.0.0.1:0

node_json() { # name cpu memory pods gpu pool
  local gpu_res="" taints="" 
  if [ "$5" != 0 ]; then
    gpu_res=",\"nvidia.com/gpu\":\"$5\""
    taints=',"taints":[{"key":"nvidia.com/gpu","value":"present","effect":"NoSchedule"}]'
  fi
  cat <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$1",
 "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"kubernetes.io/hostname":"$1","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok","atrium.dev/node-pool":"$6"}},
 "spec":{${taints#,}},
 "status":{"allocatable":{"cpu":"$2","memory":"$3","pods":"$4"$gpu_res},
           "capacity":{"cpu":"$2","memory":"$3","pods":"$4"$gpu_res}}}
EOF
}
create() { # path json
  local code
  code=$(curl_k -o "$dir/create.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "https://127.0.0.1:$port$1" -d "$2")
  [ "$code" = 201 ] || [ "$code" = 409 ] || fail "POST $1 answered $code: $(cat "$dir/create.out")"
}
for i in 0 1 2 3; do create /api/v1/nodes "$(node_json "kwok-cpu-$i" 1000 4Ti 500 0 cpu)"; done
create /api/v1/nodes "$(node_json kwok-gpu-0 32 128Gi 110 8 gpu)"
[ "$real_node" = 1 ] && node_start

# Ready when the default service account exists (admission needs it) and
# kwok has marked the nodes Ready.
for i in $(seq 300); do
  sa=$(curl_k -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/api/v1/namespaces/default/serviceaccounts/default" || true)
  ready=$(curl_k "https://127.0.0.1:$port/api/v1/nodes" 2>/dev/null | python3 -c '
import json, sys
try:
    nodes = json.load(sys.stdin)["items"]
except Exception:
    nodes = []
print(sum(any(c["type"] == "Ready" and c["status"] == "True" for c in (n.get("status") or {}).get("conditions") or []) for n in nodes))' || echo 0)
  [ "$sa" = 200 ] && [ "$ready" -ge 5 ] && break
  for p in controller-manager scheduler kwok; do
    kill -0 "$(cat "$dir/$p.pid")" 2>/dev/null || fail "$p exited"
  done
  [ "$i" = 300 ] && fail "cluster not ready after 30 s (default service account: $sa, ready nodes: $ready)"
  sleep 0.1
done
# The API server taints new nodes node.kubernetes.io/not-ready until the node
# lifecycle controller sees them Ready; that controller would also need kwok
# heartbeats, so it does not run here: set the taints the nodes should have.
patch_node() {
  local code
  code=$(curl_k -o "$dir/patch.out" -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
    "https://127.0.0.1:$port/api/v1/nodes/$1" -d "$2")
  [ "$code" = 200 ] || fail "PATCH node $1 answered $code: $(cat "$dir/patch.out")"
}
for i in 0 1 2 3; do patch_node "kwok-cpu-$i" '{"spec":{"taints":null}}'; done
patch_node kwok-gpu-0 '{"spec":{"taints":[{"key":"nvidia.com/gpu","value":"present","effect":"NoSchedule"}]}}'
[ "$real_node" = 1 ] && node_wait_ready
[ "$real_node" = 1 ] && metrics_wait

echo "kube.sh: cluster ready on https://127.0.0.1:$port in $(( ($(date +%s%N) - began) / 1000000 )) ms" >&2
echo "$dir/admin.kubeconfig"
