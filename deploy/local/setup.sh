#!/usr/bin/env bash
# Python toolchain for Agora: uv (pinned) and the locked virtualenv (.venv from uv.lock, --frozen).
# Idempotent; quick when everything is already there.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
UV_VERSION=0.9.5

find_uv() {
  for c in uv "$HOME/.local/bin/uv" "$AGORA_RUN_DIR/tools/bin/uv"; do
    if command -v "$c" >/dev/null 2>&1 && [ "$("$c" --version 2>/dev/null | awk '{print $2}')" = "$UV_VERSION" ]; then command -v "$c"; return 0; fi
  done
  return 1
}

if ! UV=$(find_uv); then
  command -v python3 >/dev/null || apt_install python3 python3-pip python3-venv
  log "installing uv $UV_VERSION (from PyPI) into $AGORA_RUN_DIR/tools"
  python3 -m pip install --quiet --disable-pip-version-check --target "$AGORA_RUN_DIR/tools/lib" "uv==$UV_VERSION" >"$AGORA_RUN_DIR/logs/uv-install.log" 2>&1 \
    || die "could not install uv (see $AGORA_RUN_DIR/logs/uv-install.log)"
  mkdir -p "$AGORA_RUN_DIR/tools/bin"
  ln -sf "$AGORA_RUN_DIR/tools/lib/bin/uv" "$AGORA_RUN_DIR/tools/bin/uv"
  UV="$AGORA_RUN_DIR/tools/bin/uv"
fi
cd "$AGORA_ROOT"
"$UV" sync --frozen --quiet || die "uv sync failed"
# Byte-compile once: with PYTHONDONTWRITEBYTECODE set (as on some machines) every process would otherwise
# recompile every import at start-up (seconds per process, minutes for the whole system under load).
"$AGORA_ROOT/.venv/bin/python" -m compileall -q -j 0 "$AGORA_ROOT/.venv/lib" "$AGORA_ROOT/services" "$AGORA_ROOT/gateway" >/dev/null 2>&1 || true
printf '%s\n' "$UV"
