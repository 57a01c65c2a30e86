#!/usr/bin/env bash
# bench/run.sh — the macro benchmark: aether-engine against its peers, measured
# side by side in ONE run, so ratios compare the same machine state.
#
#   nginx `return 200` with a fixed JSON body   (the HTTP limit of this machine)
#   the Node.js WASI peer server                (../shared/peers/node-wasi-server.mjs)
#   Cloudflare's workerd (from npm, installed into WORKERD_DIR once)
#                                               (../shared/peers/workerd/)
#   aether-engine                               (build/bin/aether-engine)
#
# All three serve the same hello.wasm and fib.wasm (build/guests/) on
# 127.0.0.1, each on a free port. The gateway line puts a second engine
# behind aether-control (build/bin/aether-control, hello deployed to it) and
# measures /api/invoke/hello against nginx `proxy_pass` (keep-alive upstream)
# to /execute of that same engine. After a warm-up, wrk runs c64 and c1 loads
# of POST /execute, then the in-process micro benchmarks run if they were
# built (build/bin/wasm_bench, build/bin/aether-bench-latency). Prints a
# markdown report and writes it to bench/results/<UTC timestamp>.md.
#
# Builds nothing: run `make build` (or `make bench`) first.
# Kills only the processes it started.
#
# Env knobs (defaults in brackets):
#   DURATION [10s]   length of each measured wrk run
#   WARMUP   [3s]    warm-up per server and workload (also covers background compiles)
#   THREADS  [2]     wrk threads for the concurrent runs
#   CONNS    [64]    connections for the concurrent runs (the other runs use -t1 -c1)
#   WORKERS  [nproc] nginx worker_processes and node cluster workers
#   FIB_N    [25]    input of the fib runs
#   SOAK     [0]     e.g. 60s: add an engine hello soak run at CONNS and report engine RSS growth
#   SKIP_ENGINE=1  SKIP_NODE=1  SKIP_NGINX=1  SKIP_MICRO=1  SKIP_WORKERD=1
#   SKIP_CONTROL=1 SKIP_WORKFLOW=1 SKIP_GATEWAY=1            leave a part out
#   SKIP_EDGELESS=1  leave out bench/edgeless_bench.sh (aether bench, ~80 s)
#   WORKERD_DIR [/tmp/aether-workerd-peer]  where workerd is installed (npm) and run
#   ENGINE_RUNTIME []  extra [runtime] lines for the engines, e.g.
#                      'inline_budget = "0s"' (every execution on a worker) to compare
#   BUILD_DIR [build]  GUEST_DIR [BUILD_DIR/guests]  PEERS_DIR [../shared/peers]
#   RESULTS_DIR [bench/results]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
GUEST_DIR=${GUEST_DIR:-$BUILD_DIR/guests}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
WORKERS=${WORKERS:-$(nproc)}
FIB_N=${FIB_N:-25}
SOAK=${SOAK:-0}
SKIP_ENGINE=${SKIP_ENGINE:-0}
SKIP_NODE=${SKIP_NODE:-0}
SKIP_NGINX=${SKIP_NGINX:-0}
SKIP_MICRO=${SKIP_MICRO:-0}
SKIP_GATEWAY=${SKIP_GATEWAY:-0}
SKIP_WORKERD=${SKIP_WORKERD:-0}
WORKERD_RUN="$PEERS_DIR/workerd/run-workerd.sh"
export WORKERD_DIR=${WORKERD_DIR:-/tmp/aether-workerd-peer}
LUA="$ROOT/bench/post-execute.lua"
ENGINE_BIN="$BUILD_DIR/bin/aether-engine"
CONTROL_BIN="$BUILD_DIR/bin/aether-control"
NODE_SERVER="$PEERS_DIR/node-wasi-server.mjs"

die() { echo "bench/run.sh: $*" >&2; exit 1; }

# ------------------------------------------------------------------ preflight
for t in wrk curl python3; do command -v "$t" >/dev/null || die "missing tool: $t (make deps)"; done
[ "$SKIP_NGINX" = 1 ] || command -v nginx >/dev/null || die "missing tool: nginx (make deps)"
if [ "$SKIP_NODE" != 1 ]; then
  command -v node >/dev/null || die "missing tool: node (make deps), or set SKIP_NODE=1"
  [ -f "$NODE_SERVER" ] || die "no Node peer at $NODE_SERVER; set PEERS_DIR or SKIP_NODE=1"
