#!/usr/bin/env bash
# The control plane on etcd against the embedded SQLite one (issue #12):
#   * deploys/s (sequential PUTs) and manifest reads/s (wrk) on one SQLite
#     control plane, then on one of 3 replicas sharing a 3-member etcd;
#   * deploy-to-ready of hello on 2 engines that know all 3 replicas;
#   * leader failover: kill -9 the leader replica, time until another one
#     says it leads (/health polled every 20 ms), against 2 x lease_ttl.
# Everything on 127.0.0.1 (free ports, temp dirs); prints a markdown table,
# writes it to bench/results/<UTC>-ha.md; kills only what it started.
# Env: BUILD_DIR (build), DURATION (5s), DEPLOYS (50), LEASE (5s).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-5s}
DEPLOYS=${DEPLOYS:-50}
LEASE=${LEASE:-5s}
BIN="$BUILD_DIR/bin"
LUA="$PWD/bench/post-execute.lua"
HELLO="$BUILD_DIR/guests/hello.wasm"
BENCH_NAME=ha_bench
ETCD=$(command -v etcd || true)
[ -n "$ETCD" ] || { echo "ha_bench: etcd is not installed" >&2; exit 1; }
# shellcheck source=bench/cluster.sh
. bench/cluster.sh

deploys_per_s() {  # control-url -> deploys/s of DEPLOYS sequential PUTs
  local t0 ms
  t0=$(now_ms)
  for i in $(seq 1 "$DEPLOYS"); do
    curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' --data-binary "@$HELLO" \
      "$1/api/functions/bench$((i % 5))?env=RUN=$i" >/dev/null || die "deploy $i to $1 failed"
  done
  ms=$(( $(now_ms) - t0 ))
  python3 -c "print(round($DEPLOYS / ($ms / 1000.0), 1))"
}
manifest_reads() {  # control-url -> "req/s p99_ms non2xx"
  LABEL=manifest BODY=none METHOD=GET TOKEN="$TOKEN" \
    wrk -t2 -c64 -d"$DURATION" --latency -s "$LUA" "$1/api/functions/manifest" 2>&1 |
    grep '^RESULT' | sed -E 's/.*req_s=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+).*non2xx=([0-9]+).*/\1 \3 \4/'
}

# 1. SQLite: one process.
start_control 10s 1s
SQ_DEPLOYS=$(deploys_per_s "$CTRL")
read -r SQ_READS SQ_P99 SQ_BAD <<< "$(manifest_reads "$CTRL")"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
PIDS=()

# 2. etcd: 3 members, 3 replicas, 2 engines.
INITIAL=""; ENDPOINTS=""
declare -a CLIENT PEER
for i in 0 1 2; do
  CLIENT[i]=$(free_port); PEER[i]=$(free_port)
  INITIAL+="${INITIAL:+,}e$i=http://127.0.0.1:${PEER[i]}"
  ENDPOINTS+="${ENDPOINTS:+, }\"http://127.0.0.1:${CLIENT[i]}\""
done
for i in 0 1 2; do
  "$ETCD" --name "e$i" --data-dir "$WORK/etcd$i" \
    --listen-client-urls "http://127.0.0.1:${CLIENT[i]}" --advertise-client-urls "http://127.0.0.1:${CLIENT[i]}" \
    --listen-peer-urls "http://127.0.0.1:${PEER[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${PEER[i]}" \
    --initial-cluster "$INITIAL" --initial-cluster-state new > "$WORK/etcd$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 0 1 2; do wait_http "http://127.0.0.1:${CLIENT[i]}/health"; done
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
JOIN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
AUTH=(-H "Authorization: Bearer $TOKEN")
declare -a RURL RPID
CONTROL_URLS=""
for i in 0 1 2; do
  p=$(free_port)
  RURL[i]="http://127.0.0.1:$p"
  cat > "$WORK/replica$i.toml" <<TOML
[server]
port = $p
[database]
path = "$WORK/replica$i/aether.db"
[store]
backend = "etcd"
endpoints = [$ENDPOINTS]
[cluster]
replica_id = "r$i"
lease_ttl = "$LEASE"
[registry]
node_timeout = "10s"
heartbeat_interval = "1s"
[auth]
token = "$TOKEN"
join_token = "$JOIN"
[log]
level = "${LOG_LEVEL:-warn}"
TOML
  "$BIN/aether-control" --config "$WORK/replica$i.toml" 2> "$WORK/replica$i.log" &
  RPID[i]=$!
  PIDS+=($!)
  wait_http "${RURL[i]}/health"
  CONTROL_URLS+="${CONTROL_URLS:+, }\"${RURL[i]}\""
