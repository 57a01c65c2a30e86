#!/usr/bin/env bash
# The Docker images and deploy/docker/compose.yml, end to end: builds both
# images, starts the compose project (a control plane and two engines, host
# networking, on free ports of 127.0.0.1), deploys and invokes a function
# and applies examples/pipeline through the CLI, then tears it all down.
# Then compose.ha.yml (three etcd members, two control plane replicas, two
# engines): deploys through one replica, invokes through the other, stops
# the first and invokes again. Last, deploy/systemd's units under a real
# systemd (PID 1 of a container made from the engine image and
# tests/docker/Dockerfile.systemd), set up as docs/operations.md says.
#
#   docker_test.sh BUILD_DIR SOURCE_DIR
#
# CI budget: compiling the project inside Docker takes longer than the
# whole CI run may, so this test builds the images' `prebuilt` target from
# the binaries CI just built (`cmake --install --strip` into a temp
# context); the default target compiles from source the same way and ends
# in the same runtime stage (deploy/docker/Dockerfile.*). Set
# AETHER_DOCKER_FROM_SOURCE=1 to build the default target instead.
#
# Needs a Docker daemon: uses a running one, else starts
# `dockerd --iptables=false --bridge=none` (as root) and stops it at the
# end. Exits 77 (a ctest skip) with the reason when none can run, or when
# docker-compose is missing. Every container, volume and process it starts
# is removed on exit.
set -euo pipefail

BUILD_DIR=$(cd "$1" && pwd)
SOURCE_DIR=$(cd "$2" && pwd)
START=$(date +%s)
TMP=$(mktemp -d /tmp/aether-docker-test.XXXXXX)
PROJECT="aethertest$$"
TAG="test$$"
DOCKERD_PID=""
COMPOSE_UP=0
HA_UP=0
SYSTEMD_CONTAINER=""
export DOCKER_BUILDKIT=0  # the classic builder: no buildx plugin needed

skip() { echo "docker_test: SKIP: $*"; exit 77; }
fail() { echo "docker_test: FAIL: $*" >&2; exit 1; }
# shellcheck source=tests/support/checks.sh
. "$SOURCE_DIR/tests/support/checks.sh"
compose() {
  AETHER_TAG="$TAG" AETHER_CONFIG_DIR="$TMP/config" AETHER_SECRETS_DIR="$TMP/secrets" \
    AETHER_CONTROL_PORT="$CONTROL_PORT" AETHER_ENGINE1_PORT="$ENGINE1_PORT" \
    AETHER_ENGINE2_PORT="$ENGINE2_PORT" \
    "${COMPOSE[@]}" -p "$PROJECT" -f "$SOURCE_DIR/deploy/docker/compose.yml" "$@"
}
# wait_healthy COMPOSE_FN SERVICE...: each service's health check passes
# within 60 s.
wait_healthy() {
  local project=$1 name id
  shift
  for name in "$@"; do
    id=$("$project" ps -q "$name")
    for _ in $(seq 1 120); do
      [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] && break
      sleep 0.5
    done
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ] ||
      fail "$name ($project) is not healthy"
  done
}
cleanup() {
  local rc=$?
  if [ "$COMPOSE_UP" = 1 ]; then
    [ "$rc" -ne 0 ] && compose logs --no-color --tail 40 2>&1 | tail -n 120
    compose down -v --remove-orphans > /dev/null 2>&1 || true
  fi
  if [ "$HA_UP" = 1 ]; then
    [ "$rc" -ne 0 ] && compose_ha logs --no-color --tail 30 2>&1 | tail -n 150
    compose_ha down -v --remove-orphans > /dev/null 2>&1 || true
  fi
  if [ -n "$SYSTEMD_CONTAINER" ]; then
    [ "$rc" -ne 0 ] && docker exec "$SYSTEMD_CONTAINER" journalctl --no-pager -n 60 2>&1 | tail -n 60
    docker rm -f "$SYSTEMD_CONTAINER" > /dev/null 2>&1 || true
  fi
  # --no-prune keeps the runtime stage's layers (the apt-get of every
  # library and the toolchain): the builder's cache for the next run.
  docker image rm --no-prune "aether-systemd:$TAG" > /dev/null 2>&1 || true
  docker image rm --no-prune "aether-control:$TAG" "aether-engine:$TAG" "aether-etcd:$TAG" \
    > /dev/null 2>&1 || true
  if [ -n "$DOCKERD_PID" ]; then
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
  echo "docker_test: $(($(date +%s) - START)) s"
  exit "$rc"
}
trap cleanup EXIT

