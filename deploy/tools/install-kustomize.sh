#!/usr/bin/env bash
# Installs a pinned kustomize into $AGORA_RUN_DIR/bin (default <repo>/.run/bin, git-ignored) from the Go
# module proxy, for the deploy tests (tests/deploy/) that render every overlay.
#   install-kustomize.sh          build it once; later runs only check the version (well under a second)
#   KUSTOMIZE_VERSION=v5.x.y ...  another pinned version (rebuilt when the installed one differs)
# Needs Go (1.22 or newer). The machine's own Go toolchain is used as is (GOTOOLCHAIN=local): a version
# that needs a newer Go fails loudly instead of fetching a toolchain behind the operator's back.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.7.1}"
AGORA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AGORA_RUN_DIR="${AGORA_RUN_DIR:-$AGORA_ROOT/.run}"
BIN="$AGORA_RUN_DIR/bin"
KUSTOMIZE="$BIN/kustomize"

log() { printf '[agora] %s\n' "$*" >&2; }
die() { printf '[agora] error: %s\n' "$*" >&2; exit 1; }

installed_version() {
  # `kustomize version` prints e.g. "v5.7.1" (older builds: "{Version:kustomize/v5.7.1 ...}").
  [ -x "$KUSTOMIZE" ] || return 1
  "$KUSTOMIZE" version 2>/dev/null | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -1
}

if [ "$(installed_version || true)" = "$KUSTOMIZE_VERSION" ]; then
  exit 0
fi

command -v go >/dev/null || die "Go is needed to build kustomize $KUSTOMIZE_VERSION (install golang, or put kustomize $KUSTOMIZE_VERSION at $KUSTOMIZE)"
mkdir -p "$BIN" "$AGORA_RUN_DIR/logs"
log "building kustomize $KUSTOMIZE_VERSION into $BIN (Go module proxy; about a minute the first time)"
# CGO off: a static binary that needs no C toolchain; -trimpath: reproducible.
if ! GOBIN="$BIN" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$AGORA_RUN_DIR/logs/kustomize-install.log" 2>&1; then
  tail -20 "$AGORA_RUN_DIR/logs/kustomize-install.log" >&2
  die "go install kustomize $KUSTOMIZE_VERSION failed (see $AGORA_RUN_DIR/logs/kustomize-install.log)"
fi
got="$(installed_version || true)"
[ "$got" = "$KUSTOMIZE_VERSION" ] || die "installed kustomize reports '${got:-nothing}', expected $KUSTOMIZE_VERSION"
log "kustomize $got ready at $KUSTOMIZE"
