# Sourced by the repo's scripts: where downloads and build outputs are kept.
# Per user and outside the clone, so every clone and CI run on one machine
# starts warm, while `git clean` or a fresh clone never throws hours of Go
# builds away. Entries are keyed by exact versions or a hash of their inputs;
# deleting the folder is always safe (the next run rebuilds what it needs).
#   ATRIUM_CACHE   override the location (default ~/.cache/atrium)
ATRIUM_CACHE=${ATRIUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/atrium}
mkdir -p "$ATRIUM_CACHE"
ATRIUM_CACHE=$(cd "$ATRIUM_CACHE" && pwd)
export ATRIUM_CACHE
