#!/usr/bin/env bash
# `aether bench` (EDGELESS's edgeless_benchmark, ported: docs/cli.md) against
# a local cluster: aether-control and two aether-engines on 127.0.0.1 (free
# ports, temp data dirs; bench/cluster.sh), then one run per row below, each
# with --json, printed as a markdown table:
#   * single, chain (2-4) and map-reduce (1-3 stages of 1-3 blocks) workflows
#     arriving as a Poisson process (mean inter-arrival INTERARRIVAL, mean
#     lifetime LIFETIME), each driven at RATE requests/s through its
#     http-ingress in call mode;
#   * incr-and-keep chains: one added every second for half the run, then
#     all kept, for the latency as the population grows;
#   * the chain and map-reduce rows again with the relay written against
#     EDGELESS's guest ABI (tests/guests/wf_edgeless_relay.c), and one
#     3-function chain for the whole run at HIGH_RATE requests/s with each
#     relay: what running EDGELESS functions costs next to Aether's ABI.
# Kills only what it started; every run deletes its workflows.
# Env: BUILD_DIR (build), DURATION (20), RATE (20), INTERARRIVAL (1),
# LIFETIME (5), SEED (42), HIGH_RATE (1000), CSV_DIR (unset: no CSV; else
# one CSV per row).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-20}
DURATION=${DURATION%s}  # run.sh's "10s" form too
RATE=${RATE:-20}
INTERARRIVAL=${INTERARRIVAL:-1}
LIFETIME=${LIFETIME:-5}
SEED=${SEED:-42}
BIN="$BUILD_DIR/bin"
HIGH_RATE=${HIGH_RATE:-1000}
RELAY="$BUILD_DIR/functions/workflow/relay.wasm"
ERELAY="$BUILD_DIR/guests/wf_edgeless_relay.wasm"
BENCH_NAME=edgeless_bench
# shellcheck source=bench/cluster.sh
. bench/cluster.sh
[ -f "$RELAY" ] || die "$RELAY missing: build first (make build)"
[ -f "$ERELAY" ] || die "$ERELAY missing: build first (make build)"
[ -x "$BIN/aether" ] || die "$BIN/aether missing: build first (make build)"
start_control 2s 200ms
for n in 1 2; do start_engine "$n" 200ms; done

# label, then aether bench options (env WASM: the relay, else Aether's;
# RUN_RATE: the rate, else RATE)
run() {
  local label=$1 csv=() out
  shift
  [ -z "${CSV_DIR:-}" ] || { mkdir -p "$CSV_DIR"; csv=(--output "$CSV_DIR/$label.csv"); }
  out=$("$BIN/aether" bench --control "$CTRL" --token "$TOKEN" --wasm "${WASM:-$RELAY}" --json \
    --duration "$DURATION" --seed "$SEED" --rate "${RUN_RATE:-$RATE}" "${csv[@]}" "$@") ||
    { echo "| $label | failed: $(echo "$out" | tail -1) |"; return; }
  echo "$out" | LABEL="$label" python3 -c '
import json, os, sys
d = json.load(sys.stdin)
l, r = d["latency_ms"], d["ready_ms"]
print("| %s | %d | %d | %.3f | %d | %d | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f |" % (
    os.environ["LABEL"], d["requested"], d["accepted"], d["blocking_probability"], d["ok"],
    d["errors"], d["throughput"], l["p50"], l["p90"], l["p99"], l["max"], r["p50"]))'
}

echo "## aether bench (bench/edgeless_bench.sh): ${DURATION} s per row, ${RATE} req/s per workflow, seed $SEED"
echo
echo "Two engines on one machine; poisson rows: mean inter-arrival ${INTERARRIVAL} s, mean lifetime ${LIFETIME} s."
echo
echo "| workload | workflows | accepted | blocking | requests ok | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | apply to running p50 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
run poisson-single --arrival-model poisson --interarrival "$INTERARRIVAL" --lifetime "$LIFETIME" --wf-type single
run poisson-chain-2-4 --arrival-model poisson --interarrival "$INTERARRIVAL" --lifetime "$LIFETIME" --wf-type chain --chain-length 2-4
run poisson-map-reduce --arrival-model poisson --interarrival "$INTERARRIVAL" --lifetime "$LIFETIME" --wf-type map-reduce
run incr-and-keep-chain-3 --arrival-model incr-and-keep --interarrival 1 --warmup "$(python3 -c "print($DURATION / 2)")" --wf-type chain --chain-length 3
WASM=$ERELAY run poisson-chain-2-4-edgeless-abi --arrival-model poisson --interarrival "$INTERARRIVAL" --lifetime "$LIFETIME" --wf-type chain --chain-length 2-4
WASM=$ERELAY run poisson-map-reduce-edgeless-abi --arrival-model poisson --interarrival "$INTERARRIVAL" --lifetime "$LIFETIME" --wf-type map-reduce
RUN_RATE=$HIGH_RATE run "steady-chain-3-at-${HIGH_RATE}" --arrival-model single --wf-type chain --chain-length 3
RUN_RATE=$HIGH_RATE WASM=$ERELAY run "steady-chain-3-at-${HIGH_RATE}-edgeless-abi" --arrival-model single --wf-type chain --chain-length 3
