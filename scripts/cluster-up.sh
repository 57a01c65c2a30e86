#!/usr/bin/env bash
# A highly available Aether on this machine: a 3-member etcd cluster, 3
# aether-control replicas sharing it, and 2 engines that know all three
# replicas, everything on 127.0.0.1. Deploys the example functions through
# one replica and prints how to call them, how to see the replicas and how
# to try a failover. Ctrl-C stops everything (by PID). docs/operations.md,
# "Several replicas", explains what runs.
#
#   scripts/cluster-up.sh                  # state in a new temporary directory
#   CLUSTER_DIR=./ha scripts/cluster-up.sh # state kept in ./ha across runs
#   BASE_PORT=9300 scripts/cluster-up.sh   # ports BASE_PORT..BASE_PORT+11
#
# Ports: etcd clients BASE+0..2 and peers BASE+3..5, replicas BASE+6..8,
# engines BASE+9..10.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
BASE_PORT=${BASE_PORT:-9300}
BIN="$(cd "$BUILD_DIR/bin" 2>/dev/null && pwd || true)"
FUNCTIONS="$BUILD_DIR/functions"
ETCD=$(command -v etcd || true)

die() { echo "cluster-up: $*" >&2; exit 1; }
[ -n "$BIN" ] && [ -x "$BIN/aether-control" ] && [ -x "$BIN/aether-engine" ] ||
  die "$BUILD_DIR/bin has no aether-control or aether-engine; run 'make build' first"
[ -n "$ETCD" ] || die "etcd is not installed (scripts/install-deps.sh installs etcd-server)"
case "$BASE_PORT" in ''|*[!0-9]*) die "BASE_PORT must be a number" ;; esac
[ "$BASE_PORT" -ge 1024 ] && [ "$BASE_PORT" -le 65000 ] || die "BASE_PORT must be 1024-65000"
for ((p = BASE_PORT; p <= BASE_PORT + 10; p++)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port $p on 127.0.0.1 is taken (another cluster-up? set BASE_PORT)"
  fi
done

if [ -n "${CLUSTER_DIR:-}" ]; then
  mkdir -p "$CLUSTER_DIR"
  DIR="$(cd "$CLUSTER_DIR" && pwd)"
else
  DIR="$(mktemp -d /tmp/aether-cluster.XXXXXX)"
fi
mkdir -p "$DIR/logs"

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "cluster-up: stopping..."
  # Engines and replicas first (a clean stop hands the lead over), etcd last.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "cluster-up: stopped; state and logs are in $DIR"
}
trap cleanup EXIT INT TERM

# Waits until `url` answers (any HTTP status) or `what` has died.
wait_http() {
  local url=$1 pid=$2 what=$3 log=$4
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$what exited (log: $log)"; }
    sleep 0.2
  done
  tail -n 20 "$log" >&2
  die "$what did not answer at $url within 30 s (log: $log)"
}

# Tokens shared by the replicas (they copy modules to each other with the
# admin token), kept with the state.
if [ ! -f "$DIR/admin.token" ]; then
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/admin.token")
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/join.token")
fi
ADMIN=$(cat "$DIR/admin.token")
JOIN=$(cat "$DIR/join.token")

# etcd: 3 members.
INITIAL=""
ENDPOINTS=""
for i in 0 1 2; do
  INITIAL+="${INITIAL:+,}etcd-$i=http://127.0.0.1:$((BASE_PORT + 3 + i))"
  ENDPOINTS+="${ENDPOINTS:+, }\"http://127.0.0.1:$((BASE_PORT + i))\""
done
STATE=new
[ -d "$DIR/etcd-0" ] && STATE=existing
for i in 0 1 2; do
  client="http://127.0.0.1:$((BASE_PORT + i))"
  peer="http://127.0.0.1:$((BASE_PORT + 3 + i))"
  "$ETCD" --name "etcd-$i" --data-dir "$DIR/etcd-$i" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$INITIAL" --initial-cluster-state "$STATE" \
    --initial-cluster-token aether-cluster-up >"$DIR/logs/etcd-$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 0 1 2; do
  wait_http "http://127.0.0.1:$((BASE_PORT + i))/health" "${PIDS[i]}" "etcd member $i" \
    "$DIR/logs/etcd-$i.log"
