#!/usr/bin/env bash
# Workflow benchmarks (issue: workflows):
#   * events/s and end-to-end latency p50/p99 through a 3-function chain
#     (http-ingress -> f1 -> f2 -> f3 -> file-log) on one node and across two
#     engines, in call mode (wrk waits for the reply that comes back from the
#     file-log, so its latency is ingress-to-file-log and back) and in cast
#     mode (wrk gets 202 at once; delivered events are counted in the log);
#   * backpressure: a cast chain whose middle stage needs 1 ms per event
#     (http-ingress -> fwd -> slow -> file-log, one node), driven far past
#     what it can do: accepted (202), refused (503 full) and delivered to
#     the log; the target is delivered == accepted;
#   * the one-node cast chain again as an at-least-once workflow (every
#     cast appended to NATS JetStream; a nats-server -js is started on
#     127.0.0.1 when one is installed, else those rows say "skipped");
#   * the two-engine call chain again with CALL_INSTANCES (16) instances of
#     each function: a call pins its caller instance for the round trip, so
#     instances are what multiplies a call chain's throughput;
#   * a 2-hop call chain across two engines (http-ingress and f1 on one,
#     f2 on the other: one crossing per request), with 1 and with
#     CALL_INSTANCES instances of each function (issue #11's target:
#     20k requests/s);
#   * time to heal after an engine is killed -9;
#   * time to apply a 20-function workflow until it is running.
# Starts aether-control and three aether-engines on 127.0.0.1 (free ports,
# temp data dirs), prints a markdown table, kills only what it started.
#   * with SOAK (e.g. 60s): the one-node cast chain under load for that long,
#     with the engine's RSS before and after.
# Env: BUILD_DIR (build), DURATION (5s), CONNS (64), SOAK (0 = skip),
# CALL_INSTANCES (16), ONLY=call (the call-chain rows only).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
SOAK=${SOAK:-0}
CALL_INSTANCES=${CALL_INSTANCES:-16}
ONLY=${ONLY:-}
THREADS=$(( CONNS < 2 ? 1 : 2 ))
BIN="$BUILD_DIR/bin"
LUA="$PWD/bench/post-execute.lua"
FWD="$BUILD_DIR/guests/wf_forward.wasm"
SLOW="$BUILD_DIR/guests/wf_slow.wasm"
ECHO="$BUILD_DIR/guests/wf_echo.wasm"
BENCH_NAME=workflow_bench
# shellcheck source=bench/cluster.sh
. bench/cluster.sh
[ -f "$FWD" ] || die "$FWD missing: build first (make build)"
start_control 2s 200ms
NATS_URL=""
if command -v nats-server >/dev/null; then start_nats; fi
for n in 1 2 3; do start_engine "$n" 200ms; done

deploy() {  # name wasm
  curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' --data-binary "@$2" \
    "$CTRL/api/functions/$1" >/dev/null || die "deploy of $1 failed"
}
deploy fwd "$FWD"
deploy slow "$SLOW"
deploy echo "$ECHO"
# Instances keep the tier they were created from: give the engines time to
# finish the optimized tier (cc -O2, well under a second for this module).
sleep 3

wf_state() { curl -fs "${AUTH[@]}" "$CTRL/api/workflows/$1" | json "d['state']" 2>/dev/null || echo "?"; }
wait_running() {  # id -> ms waited, or "timeout"
  local t0
  t0=$(now_ms)
  for _ in $(seq 1 3000); do
    [ "$(wf_state "$1")" = running ] && { echo $(( $(now_ms) - t0 )); return; }
    sleep 0.01
  done
  echo timeout
}
apply() {  # spec-json -> id
  curl -fs "${AUTH[@]}" -X POST --data-binary "$1" "$CTRL/api/workflows" | json "d['id']" ||
    die "apply failed: $1"
}
ingress_url() { curl -fs "${AUTH[@]}" "$CTRL/api/workflows/$1" | json "d['ingress'][0]['url']"; }

