#!/usr/bin/env bash
# Quick checks of the images scripts/images.sh built, run without a daemon
# (buildah containers, chroot isolation) from its cache: what the Kubernetes
# manifests and the chart rely on. Exits non-zero at the first failure.
#   bash scripts/images/smoke.sh [name ...]   (default: minimal datascience hub)
set -euo pipefail
{
cd "$(dirname "$0")/../.."
source scripts/cache-dir.sh
root=$ATRIUM_CACHE/images
driver=${ATRIUM_IMAGES_STORAGE_DRIVER:-$(grep -qw overlay /proc/filesystems && echo overlay || echo vfs)}
B=(buildah --root "$root/storage-$driver" --runroot "$root/run-$driver" --storage-driver "$driver")
[ $# -gt 0 ] || set -- minimal datascience hub

declare -A REF=()
while read -r name ref; do REF[$name]=$ref; done < <(node scripts/images/inputs.mjs refs images/catalog.yaml deploy/helm/atrium/values.yaml)

check() { # name, shell script run as the image's user, expected output (a grep -E pattern per line)
  local name=$1 script=$2 ctr out
  shift 2
  ctr=$("${B[@]}" from --pull=never "localhost/${REF[$name]}")
  out=$("${B[@]}" run --isolation chroot "$ctr" -- sh -c "$script" 2>&1) || { "${B[@]}" rm "$ctr" >/dev/null; echo "$out" >&2; echo "smoke: $name: the checks failed" >&2; exit 1; }
  "${B[@]}" rm "$ctr" >/dev/null
  local pattern
  for pattern in "$@"; do
    grep -Eq -- "$pattern" <<<"$out" || { echo "$out" >&2; echo "smoke: $name: no line matches /$pattern/" >&2; exit 1; }
  done
  echo "$out" | sed "s/^/$name: /"
}

config() { "${B[@]}" inspect --type image --format "$1" "localhost/${REF[$2]}"; }

workspace_checks='echo "uid $(id -u) gid $(id -g) $(id -un)"
for c in jupyter python tini; do echo "$c at $(command -v $c)"; done
echo "jupyterlab $(jupyter lab --version)"
echo "$(python --version)"
python -c "import atrium; from atrium import datasets; print(\"atrium helper ok\")"
jupyter labextension list 2>&1 | grep -o "@atrium/jupyterlab v[0-9.]* .*enabled.*OK" | sed "s/\x1b\[[0-9;]*m//g"
grep -h news_url /opt/atrium/venv/etc/jupyter/jupyter_lab_config.py
touch /opt/atrium/venv/x 2>/dev/null && echo "venv writable" || echo "venv read-only"
stat -c "shadow group %G" /etc/shadow'
workspace_patterns=('^uid 1000 gid 100 jovyan$' '^jupyter at /opt/atrium/venv/bin/jupyter$' '^python at /opt/atrium/venv/bin/python$'
  '^tini at /usr/bin/tini$' '^jupyterlab 4\.' '^Python 3\.11' '^atrium helper ok$' '@atrium/jupyterlab v' 'news_url = None'
  '^venv read-only$' '^shadow group shadow$')

for name in "$@"; do
  case $name in
    minimal)
      check minimal "$workspace_checks" "${workspace_patterns[@]}" ;;
    datascience)
      check datascience "$workspace_checks
python -c 'import pandas, numpy, sklearn, matplotlib, pyarrow, scipy; print(\"pandas\", pandas.__version__, \"numpy\", numpy.__version__)'" \
        "${workspace_patterns[@]}" '^pandas 3\.1\.1 numpy 2\.4\.6$' ;;
    hub)
      check hub 'echo "uid $(id -u) gid $(id -g) $(id -un)"
echo "node $(node --version)"
node /opt/atrium/hub/dist/main.js --help | head -1
node /opt/atrium/hub/dist/main.js openapi | head -c 200 | grep -o "Atrium hub API"
node -e "const D=require(\"/opt/atrium/node_modules/libsql\"); console.log(\"sqlite\", new D(\":memory:\").prepare(\"select sqlite_version() v\").get().v)"
echo "state dir $ATRIUM_STATE_DIR $(stat -c %U /var/lib/atrium)"
for c in python3 tini; do echo "$c at $(command -v $c)"; done' \
        '^uid 1000 gid 1000 atrium$' '^node v20\.' '^Usage:' '^Atrium hub API$' '^sqlite 3\.' '^state dir /var/lib/atrium atrium$' '^python3 at /usr/bin/python3$' '^tini at /usr/bin/tini$'
      entry=$(config '{{.OCIv1.Config.Entrypoint}}' hub)
      [ "$entry" = "[tini -- node /opt/atrium/hub/dist/main.js]" ] || { echo "smoke: hub: entrypoint is $entry" >&2; exit 1; }
      echo "hub: entrypoint $entry" ;;
    *) echo "smoke: unknown image $name" >&2; exit 2 ;;
  esac
done
exit
}