fi
if [ "$SKIP_WORKERD" != 1 ]; then
  [ -f "$WORKERD_RUN" ] || die "no workerd peer at $WORKERD_RUN; set PEERS_DIR or SKIP_WORKERD=1"
  command -v npm >/dev/null || die "missing tool: npm (for the workerd peer), or set SKIP_WORKERD=1"
  if [ ! -x "$WORKERD_DIR/node_modules/@cloudflare/workerd-linux-64/bin/workerd" ]; then
    echo "installing workerd from npm into $WORKERD_DIR (once)..." >&2
    # The version run-workerd.sh pins; it skips the install once this is there.
    version=$(grep -o 'workerd@[0-9.]*' "$WORKERD_RUN" | head -1)
    mkdir -p "$WORKERD_DIR"
    (cd "$WORKERD_DIR" && npm i --no-audit --no-fund --silent "${version:-workerd}" >/dev/null) ||
      die "npm could not install workerd; set SKIP_WORKERD=1 to run without it"
  fi
fi
[ "$SKIP_ENGINE" = 1 ] || [ -x "$ENGINE_BIN" ] || die "no $ENGINE_BIN: run 'make build' first (or SKIP_ENGINE=1)"
[ "$SKIP_NGINX" != 1 ] || SKIP_GATEWAY=1 # the gateway's peer is nginx proxy_pass
if [ "$SKIP_GATEWAY" != 1 ]; then
  for b in "$CONTROL_BIN" "$ENGINE_BIN"; do
    [ -x "$b" ] || die "no $b: run 'make build' first (or SKIP_GATEWAY=1)"
  done
fi
for g in hello fib; do
  [ -f "$GUEST_DIR/$g.wasm" ] || die "no $GUEST_DIR/$g.wasm: run 'make build' first"
done

# Distinct free ports, chosen by the kernel while all are held.
read -r NGINX_PORT NODE_PORT ENGINE_PORT PROXY_PORT CONTROL_PORT GW_ENGINE_PORT WORKERD_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)

WORK="$(mktemp -d /tmp/aether-bench.XXXXXX)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$WORK/wrk.log"
RESULTS="$WORK/results.txt"
: > "$RAW"
: > "$RESULTS"
mkdir -p "$WORK/modules"
cp "$GUEST_DIR/hello.wasm" "$GUEST_DIR/fib.wasm" "$WORK/modules/"

NGINX_PID=""; NODE_PID=""; ENGINE_PID=""; CONTROL_PID=""; GW_ENGINE_PID=""; WORKERD_PID=""

pids_of_ours() { # the servers we started and their direct children (nginx and node workers)
  local p
  for p in $NGINX_PID $NODE_PID $ENGINE_PID $CONTROL_PID $GW_ENGINE_PID $WORKERD_PID; do
    echo "$p"
    pgrep -P "$p" 2>/dev/null || true
  done
}

stop_servers() {
  set +e
  local all pid alive
  all="$(pids_of_ours | tr '\n' ' ')"
  [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
  for pid in $NODE_PID $ENGINE_PID $GW_ENGINE_PID $CONTROL_PID $WORKERD_PID; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 50); do # up to 5 s for a graceful exit
    alive=0
    for pid in $all; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in $all; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
  wait $NGINX_PID $NODE_PID $ENGINE_PID $CONTROL_PID $GW_ENGINE_PID $WORKERD_PID 2>/dev/null
  NGINX_PID=""; NODE_PID=""; ENGINE_PID=""; CONTROL_PID=""; GW_ENGINE_PID=""; WORKERD_PID=""
  set -e
}

cleanup() {
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log_and_die() { # log-file message
  echo "---- last lines of $1:" >&2
  tail -n 30 "$1" >&2 || true
  die "$2"
}

wait_ready() { # url log-file pid
  for _ in $(seq 1 300); do # up to 30 s (the engine may compile modules at start)
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || show_log_and_die "$2" "server exited before $1 answered"
    sleep 0.1
  done
  show_log_and_die "$2" "not ready after 30 s: $1"
}

check() { # name port fn input-json expected-substring
  local body code
  body=$(curl -sS -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"function\":\"$3\",\"input\":$4}" "http://127.0.0.1:$2/execute") || die "$1: request failed"
  code=${body##*$'\n'}
  body=${body%$'\n'*}
  [ "$code" = 200 ] || die "$1 sanity check: $3 gave HTTP $code: $body"
  case "$body" in *"$5"*) ;; *) die "$1 sanity check: $3 output lacks '$5': $body" ;; esac
}