done
echo "etcd: 3 members, clients at 127.0.0.1:$BASE_PORT-$((BASE_PORT + 2))"

# 3 replicas of the control plane.
URLS=""
for i in 1 2 3; do
  port=$((BASE_PORT + 5 + i))
  cat >"$DIR/control-$i.toml" <<TOML
[server]
host = "127.0.0.1"
port = $port
[database]
path = "$DIR/control-$i/aether.db"
[store]
backend = "etcd"
endpoints = [$ENDPOINTS]
prefix = "/aether/"
[cluster]
replica_id = "ctl-$i"
lease_ttl = "5s"
[auth]
token = "$ADMIN"
join_token = "$JOIN"
TOML
  "$BIN/aether-control" --config "$DIR/control-$i.toml" >"$DIR/logs/control-$i.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/health" "$!" "replica ctl-$i" "$DIR/logs/control-$i.log"
  URLS+="${URLS:+,}http://127.0.0.1:$port"
done
TOML_URLS="\"${URLS//,/\", \"}\""
echo "control plane: replicas ctl-1..3 at $URLS"

# 2 engines, each knowing every replica.
for i in 1 2; do
  port=$((BASE_PORT + 8 + i))
  cat >"$DIR/engine-$i.toml" <<TOML
[server]
host = "127.0.0.1"
port = $port
[runtime]
data_dir = "$DIR/engine-$i"
[control]
urls = [$TOML_URLS]
node_id = "edge-$i"
[auth]
join_token = "$JOIN"
TOML
  "$BIN/aether-engine" --config "$DIR/engine-$i.toml" >"$DIR/logs/engine-$i.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$port/health" "$!" "engine edge-$i" "$DIR/logs/engine-$i.log"
done
echo "engines: edge-1 at 127.0.0.1:$((BASE_PORT + 9)), edge-2 at 127.0.0.1:$((BASE_PORT + 10))"

export AETHER_CONTROL="$URLS" AETHER_TOKEN="$ADMIN"
deployed=0
for wasm in "$FUNCTIONS"/*.wasm; do
  [ -e "$wasm" ] || break
  name=$(basename "$wasm" .wasm)
  if "$BIN/aether" deploy "$name" "$wasm" >/dev/null; then
    deployed=$((deployed + 1))
  else
    echo "cluster-up: deploying $name failed (see above)" >&2
  fi
done
echo "deployed $deployed example functions through the replicas"

cat <<MSG

Try it (in another shell):
  export PATH="$BIN:\$PATH" AETHER_CONTROL="$URLS" AETHER_TOKEN="$ADMIN"
  aether cluster status                 # the replicas: who leads, revision, artifacts
  aether nodes ls                       # both engines
  aether invoke hello --raw edge        # through the gateway of a replica
  curl -s -X POST 127.0.0.1:$((BASE_PORT + 9))/execute -d '{"function":"hello","input":"edge"}'

Fail over: kill -9 the leader replica (its PID is in $DIR/logs/pids),
then run 'aether cluster status' again: another leads within ~2 x 5 s, and
deploys, invokes and the engines carry on.

State and logs: $DIR   Ctrl-C stops everything.
MSG
printf '%s\n' "etcd: ${PIDS[*]:0:3}" "replicas (ctl-1 ctl-2 ctl-3): ${PIDS[*]:3:3}" \
  "engines (edge-1 edge-2): ${PIDS[*]:6:2}" >"$DIR/logs/pids"

# Runs until Ctrl-C; says so when a process exits (or is killed to try a
# failover).
declare -A GONE=()
while true; do
  for pid in "${PIDS[@]}"; do
    if [ -z "${GONE[$pid]:-}" ] && ! kill -0 "$pid" 2>/dev/null; then
      GONE[$pid]=1
      echo "cluster-up: process $pid exited (logs in $DIR/logs); the others keep running"
    fi
  done
  sleep 2
done