# 1. A Docker daemon and compose.
command -v docker > /dev/null || skip "no docker client (Debian: docker.io)"
if ! docker info > /dev/null 2>&1; then
  command -v dockerd > /dev/null || skip "no Docker daemon running and no dockerd to start"
  [ "$(id -u)" = 0 ] || skip "no Docker daemon running, and starting dockerd needs root"
  dockerd --iptables=false --bridge=none > "$TMP/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 100); do
    docker info > /dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  if ! docker info > /dev/null 2>&1; then
    reason=$(tail -n 3 "$TMP/dockerd.log" | tr '\n' ' ')
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
    DOCKERD_PID=""
    skip "dockerd --iptables=false --bridge=none did not start: $reason"
  fi
fi
if docker compose version > /dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose > /dev/null; then
  COMPOSE=(docker-compose)
else
  skip "neither docker compose nor docker-compose (Debian: docker-compose) is installed"
fi

# 2. The base image, then both images.
bash "$SOURCE_DIR/scripts/docker-base.sh" || fail "no base image (scripts/docker-base.sh)"
if [ "${AETHER_DOCKER_FROM_SOURCE:-0}" = 1 ]; then
  TARGET=from-source
  CONTEXT="$SOURCE_DIR"
else
  TARGET=prebuilt
  CONTEXT="$TMP/context"
  DESTDIR="$CONTEXT" cmake --install "$BUILD_DIR" --prefix /usr/local --strip > /dev/null
fi
t0=$(date +%s)
for image in control engine; do
  docker build --network host -q --target "$TARGET" -t "aether-$image:$TAG" \
    -f "$SOURCE_DIR/deploy/docker/Dockerfile.$image" "$CONTEXT" > "$TMP/build-$image.log" 2>&1 ||
    { tail -n 30 "$TMP/build-$image.log"; fail "docker build of aether-$image"; }
done
echo "docker_test: images built ($TARGET) in $(($(date +%s) - t0)) s"

# 3. Configs on free ports (host networking), secrets for uid 10001.
read -r CONTROL_PORT ENGINE1_PORT ENGINE2_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
mkdir -p "$TMP/config" "$TMP/secrets"
sed "s/^port = 9090/port = $CONTROL_PORT/" "$SOURCE_DIR/deploy/docker/config/control.toml" \
  > "$TMP/config/control.toml"
for i in 1 2; do
  port_var="ENGINE${i}_PORT"
  sed -e "s/^port = 909$i\$/port = ${!port_var}/" \
      -e "s#http://127.0.0.1:9090#http://127.0.0.1:$CONTROL_PORT#" \
      "$SOURCE_DIR/deploy/docker/config/engine-$i.toml" > "$TMP/config/engine-$i.toml"
