#!/usr/bin/env bash
# Orchestration domains (issue #13; docs/domains.md):
#   * apply time of a 20-function chain at the controller until the
#     controller shows it running (mapped onto a domain, mirrored there,
#     placed on its engine, reported running back up);
#   * apply time of 20 components across two domains (10 pairs, each pair
#     pinned to one domain with domain_match_any);
#   * a 3-function chain within one domain vs split across two (its middle
#     function in the other domain, over portals): calls (req/s, p50, p99)
#     and casts (events/s delivered to a file-log, and those lost);
#   * time to re-map after a domain dies (its control plane and engine
#     kill -9): until the controller has mapped the workflow elsewhere, and
#     until its ingress answers in the new domain;
#   * events/s through an http-ingress -> echo call in a domain's engine,
#     for scale (the controller is not on that path).
# Starts a controller and two domains with one engine each on 127.0.0.1
# (free ports, temp data dirs), prints a markdown table, kills only what it
# started. Env: BUILD_DIR (build), DURATION (5s), CONNS (16), TIMEOUT (the
# controller's [domain] timeout, 3s).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-16}
TIMEOUT=${TIMEOUT:-3s}
BIN=$BUILD_DIR/bin
BENCH_NAME=domains-bench
[ -x "$BIN/aether-control" ] || { echo "$BENCH_NAME: build first (make build)" >&2; exit 1; }
GUESTS=$BUILD_DIR/guests
. bench/cluster.sh
# wrk reads its script once per thread: from files, not a pipe (a pipe is
# empty the second time, and those threads would send plain GETs).
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "ping"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0 end
-- Taken (a cast) or answered with the payload (a call: a failed call in
-- the chain answers 200 "error:<code>").
function response(status, headers, body)
  if status == 202 or (status == 200 and body == "ping") then ok = ok + 1 end
end
function done()
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("ok") end
  io.write("OK ", total, "\n")
end
LUA

start_controller() {
  CPORT=$(free_port)
  CTRL="http://127.0.0.1:$CPORT"
  cat > "$WORK/controller.toml" <<TOML
[server]
port = $CPORT
[database]
path = "$WORK/controller/aether.db"
[domain]
role = "cluster"
timeout = "$TIMEOUT"
heartbeat_interval = "200ms"
[log]
level = "${LOG_LEVEL:-warn}"
TOML
  "$BIN/aether-control" --config "$WORK/controller.toml" 2> "$WORK/controller.log" &
  PIDS+=($!)
  wait_http "$CTRL/health"
  TOKEN=$(cat "$WORK/controller/admin.token")
  AUTH=(-H "Authorization: Bearer $TOKEN")
}

declare -A DPORT DPID DTOKEN EP EPIDS
start_domain() {  # name
  local d=$1 p ep
  p=$(free_port)
  DPORT[$d]=$p
  cat > "$WORK/$d.toml" <<TOML
[server]
port = $p
[database]
path = "$WORK/$d/aether.db"
[registry]
heartbeat_interval = "200ms"
[domain]
role = "domain"
id = "$d"
controller = ["$CTRL"]
join_token = "$(cat "$WORK/controller/domain_join.token")"
[log]
level = "${LOG_LEVEL:-warn}"
TOML
  "$BIN/aether-control" --config "$WORK/$d.toml" 2> "$WORK/$d.log" &
  DPID[$d]=$!
  PIDS+=($!)
  wait_http "http://127.0.0.1:$p/health"
  DTOKEN[$d]=$(cat "$WORK/$d/admin.token")
  ep=$(free_port)
  EP[$d]=$ep
  cat > "$WORK/$d-edge.toml" <<TOML
[server]
port = $ep
[runtime]
data_dir = "$WORK/$d-edge"
optimize = false
[control]
url = "http://127.0.0.1:$p"
node_id = "$d-edge"
[auth]
join_token = "$(cat "$WORK/$d/join.token")"
[registry]
heartbeat_interval = "200ms"
[log]
level = "${LOG_LEVEL:-warn}"
TOML
  "$BIN/aether-engine" --config "$WORK/$d-edge.toml" 2> "$WORK/$d-edge.log" &
  EPIDS[$d]=$!
  PIDS+=($!)
  wait_http "http://127.0.0.1:$ep/health"
}

api() { curl -fs "${AUTH[@]}" "$@"; }
state() { api "$CTRL/api/workflows/$1" | json 'd["state"]'; }
domain_of() { api "$CTRL/api/workflows/$1" | json "[i['domain'] for i in d['instances'] if i['component']=='$2'][0]"; }
wait_state() {  # id state limit_s -> elapsed ms on stdout
  local t0 t
  t0=$(now_ms)
  for _ in $(seq 1 $(($3 * 50))); do
    [ "$(state "$1" 2>/dev/null || true)" = "$2" ] && { t=$(now_ms); echo $((t - t0)); return 0; }
    sleep 0.02
  done
  die "workflow $1 not $2 after $3 s: $(api "$CTRL/api/workflows/$1")"
}

