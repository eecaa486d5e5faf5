# Shared settings for the local platform scripts (sourced, not run).
# Everything the local platform writes lives under $AGORA_RUN_DIR (git-ignored .run/ by default).
set -euo pipefail
AGORA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AGORA_RUN_DIR="${AGORA_RUN_DIR:-$AGORA_ROOT/.run}"
AGORA_PG_PORT="${AGORA_PG_PORT:-55432}"
AGORA_KAFKA_PORT="${AGORA_KAFKA_PORT:-59092}"
AGORA_KAFKA_CONTROLLER_PORT="${AGORA_KAFKA_CONTROLLER_PORT:-59093}"
mkdir -p "$AGORA_RUN_DIR/logs"

log() { printf '[agora] %s\n' "$*" >&2; }
die() { printf '[agora] error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# apt-get update once per machine run, then install; only as root, otherwise say what is missing.
apt_install() {
  if ! is_root; then die "missing: $*. Install them (e.g. 'sudo apt-get install -y $*') and run again."; fi
  if [ ! -f "$AGORA_RUN_DIR/.apt-updated" ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$AGORA_RUN_DIR/logs/apt.log" 2>&1 || die "apt-get update failed (see $AGORA_RUN_DIR/logs/apt.log)"
    touch "$AGORA_RUN_DIR/.apt-updated"
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$AGORA_RUN_DIR/logs/apt.log" 2>&1 \
    || die "apt-get install $* failed (see $AGORA_RUN_DIR/logs/apt.log)"
}