done
CTRL=${RURL[0]}
# Every replica listed (a deploy waits for a copy on a second one).
for _ in $(seq 1 200); do
  n=$(curl -fs "${AUTH[@]}" "$CTRL/api/cluster" | json "len(d['replicas'])" || echo 0)
  [ "$n" = 3 ] && break
  sleep 0.05
done
ET_DEPLOYS=$(deploys_per_s "$CTRL")
read -r ET_READS ET_P99 ET_BAD <<< "$(manifest_reads "$CTRL")"

for n in 1 2; do start_engine "$n" 1s; done
for _ in $(seq 1 200); do
  up=$(curl -fs "${AUTH[@]}" "$CTRL/api/nodes" | json "sum(1 for n in d['nodes'] if n['state']=='up')" || echo 0)
  [ "$up" = 2 ] && break
  sleep 0.05
done
t0=$(now_ms)
sha=$(curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' --data-binary "@$HELLO" \
  "$CTRL/api/functions/ready-check" | json "d['sha256']")
READY_MS=timeout
for _ in $(seq 1 3000); do
  ready=$(curl -fs "${AUTH[@]}" "$CTRL/api/functions/ready-check" |
    json "sum(1 for n in d.get('nodes',[]) if n.get('ready') and n.get('sha256')=='$sha')")
  if [ "$ready" = 2 ]; then READY_MS=$(( $(now_ms) - t0 )); break; fi
  sleep 0.01
done

# Failover: kill -9 the leader; the first other replica to say "leader".
role() { curl -fs --max-time 1 "$1/health" | json "d['role']" 2>/dev/null || echo none; }
LEADER=-1
for i in 0 1 2; do [ "$(role "${RURL[i]}")" = leader ] && LEADER=$i; done
[ "$LEADER" -ge 0 ] || die "no leader among the replicas"
kill -9 "${RPID[LEADER]}"
t0=$(now_ms)
FAILOVER_MS=timeout
while [ $(( $(now_ms) - t0 )) -lt 60000 ]; do
  for i in 0 1 2; do
    [ "$i" = "$LEADER" ] && continue
    if [ "$(role "${RURL[i]}")" = leader ]; then FAILOVER_MS=$(( $(now_ms) - t0 )); break 2; fi
  done
  sleep 0.02
done
LEASE_MS=$(python3 -c "print(int(float('${LEASE%s}') * 1000))")

REPORT=$(cat <<TABLE
## Control plane on etcd ($(date -u +%Y-%m-%dT%H:%M:%SZ); 3 etcd members, 3 replicas, lease_ttl $LEASE; wrk -t2 -c64 -d$DURATION)

| figure | SQLite (one process) | etcd (3 replicas) | etcd / SQLite | target |
|---|---:|---:|---:|---|
| deploys/s ($DEPLOYS sequential PUTs of hello) | $SQ_DEPLOYS | $ET_DEPLOYS | $(python3 -c "print(round($ET_DEPLOYS / max($SQ_DEPLOYS, 0.1), 2))") | ≥ 0.5 |
| manifest reads/s | $SQ_READS (p99 $SQ_P99 ms, non-2xx $SQ_BAD) | $ET_READS (p99 $ET_P99 ms, non-2xx $ET_BAD) | $(python3 -c "print(round($ET_READS / max($SQ_READS, 1), 2))") | unchanged |
| deploy-to-ready, hello on 2 engines | | $READY_MS ms | | |
| leader failover (kill -9 → another replica leads) | | $FAILOVER_MS ms | $( [ "$FAILOVER_MS" = timeout ] && echo - || python3 -c "print(round($FAILOVER_MS / $LEASE_MS, 2))") × lease_ttl | ≤ 2 × lease_ttl |
TABLE
)
echo "$REPORT"
mkdir -p bench/results
echo "$REPORT" > "bench/results/$(date -u +%Y%m%dT%H%MZ)-ha.md"