# ------------------------------------------------------------------ nginx
if [ "$SKIP_NGINX" != 1 ]; then
  mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
  cat > "$WORK/nginx/nginx.conf" <<NGX
worker_processes $WORKERS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    keepalive_requests 100000000;   # no forced reconnects during a run
    keepalive_timeout 65s;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = /execute {
            default_type application/json;
            return 200 '{"output":"Hello, World!\\\\n","execution_time_ms":0.05,"memory_used_kb":128}';
        }
        location = /health { default_type application/json; return 200 '{"status":"ok"}'; }
    }
    # The gateway's peer: a reverse proxy to the engine behind the gateway,
    # over kept-alive upstream connections (as the gateway's pool).
    upstream gateway_engine {
        server 127.0.0.1:$GW_ENGINE_PORT;
        keepalive 64;
        keepalive_requests 100000000;
    }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        location = /execute {
            proxy_pass http://gateway_engine;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGX
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' > "$WORK/nginx/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
fi

# ------------------------------------------------------------------ Node.js WASI peer
if [ "$SKIP_NODE" != 1 ]; then
  node "$NODE_SERVER" --port "$NODE_PORT" --workers "$WORKERS" --dir "$WORK/modules" \
    > "$WORK/node.log" 2>&1 &
  NODE_PID=$!
fi

# ------------------------------------------------------------------ workerd
if [ "$SKIP_WORKERD" != 1 ]; then
  # run-workerd.sh execs workerd: this PID is the server's.
  bash "$WORKERD_RUN" "$WORKERD_PORT" > "$WORK/workerd.log" 2>&1 &
  WORKERD_PID=$!
fi

# ------------------------------------------------------------------ aether-engine
if [ "$SKIP_ENGINE" != 1 ]; then
  mkdir -p "$WORK/engine-data"
  cat > "$WORK/engine.toml" <<TOML
[server]
host = "127.0.0.1"
port = $ENGINE_PORT

[runtime]
functions_dir = "$WORK/modules"
data_dir = "$WORK/engine-data"
${ENGINE_RUNTIME:-}

[log]
level = "warn"
TOML
  "$ENGINE_BIN" --config "$WORK/engine.toml" > "$WORK/engine.log" 2>&1 &
  ENGINE_PID=$!
fi

# ------------------------------------------------------------------ aether-control + its engine
if [ "$SKIP_GATEWAY" != 1 ]; then
  mkdir -p "$WORK/control" "$WORK/gw-engine"
  cat > "$WORK/control.toml" <<TOML
[server]
host = "127.0.0.1"
port = $CONTROL_PORT
[database]
path = "$WORK/control/aether.db"
[log]
level = "warn"
TOML
  "$CONTROL_BIN" --config "$WORK/control.toml" > "$WORK/control.log" 2>&1 &
  CONTROL_PID=$!
  wait_ready "http://127.0.0.1:$CONTROL_PORT/health" "$WORK/control.log" "$CONTROL_PID"
  cat > "$WORK/gw-engine.toml" <<TOML
[server]
host = "127.0.0.1"
port = $GW_ENGINE_PORT
[runtime]
data_dir = "$WORK/gw-engine"
${ENGINE_RUNTIME:-}
[control]
url = "http://127.0.0.1:$CONTROL_PORT"
node_id = "bench-gateway"
[auth]
join_token = "$(cat "$WORK/control/join.token")"
[log]
level = "warn"
TOML
  "$ENGINE_BIN" --config "$WORK/gw-engine.toml" > "$WORK/gw-engine.log" 2>&1 &
  GW_ENGINE_PID=$!
fi

[ -z "$NGINX_PID" ] || wait_ready "http://127.0.0.1:$NGINX_PORT/health" "$WORK/nginx/logs/error.log" "$NGINX_PID"
[ -z "$NODE_PID" ] || wait_ready "http://127.0.0.1:$NODE_PORT/health" "$WORK/node.log" "$NODE_PID"
[ -z "$WORKERD_PID" ] || wait_ready "http://127.0.0.1:$WORKERD_PORT/health" "$WORK/workerd.log" "$WORKERD_PID"
[ -z "$ENGINE_PID" ] || wait_ready "http://127.0.0.1:$ENGINE_PORT/health" "$WORK/engine.log" "$ENGINE_PID"
GW_TOKEN=""
if [ -n "$GW_ENGINE_PID" ]; then
  wait_ready "http://127.0.0.1:$GW_ENGINE_PORT/health" "$WORK/gw-engine.log" "$GW_ENGINE_PID"
  GW_TOKEN=$(cat "$WORK/control/admin.token")
  curl -fsS -o /dev/null -H "Authorization: Bearer $GW_TOKEN" -X PUT -H 'Content-Type: application/wasm' \
    --data-binary "@$GUEST_DIR/hello.wasm" "http://127.0.0.1:$CONTROL_PORT/api/functions/hello" ||
    show_log_and_die "$WORK/control.log" "cannot deploy hello to aether-control"
  # Ready when the gateway forwards it (503 no_ready_node until the engine has it).
  for i in $(seq 1 300); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $GW_TOKEN" \
      -X POST -d '{"input":""}' "http://127.0.0.1:$CONTROL_PORT/api/invoke/hello" || true)
    [ "$code" = 200 ] && break
    [ "$i" = 300 ] && show_log_and_die "$WORK/gw-engine.log" "hello not ready behind the gateway after 30 s (HTTP $code)"
    sleep 0.1
  done
fi
sleep 1 # node cluster workers come up one by one

FIB_OUT=$(python3 -c "a,b=0,1
for _ in range($FIB_N): a,b=b,a+b
print(a)")
[ -z "$NGINX_PID" ] || check nginx "$NGINX_PORT" hello '""' 'Hello, World!'
[ -z "$GW_ENGINE_PID" ] || check nginx-proxy "$PROXY_PORT" hello '""' 'Hello, World!'
for srv in node workerd engine; do
  pid_var=${srv^^}_PID port_var=${srv^^}_PORT
  [ -n "${!pid_var}" ] || continue
  check "$srv" "${!port_var}" hello '""' 'Hello, World!'
  check "$srv" "${!port_var}" fib "\"$FIB_N\"" "\"$FIB_OUT"
done

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# ------------------------------------------------------------------ wrk runs
URL_NGINX="http://127.0.0.1:$NGINX_PORT/execute"
URL_NODE="http://127.0.0.1:$NODE_PORT/execute"
URL_WORKERD="http://127.0.0.1:$WORKERD_PORT/execute"
URL_ENGINE="http://127.0.0.1:$ENGINE_PORT/execute"
URL_PROXY="http://127.0.0.1:$PROXY_PORT/execute"
URL_GATEWAY="http://127.0.0.1:$CONTROL_PORT/api/invoke/hello"

wrk_run() { # label fn input threads conns duration url [env...]
  local label=$1 fn=$2 input=$3 t=$4 c=$5 d=$6 url=$7
  shift 7
  echo "--- $label: wrk -t$t -c$c -d$d --latency ($fn '$input') $url" >> "$RAW"
  env "$@" FN="$fn" INPUT="$input" LABEL="$label" wrk -t"$t" -c"$c" -d"$d" --latency -s "$LUA" "$url" >> "$RAW" 2>&1 ||
    echo "RESULT label=$1 requests=0 req_s=0 p50_ms=0 p99_ms=0 non2xx=0 sock_errors=-1 (wrk failed)" >> "$RAW"
  grep "^RESULT label=$label " "$RAW" | tail -1 >> "$RESULTS"
}
# The gateway's pair: nginx proxy_pass and /api/invoke, to the same engine.
gateway_runs() { # suffix threads conns duration
  [ -n "$GW_ENGINE_PID" ] || return 0
  wrk_run "nginx-proxy-hello$1" hello "" "$2" "$3" "$4" "$URL_PROXY"
  wrk_run "gateway-hello$1" hello "" "$2" "$3" "$4" "$URL_GATEWAY" BODY=invoke TOKEN="$GW_TOKEN"
}

echo "warming up ($WARMUP per server and workload)..." >&2
[ -z "$NGINX_PID" ] || wrk_run warm-nginx hello "" "$THREADS" 16 "$WARMUP" "$URL_NGINX"
for srv in node workerd engine; do
  pid_var=${srv^^}_PID url_var=URL_${srv^^}
  [ -n "${!pid_var}" ] || continue
  wrk_run "warm-$srv-hello" hello "" "$THREADS" 16 "$WARMUP" "${!url_var}"
  wrk_run "warm-$srv-fib" fib "$FIB_N" "$THREADS" 16 "$WARMUP" "${!url_var}"
done
gateway_runs "-warm" "$THREADS" 16 "$WARMUP"
: > "$RESULTS" # warm-up results are not reported
ENGINE_RSS_START=""
[ -z "$ENGINE_PID" ] || ENGINE_RSS_START=$(rss_kb "$ENGINE_PID")
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

for shape in "$THREADS $CONNS" "1 1"; do
  read -r t c <<< "$shape"
  echo "measuring c$c ($DURATION per run)..." >&2
  [ -z "$NGINX_PID" ] || wrk_run "nginx-hello-c$c" hello "" "$t" "$c" "$DURATION" "$URL_NGINX"
  for wl in hello fib; do
    input=""; [ "$wl" = fib ] && input="$FIB_N"
    name=$wl; [ "$wl" = fib ] && name="fib$FIB_N"
    [ -z "$ENGINE_PID" ] || wrk_run "engine-$name-c$c" "$wl" "$input" "$t" "$c" "$DURATION" "$URL_ENGINE"
    [ -z "$NODE_PID" ] || wrk_run "node-$name-c$c" "$wl" "$input" "$t" "$c" "$DURATION" "$URL_NODE"
    [ -z "$WORKERD_PID" ] || wrk_run "workerd-$name-c$c" "$wl" "$input" "$t" "$c" "$DURATION" "$URL_WORKERD"
  done
  gateway_runs "-c$c" "$t" "$c" "$DURATION"
done

SOAK_LINE=""
if [ -n "$ENGINE_PID" ] && [ "$SOAK" != 0 ]; then
  echo "soak: engine hello c$CONNS for $SOAK..." >&2
  rss_a=$(rss_kb "$ENGINE_PID")
  wrk_run "engine-hello-soak-c$CONNS" hello "" "$THREADS" "$CONNS" "$SOAK" "$URL_ENGINE"
  rss_b=$(rss_kb "$ENGINE_PID")
  SOAK_LINE="engine RSS over the $SOAK soak: $rss_a kB -> $rss_b kB"
fi
ENGINE_RSS_END=""
[ -z "$ENGINE_PID" ] || ENGINE_RSS_END=$(rss_kb "$ENGINE_PID")
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# Servers off before the in-process micro benchmarks: they get the CPUs alone.
stop_servers

# ------------------------------------------------------------------ report
REPORT="$WORK/report.md"
{
  echo "# Aether benchmark $STAMP"
  echo
  echo "- host: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- $(nginx -v 2>&1 | sed 's/^nginx version: //'), node $(node --version 2>/dev/null || echo '-'), workerd $([ "$SKIP_WORKERD" = 1 ] && echo '-' || grep -o 'workerd@[0-9.]*' "$WORKERD_RUN" | head -1 | cut -d@ -f2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "- source: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no commit')$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' + local changes')"
  [ -z "${ENGINE_RUNTIME:-}" ] || echo "- engines' extra [runtime]: ${ENGINE_RUNTIME//$'\n'/; }"
  echo "- wrk -t$THREADS -c$CONNS and -t1 -c1, $DURATION per run after a $WARMUP warm-up; nginx and node workers: $WORKERS; fib n=$FIB_N"
  echo "- load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
  [ -z "$ENGINE_RSS_START" ] || echo "- engine RSS after warm-up: $ENGINE_RSS_START kB, after the runs: $ENGINE_RSS_END kB"
  [ -z "$SOAK_LINE" ] || echo "- $SOAK_LINE"
  echo
  awk -v conns="$CONNS" -v fibn="$FIB_N" '
    function kv(k,   i, a) { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } return "" }
    BEGIN {
      print "| run | req/s | p50 ms | p99 ms | non-2xx | socket errors |"
      print "|---|---:|---:|---:|---:|---:|"
    }
    {
      l = kv("label"); order[++n] = l; rps[l] = kv("req_s")
      printf "| %s | %.0f | %.3f | %.3f | %d | %d |\n", l, kv("req_s"), kv("p50_ms"), kv("p99_ms"), kv("non2xx"), kv("sock_errors")
    }
    function ratio(a, b, what, target,   s) {
      if (!(a in rps) || !(b in rps) || rps[b] <= 0) return
      s = sprintf("- %s: **%.2f**", what, rps[a] / rps[b])
      if (target != "") s = s sprintf(" (target >= %s: %s)", target, rps[a] / rps[b] >= target + 0 ? "met" : "MISSED")
      print s
    }
    END {
      print ""
      print "Throughput ratios (req/s):"
      print ""
      split(conns " 1", cs, " ")
      for (i = 1; i <= 2; i++) {
        c = "c" cs[i]
        ratio("engine-hello-" c, "nginx-hello-" c, "engine/nginx hello " c, "0.8")
        ratio("engine-hello-" c, "node-hello-" c, "engine/node hello " c, "5")
        ratio("engine-hello-" c, "workerd-hello-" c, "engine/workerd hello " c, "")
        ratio("engine-fib" fibn "-" c, "workerd-fib" fibn "-" c, "engine/workerd fib" fibn " " c, "")
        ratio("engine-fib" fibn "-" c, "nginx-hello-" c, "engine fib" fibn "/nginx hello " c, "")
        ratio("engine-fib" fibn "-" c, "node-fib" fibn "-" c, "engine/node fib" fibn " " c, "")
        ratio("node-hello-" c, "nginx-hello-" c, "for scale, node/nginx hello " c, "")
        ratio("gateway-hello-" c, "nginx-proxy-hello-" c, "gateway/nginx proxy_pass hello " c, "1.0")
      }
    }' "$RESULTS"
  if grep -q '^non-2xx responses' "$RAW"; then
    echo
    echo "Non-2xx responses seen (status, count, sample body):"
    echo
    echo '```'
    awk '/^--- / { run = $2 } /^non-2xx responses/ { print run " " $0 } /^  status / { print }' "$RAW"
    echo '```'
  fi

  if [ "$SKIP_MICRO" != 1 ]; then
    if [ -x "$BUILD_DIR/bin/wasm_bench" ]; then
      echo >&2 "running wasm_bench..."
      echo
      echo "## In-process micro benchmarks (wasm_bench)"
      echo
      echo '```'
      "$BUILD_DIR/bin/wasm_bench" --benchmark_format=console --benchmark_color=false 2>&1 || echo "(wasm_bench exited with $?)"
      echo '```'
    fi
    if [ -x "$BUILD_DIR/bin/fib_native" ] && [ -x "$BUILD_DIR/bin/sha_native" ]; then
      echo >&2 "running native baselines..."
      echo
      echo "## Native baselines (same C source, gcc -O2, in-process; compare with BM_Fib/BM_Sha CPU time)"
      echo
      echo '```'
      echo "fib(30): $("$BUILD_DIR/bin/fib_native" 30 20 2>&1)"
      echo "sha(4096 x 'a'): $("$BUILD_DIR/bin/sha_native" "$(head -c 4096 /dev/zero | tr '\0' a)" 20 2>&1)"
      echo '```'
    fi
    if [ -x "$BUILD_DIR/bin/aether-bench-latency" ]; then
      echo >&2 "running aether-bench-latency..."
      echo
      echo "## First-request latency (aether-bench-latency)"
      echo
      echo '```'
      "$BUILD_DIR/bin/aether-bench-latency" 2>&1 || echo "(aether-bench-latency exited with $?)"
      echo '```'
    fi
  fi
} > "$REPORT"

if [ "${SKIP_CONTROL:-0}" != 1 ] && [ -x "$BUILD_DIR/bin/aether-control" ]; then
  echo >&2 "running bench/control_bench.sh..."
  { echo; BUILD_DIR="$BUILD_DIR" bash "$ROOT/bench/control_bench.sh" 2>&1 || echo "(control_bench.sh failed)"; } >> "$REPORT"
fi

if [ "${SKIP_WORKFLOW:-0}" != 1 ] && [ -x "$BUILD_DIR/bin/aether-control" ]; then
  echo >&2 "running bench/workflow_bench.sh..."
  { echo; BUILD_DIR="$BUILD_DIR" bash "$ROOT/bench/workflow_bench.sh" 2>&1 || echo "(workflow_bench.sh failed)"; } >> "$REPORT"
fi

if [ "${SKIP_EDGELESS:-0}" != 1 ] && [ -x "$BUILD_DIR/bin/aether" ] && [ -x "$BUILD_DIR/bin/aether-control" ]; then
  echo >&2 "running bench/edgeless_bench.sh..."
  { echo; BUILD_DIR="$BUILD_DIR" bash "$ROOT/bench/edgeless_bench.sh" 2>&1 || echo "(edgeless_bench.sh failed)"; } >> "$REPORT"
fi

mkdir -p "$RESULTS_DIR"
cp "$REPORT" "$RESULTS_DIR/$STAMP.md"
cat "$REPORT"
echo
echo "written: ${RESULTS_DIR#"$ROOT"/}/$STAMP.md" >&2
