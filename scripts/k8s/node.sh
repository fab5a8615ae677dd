# The real node of the test cluster, sourced by scripts/kube.sh (uses its
# $dir, $port, $pki, $bin, $root, start_bg, curl_k, create, fail).
#
# One node per machine: a kubelet with containerd (Debian's 1.6, its own
# config, socket and state under DIR/node, its image store under
# $ATRIUM_CACHE/k8s/node so loaded images survive between runs), runc, the
# CNI bridge plugin on the bridge atrium0 (10.88.0.1/16, made here so the
# host's address on it is known before the first pod), kube-proxy (iptables)
# and CoreDNS on 10.88.0.1:53 for Services, kube-router's firewall (which
# enforces NetworkPolicies for the node's pods with iptables and ipsets; the
# bridge plugin itself enforces none), and a local-volume provisioner.
# Everything the node starts runs in the cgroup atrium-node, so stopping it
# (or cleaning up after a kill -9) kills exactly those processes, by pid.
NODE_NAME=atrium-real-0
NODE_BRIDGE=atrium0
NODE_IP=10.88.0.1
NODE_CIDR=10.88.0.0/16
NODE_POOL_LABEL=atrium.dev/node-pool
NODE_TAINT_KEY=atrium.dev/real-node
NODE_STORAGE_CLASS=atrium-local
NODE_CGROUP=atrium-node
NODE_RUN=/run/atrium-real-node            # machine-wide: which cluster owns the node
NODE_CTR_ROOT="$ATRIUM_CACHE/k8s/node/containerd"
NODE_PROCS=(provisioner coredns kube-router kube-proxy kubelet)

node_ctr() { ctr --address "$1/node/containerd.sock" --namespace k8s.io "${@:2}"; }

# The pids in the node's cgroup tree (pids hierarchy: containerd, shims,
# containers, and the node's daemons).
node_cgroup_pids() {
  local base=/sys/fs/cgroup/pids/$NODE_CGROUP
  [ -d "$base" ] || return 0
  find "$base" -name cgroup.procs -exec cat {} + 2>/dev/null || true
}