start_controller
start_domain site-a
start_domain site-b
for _ in $(seq 1 200); do
  n=$(api "$CTRL/api/domains" | json 'sum(x["capabilities"]["nodes_up"] for x in d["domains"])')
  [ "$n" = 2 ] && break
  sleep 0.05
done
curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' \
  --data-binary @"$GUESTS/wf_echo.wasm" "$CTRL/api/functions/echo" > /dev/null
sleep 1  # both domains mirror it at their next beat

# A 20-function chain, all in one domain.
chain=$(python3 -c '
import json
fs = [{"name": f"f{i}", "function": "echo"} for i in range(20)]
for i in range(19): fs[i]["output_mapping"] = {"out": f"f{i+1}"}
print(json.dumps({"name": "chain20", "functions": fs}))')
t0=$(now_ms)
api -X POST -d "$chain" "$CTRL/api/workflows" > /dev/null
wait_state chain20 running 60 > /dev/null
APPLY_ONE=$(($(now_ms) - t0))

# 20 components over two domains: 10 pairs, pinned alternately.
pairs=$(python3 -c '
import json
fs = []
for i in range(10):
    site = "site-a" if i % 2 == 0 else "site-b"
    fs.append({"name": f"p{i}", "function": "echo", "output_mapping": {"out": f"q{i}"},
               "annotations": {"domain_match_any": [site]}})
    fs.append({"name": f"q{i}", "function": "echo"})
print(json.dumps({"name": "pairs20", "functions": fs}))')
t0=$(now_ms)
api -X POST -d "$pairs" "$CTRL/api/workflows" > /dev/null
wait_state pairs20 running 60 > /dev/null
APPLY_TWO=$(($(now_ms) - t0))
api -X DELETE "$CTRL/api/workflows/chain20" > /dev/null
api -X DELETE "$CTRL/api/workflows/pairs20" > /dev/null

# A 3-function chain within site-a vs with its middle function in site-b
# (two crossings per event over the portals): calls (ingress -> c1 -> c2 ->
# c3, each calling the next; wrk's p50/p99) and casts (ingress -> f1 -> f2
# -> f3 -> file-log in site-a; events that reached the log per second, and
# those accepted but not delivered).
curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' \
  --data-binary @"$GUESTS/wf_forward.wasm" "$CTRL/api/functions/fwd" > /dev/null
sleep 1
chain3() {  # name middle-domain
  python3 -c '
import json, sys
name, mid = sys.argv[1], sys.argv[2]
pin = lambda d: {"domain_match_any": [d]}
fs = [{"name": "c1", "function": "fwd", "output_mapping": {"out": "c2"}, "annotations": pin("site-a")},
      {"name": "c2", "function": "fwd", "output_mapping": {"out": "c3"}, "annotations": pin(mid)},
      {"name": "c3", "function": "echo", "annotations": pin("site-a")},
      {"name": "f1", "function": "echo", "output_mapping": {"out": "f2"}, "annotations": pin("site-a")},
      {"name": "f2", "function": "echo", "output_mapping": {"out": "f3"}, "annotations": pin(mid)},
      {"name": "f3", "function": "echo", "output_mapping": {"out": "log"}, "annotations": pin("site-a")}]
rs = [{"name": "call", "class_type": "http-ingress", "configurations": {"path": "call"},
       "output_mapping": {"new_request": "c1"}, "annotations": pin("site-a")},
      {"name": "cast", "class_type": "http-ingress", "configurations": {"path": "cast", "mode": "cast"},
       "output_mapping": {"new_request": "f1"}, "annotations": pin("site-a")},
      {"name": "log", "class_type": "file-log", "annotations": pin("site-a")}]
print(json.dumps({"name": name, "functions": fs, "resources": rs}))' "$1" "$2"
}
measure_chain() {  # name -> "req/s p50 p99 delivered/s lost"
  local name=$1 url out rps p50 p99 log before after accepted
  url="http://127.0.0.1:${EP[site-a]}/wf/$name"
  for _ in $(seq 1 500); do
    [ "$(curl -fs -d x "$url/call" 2>/dev/null || true)" = x ] && break
    sleep 0.05
  done
  [ "$(curl -fs -d x "$url/call")" = x ] || die "$name: the call chain does not answer"
  out=$(wrk -t 2 -c "$CONNS" -d "$DURATION" --latency -s "$WORK/post.lua" "$url/call" 2>/dev/null)
  # Answered with the reply: wrk's rate counts errors too.
  rps=$(awk -v d="${DURATION%s}" '/^OK/ {print int($2 / d)}' <<< "$out")
  p50=$(awk '$1 == "50%" {print $2}' <<< "$out")
  p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
  log="$WORK/site-a-edge/workflows/$name/log.log"
  before=$( [ -f "$log" ] && wc -l < "$log" || echo 0)
  accepted=$(wrk -t 2 -c "$CONNS" -d "$DURATION" -s "$WORK/post.lua" "$url/cast" 2>/dev/null |
    awk '/^OK/ {print $2}')
  # Settled: the log stops growing.
  after=-1
  while :; do
    sleep 1
    local now
    now=$( [ -f "$log" ] && wc -l < "$log" || echo 0)
    [ "$now" = "$after" ] && break
    after=$now
  done
  # wrk stops with answers in flight: their events may be delivered but not
  # counted as accepted, so "lost" is a lower bound of 0, not negative.
  local lost=$((accepted - (after - before)))
  [ "$lost" -lt 0 ] && lost=0
  echo "$rps $p50 $p99 $(( (after - before) / ${DURATION%s} )) $lost"
}
api -X POST -d "$(chain3 chain-one site-a)" "$CTRL/api/workflows" > /dev/null
wait_state chain-one running 60 > /dev/null
read -r ONE_RPS ONE_P50 ONE_P99 ONE_EPS ONE_LOST <<< "$(measure_chain chain-one)"
api -X DELETE "$CTRL/api/workflows/chain-one" > /dev/null
api -X POST -d "$(chain3 chain-split site-b)" "$CTRL/api/workflows" > /dev/null
wait_state chain-split running 60 > /dev/null
read -r SPLIT_RPS SPLIT_P50 SPLIT_P99 SPLIT_EPS SPLIT_LOST <<< "$(measure_chain chain-split)"
api -X DELETE "$CTRL/api/workflows/chain-split" > /dev/null

# An ingress -> echo workflow free to move; its throughput where it runs.
api -X POST -d '{"name": "edge", "functions": [{"name": "echo", "function": "echo"}],
  "resources": [{"name": "in", "class_type": "http-ingress",
                 "configurations": {"path": "e", "mode": "call"},
                 "output_mapping": {"new_request": "echo"}}]}' "$CTRL/api/workflows" > /dev/null
wait_state edge running 60 > /dev/null
FROM=$(domain_of edge echo)
OTHER=$([ "$FROM" = site-a ] && echo site-b || echo site-a)
URL="http://127.0.0.1:${EP[$FROM]}/wf/edge/e"
for _ in $(seq 1 200); do curl -fs -d x "$URL" > /dev/null 2>&1 && break; sleep 0.05; done
RPS=$(wrk -t 2 -c "$CONNS" -d "$DURATION" -s "$WORK/post.lua" "$URL" 2>/dev/null |
  awk -v d="${DURATION%s}" '/^OK/ {print int($2 / d)}')

# The domain that runs it dies.
kill -9 "${EPIDS[$FROM]}" "${DPID[$FROM]}"
t0=$(now_ms)
for _ in $(seq 1 1500); do
  [ "$(domain_of edge echo 2>/dev/null || true)" = "$OTHER" ] && break
  sleep 0.02
done
[ "$(domain_of edge echo)" = "$OTHER" ] || die "edge was not re-mapped to $OTHER"
REMAP=$(($(now_ms) - t0))
URL="http://127.0.0.1:${EP[$OTHER]}/wf/edge/e"
for _ in $(seq 1 1500); do
  curl -fs -d x "$URL" > /dev/null 2>&1 && break
  sleep 0.02
done
curl -fs -d x "$URL" > /dev/null || die "edge does not answer in $OTHER"
SERVED=$(($(now_ms) - t0))

cat <<MD
## Orchestration domains ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; controller + 2 domains x 1 engine, loopback)

| what | result |
|---|---|
| apply a 20-function chain at the controller -> running (one domain) | ${APPLY_ONE} ms |
| apply 20 components over two domains (10 pinned pairs) -> running | ${APPLY_TWO} ms |
| ingress -> echo call in a domain's engine, c${CONNS} ${DURATION} | ${RPS} req/s |
| 3-function call chain in one domain, c${CONNS} ${DURATION} | ${ONE_RPS} req/s, p50 ${ONE_P50}, p99 ${ONE_P99} |
| ... its middle function in the other domain (2 portal calls a request) | ${SPLIT_RPS} req/s, p50 ${SPLIT_P50}, p99 ${SPLIT_P99} |
| 3-function cast chain -> file-log in one domain | ${ONE_EPS} events/s delivered, ${ONE_LOST} accepted but not delivered |
| ... its middle function in the other domain (2 portal batches a round) | ${SPLIT_EPS} events/s delivered, ${SPLIT_LOST} accepted but not delivered |
| a domain killed -9 -> workflow re-mapped at the controller ([domain] timeout ${TIMEOUT}) | ${REMAP} ms |
| ... -> its ingress answers in the other domain | ${SERVED} ms |
MD
