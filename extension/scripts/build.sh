#!/usr/bin/env bash
# Build Atrium's JupyterLab extension into a Python wheel:
#   extension/dist/atrium_jupyterlab-<version>-py3-none-any.whl
# Idempotent: skipped when no source changed since the last build (a hash of
# the sources is kept next to the wheel). Safe to run concurrently (flock).
#
# Tools, all cached under $ATRIUM_CACHE/extension/ (scripts/cache-dir.sh; and
# extension/node_modules): a build venv with JupyterLab, jupyter-builder,
# hatchling and hatch-jupyter-builder from PyPI; @jupyter/builder (the
# JavaScript half of jupyter-builder) and the JupyterLab packages from npm.
#
# Options: --force (rebuild even if up to date), --check (exit 1 if a build is needed).
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$ext/.." && pwd)"
source "$root/scripts/cache-dir.sh"
cache="$ATRIUM_CACHE/extension"
venv="$cache/venv"
dist="$ext/dist"
python="${ATRIUM_PYTHON:-python3}"

# Build tools, pinned. JupyterLab matches the curated images (images/*/requirements.txt).
pins=(jupyterlab==4.6.6 jupyter-builder==1.3.0 hatchling==1.33.0 hatch-jupyter-builder==0.10.0)
# Installed with uv (from PyPI, the version the hub's environments use), a few times faster than pip.
uv_pin=uv==0.13.9

force=0 check=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check=1 ;;
    *) echo "usage: $0 [--force] [--check]" >&2; exit 2 ;;
  esac
done

source_hash() {
  (
    cd "$ext"
    # Everything that goes into the wheel (tests excluded), and the hub's API
    # types the sources compile against.
    find package.json package-lock.json tsconfig.json pyproject.toml install.json README.md \
         atrium_jupyterlab/__init__.py scripts/build.sh src style schema ../api-types -type f \
         -not -path 'src/__tests__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    printf '%s\n' "${pins[@]}"
  ) | sha256sum | cut -c1-64
}

wheel_present() { compgen -G "$dist/atrium_jupyterlab-*.whl" > /dev/null; }

mkdir -p "$cache"
exec 9> "$cache/build.lock"
flock 9

hash="$(source_hash)"
if [ "$force" = 0 ] && wheel_present && [ "$(cat "$dist/.source-hash" 2>/dev/null)" = "$hash" ]; then
  [ "$check" = 1 ] || echo "extension: wheel up to date ($(basename "$dist"/atrium_jupyterlab-*.whl))"
  exit 0
fi
if [ "$check" = 1 ]; then
  echo "extension: the wheel needs a build (bash extension/scripts/build.sh)" >&2
  exit 1
fi
started=$(date +%s)

# 1. Build venv (rebuilt when the pins change).
if [ "$(cat "$venv/.atrium-pins" 2>/dev/null)" != "${pins[*]}" ]; then
  echo "extension: creating the build environment in ${venv#$root/} (first time: about 20 s)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off -q "$uv_pin"
  UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1 UV_NO_PROGRESS=1 \
    UV_DEFAULT_INDEX="${UV_DEFAULT_INDEX:-${PIP_INDEX_URL:-https://pypi.org/simple}}" \
    "$venv/bin/uv" pip install -q --compile-bytecode --python "$venv/bin/python" "${pins[@]}"
  echo "${pins[*]}" > "$venv/.atrium-pins"
fi
# jupyter-builder runs a bundled CommonJS yarn.js from the venv; should the cache
# sit under a package.json with "type": "module" (a repository), mark it CommonJS.
echo '{ "type": "commonjs" }' > "$cache/package.json"

# 2. npm dependencies (reinstalled when the lock file changes).
cd "$ext"
lock_hash="$(sha256sum package-lock.json | cut -c1-64)"
if [ "$(cat node_modules/.atrium-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  echo "extension: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.atrium-lock-hash
fi

# 3. TypeScript → lib/, then the federated bundle → atrium_jupyterlab/labextension/.
rm -rf lib tsconfig.tsbuildinfo atrium_jupyterlab/labextension
npx tsc -b
core="$venv/lib/python$("$venv/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')/site-packages/jupyterlab/staging/package.json"
"$venv/bin/jupyter-builder" build --core-package-file "$core" .

# 4. The wheel (without build isolation: the build venv has the backend).
rm -rf "$dist"
mkdir -p "$dist"
"$venv/bin/python" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation -q --wheel-dir "$dist" .
rm -rf build
echo "$hash" > "$dist/.source-hash"
echo "extension: built $(basename "$dist"/atrium_jupyterlab-*.whl) in $(( $(date +%s) - started )) s"
