#!/usr/bin/env bash
# Orchestration domains (issue #13; docs/domains.md):
#   * apply time of a 20-function chain at the controller until the
#     controller shows it running (mapped onto a domain, mirrored there,
#     placed on its engine, reported running back up);
#   * apply time of 20 components across two domains (10 pairs, each pair
#     pinned to one domain with domain_match_any: no edge crosses domains,
#     which this version cannot carry);
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
RPS=$(wrk -t 2 -c "$CONNS" -d "$DURATION" -s /dev/stdin "$URL" <<'LUA' 2>/dev/null | awk '/Requests\/sec/ {print int($2)}'
wrk.method = "POST"
wrk.body = "ping"
LUA
)

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
| a domain killed -9 -> workflow re-mapped at the controller ([domain] timeout ${TIMEOUT}) | ${REMAP} ms |
| ... -> its ingress answers in the other domain | ${SERVED} ms |
MD