# chain_spec NAME MODE NODE_INGRESS NODE_F1 NODE_F2 NODE_F3 NODE_LOG
# (env DELIVERY: the workflow's "delivery", else the default at-most-once;
# INSTANCES: max_instances of each function, else 1)
chain_spec() {
  local name=$1 mode=$2 delivery="" n=${INSTANCES:-1}
  [ -z "${DELIVERY:-}" ] || delivery="\"delivery\": \"$DELIVERY\", "
  cat <<JSON
{"name": "$name", $delivery
 "functions": [
  {"name": "f1", "function": "fwd", "output_mapping": {"out": "f2"}, "annotations": {"node_id_match_any": ["$4"], "max_instances": $n}},
  {"name": "f2", "function": "fwd", "output_mapping": {"out": "f3"}, "annotations": {"node_id_match_any": ["$5"], "max_instances": $n}},
  {"name": "f3", "function": "fwd", "output_mapping": {"out": "log"}, "annotations": {"node_id_match_any": ["$6"], "max_instances": $n}}],
 "resources": [
  {"name": "in", "class_type": "http-ingress", "configurations": {"path": "go", "mode": "$mode"},
   "output_mapping": {"new_request": "f1"}, "annotations": {"node_id_match_any": ["$3"]}},
  {"name": "log", "class_type": "file-log", "configurations": {"filename": "out.log"},
   "annotations": {"node_id_match_any": ["$7"]}}]}
JSON
}

# 2-hop: ingress and f1 (forwards with a call) on bench-1, f2 (replies the
# payload) on bench-2 (env INSTANCES: max_instances of each, else 1).
hop2_spec() {
  local n=${INSTANCES:-1}
  cat <<JSON
{"name": "$1",
 "functions": [
  {"name": "f1", "function": "fwd", "output_mapping": {"out": "f2"}, "annotations": {"node_id_match_any": ["bench-1"], "max_instances": $n}},
  {"name": "f2", "function": "echo", "annotations": {"node_id_match_any": ["bench-2"], "max_instances": $n}}],
 "resources": [
  {"name": "in", "class_type": "http-ingress", "configurations": {"path": "go", "mode": "call"},
   "output_mapping": {"new_request": "f1"}, "annotations": {"node_id_match_any": ["bench-1"]}}]}
JSON
}

wrk_run() {  # label url -> "req_s p50 p99 non2xx requests"
  LABEL="$1" BODY=raw RAW='{"amount":150}' wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "$2" 2>&1 |
    grep '^RESULT' |
    sed -E 's/.*requests=([0-9]+).*req_s=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+).*non2xx=([0-9]+).*/\2 \3 \4 \5 \1/'
}
log_lines() { cat "$WORK"/engine*/workflows/"$1"/out.log 2>/dev/null | wc -l; }
# Lines in the log once it stopped growing (queued events drained; at most 60 s).
drained_lines() {  # id
  local last=-1 now_lines
  for _ in $(seq 1 60); do
    now_lines=$(log_lines "$1")
    [ "$now_lines" = "$last" ] && break
    last=$now_lines
    sleep 1
  done
  echo "$now_lines"
}

# Applies a call-mode spec and drives its ingress with wrk.
drive_call() {  # name spec-json -> wrk_run's line
  local id
  id=$(apply "$2")
  [ "$(wait_running "$id")" != timeout ] || die "$id did not start: $(curl -fs "${AUTH[@]}" "$CTRL/api/workflows/$id")"
  wrk_run "$1" "$(ingress_url "$id")"
}
# call mode: every request is 3 function events + 1 file-log event, end to end
run_call() {  # name nodes...
  drive_call "$1" "$(chain_spec "$1" call "$2" "$3" "$4" "$5" "$6")"
}
# cast mode: wrk gets 202 at once; delivered = lines in the log once drained
run_cast() {  # name nodes...
  local id url before out lines
  id=$(apply "$(chain_spec "$1" cast "$2" "$3" "$4" "$5" "$6")")
  [ "$(wait_running "$id")" != timeout ] || die "$id did not start"
  url=$(ingress_url "$id")
  out=$(wrk_run "$1" "$url")
  lines=$(drained_lines "$id")
  echo "$out $lines"
}

run_hop2() {  # name
  drive_call "$1" "$(hop2_spec "$1")"
}

# Backpressure: wf_slow spins the payload's milliseconds ("1"), then casts on.
slow_spec() {
  cat <<JSON
{"name": "$1",
 "functions": [
  {"name": "f1", "function": "fwd", "output_mapping": {"out": "f2"}, "annotations": {"node_id_match_any": ["bench-1"]}},
  {"name": "f2", "function": "slow", "output_mapping": {"out": "log"}, "annotations": {"node_id_match_any": ["bench-1"]}}],
 "resources": [
  {"name": "in", "class_type": "http-ingress", "configurations": {"path": "go", "mode": "cast"},
   "output_mapping": {"new_request": "f1"}, "annotations": {"node_id_match_any": ["bench-1"]}},
  {"name": "log", "class_type": "file-log", "configurations": {"filename": "out.log"},
   "annotations": {"node_id_match_any": ["bench-1"]}}]}
JSON
}
run_slow() {  # -> "requests refused delivered"
  local id url out n bad
  id=$(apply "$(slow_spec "$1")")
  [ "$(wait_running "$id")" != timeout ] || die "$id did not start"
  url=$(ingress_url "$id")
  out=$(LABEL="$1" BODY=raw RAW='1' wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "$url" 2>&1 | grep '^RESULT')
  n=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<< "$out")
  bad=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<< "$out")
  # Drain: at most mailboxes' worth of 1 ms events are still queued.
  echo "$n $bad $(drained_lines "$id")"
}

