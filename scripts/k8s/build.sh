#!/usr/bin/env bash
# Build the test cluster from Go modules into $ATRIUM_CACHE/k8s/bin (once;
# scripts/cache-dir.sh, default ~/.cache/atrium, outside the clone):
#   kube (upstream kube-apiserver, controller-manager, scheduler, kubelet and
#   kube-proxy in one binary, via the wrapper module in scripts/k8s/kube),
#   kine (etcd API over SQLite) and kwok (simulated nodes and pod lifecycles),
#   helm (chart lint/template in tests), and coredns (the real node's cluster
#   DNS: upstream CoreDNS with the plugins it needs, wrapper in scripts/k8s/coredns),
#   kube-router (only its firewall: enforces NetworkPolicies on the real node),
#   and metrics-server (the resource metrics API, metrics.k8s.io, from the
#   real node's kubelet; the hub's usage meter reads it).
# Nothing prebuilt is downloaded; module sources come from the Go module proxy.
# Usage: scripts/k8s/build.sh [kine|kwok|kube|helm|coredns|kube-router|metrics-server ...]   (default: all)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/cache-dir.sh"
cache="$ATRIUM_CACHE/k8s"
bin="$cache/bin"
mkdir -p "$bin" "$cache/gomod" "$cache/gocache"
# -modcacherw: module files stay writable, so `rm -rf .cache` works.
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOFLAGS='-buildvcs=false -modcacherw' GOBIN="$bin"
export CGO_ENABLED=${CGO_ENABLED:-1}

