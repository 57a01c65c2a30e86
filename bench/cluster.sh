# Sourced by the bench scripts that start their own control plane and
# engines on 127.0.0.1 (control_bench.sh, workflow_bench.sh, soak.sh). Expects BIN
# (the binaries) and BENCH_NAME (for temp dirs and messages); provides WORK
# (a temp dir), PIDS (killed and removed on exit) and the functions below;
# LOG_LEVEL (warn) is the servers' [log] level (logs in $WORK/*.log):
#   start_control NODE_TIMEOUT HEARTBEAT   -> CPORT CTRL TOKEN JOIN AUTH
#   start_engine N HEARTBEAT               -> EPORT[N] EPID[N], node id bench-N;
#                                             it joins $CTRL, or every URL of
#                                             CONTROL_URLS (a TOML list body);
#                                             ENGINE_RUNTIME: extra [runtime]
#                                             lines (e.g. "optimize = false");
#                                             ENGINE_CONTROL: extra [control]
#                                             lines (e.g. "prefetch = false")
#   start_nats                             -> NATS_URL (engines started later use it)
WORK=$(mktemp -d "/tmp/aether-$BENCH_NAME.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
wait_http() {
  for _ in $(seq 1 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "$1 did not come up"
}

start_control() {  # node_timeout heartbeat_interval
  CPORT=$(free_port)
  CTRL="http://127.0.0.1:$CPORT"
  cat > "$WORK/control.toml" <<TOML
[server]
port = $CPORT
[database]
path = "$WORK/control/aether.db"
[registry]
node_timeout = "$1"
heartbeat_interval = "$2"
[log]
level = "${LOG_LEVEL:-warn}"
TOML
  "$BIN/aether-control" --config "$WORK/control.toml" 2> "$WORK/control.log" &
  PIDS+=($!)
  wait_http "$CTRL/health"
  TOKEN=$(cat "$WORK/control/admin.token")
  JOIN=$(cat "$WORK/control/join.token")
  AUTH=(-H "Authorization: Bearer $TOKEN")
}

declare -A EPORT EPID
# nats-server -js on 127.0.0.1 (a free port, its store in $WORK), for
# at-least-once workflows; engines started after it get [nats] urls.
start_nats() {
  local p bin
  bin=$(command -v nats-server || true)
  [ -n "$bin" ] || die "nats-server is not installed"
  p=$(free_port)
  "$bin" -a 127.0.0.1 -p "$p" -js -sd "$WORK/nats" > "$WORK/nats.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do grep -q "Server is ready" "$WORK/nats.log" && break; sleep 0.05; done
  grep -q "Server is ready" "$WORK/nats.log" || die "nats-server did not come up: $(tail -3 "$WORK/nats.log")"
  NATS_URL="nats://127.0.0.1:$p"
}

start_engine() {  # n heartbeat_interval
  local n=$1 p urls
  p=$(free_port)
  EPORT[$n]=$p
  # Not inside the here-document: quotes in a default value are kept there.
  urls=${CONTROL_URLS:-\"$CTRL\"}
  cat > "$WORK/engine$n.toml" <<TOML
[server]
port = $p
[runtime]
data_dir = "$WORK/engine$n"
${ENGINE_RUNTIME:-}
[control]
urls = [$urls]
node_id = "bench-$n"
${ENGINE_CONTROL:-}
[auth]
join_token = "$JOIN"
[registry]
heartbeat_interval = "$2"
[log]
level = "${LOG_LEVEL:-warn}"
TOML
  if [ -n "${NATS_URL:-}" ]; then printf '[nats]\nurls = ["%s"]\n' "$NATS_URL" >> "$WORK/engine$n.toml"; fi
  "$BIN/aether-engine" --config "$WORK/engine$n.toml" 2> "$WORK/engine$n.log" &
  EPID[$n]=$!
  PIDS+=($!)
  wait_http "http://127.0.0.1:$p/health"
}
