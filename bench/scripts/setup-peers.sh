#!/usr/bin/env bash
# Installs the peers Atrium is benchmarked against, idempotently, under the
# per-user cache, outside the clone ($ATRIUM_CACHE/bench, default ~/.cache/atrium/bench):
#   bench/venv  Python venv with JupyterHub + JupyterLab (pinned)
#   bench/chp   configurable-http-proxy (npm, pinned)
#   bench/mlflow-venv  Python venv with MLflow (pinned) + the datascience image's scikit-learn
#   wrk                HTTP load generator, from Debian (apt-get)
# Re-running is cheap: each step is skipped when the pinned version is present.
set -euo pipefail

JUPYTERHUB_VERSION="6.1.1"
JUPYTERLAB_VERSION="4.6.6"   # same JupyterLab as Atrium's images
CHP_VERSION="5.3.0"
MLFLOW_VERSION="3.17.2"
SKLEARN_VERSION="1.9.1"      # same scikit-learn as images/datascience

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../scripts/cache-dir.sh
source "$ROOT/scripts/cache-dir.sh"
CACHE="${ATRIUM_BENCH_CACHE:-$ATRIUM_CACHE/bench}"
VENV="$CACHE/venv"
CHP_PREFIX="$CACHE/chp"
PYTHON="${PYTHON:-python3}"

log() { printf '[setup-peers] %s\n' "$*" >&2; }

mkdir -p "$CACHE"
# Should the cache sit under a package.json saying "type": "module" (a
# repository, with ATRIUM_BENCH_CACHE), Node would treat the .js files shipped
# in the venv (JupyterLab's bundled yarn) as ES modules and fail to load them.
[[ -f "$CACHE/package.json" ]] || echo '{"private":true,"type":"commonjs"}' >"$CACHE/package.json"

# --- Python venv: JupyterHub + JupyterLab ------------------------------------
want_py="jupyterhub==$JUPYTERHUB_VERSION jupyterlab==$JUPYTERLAB_VERSION"
stamp="$VENV/.atrium-bench-pins"
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want_py" ]]; then
  log "venv up to date ($want_py)"
else
  log "creating venv at $VENV with $want_py"
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $want_py
  "$VENV/bin/jupyterhub" --version >/dev/null
  "$VENV/bin/jupyter-lab" --version >/dev/null
  printf '%s' "$want_py" >"$stamp"
fi

# --- MLflow: the model-serving peer (mlflow models serve --env-manager local) ---
MLFLOW_VENV="$CACHE/mlflow-venv"
want_mlflow="mlflow==$MLFLOW_VERSION scikit-learn==$SKLEARN_VERSION"
stamp="$MLFLOW_VENV/.atrium-bench-pins"
if [[ -x "$MLFLOW_VENV/bin/mlflow" && -f "$stamp" && "$(cat "$stamp")" == "$want_mlflow" ]]; then
  log "mlflow venv up to date ($want_mlflow)"
else
  log "creating venv at $MLFLOW_VENV with $want_mlflow"
  [[ -x "$MLFLOW_VENV/bin/python" ]] || "$PYTHON" -m venv "$MLFLOW_VENV"
  # shellcheck disable=SC2086
  "$MLFLOW_VENV/bin/python" -m pip install --quiet --disable-pip-version-check $want_mlflow
  "$MLFLOW_VENV/bin/mlflow" --version >/dev/null
  printf '%s' "$want_mlflow" >"$stamp"
fi

# --- configurable-http-proxy --------------------------------------------------
chp_bin="$CHP_PREFIX/node_modules/.bin/configurable-http-proxy"
chp_have=""
if [[ -f "$CHP_PREFIX/node_modules/configurable-http-proxy/package.json" ]]; then
  chp_have="$(node -p "require('$CHP_PREFIX/node_modules/configurable-http-proxy/package.json').version")"
fi
if [[ -x "$chp_bin" && "$chp_have" == "$CHP_VERSION" ]]; then
  log "configurable-http-proxy $CHP_VERSION present"
else
  log "installing configurable-http-proxy@$CHP_VERSION into $CHP_PREFIX"
  mkdir -p "$CHP_PREFIX"
  # A package.json of its own keeps npm from walking up into the workspace.
  [[ -f "$CHP_PREFIX/package.json" ]] || echo '{"name":"atrium-bench-chp","private":true}' >"$CHP_PREFIX/package.json"
  npm install --prefix "$CHP_PREFIX" --no-audit --no-fund --save-exact "configurable-http-proxy@$CHP_VERSION" >&2
  "$chp_bin" --version >/dev/null
fi

# --- wrk ------------------------------------------------------------------------
if command -v wrk >/dev/null 2>&1; then
  log "wrk present: $(command -v wrk)"
else
  log "installing wrk from Debian"
  SUDO=""
  [[ "$(id -u)" == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >&2
fi

log "ready: jupyterhub $("$VENV/bin/jupyterhub" --version), jupyterlab $("$VENV/bin/jupyter-lab" --version), chp $("$chp_bin" --version), $(wrk -v 2>&1 | head -1)"
