#!/usr/bin/env bash
# `make stop`: stop the processes of `make run` (if running), then Kafka and PostgreSQL.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
HERE="$AGORA_ROOT/deploy/local"
if [ -f "$AGORA_RUN_DIR/honcho.pid" ]; then
  pid=$(cat "$AGORA_RUN_DIR/honcho.pid")
  log "stopping services (honcho $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$AGORA_RUN_DIR/honcho.pid"
fi
"$HERE/kafka.sh" stop
"$HERE/postgres.sh" stop