read -r C1_RPS C1_P50 C1_P99 C1_BAD C1_N <<< "$(run_call call1 bench-1 bench-1 bench-1 bench-1 bench-1)"
read -r C2_RPS C2_P50 C2_P99 C2_BAD C2_N <<< "$(run_call call2 bench-1 bench-1 bench-2 bench-1 bench-2)"
read -r CN_RPS CN_P50 CN_P99 CN_BAD CN_N <<< "$(INSTANCES=$CALL_INSTANCES run_call call2n bench-1 bench-1 bench-2 bench-1 bench-2)"
read -r H1_RPS H1_P50 H1_P99 H1_BAD H1_N <<< "$(run_hop2 hop2)"
read -r HN_RPS HN_P50 HN_P99 HN_BAD HN_N <<< "$(INSTANCES=$CALL_INSTANCES run_hop2 hop2n)"
CALL_ROWS="| call chain, one node: requests/s | $C1_RPS (non-2xx $C1_BAD) |
| call chain, one node: function events/s (3 per request) | $(python3 -c "print(round($C1_RPS * 3))") |
| call chain, one node: end-to-end p50 / p99 | $C1_P50 / $C1_P99 ms |
| call chain, two engines (3 crossings per request): requests/s | $C2_RPS (non-2xx $C2_BAD) |
| call chain, two engines: function events/s | $(python3 -c "print(round($C2_RPS * 3))") |
| call chain, two engines: end-to-end p50 / p99 | $C2_P50 / $C2_P99 ms |
| call chain, two engines, $CALL_INSTANCES instances of each function: requests/s | $CN_RPS (non-2xx $CN_BAD) |
| call chain, two engines, $CALL_INSTANCES instances: end-to-end p50 / p99 | $CN_P50 / $CN_P99 ms |
| 2-hop call chain across two engines (1 crossing): requests/s | $H1_RPS (non-2xx $H1_BAD) |
| 2-hop call chain across two engines: end-to-end p50 / p99 | $H1_P50 / $H1_P99 ms |
| 2-hop call chain, $CALL_INSTANCES instances of each: requests/s (target 20000) | $HN_RPS (non-2xx $HN_BAD) |
| 2-hop call chain, $CALL_INSTANCES instances: end-to-end p50 / p99 | $HN_P50 / $HN_P99 ms |"
if [ "$ONLY" = call ]; then
  printf '## Call chains (%s, wrk -t%s -c%s -d%s)\n\n| figure | value |\n|---|---:|\n%s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$THREADS" "$CONNS" "$DURATION" "$CALL_ROWS"
  exit 0
fi
read -r K1_RPS K1_P50 K1_P99 K1_BAD K1_N K1_LINES <<< "$(run_cast cast1 bench-1 bench-1 bench-1 bench-1 bench-1)"
read -r K2_RPS K2_P50 K2_P99 K2_BAD K2_N K2_LINES <<< "$(run_cast cast2 bench-1 bench-1 bench-2 bench-1 bench-2)"
read -r S_N S_BAD S_LINES <<< "$(run_slow slow1)"
secs=$(python3 -c "print(float('${DURATION%s}'))")
A1_ROWS="| cast chain, one node, at-least-once | skipped (no nats-server) |"
if [ -n "$NATS_URL" ]; then
  read -r A1_RPS A1_P50 A1_P99 A1_BAD A1_N A1_LINES <<< "$(DELIVERY=at-least-once run_cast alo1 bench-1 bench-1 bench-1 bench-1 bench-1)"
  A1_ROWS="| cast chain, one node, at-least-once: ingress requests/s (202 once stored in JetStream) | $A1_RPS (non-2xx $A1_BAD) |
| cast chain, one node, at-least-once: time to the 202, p50 / p99 | $A1_P50 / $A1_P99 ms |
| cast chain, one node, at-least-once: delivered to the log / accepted (202) | $A1_LINES / $(( A1_N - A1_BAD )) |"
fi