KUBERNETES_VERSION=v1.37.2   # staging modules pinned to v0.37.2 in kube/go.mod
KINE_VERSION=v0.17.5
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
KUBE_ROUTER_VERSION=v2.1.0   # the one version the module proxy serves here
METRICS_SERVER_VERSION=v0.8.0   # (v0.9.0 is served too, but is not an approved release)
# A binary is reused only if its stamp matches every input: for the wrapper
# module that is the Kubernetes version and its main.go/go.mod/go.sum, so
# adding a command to main.go rebuilds a cached binary that lacks it.
wrapper_stamp() { (cd "$root/scripts/k8s/$1" && cat main.go go.mod go.sum | sha256sum | cut -c1-16); }
# Stamp the binaries with their version as upstream's release builds do
# (hack/lib/version.sh): without it they report v0.0.0-master, which Helm
# compares against a chart's kubeVersion and the kubelet reports as its own.
kube_version_ldflags() {
  local major=${KUBERNETES_VERSION#v}; major=${major%%.*}
  local minor=${KUBERNETES_VERSION#v*.}; minor=${minor%%.*}
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf ' -X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean' \
      "$pkg" "$KUBERNETES_VERSION" "$pkg" "$major" "$pkg" "$minor" "$pkg"
  done
}
KUBE_LDFLAGS="-s -w$(kube_version_ldflags)"
KUBE_STAMP="$KUBERNETES_VERSION $( { wrapper_stamp kube; echo "$KUBE_LDFLAGS"; } | sha256sum | cut -c1-16)"
COREDNS_STAMP="$(awk '$1 == "require" && $2 == "github.com/coredns/coredns" {print $3}' "$root/scripts/k8s/coredns/go.mod") $(wrapper_stamp coredns)"
declare -A versions=([kube]=$KUBE_STAMP [kine]=$KINE_VERSION [kwok]=$KWOK_VERSION [helm]=$HELM_VERSION [coredns]=$COREDNS_STAMP [kube-router]=$KUBE_ROUTER_VERSION [metrics-server]=$METRICS_SERVER_VERSION)

stamp_ok() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }
done_msg() { echo "built $1 $2 in $(( $(date +%s) - $3 )) s" >&2; echo "$2" > "$bin/$1.version"; }

build_kube() {
  stamp_ok kube "$KUBE_STAMP" && return 0
  local t=$(date +%s)
  echo "building kube (apiserver, controller-manager, scheduler, kubelet, kube-proxy) $KUBE_STAMP (cold: 10-20 min on 2 cores)..." >&2
  (cd "$root/scripts/k8s/kube" && nice -n 10 go build -trimpath -ldflags="$KUBE_LDFLAGS" -o "$bin/kube" .)
  done_msg kube "$KUBE_STAMP" "$t"
}
build_coredns() {
  stamp_ok coredns "$COREDNS_STAMP" && return 0
  local t=$(date +%s)
  echo "building coredns $COREDNS_STAMP..." >&2
  (cd "$root/scripts/k8s/coredns" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags='-s -w' -o "$bin/coredns" .)
  done_msg coredns "$COREDNS_STAMP" "$t"
}
build_kine() {
  stamp_ok kine "$KINE_VERSION" && return 0
  local t=$(date +%s)
  echo "building kine $KINE_VERSION..." >&2
  nice -n 10 go install -trimpath -ldflags='-s -w' "github.com/k3s-io/kine@$KINE_VERSION"
  done_msg kine "$KINE_VERSION" "$t"
}
build_kwok() {
  stamp_ok kwok "$KWOK_VERSION" && return 0
  local t=$(date +%s)
  echo "building kwok $KWOK_VERSION..." >&2
  CGO_ENABLED=0 nice -n 10 go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  done_msg kwok "$KWOK_VERSION" "$t"
}
build_helm() {
  stamp_ok helm "$HELM_VERSION" && return 0
  local t=$(date +%s)
  echo "building helm $HELM_VERSION..." >&2
  CGO_ENABLED=0 nice -n 10 go install -trimpath -ldflags='-s -w' "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  done_msg helm "$HELM_VERSION" "$t"
}

build_kube-router() {
  stamp_ok kube-router "$KUBE_ROUTER_VERSION" && return 0
  local t=$(date +%s)
  echo "building kube-router $KUBE_ROUTER_VERSION..." >&2
  CGO_ENABLED=0 nice -n 10 go install -trimpath -ldflags='-s -w' "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  done_msg kube-router "$KUBE_ROUTER_VERSION" "$t"
}
build_metrics-server() {
  stamp_ok metrics-server "$METRICS_SERVER_VERSION" && return 0
  local t=$(date +%s)
  echo "building metrics-server $METRICS_SERVER_VERSION (cold: a few minutes on 2 cores)..." >&2
  # The version stamp its Makefile sets (it reports it as its /version).
  CGO_ENABLED=0 nice -n 10 go install -trimpath \
    -ldflags="-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
  done_msg metrics-server "$METRICS_SERVER_VERSION" "$t"
}

targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(kine kwok kube helm coredns kube-router metrics-server)
up_to_date() { local t; for t in "${targets[@]}"; do stamp_ok "$t" "${versions[$t]}" || return 1; done; }
# Nothing to do: return at once (kube.sh calls this on every start), without
# waiting for another clone's build of something else.
up_to_date && exit 0
# The cache is shared by clones, worktrees and CI steps: serialise builds,
# then look again (the build we waited for may have been this one).
exec 9>"$cache/build.lock"
flock 9
up_to_date && exit 0

# Compiling Kubernetes fills the Go build cache with ~6 GB; a full disk shows
# up later as an obscure link error, so say it up front.
need_gb=9
missing=0
for t in "${targets[@]}"; do stamp_ok "$t" "${versions[$t]}" || missing=1; done
if [ "$missing" = 1 ]; then
  free_gb=$(df -Pk "$cache" | awk 'NR==2 {print int($4 / 1048576)}')
  if [ "$free_gb" -lt "$need_gb" ]; then
    echo "Building the test control plane needs about $need_gb GB free under $cache; only $free_gb GB are free. Free some space (old .cache/envs, /tmp) and run again." >&2
    exit 1
  fi
fi

for t in "${targets[@]}"; do "build_$t"; done
# The binaries are all that later runs use; the compile cache is only needed
# to rebuild, and is the largest thing in .cache.
rm -rf "$cache/gocache"
