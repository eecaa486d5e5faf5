#!/usr/bin/env bash
# Local PostgreSQL for Agora: a project-local cluster on its own port (never the system server).
#   postgres.sh start   install the server if missing, initdb once, start, wait until it accepts connections
#   postgres.sh stop    fast shutdown
#   postgres.sh status  exit 0 when it accepts connections
#   postgres.sh url     print the DATABASE_URL of the local cluster
# When DATABASE_URL is set the local cluster is not used: start only waits for that server.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_USER=agora
PG_DB=agora

# The cluster lives in .run/pg unless the server user cannot reach it (for instance a clone under a
# mode-700 temp folder while running as root): then in /var/tmp, keyed by the checkout's path.
pg_home() {
  local home="$AGORA_RUN_DIR/pg"
  if is_root; then
    mkdir -p "$home"
    chown postgres:postgres "$home" 2>/dev/null || true
    if ! runuser -u postgres -- test -w "$home" 2>/dev/null; then
      home="/var/tmp/agora-pg-$(printf '%s' "$AGORA_ROOT" | sha1sum | cut -c1-12)"
      mkdir -p "$home" && chown postgres:postgres "$home"
    fi
  fi
  mkdir -p "$home"
  printf '%s' "$home"
}

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { printf '%s' "$d"; return 0; }
  done
  return 1
}

as_pg() { if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

url() { printf 'postgresql://%s@127.0.0.1:%s/%s' "$PG_USER" "$AGORA_PG_PORT" "$PG_DB"; }

ready() {
  if [ -n "${DATABASE_URL:-}" ]; then
    "$AGORA_ROOT/.venv/bin/python" -m services.kit.platform wait-postgres --timeout 1 >/dev/null 2>&1
  else
    local bin; bin=$(pg_bindir) || return 1
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$AGORA_PG_PORT" -d "$PG_DB" -U "$PG_USER"
  fi
}

start() {
  if [ -n "${DATABASE_URL:-}" ]; then
    log "using external PostgreSQL from DATABASE_URL"
    "$AGORA_ROOT/.venv/bin/python" -m services.kit.platform wait-postgres --timeout 60
    return
  fi
  local bin home data
  if ! bin=$(pg_bindir); then
    apt_install postgresql
    # Debian's package starts its own cluster on 5432; Agora does not use it.
    bin=$(pg_bindir) || die "PostgreSQL server binaries still missing after install"
  fi
  if is_root && ! id postgres >/dev/null 2>&1; then die "the 'postgres' system user is missing; reinstall the postgresql package"; fi
  home=$(pg_home); data="$home/data"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data"
    as_pg "$bin/initdb" -D "$data" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 >"$AGORA_RUN_DIR/logs/initdb.log" 2>&1 \
      || die "initdb failed (see $AGORA_RUN_DIR/logs/initdb.log)"
    cat >>"$data/postgresql.conf" <<CONF
# Agora local cluster
listen_addresses = '127.0.0.1'
port = $AGORA_PG_PORT
unix_socket_directories = '$home'
max_connections = 400
shared_buffers = 256MB
wal_level = minimal
max_wal_senders = 0
CONF
  fi
  if ready; then log "PostgreSQL already running on 127.0.0.1:$AGORA_PG_PORT"; return; fi
  log "starting PostgreSQL on 127.0.0.1:$AGORA_PG_PORT"
  as_pg "$bin/pg_ctl" -D "$data" -l "$home/postgres.log" -w -t 60 start >/dev/null \
    || { tail -20 "$home/postgres.log" >&2; die "PostgreSQL did not start (log: $home/postgres.log)"; }
  ln -sf "$home/postgres.log" "$AGORA_RUN_DIR/logs/postgres.log"
  as_pg "$bin/psql" -q -h 127.0.0.1 -p "$AGORA_PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1 \
    || as_pg "$bin/createdb" -h 127.0.0.1 -p "$AGORA_PG_PORT" -U "$PG_USER" "$PG_DB"
  ready || die "PostgreSQL started but does not accept connections"
}

stop() {
  [ -n "${DATABASE_URL:-}" ] && return 0
  local bin home; bin=$(pg_bindir) || return 0; home=$(pg_home)
  if [ -f "$home/data/postmaster.pid" ]; then
    log "stopping PostgreSQL"
    as_pg "$bin/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) ready ;;
  url) if [ -n "${DATABASE_URL:-}" ]; then printf '%s' "$DATABASE_URL"; else url; fi ;;
  *) die "usage: $0 start|stop|status|url" ;;
esac