# Soak: the one-node cast chain (already warm) under load; engine RSS before/after.
SOAK_LINE=""
if [ "$SOAK" != 0 ]; then
  rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
  url=$(ingress_url cast1)
  rss_a=$(rss "${EPID[1]}")
  # The file-log rotates during a long soak: count what its instance handled.
  log_events() { curl -fs "${AUTH[@]}" "$CTRL/api/workflows/cast1" | json "[i['events'] for i in d['instances'] if i['id']=='cast1/log/0'][0]"; }
  before=$(log_events)
  out=$(LABEL=soak BODY=raw RAW='{"amount":150}' wrk -t"$THREADS" -c"$CONNS" -d"$SOAK" --latency -s "$LUA" "$url" 2>&1 | grep '^RESULT')
  sleep 3  # drain, and one status report
  rss_b=$(rss "${EPID[1]}")
  delivered=$(( $(log_events) - before ))
  SOAK_LINE="| soak: cast chain one node for $SOAK: $(echo "$out" | sed -E 's/.*requests=([0-9]+).*non2xx=([0-9]+).*/\1 requests, \2 refused with 503 (full)/'), $delivered events reached the file-log | engine RSS $rss_a -> $rss_b kB |"
fi

# Heal: a chain whose f2 may run on bench-2 or bench-3; kill -9 the one it
# runs on; time until the workflow runs again with f2 on the other.
HID=$(apply "$(chain_spec heal cast bench-1 bench-1 bench-3 bench-1 bench-1 | sed 's/\["bench-3"\]/["bench-3","bench-2"]/')")
wait_running "$HID" >/dev/null
f2_node() {
  curl -fs "${AUTH[@]}" "$CTRL/api/workflows/$HID" |
    json "[i['node_id'] for i in d['instances'] if i['id']=='$HID/f2/0'][0]+':'+d['state']" 2>/dev/null || echo "?"
}
VICTIM=$(f2_node | cut -d: -f1)
case "$VICTIM" in bench-2) OTHER=bench-3 ;; bench-3) OTHER=bench-2 ;; *) die "f2 placed on '$VICTIM'" ;; esac
t0=$(now_ms)
kill -9 "${EPID[${VICTIM#bench-}]}"
HEAL=timeout
for _ in $(seq 1 3000); do
  if [ "$(f2_node)" = "$OTHER:running" ]; then HEAL=$(( $(now_ms) - t0 )); break; fi
  sleep 0.01
done

# Apply a 20-function workflow (a chain of fwd) on the two live engines.
SPEC=$(python3 - <<'PY'
import json
fns = [{"name": f"s{i}", "function": "fwd",
        "output_mapping": ({"out": f"s{i+1}"} if i < 19 else {})} for i in range(20)]
print(json.dumps({"name": "twenty", "functions": fns}))
PY
)
t0=$(now_ms)
TID=$(apply "$SPEC")
APPLY20=$(wait_running "$TID")
[ "$APPLY20" = timeout ] || APPLY20=$(( $(now_ms) - t0 ))

cat <<TABLE
## Workflows ($(date -u +%Y-%m-%dT%H:%M:%SZ), wrk -t$THREADS -c$CONNS -d$DURATION, chain ingress -> f1 -> f2 -> f3 -> file-log)

| figure | value |
|---|---:|
$CALL_ROWS
| cast chain, one node: ingress requests/s (202) | $K1_RPS (non-2xx $K1_BAD) |
| cast chain, one node: time to the 202, p50 / p99 | $K1_P50 / $K1_P99 ms |
| cast chain, one node: delivered to the log / accepted (202) | $K1_LINES / $(( K1_N - K1_BAD )) |
| cast chain, one node: delivered function events/s | $(python3 -c "print(round($K1_LINES * 3 / $secs))") |
$A1_ROWS
| cast chain, two engines: ingress requests/s (202) | $K2_RPS (non-2xx $K2_BAD) |
| cast chain, two engines: delivered to the log / accepted (202) | $K2_LINES / $(( K2_N - K2_BAD )) |
| cast chain, two engines: delivered function events/s | $(python3 -c "print(round($K2_LINES * 3 / $secs))") |
| backpressure, chain with a 1 ms stage: requests / refused (503 full) | $S_N / $S_BAD |
| backpressure: delivered to the log / accepted (202); target: equal | $S_LINES / $(( S_N - S_BAD )) |
| heal after kill -9 (node_timeout 2 s) | $HEAL ms |
| apply a 20-function workflow until running | $APPLY20 ms |
$SOAK_LINE
TABLE
