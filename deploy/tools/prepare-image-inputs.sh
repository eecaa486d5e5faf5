#!/usr/bin/env bash
# Fetches, on the host, everything the image builds need, into the (git-ignored) build context folders,
# so that `docker build --network none` works offline:
#   deploy/docker/wheels/requirements.txt   runtime requirements exported from uv.lock, with hashes
#   deploy/docker/wheels/runtime/           their wheels for Linux x86_64, CPython 3.11 (binary only)
#   deploy/docker/wheels/build/             hatchling, which builds the agora wheel inside the image
#   deploy/docker/kafka-libs/               the Kafka broker jars pinned by deploy/local/pom.xml
# Quick when nothing changed (stamps on uv.lock and pom.xml). Needs uv, pip (python3 -m pip), Maven, Java.
#   prepare-image-inputs.sh [wheels|kafka|all]   (default all)
set -euo pipefail

AGORA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AGORA_RUN_DIR="${AGORA_RUN_DIR:-$AGORA_ROOT/.run}"
WHEELS="$AGORA_ROOT/deploy/docker/wheels"
LIBS="$AGORA_ROOT/deploy/docker/kafka-libs"
# hatchling builds the agora wheel (pyproject.toml [build-system]); pinned here since uv.lock does not lock build tools.
HATCHLING="hatchling==1.27.0"
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_5_x86_64 manylinux1_x86_64)

log() { printf '[agora] %s\n' "$*" >&2; }
die() { printf '[agora] error: %s\n' "$*" >&2; exit 1; }
mkdir -p "$AGORA_RUN_DIR/logs"

stamp_of() { cat "$@" | sha1sum | cut -c1-40; }

wheels() {
  local stamp; stamp=$(printf '%s %s' "$(stamp_of "$AGORA_ROOT/uv.lock")" "$HATCHLING" | sha1sum | cut -c1-40)
  if [ -f "$WHEELS/.stamp" ] && [ "$(cat "$WHEELS/.stamp")" = "$stamp" ]; then return; fi
  command -v uv >/dev/null || die "uv is needed to export the locked requirements"
  python3 -m pip --version >/dev/null 2>&1 || die "pip is needed (python3 -m pip) to download wheels"
  log "downloading wheels for the image into $WHEELS (uv.lock changed or first run)"
  rm -rf "$WHEELS"; mkdir -p "$WHEELS/runtime" "$WHEELS/build"
  (cd "$AGORA_ROOT" && uv export --frozen --no-dev --no-emit-project --format requirements-txt \
    --output-file "$WHEELS/requirements.txt" >/dev/null)
  local plat=(); for p in "${PLATFORMS[@]}"; do plat+=(--platform "$p"); done
  local pipdl=(python3 -m pip download --disable-pip-version-check --quiet --only-binary=:all:
    --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none "${plat[@]}" --platform any)
  "${pipdl[@]}" --no-deps --require-hashes -r "$WHEELS/requirements.txt" -d "$WHEELS/runtime" \
    >"$AGORA_RUN_DIR/logs/wheels.log" 2>&1 || { tail -20 "$AGORA_RUN_DIR/logs/wheels.log" >&2; die "wheel download failed"; }
  "${pipdl[@]}" "$HATCHLING" -d "$WHEELS/build" \
    >>"$AGORA_RUN_DIR/logs/wheels.log" 2>&1 || { tail -20 "$AGORA_RUN_DIR/logs/wheels.log" >&2; die "hatchling download failed"; }
  echo "$stamp" >"$WHEELS/.stamp"
  log "$(find "$WHEELS/runtime" -name '*.whl' | wc -l) runtime wheels, $(find "$WHEELS/build" -name '*.whl' | wc -l) build wheels"
}

kafka_libs() {
  local pom="$AGORA_ROOT/deploy/local/pom.xml" stamp
  stamp=$(stamp_of "$pom")
  if [ -f "$LIBS/.stamp" ] && [ "$(cat "$LIBS/.stamp")" = "$stamp" ]; then return; fi
  command -v mvn >/dev/null || die "Maven is needed to fetch the Kafka jars (apt-get install maven)"
  log "fetching Kafka broker jars into $LIBS (deploy/local/pom.xml)"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -B -q -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" \
    >"$AGORA_RUN_DIR/logs/maven-image.log" 2>&1 || { tail -20 "$AGORA_RUN_DIR/logs/maven-image.log" >&2; die "maven could not fetch Kafka"; }
  echo "$stamp" >"$LIBS/.stamp"
  log "$(find "$LIBS" -name '*.jar' | wc -l) jars"
}

case "${1:-all}" in
  wheels) wheels ;;
  kafka) kafka_libs ;;
  all) wheels; kafka_libs ;;
  *) die "usage: $0 [wheels|kafka|all]" ;;
esac