# Stop the node of cluster DIR and remove what it made; safe to run twice,
# after a kill -9 of everything, or when DIR is gone.
node_cleanup() {
  local d=$1 pid p
  # 1. The daemons: nothing of theirs outlives the cluster (kubelet state is
  #    in DIR, kube-proxy's rules are swept below), so no grace period.
  for p in "${NODE_PROCS[@]}"; do
    [ -f "$d/$p.pid" ] || continue
    kill -9 "$(cat "$d/$p.pid")" 2>/dev/null || true
    rm -f "$d/$p.pid"
  done
  # 2. Containers out of containerd's records while it runs, so the next
  #    start finds a clean store (the marker says so).
  if [ -f "$d/containerd.pid" ] && kill -0 "$(cat "$d/containerd.pid")" 2>/dev/null; then
    node_forget_containers "$d" && touch "$NODE_CTR_ROOT/clean-stop"
    pid=$(cat "$d/containerd.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$d/containerd.pid"
  # 3. Whatever is left in the node's cgroup: containerd, shims, containers.
  for _ in $(seq 50); do
    pids=$(node_cgroup_pids)
    [ -z "$pids" ] && break
    kill -9 $pids 2>/dev/null || true
    sleep 0.1
  done
  # 4. Mounts: kubelet volumes, sandbox shm, container rootfs, network
  #    namespaces (containerd keeps them under its state dir), deepest first.
  local m
  for m in $(awk -v a="$d/node/" -v b="$NODE_CTR_ROOT/" 'index($5, a) == 1 || index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # 5. Network: the bridge, our NAT rule, and the chains kube-proxy, the
  #    kubelet and the CNI portmap plugin made for this node.
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  while iptables -t nat -D POSTROUTING -s "$NODE_CIDR" ! -o "$NODE_BRIDGE" -m comment --comment atrium-node -j MASQUERADE 2>/dev/null; do :; done
  [ -x "$bin/kube" ] && "$bin/kube" kube-proxy --cleanup >/dev/null 2>&1 || true
  node_sweep_chains iptables; node_sweep_chains ip6tables
  node_sweep_ipsets
  # 6. Cgroups, deepest first.
  local ss
  for ss in /sys/fs/cgroup/*/; do
    [ -d "$ss$NODE_CGROUP" ] && find "$ss$NODE_CGROUP" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  # 7. Kernel settings back as they were; the node is free again.
  if [ -f "$NODE_RUN/ip_forward" ]; then cat "$NODE_RUN/ip_forward" > /proc/sys/net/ipv4/ip_forward; rm -f "$NODE_RUN/ip_forward"; fi
  [ "$(cat "$NODE_RUN/owner" 2>/dev/null)" = "$d" ] && rm -f "$NODE_RUN/owner"
  return 0
}

node_sweep_chains() { # iptables|ip6tables
  # KUBE-* chains (kube-proxy, kubelet) and the rules jumping to them; of the
  # CNI chains only the portmap plugin's per-container CNI-DN-* chains of our
  # network "atrium": other CNI users (buildah, podman) keep theirs.
  local cmd=$1 t rule chain ours
  command -v "$cmd" >/dev/null || return 0
  for t in filter nat mangle; do
    ours=$({ "$cmd"-save -t "$t" 2>/dev/null || true; } | { grep -E '^-A CNI-HOSTPORT-DNAT .*name: \\"atrium\\".* -j CNI-DN-' || true; } | sed -nE 's/.* -j (CNI-DN-[^ ]+).*/\1/p' | sort -u)
    local pattern='KUBE-[^ ]+'
    [ -n "$ours" ] && pattern="KUBE-[^ ]+|$(echo $ours | tr ' ' '|')"
    { "$cmd"-save -t "$t" 2>/dev/null || true; } | { grep -E -- "^-A [^ ]+ .*-j ($pattern)( |\$)" || true; } | { grep -vE -- "^-A (KUBE-[^ ]+) " || true; } | while read -r rule; do
      eval "$cmd -t $t ${rule/-A/-D}" 2>/dev/null || true
    done
    for chain in $("$cmd"-save -t "$t" 2>/dev/null | sed -nE 's/^:(KUBE-[^ ]+).*/\1/p') $ours; do
      "$cmd" -t "$t" -F "$chain" 2>/dev/null || true
    done
    for chain in $("$cmd"-save -t "$t" 2>/dev/null | sed -nE 's/^:(KUBE-[^ ]+).*/\1/p') $ours; do
      "$cmd" -t "$t" -X "$chain" 2>/dev/null || true
    done
  done
  # portmap's shared chains, once no container of anyone uses them.
  if "$cmd" -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1 && [ "$("$cmd" -t nat -S CNI-HOSTPORT-DNAT | wc -l)" = 1 ]; then
    { "$cmd"-save -t nat 2>/dev/null || true; } | { grep -E -- '^-A (PREROUTING|OUTPUT|POSTROUTING) .*-j CNI-HOSTPORT-' || true; } | while read -r rule; do
      eval "$cmd -t nat ${rule/-A/-D}" 2>/dev/null || true
    done
    for chain in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do "$cmd" -t nat -F "$chain" 2>/dev/null || true; done
    for chain in CNI-HOSTPORT-DNAT CNI-HOSTPORT-MASQ CNI-HOSTPORT-SETMARK; do "$cmd" -t nat -X "$chain" 2>/dev/null || true; done
  fi
}

# kube-router's ipsets (KUBE-SRC-*, KUBE-DST-*, kube-router-*; inet6:* for
# IPv6), once the sweep above removed the rules that use them.
node_sweep_ipsets() {
  command -v ipset >/dev/null || return 0
  local set
  for set in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-|kube-router)' || true); do
    ipset destroy "$set" 2>/dev/null || true
  done
}

# Remove every task and container (CRI sandboxes are containers too) from
# containerd's k8s.io namespace; images stay.
node_forget_containers() {
  local d=$1 id
  for id in $(node_ctr "$d" tasks ls -q 2>/dev/null); do
    node_ctr "$d" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    node_ctr "$d" tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  local ids
  ids=$(node_ctr "$d" containers ls -q 2>/dev/null) || return 1
  [ -z "$ids" ] || node_ctr "$d" containers delete $ids >/dev/null 2>&1 || return 1
}

# Can this machine run the node? Says why not.
node_supported() {
  local why=
  if [ "$(id -u)" != 0 ]; then why="it needs root"
  elif [ ! -f /sys/fs/cgroup/pids/cgroup.procs ]; then why="it is written for cgroup v1 (this host has no /sys/fs/cgroup/pids)"
  else
    local c
    for c in containerd runc iptables ipset ip; do command -v "$c" >/dev/null || why="$c is not installed"; done
    [ -x /usr/lib/cni/bridge ] || why="the CNI plugins are not installed (Debian: containernetworking-plugins)"
  fi
  [ -z "$why" ] && return 0
  echo "kube.sh: starting without the real node: $why (scripts/ensure-system-packages.sh --tests installs the packages)" >&2
  return 1
}

# Stop this cluster's node, if it has it (never another live cluster's).
node_stop() {
  [ -d "$dir/node" ] || return 0   # this cluster never had the node
  mkdir -p "$NODE_RUN"
  exec 8>"$NODE_RUN/lock"
  flock 8
  local owner
  owner=$(cat "$NODE_RUN/owner" 2>/dev/null || true)
  if [ "$owner" = "$dir" ] || [ -z "$owner" ]; then
    node_cleanup "$dir"
  fi
  flock -u 8
}

# May this cluster have the node? Cleans up after a dead owner. Returns 1
# (and says why) if another live cluster owns it.
node_claim() {
  mkdir -p "$NODE_RUN"
  exec 8>"$NODE_RUN/lock"
  flock 8
  local owner
  owner=$(cat "$NODE_RUN/owner" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$owner" != "$dir" ] && [ -f "$owner/apiserver.pid" ] && kill -0 "$(cat "$owner/apiserver.pid")" 2>/dev/null; then
    echo "kube.sh: the real node is in use by the cluster in $owner; this cluster starts without it" >&2
    flock -u 8
    return 1
  fi
  [ -n "$owner" ] && node_cleanup "$owner"
  # Leftovers of a run whose owner record is gone (e.g. /run was cleared).
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || [ -d "/sys/fs/cgroup/pids/$NODE_CGROUP" ]; then node_cleanup "$dir"; fi
  echo "$dir" > "$NODE_RUN/owner"
  flock -u 8
}

node_certs() {
  [ -f "$pki/kubelet.crt" ] && return 0
  (
    cd "$pki"
    key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
    sign() { # name subject extfile
      key "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile "$3" -out "$1.crt" 2>/dev/null
    }
    printf 'subjectAltName=IP:%s,IP:127.0.0.1,DNS:%s\nextendedKeyUsage=serverAuth\n' "$NODE_IP" "$NODE_NAME" > kubelet-serving.ext
    sign kubelet "/CN=system:node:$NODE_NAME" kubelet-serving.ext
    sign node "/O=system:nodes/CN=system:node:$NODE_NAME" client.ext
    sign kube-proxy "/CN=system:kube-proxy" client.ext
    sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client.ext
  )
}

node_kubeconfig() { # file cert-name
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: atrium-test
  cluster: {server: "https://127.0.0.1:$port", certificate-authority: "$pki/ca.crt"}
users:
- name: u
  user: {client-certificate: "$pki/$2.crt", client-key: "$pki/$2.key"}
contexts:
- name: c
  context: {cluster: atrium-test, user: u}
current-context: c
EOF
}

start_in_cgroup() { # name command...: start_bg inside the node's cgroup
  local name=$1; shift
  start_bg "$name" sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "/sys/fs/cgroup/pids/$NODE_CGROUP/system" "$@"
}

wait_socket() { # socket name
  for _ in $(seq 100); do
    [ -S "$1" ] && ctr --address "$1" version >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$dir/$2.pid")" 2>/dev/null || fail "$2 exited"
    sleep 0.1
  done
  fail "$2 did not open $1 in 10 s"
}

# Before the API server: network, cgroups, containerd, images.
node_prepare() {
  local n="$dir/node"
  mkdir -p "$n/cni" "$n/volumes" "$NODE_CTR_ROOT"
  node_certs
  # Network: forwarding for pod traffic, bridged traffic through iptables
  # (Services between pods on one bridge), the bridge with the host's
  # address, masquerade for pods leaving the bridge.
  [ -f "$NODE_RUN/ip_forward" ] || cat /proc/sys/net/ipv4/ip_forward > "$NODE_RUN/ip_forward"
  echo 1 > /proc/sys/net/ipv4/ip_forward
  echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
  ip link add "$NODE_BRIDGE" type bridge
  ip addr add "$NODE_IP/${NODE_CIDR#*/}" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  iptables -t nat -A POSTROUTING -s "$NODE_CIDR" ! -o "$NODE_BRIDGE" -m comment --comment atrium-node -j MASQUERADE
  # Cgroups (v1: one tree per controller); cpuset needs its cpus and mems.
  local ss
  for ss in /sys/fs/cgroup/*/; do
    [ -f "${ss}cgroup.procs" ] || continue
    case "$ss" in */unified/) continue ;; esac
    mkdir -p "$ss$NODE_CGROUP"
  done
  cat /sys/fs/cgroup/cpuset/cpuset.cpus > "/sys/fs/cgroup/cpuset/$NODE_CGROUP/cpuset.cpus"
  cat /sys/fs/cgroup/cpuset/cpuset.mems > "/sys/fs/cgroup/cpuset/$NODE_CGROUP/cpuset.mems"
  mkdir -p "/sys/fs/cgroup/pids/$NODE_CGROUP/system"

  cat > "$n/cni/10-atrium.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "atrium", "plugins": [
  {"type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$NODE_CIDR", "gateway": "$NODE_IP"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$n/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
EOF
  cat > "$n/containerd.toml" <<EOF
version = 2
root = "$NODE_CTR_ROOT"
state = "$n/containerd-state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$n/containerd.sock"
[ttrpc]
  address = "$n/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$n/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_REF"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  # This VM's root lacks CAP_SYS_RESOURCE, so runc cannot lower a
  # process's oom_score_adj (the CRI asks -998 for sandboxes): clamp it to
  # containerd's own instead, as for rootless containerd.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$n/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$n/cni"
    max_conf_num = 1
EOF
  node_start_containerd
  if [ ! -f "$NODE_CTR_ROOT/clean-stop" ]; then
    # The last node was not stopped cleanly: drop its containers and sandboxes
    # from the store, then restart so the CRI plugin forgets them too.
    node_forget_containers "$dir" || fail "could not clear stale containers from $NODE_CTR_ROOT"
    kill "$(cat "$dir/containerd.pid")"
    for _ in $(seq 50); do kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null || break; sleep 0.1; done
    node_start_containerd
  fi
  rm -f "$NODE_CTR_ROOT/clean-stop"
  node_load "$PAUSE_ARCHIVE" "$BUSYBOX_ARCHIVE" >/dev/null
}

node_start_containerd() {
  start_in_cgroup containerd containerd --config "$dir/node/containerd.toml"
  wait_socket "$dir/node/containerd.sock" containerd
}

# Import OCI archives into the node's containerd, under the names the CRI
# looks them up by (docker.io/... normalised); archives whose images are
# already there with the same digest are skipped.
normalize_ref() {
  local r=$1 first=${1%%/*}
  if [ "$r" = "$first" ]; then echo "docker.io/library/$r"
  elif [[ "$first" == *.* || "$first" == *:* || "$first" == localhost ]]; then echo "$r"
  else echo "docker.io/$r"; fi
}
node_load() {
  local archive present line name digest ref want imported=0
  present=$(node_ctr "$dir" images ls 2>/dev/null | awk 'NR > 1 {print $1, $3}')
  for archive in "$@"; do
    [ -f "$archive" ] || { echo "kube.sh load: no such archive: $archive" >&2; return 1; }
    want=$(tar -xOf "$archive" index.json | python3 -c '
import json, sys
for m in json.load(sys.stdin).get("manifests", []):
    a = m.get("annotations") or {}
    name = a.get("io.containerd.image.name") or a.get("org.opencontainers.image.ref.name") or ""
    if name: print(name, m["digest"])')
    [ -n "$want" ] || { echo "kube.sh load: $archive names no image (index.json has no ref.name annotation)" >&2; return 1; }
    local missing=0
    while read -r name digest; do
      ref=$(normalize_ref "$name")
      grep -qxF "$ref $digest" <<< "$present" || missing=1
    done <<< "$want"
    if [ "$missing" = 0 ]; then echo "present $archive"; continue; fi
    node_ctr "$dir" images import --all-platforms "$archive" >/dev/null || { echo "kube.sh load: importing $archive failed" >&2; return 1; }
    while read -r name digest; do
      ref=$(normalize_ref "$name")
      [ "$ref" = "$name" ] || node_ctr "$dir" images tag --force "$name" "$ref" >/dev/null
    done <<< "$want"
    echo "imported $archive"
  done
}

# After the API server: kubelet, kube-proxy, DNS, provisioner.
node_start() {
  local n="$dir/node" kubelet_port proxy_health proxy_metrics
  kubelet_port=$(free_port); proxy_health=$(free_port); proxy_metrics=$(free_port)
  node_kubeconfig "$n/kubelet.kubeconfig" node
  node_kubeconfig "$n/kube-proxy.kubeconfig" kube-proxy
  cat > "$n/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 host: allowed explicitly (kubelet >= 1.35 refuses it otherwise).
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$NODE_CGROUP
containerRuntimeEndpoint: unix://$n/containerd.sock
address: $NODE_IP
port: $kubelet_port
readOnlyPort: 0
healthzPort: 0
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: $n/pod-logs
volumePluginDir: $n/volume-plugins
registerNode: true
registerWithTaints:
- {key: $NODE_TAINT_KEY, value: "true", effect: NoSchedule}
serializeImagePulls: false
failSwapOn: false
maxPods: 110
# A test box: evict only when nearly out of memory or disk, keep images.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusReportFrequency: 10s
EOF
  node_kubelet_started=$(date +%s%N)
  start_in_cgroup kubelet "$bin/kube" kubelet --config "$n/kubelet.yaml" \
    --kubeconfig "$n/kubelet.kubeconfig" --root-dir "$n/kubelet" --cert-dir "$n/kubelet-pki" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --node-labels "$NODE_POOL_LABEL=real" --v 1
  cat > "$n/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $n/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $NODE_CIDR
healthzBindAddress: 127.0.0.1:$proxy_health
metricsBindAddress: 127.0.0.1:$proxy_metrics
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false, syncPeriod: 30s, minSyncPeriod: 0s}
EOF
  start_in_cgroup kube-proxy "$bin/kube" kube-proxy --config "$n/kube-proxy.yaml" --v 1
  cat > "$n/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $dir/admin.kubeconfig atrium-test
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
EOF
  start_in_cgroup coredns "$bin/coredns" -conf "$n/Corefile"
  start_in_cgroup provisioner node "$root/scripts/k8s/local-provisioner.mjs" "https://127.0.0.1:$port" \
    "$pki/ca.crt" "$pki/admin.crt" "$pki/admin.key" "$NODE_NAME" "$NODE_STORAGE_CLASS" "$n/volumes"
  create /apis/storage.k8s.io/v1/storageclasses \
    "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"$NODE_STORAGE_CLASS\"},\"provisioner\":\"atrium.dev/local-path\",\"reclaimPolicy\":\"Delete\",\"volumeBindingMode\":\"Immediate\"}"
}

# kube-router's firewall enforces the NetworkPolicies of the node's pods
# (nothing else: kube-proxy serves Services, the bridge routes). It finds its
# node by name, so it starts once the node is registered; no pod can be
# scheduled before the taint above is the node's only one, and the wait for
# its chains below keeps tests from starting before policies apply. No
# health or metrics listener: their ports would be fixed machine-wide.
node_start_firewall() {
  start_in_cgroup kube-router "$bin/kube-router" --kubeconfig "$dir/admin.kubeconfig" \
    --hostname-override "$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --enable-cni=false --enable-ipv4=true --enable-ipv6=false --health-port 0 --metrics-port 0 --v 1
  for i in $(seq 300); do
    iptables -S KUBE-ROUTER-FORWARD >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$dir/kube-router.pid")" 2>/dev/null || fail "real node: kube-router exited: $(tail -3 "$dir/kube-router.log")"
    sleep 0.1
  done
  fail "real node: kube-router did not program its chains in 30 s"
}

# Wait for the node to be Ready, give it its own taint only (nothing removes
# the API server's not-ready taint: the node lifecycle controller does not
# run here, see kube.sh), and describe it for tests in DIR/real-node.json.
node_wait_ready() {
  local status=
  for i in $(seq 900); do
    status=$(curl_k "https://127.0.0.1:$port/api/v1/nodes/$NODE_NAME" 2>/dev/null | python3 -c '
import json, sys
try:
    n = json.load(sys.stdin)
    print(next((c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"), "none"))
except Exception:
    print("unregistered")' || echo unregistered)
    [ "$status" = True ] && break
    for p in containerd kubelet kube-proxy coredns provisioner; do
      kill -0 "$(cat "$dir/$p.pid")" 2>/dev/null || fail "real node: $p exited"
    done
    [ "$i" = 900 ] && fail "real node $NODE_NAME not Ready after 90 s (Ready: $status)"
    sleep 0.1
  done
  echo "kube.sh: real node $NODE_NAME Ready $(( ($(date +%s%N) - node_kubelet_started) / 1000000 )) ms after the kubelet started" >&2
  patch_node "$NODE_NAME" "{\"spec\":{\"taints\":[{\"key\":\"$NODE_TAINT_KEY\",\"value\":\"true\",\"effect\":\"NoSchedule\"}]}}"
  node_start_firewall
  cat > "$dir/real-node.json" <<EOF
{
  "name": "$NODE_NAME",
  "nodeSelector": {"$NODE_POOL_LABEL": "real"},
  "toleration": {"key": "$NODE_TAINT_KEY", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
  "hostIp": "$NODE_IP",
  "podCidr": "$NODE_CIDR",
  "storageClass": "$NODE_STORAGE_CLASS",
  "clusterDns": "$NODE_IP",
  "clusterDomain": "cluster.local",
  "containerdSocket": "$dir/node/containerd.sock",
  "images": {"pause": "$PAUSE_REF", "busybox": "$BUSYBOX_REF"},
  "networkPolicies": "kube-router $(cat "$bin/kube-router.version") (firewall only)",
  "load": "bash $root/scripts/kube.sh load $dir ARCHIVE..."
}
EOF
}