done
grep -q "port = $ENGINE2_PORT" "$TMP/config/engine-2.toml" || fail "engine-2.toml has no port line"
ADMIN_TOKEN=$(openssl rand -hex 32)
printf '%s\n' "$ADMIN_TOKEN" > "$TMP/secrets/admin.token"
openssl rand -hex 32 > "$TMP/secrets/join.token"
chmod 0755 "$TMP"
chmod 0644 "$TMP"/config/*.toml
chown 10001:10001 "$TMP"/secrets/*.token
chmod 0400 "$TMP"/secrets/*.token

# 4. Up, healthy.
t0=$(date +%s)
COMPOSE_UP=1
compose up -d --no-build > "$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; fail "compose up"; }
wait_healthy compose control engine-1 engine-2
echo "docker_test: compose up and healthy in $(($(date +%s) - t0)) s"

# 5. Deploy, invoke through the gateway (either engine), the example workflow.
export AETHER_CONTROL="http://127.0.0.1:$CONTROL_PORT" AETHER_TOKEN="$ADMIN_TOKEN"
AETHER="$BUILD_DIR/bin/aether"
for _ in $(seq 1 60); do
  [ "$("$AETHER" nodes ls 2>/dev/null | grep -c -E '^edge-[12] .* up ')" = 2 ] && break
  sleep 0.5
done
"$AETHER" nodes ls | grep -c -E '^edge-[12] .* up ' | grep -qx 2 ||
  fail "both engines should be up: $("$AETHER" nodes ls 2>&1)"
"$AETHER" deploy hello "$BUILD_DIR/functions/hello.wasm" > /dev/null
wait_invoke "$AETHER" hello docker "$TMP/invoke.log"

"$AETHER" workflow apply "$SOURCE_DIR/examples/pipeline/workflow.json" > "$TMP/apply.log" 2>&1 ||
  fail "workflow apply: $(cat "$TMP/apply.log")"
ingress=$(pipeline_accepts "$TMP/apply.log")
verdict=$(curl -s -m 5 -d '{"amount": 20}' "$ingress")
[ "$verdict" = '{"verdict":"reject","reason":"amount 20 < 100"}' ] ||
  fail "pipeline ingress answered '$verdict' to a small order"

compose down -v --remove-orphans > /dev/null 2>&1 || fail "compose down"
COMPOSE_UP=0

# 6. compose.ha.yml: three etcd members, two control plane replicas on them,
# two engines following both. A function deployed through one replica is
# served through the other, and still after the first one stops.
t0=$(date +%s)
mkdir -p "$TMP/etcd-context"
docker build --network host -q -t "aether-etcd:$TAG" \
  -f "$SOURCE_DIR/deploy/docker/Dockerfile.etcd" "$TMP/etcd-context" > "$TMP/build-etcd.log" 2>&1 ||
  { tail -n 30 "$TMP/build-etcd.log"; fail "docker build of aether-etcd"; }
read -r E1C E1P E2C E2P E3C E3P C1 C2 N1 N2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(10)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
mkdir -p "$TMP/config-ha"
for f in control-1 control-2 engine-1 engine-2; do
  sed -e "s/127\.0\.0\.1:2379\b/127.0.0.1:$E1C/" -e "s/127\.0\.0\.1:12379\b/127.0.0.1:$E2C/" \
      -e "s/127\.0\.0\.1:22379\b/127.0.0.1:$E3C/" \
      -e "s/127\.0\.0\.1:9090\b/127.0.0.1:$C1/g" -e "s/127\.0\.0\.1:9093\b/127.0.0.1:$C2/g" \
      -e "s/^port = 9090\$/port = $C1/" -e "s/^port = 9093\$/port = $C2/" \
      -e "s/^port = 9091\$/port = $N1/" -e "s/^port = 9092\$/port = $N2/" \
      "$SOURCE_DIR/deploy/docker/config-ha/$f.toml" > "$TMP/config-ha/$f.toml"
done
grep -q "127.0.0.1:$E3C" "$TMP/config-ha/control-2.toml" || fail "control-2.toml: no etcd endpoints"
grep -q "port = $N2" "$TMP/config-ha/engine-2.toml" || fail "engine-2.toml has no port line"
chmod 0644 "$TMP"/config-ha/*.toml
HA_PROJECT="${PROJECT}ha"
compose_ha() {
  AETHER_TAG="$TAG" AETHER_CONFIG_DIR="$TMP/config-ha" AETHER_SECRETS_DIR="$TMP/secrets" \
    AETHER_ETCD1_CLIENT="$E1C" AETHER_ETCD1_PEER="$E1P" AETHER_ETCD2_CLIENT="$E2C" \
    AETHER_ETCD2_PEER="$E2P" AETHER_ETCD3_CLIENT="$E3C" AETHER_ETCD3_PEER="$E3P" \
    AETHER_CONTROL1_PORT="$C1" AETHER_CONTROL2_PORT="$C2" AETHER_ENGINE1_PORT="$N1" \
    AETHER_ENGINE2_PORT="$N2" \
    "${COMPOSE[@]}" -p "$HA_PROJECT" -f "$SOURCE_DIR/deploy/docker/compose.ha.yml" "$@"
}
HA_UP=1
compose_ha up -d --no-build > "$TMP/up-ha.log" 2>&1 || { cat "$TMP/up-ha.log"; fail "compose up (HA)"; }
wait_healthy compose_ha etcd-1 etcd-2 etcd-3 control-1 control-2 engine-1 engine-2
echo "docker_test: HA compose up and healthy in $(($(date +%s) - t0)) s"
ONE="http://127.0.0.1:$C1" TWO="http://127.0.0.1:$C2"
for _ in $(seq 1 60); do
  [ "$("$AETHER" nodes ls --control "$TWO" 2>/dev/null | grep -c -E '^edge-[12] .* up ')" = 2 ] &&
    break
  sleep 0.5
done
"$AETHER" nodes ls --control "$TWO" | grep -c -E '^edge-[12] .* up ' | grep -qx 2 ||
  fail "both engines should be up (HA): $("$AETHER" nodes ls --control "$TWO" 2>&1)"
"$AETHER" deploy hello "$BUILD_DIR/functions/hello.wasm" --control "$ONE" > /dev/null
wait_invoke "$AETHER" hello "replica two" "$TMP/invoke-ha.log" --control "$TWO"
docker stop -t 10 "$(compose_ha ps -q control-1)" > /dev/null
wait_invoke "$AETHER" hello "one replica down" "$TMP/invoke-ha.log" --control "$TWO"
"$AETHER" nodes ls --control "$ONE,$TWO" | grep -c -E '^edge-[12] .* up ' | grep -qx 2 ||
  fail "both engines should stay up with one replica: $("$AETHER" nodes ls --control "$TWO" 2>&1)"
echo "docker_test: HA checks in $(($(date +%s) - t0)) s"

compose_ha down -v --remove-orphans > /dev/null 2>&1 || fail "compose down (HA)"
HA_UP=0

# 7. The systemd units under systemd: the engine image with systemd as PID
# 1 (--cap-add SYS_ADMIN: it mounts what it needs; its own network
# namespace, so the example configs' ports 9090/9091 are free), set up
# with docs/operations.md's commands, with MemoryDenyWriteExecute=yes on.
# One departure: LoadCredential= with User= does not work in a container
# here (systemd 252 leaves the credential directory root's: "Permission
# denied" for the service), so a drop-in clears it and the configs name
# the token files instead ([auth] token_file, join_token_file).
t0=$(date +%s)
docker build --network host -q --build-arg "ENGINE_IMAGE=aether-engine:$TAG" \
  -t "aether-systemd:$TAG" -f "$SOURCE_DIR/tests/docker/Dockerfile.systemd" "$TMP/etcd-context" \
  > "$TMP/build-systemd.log" 2>&1 ||
  { tail -n 30 "$TMP/build-systemd.log"; fail "docker build of aether-systemd"; }
SYSTEMD_CONTAINER="aethersystemd$$"
docker run -d --name "$SYSTEMD_CONTAINER" --cap-add SYS_ADMIN --network none \
  -v /sys/fs/cgroup:/sys/fs/cgroup:ro "aether-systemd:$TAG" > /dev/null ||
  fail "docker run of the systemd container"
docker cp "$BUILD_DIR/functions/hello.wasm" "$SYSTEMD_CONTAINER:/root/hello.wasm"
docker exec -i "$SYSTEMD_CONTAINER" bash -s > "$TMP/systemd.log" 2>&1 << 'SETUP' ||
set -euo pipefail
for _ in $(seq 1 100); do
  state=$(systemctl is-system-running 2> /dev/null || true)
  [ "$state" = running ] || [ "$state" = degraded ] && break
  sleep 0.1
done
# docs/operations.md, "systemd":
systemd-sysusers
install -d -m 0750 -g aether /etc/aether
install -m 0640 -g aether /usr/local/share/aether/examples/control.toml /etc/aether/
install -m 0640 -g aether /usr/local/share/aether/examples/engine.toml /etc/aether/
(umask 077; openssl rand -hex 32 > /etc/aether/admin.token; openssl rand -hex 32 > /etc/aether/join.token)
# The container's departure (above).
chgrp aether /etc/aether/*.token
chmod 0640 /etc/aether/*.token
printf '\n[auth]\ntoken_file = "/etc/aether/admin.token"\njoin_token_file = "/etc/aether/join.token"\n' \
  >> /etc/aether/control.toml
printf '\n[auth]\njoin_token_file = "/etc/aether/join.token"\n' >> /etc/aether/engine.toml
for unit in aether-control aether-engine; do
  mkdir -p "/etc/systemd/system/$unit.service.d"
  printf '[Service]\nLoadCredential=\n' > "/etc/systemd/system/$unit.service.d/test.conf"
done
systemctl daemon-reload
systemctl enable --now aether-control aether-engine

export AETHER_CONTROL=http://127.0.0.1:9090 AETHER_TOKEN
AETHER_TOKEN=$(cat /etc/aether/admin.token)
for _ in $(seq 1 100); do
  aether nodes ls 2> /dev/null | grep -q ' up ' && break
  sleep 0.2
done
aether nodes ls | grep -q ' up ' || { echo "the engine did not join"; exit 1; }
[ "$(systemctl show -p MemoryDenyWriteExecute --value aether-engine)" = yes ] ||
  { echo "the engine runs without MemoryDenyWriteExecute"; exit 1; }
[ "$(stat -c %U /proc/"$(systemctl show -p MainPID --value aether-engine)")" = aether ] ||
  { echo "the engine does not run as aether"; exit 1; }
aether deploy hello /root/hello.wasm
out=""
for _ in $(seq 1 100); do
  out=$(aether invoke hello --input '"systemd"' 2> /dev/null) && break
  sleep 0.2
done
[ "$out" = "Hello, systemd!" ] || { echo "invoke answered '$out'"; exit 1; }
# The optimizing tier (gcc) under the same hardening.
for _ in $(seq 1 300); do
  journalctl --no-pager -u aether-engine | grep -q 'optimized tier ready' && break
  sleep 0.2
done
journalctl --no-pager -u aether-engine | grep -q 'optimized tier ready' ||
  { echo "no optimized tier"; exit 1; }
[ "$(aether invoke hello --input '"gcc"')" = "Hello, gcc!" ] ||
  { echo "invoke on the optimized tier failed"; exit 1; }
# A graceful stop: the node leaves at once.
systemctl stop aether-engine
[ "$(systemctl show -p Result --value aether-engine)" = success ] ||
  { echo "the engine did not stop cleanly"; exit 1; }
aether nodes ls | grep -q ' down ' || { echo "the stopped engine is not down"; exit 1; }
echo "systemd: OK ($(aether nodes ls | grep -c ' down ') node down, tiers: $(journalctl --no-pager -u aether-engine | grep -c 'optimized tier ready') optimized)"
SETUP
  { cat "$TMP/systemd.log"; fail "the systemd units"; }
grep -q "^systemd: OK" "$TMP/systemd.log" || { cat "$TMP/systemd.log"; fail "the systemd checks did not finish"; }
echo "docker_test: $(grep '^systemd: OK' "$TMP/systemd.log"); in $(($(date +%s) - t0)) s"

# 8. Down (in cleanup).
echo "docker_test: OK"
