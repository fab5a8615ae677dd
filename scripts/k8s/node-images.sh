#!/usr/bin/env bash
# The real test node's own images, built here (no registry is reachable) as
# OCI archives in $ATRIUM_CACHE/k8s/images, named by a hash of their inputs:
#   pause    Kubernetes' pause (build/pause/linux/pause.c of the k8s.io/kubernetes
#            module, compiled statically with gcc): containerd's sandbox image.
#   busybox  Debian's busybox-static (apt-get download, a registry package):
#            a tiny image for the node's tests (sh, wget, nslookup, ...).
# Usage: scripts/k8s/node-images.sh [pause|busybox ...]   → prints "<ref> <archive>" lines
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/cache-dir.sh"
out="$ATRIUM_CACHE/k8s/images"
mkdir -p "$out"
PAUSE_VERSION=3.10.2            # build/pause/Makefile TAG in Kubernetes v1.37.2
PAUSE_REF=registry.k8s.io/pause:$PAUSE_VERSION
KUBERNETES_VERSION=v1.37.2
BUSYBOX_REF_NAME=atrium.local/busybox
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build_pause() {
  local src="$ATRIUM_CACHE/k8s/gomod/k8s.io/kubernetes@$KUBERNETES_VERSION/build/pause/linux/pause.c"
  if [ ! -f "$src" ]; then
    (cd "$root/scripts/k8s/kube" && GOMODCACHE="$ATRIUM_CACHE/k8s/gomod" GOFLAGS=-modcacherw go mod download k8s.io/kubernetes)
  fi
  local key archive
  key=$( { cat "$src" "$root/scripts/k8s/oci-archive.py"; gcc --version | head -1; echo "$PAUSE_REF"; } | sha256sum | cut -c1-16)
  archive="$out/pause-$PAUSE_VERSION-$key.tar"
  if [ ! -f "$archive" ]; then
    mkdir -p "$tmp/pause"
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-atrium" -o "$tmp/pause/pause" "$src"
    strip "$tmp/pause/pause"
    python3 "$root/scripts/k8s/oci-archive.py" "$archive" "$PAUSE_REF" "$tmp/pause" --entrypoint '["/pause"]'
  fi
  echo "$PAUSE_REF $archive"
}

build_busybox() {
  local version key archive ref
  version=$(apt-cache show --no-all-versions busybox-static 2>/dev/null | awk '/^Version:/ {print $2; exit}')
  [ -n "$version" ] || { apt-get update -qq >&2; version=$(apt-cache show --no-all-versions busybox-static | awk '/^Version:/ {print $2; exit}'); }
  key=$( { echo "$version"; cat "$root/scripts/k8s/oci-archive.py"; } | sha256sum | cut -c1-16)
  ref="$BUSYBOX_REF_NAME:$(echo "${version#*:}" | tr -c 'A-Za-z0-9_.\n-' '_')"
  archive="$out/busybox-$key.tar"
  if [ ! -f "$archive" ]; then
    (cd "$tmp" && apt-get download -qq "busybox-static=$version" >&2)
    dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/deb"
    local fs="$tmp/busybox"
    mkdir -p "$fs/bin" "$fs/tmp" "$fs/etc" "$fs/data"
    chmod 1777 "$fs/tmp"
    cp "$tmp/deb/bin/busybox" "$fs/bin/busybox"
    for applet in $("$fs/bin/busybox" --list); do
      [ "$applet" = busybox ] || ln -s busybox "$fs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$fs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$fs/etc/group"
    python3 "$root/scripts/k8s/oci-archive.py" "$archive" "$ref" "$fs" --cmd '["sh"]'
  fi
  echo "$ref $archive"
}

targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(pause busybox)
for t in "${targets[@]}"; do "build_$t"; done
