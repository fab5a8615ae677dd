#!/usr/bin/env bash
# Debian packages Atrium needs on this machine, installed when missing:
#   bubblewrap  the sandbox every workspace, model server and re-run starts in (always)
#   tini        the init inside each sandbox, running as the user (always)
#   chromium    the browser tests' browser (--tests; Playwright cannot download its own here)
#   containerd, runc, containernetworking-plugins, iptables, ipset, conntrack, gcc
#               the test cluster's real node (--tests; scripts/kube.sh, scripts/k8s/node.sh;
#               ipset for kube-router's NetworkPolicy firewall)
#   haproxy     the load balancer in front of two hub replicas (--tests; docs/replicas.md)
set -euo pipefail
want=()
command -v bwrap >/dev/null 2>&1 || want+=(bubblewrap)
command -v tini >/dev/null 2>&1 || want+=(tini)
if [ "${1:-}" = "--tests" ]; then
  [ -x /usr/bin/chromium ] || want+=(chromium)
  command -v containerd >/dev/null 2>&1 || want+=(containerd)
  command -v runc >/dev/null 2>&1 || want+=(runc)
  [ -x /usr/lib/cni/bridge ] || want+=(containernetworking-plugins)
  command -v iptables >/dev/null 2>&1 || want+=(iptables)
  command -v conntrack >/dev/null 2>&1 || want+=(conntrack)
  command -v ipset >/dev/null 2>&1 || want+=(ipset)
  command -v gcc >/dev/null 2>&1 || want+=(gcc libc6-dev)
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || want+=(haproxy)
fi
[ ${#want[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${want[*]}..."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Cannot install ${want[*]}: this is not a Debian-based system. Install them with your package manager." >&2
  exit 1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${want[@]}" >/dev/null
