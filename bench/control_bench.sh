#!/usr/bin/env bash
# Control-plane benchmarks (issue: the control plane, the CLI and in-a-box):
#   * deploy-to-ready time of hello and of a 1 MiB module on 2 engines;
#   * /api/invoke (gateway) req/s against a direct /execute on one engine;
#   * control-plane deploys/s and manifest reads/s.
# Starts aether-control and two aether-engines on 127.0.0.1 (free ports, temp
# data dirs), prints a markdown table, kills only what it started.
# Env: BUILD_DIR (build), DURATION (5s), DEPLOYS (50).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-5s}
DEPLOYS=${DEPLOYS:-50}
BIN="$BUILD_DIR/bin"
LUA="$PWD/bench/post-execute.lua"
HELLO="$BUILD_DIR/guests/hello.wasm"
BENCH_NAME=control_bench
# shellcheck source=bench/cluster.sh
. bench/cluster.sh
start_control 10s 1s
EPORTS=()
for n in 1 2; do
  start_engine "$n" 1s
  EPORTS+=("${EPORT[$n]}")
done
for _ in $(seq 1 200); do
  up=$(curl -fs "${AUTH[@]}" "$CTRL/api/nodes" | json "sum(1 for n in d['nodes'] if n['state']=='up')" || echo 0)
  [ "$up" = 2 ] && break
  sleep 0.05
done

# deploy_to_ready NAME FILE -> milliseconds until both nodes report the new sha256 ready
deploy_to_ready() {
  local t0 sha
  t0=$(now_ms)
  sha=$(curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' --data-binary "@$2" \
    "$CTRL/api/functions/$1" | json "d['sha256']")
  for _ in $(seq 1 6000); do
    ready=$(curl -fs "${AUTH[@]}" "$CTRL/api/functions/$1" |
      json "sum(1 for n in d.get('nodes',[]) if n.get('ready') and n.get('sha256')=='$sha')")
    if [ "$ready" = 2 ]; then echo $(( $(now_ms) - t0 )); return; fi
    sleep 0.01
  done
  echo "timeout"
}

python3 bench/make_big_module.py "$WORK/big.wasm"
READY_HELLO=$(deploy_to_ready hello "$HELLO")
READY_BIG=$(deploy_to_ready big "$WORK/big.wasm")

wrk_run() {  # label url [env...]
  local label=$1 url=$2; shift 2
  env "$@" LABEL="$label" wrk -t2 -c64 -d"$DURATION" --latency -s "$LUA" "$url" 2>&1 | grep '^RESULT' |
    sed -E 's/.*req_s=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+).*non2xx=([0-9]+).*/\1 \2 \3 \4/'
}
sleep 1
read -r EX_RPS EX_P50 EX_P99 EX_BAD <<< "$(wrk_run execute "http://127.0.0.1:${EPORTS[0]}/execute" FN=hello)"
read -r GW_RPS GW_P50 GW_P99 GW_BAD <<< "$(wrk_run invoke "$CTRL/api/invoke/hello" BODY=invoke TOKEN="$TOKEN")"
read -r MF_RPS MF_P50 MF_P99 MF_BAD <<< "$(wrk_run manifest "$CTRL/api/functions/manifest" BODY=none METHOD=GET TOKEN="$TOKEN")"

t0=$(now_ms)
for i in $(seq 1 "$DEPLOYS"); do
  curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' --data-binary "@$HELLO" \
    "$CTRL/api/functions/bench$((i % 5))?env=RUN=$i" >/dev/null
done
DEPLOY_MS=$(( $(now_ms) - t0 ))
DEPLOYS_PER_S=$(python3 -c "print(round($DEPLOYS / ($DEPLOY_MS / 1000.0), 1))")

cat <<TABLE
## Control plane ($(date -u +%Y-%m-%dT%H:%M:%SZ), 2 engines, wrk -t2 -c64 -d$DURATION)

| figure | value |
|---|---:|
| deploy-to-ready, hello ($(( $(stat -c %s "$HELLO") / 1024 )) KB) on 2 engines | $READY_HELLO ms |
| deploy-to-ready, 1 MiB module on 2 engines | $READY_BIG ms |
| direct engine /execute hello | $EX_RPS req/s (p50 $EX_P50 ms, p99 $EX_P99 ms, non-2xx $EX_BAD) |
| gateway /api/invoke/hello | $GW_RPS req/s (p50 $GW_P50 ms, p99 $GW_P99 ms, non-2xx $GW_BAD) |
| gateway / direct | $(python3 -c "print(round($GW_RPS / max($EX_RPS, 1), 3))") |
| deploys/s (sequential PUT, $DEPLOYS deploys) | $DEPLOYS_PER_S |
| manifest reads/s | $MF_RPS req/s (p99 $MF_P99 ms, non-2xx $MF_BAD) |
TABLE
