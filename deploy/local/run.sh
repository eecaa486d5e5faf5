#!/usr/bin/env bash
# `make run`: bring up PostgreSQL and Kafka (if not already up), migrate, create topics, start every
# process under honcho, wait until every /readyz answers, print the gateway URL. Ctrl-C stops all of it,
# including the infrastructure this run started. Data survives (in .run/); running it again is safe.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
HERE="$AGORA_ROOT/deploy/local"
cd "$AGORA_ROOT"
export PATH="$AGORA_ROOT/.venv/bin:$PATH"

started=()
"$HERE/postgres.sh" status 2>/dev/null || started+=(postgres)
"$HERE/kafka.sh" status 2>/dev/null || started+=(kafka)
cleanup() {
  # Ignore further signals: a closing terminal (SIGHUP) or a second Ctrl-C must not cut the clean-up short.
  trap '' EXIT INT TERM HUP
  if [ -n "${honcho_pid:-}" ]; then
    # honcho runs in its own process group: signal the whole group, so no process outlives this run
    # even if honcho itself dies first (honcho 2.0 can crash when signalled while still starting).
    kill -TERM -- "-$honcho_pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 -- "-$honcho_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$honcho_pid" 2>/dev/null || true
  fi
  rm -f "$AGORA_RUN_DIR/honcho.pid"
  # Only what this run started, and as the local platform (the URLs exported below are not "external").
  for s in "${started[@]}"; do env -u DATABASE_URL -u KAFKA_BOOTSTRAP_SERVERS "$HERE/$s.sh" stop || true; done
}
trap cleanup EXIT INT TERM HUP

"$HERE/postgres.sh" start
"$HERE/kafka.sh" start
export DATABASE_URL="${DATABASE_URL:-$("$HERE/postgres.sh" url)}"
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-$("$HERE/kafka.sh" bootstrap)}"
export AGORA_JWKS_URL="${AGORA_JWKS_URL:-http://127.0.0.1:8101/.well-known/jwks.json}"
export PROFILES_SIGNING_KEYS_FILE="${PROFILES_SIGNING_KEYS_FILE:-$AGORA_RUN_DIR/keys/signing-keys.json}"
if python -c "import services.profiles.keys" 2>/dev/null; then
  mkdir -p "$(dirname "$PROFILES_SIGNING_KEYS_FILE")"
  python -m services.profiles.keys generate "$PROFILES_SIGNING_KEYS_FILE" >/dev/null
fi

log "applying migrations"; agora migrate
log "creating topics"; agora topics

log "starting services (logs: $AGORA_RUN_DIR/logs/agora.log)"
setsid honcho -f "$HERE/Procfile" -d "$AGORA_ROOT" start >"$AGORA_RUN_DIR/logs/agora.log" 2>&1 &
honcho_pid=$!
echo "$honcho_pid" >"$AGORA_RUN_DIR/honcho.pid"

urls=(http://127.0.0.1:8000 http://127.0.0.1:8101 http://127.0.0.1:8102 http://127.0.0.1:8103 http://127.0.0.1:8104)
for p in $(seq 8111 8120); do urls+=("http://127.0.0.1:$p"); done
if ! python -m services.kit.platform wait-http --timeout 90 "${urls[@]}"; then
  tail -40 "$AGORA_RUN_DIR/logs/agora.log" >&2
  die "not every process became ready (full log: $AGORA_RUN_DIR/logs/agora.log)"
fi
cat <<MSG

  Agora is running.
    API (gateway):   http://127.0.0.1:8000      docs: http://127.0.0.1:8000/docs
    PostgreSQL:      $DATABASE_URL
    Kafka:           $KAFKA_BOOTSTRAP_SERVERS
    Logs:            $AGORA_RUN_DIR/logs/agora.log
  Ctrl-C (or 'make stop' from another terminal) stops everything.

MSG
wait "$honcho_pid"
