#!/usr/bin/env bash
# Soak (issue #11, "Faults"; not CI): aether-control and one aether-engine on
# 127.0.0.1 under steady load for DURATION, sampling each process's RSS,
# open file descriptors and threads every INTERVAL. The load is two wrk
# runs side by side:
#   * a cast workflow chain, http-ingress -> f1 -> f2 -> file-log (wf_forward),
#     so events cross mailboxes, the pool and the file-log all the time;
#   * POST /execute of hello (a fresh instance per request).
# Prints a markdown table of the samples, the load's results, and a verdict
# per process and figure: the mean of the last third of the samples against
# the mean of the first third ("flat" within RSS_TOLERANCE percent for RSS
# and FD_TOLERANCE for fds and threads, "GROWS" otherwise). Flat is the
# target. Kills only what it started (bench/cluster.sh).
#
#   bash bench/soak.sh                         # 1 h, a sample a minute
#   DURATION=2m INTERVAL=10s bash bench/soak.sh   # a quick try
#
# Env: BUILD_DIR (build), DURATION (1h; s, m or h), INTERVAL (60s),
# CONNS (4 per wrk run: steady load, not a flood), RSS_TOLERANCE (10),
# FD_TOLERANCE (2).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-1h}
INTERVAL=${INTERVAL:-60s}
CONNS=${CONNS:-4}
RSS_TOLERANCE=${RSS_TOLERANCE:-10}
FD_TOLERANCE=${FD_TOLERANCE:-2}
BIN="$BUILD_DIR/bin"
LUA="$PWD/bench/post-execute.lua"
FWD="$BUILD_DIR/guests/wf_forward.wasm"
HELLO="$BUILD_DIR/guests/hello.wasm"
BENCH_NAME=soak

seconds_of() {  # 90s | 2m | 1h | 90 -> seconds
  case "$1" in
    *h) echo $(( ${1%h} * 3600 )) ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
DUR_S=$(seconds_of "$DURATION")
INT_S=$(seconds_of "$INTERVAL")
[[ "$DUR_S" =~ ^[0-9]+$ && "$INT_S" =~ ^[0-9]+$ && "$INT_S" -gt 0 ]] ||
  { echo "soak: DURATION and INTERVAL are whole seconds, minutes or hours (90s, 2m, 1h)" >&2; exit 1; }
(( DUR_S >= 3 * INT_S )) ||
  { echo "soak: DURATION must hold at least 3 samples (3 x INTERVAL)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "soak: wrk is not installed (make deps)" >&2; exit 1; }

# shellcheck source=bench/cluster.sh
. bench/cluster.sh
for f in "$FWD" "$HELLO"; do [ -f "$f" ] || die "$f missing: build first (make build)"; done
start_control 10s 1s
start_engine 1 1s
CPID=${PIDS[0]}
ENGINE="http://127.0.0.1:${EPORT[1]}"

deploy() {  # name wasm
  curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' --data-binary "@$2" \
    "$CTRL/api/functions/$1" >/dev/null || die "deploy $1 failed"
}
deploy fwd "$FWD"
deploy hello "$HELLO"
SPEC='{"name": "soak",
 "functions": [
  {"name": "f1", "function": "fwd", "output_mapping": {"out": "f2"}},
  {"name": "f2", "function": "fwd", "output_mapping": {"out": "log"}}],
 "resources": [
  {"name": "in", "class_type": "http-ingress", "configurations": {"path": "go", "mode": "cast"},
   "output_mapping": {"new_request": "f1"}},
  {"name": "log", "class_type": "file-log", "configurations": {"filename": "out.log"}}]}'
curl -fs "${AUTH[@]}" -X POST --data-binary "$SPEC" "$CTRL/api/workflows" >/dev/null ||
  die "apply failed"
workflow() { curl -fs "${AUTH[@]}" "$CTRL/api/workflows/soak"; }
for _ in $(seq 1 600); do
  [ "$(workflow | json "d['state']" 2>/dev/null)" = running ] && break
  sleep 0.05
done
[ "$(workflow | json "d['state']")" = running ] || die "the workflow did not start: $(workflow)"
INGRESS=$(workflow | json "d['ingress'][0]['url']")
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -d '{"function":"hello"}' "$ENGINE/execute")" = 200 ] && break
  sleep 0.05
done
# What the file-log instance handled (the log itself rotates in a long run).
logged() { workflow | json "[i['events'] for i in d['instances'] if i['id']=='soak/log/0'][0]"; }

sample() {  # pid -> "rss_kib fds threads"
  local rss threads fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$1/status")
  fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  echo "$rss $fds $threads"
}

echo "soak: control pid $CPID, engine pid ${EPID[1]}, $DURATION of load, a sample every $INTERVAL" >&2
LABEL=ingress BODY=raw RAW='{"amount":150}' \
  wrk -t1 -c"$CONNS" -d"${DUR_S}s" -s "$LUA" "$INGRESS" > "$WORK/wrk-ingress.out" 2>&1 &
W1=$!
PIDS+=("$W1")
FN=hello LABEL=execute wrk -t1 -c"$CONNS" -d"${DUR_S}s" -s "$LUA" "$ENGINE/execute" \
  > "$WORK/wrk-execute.out" 2>&1 &
W2=$!
PIDS+=("$W2")

SAMPLES="$WORK/samples"
: > "$SAMPLES"
start=$(date +%s)
next=$start
# Samples while the load runs (t < DURATION); one more after it, shown but
# not in the verdict (the load's connections are gone by then).
while :; do
  t=$(( $(date +%s) - start ))
  (( t >= DUR_S )) && break
  kill -0 "$CPID" 2>/dev/null || die "aether-control exited: $(tail -5 "$WORK/control.log")"
  kill -0 "${EPID[1]}" 2>/dev/null || die "aether-engine exited: $(tail -5 "$WORK/engine1.log")"
  echo "$t $(sample "$CPID") $(sample "${EPID[1]}")" >> "$SAMPLES"
  next=$(( next + INT_S ))
  (( next - start >= DUR_S )) && break
  sleep $(( next - $(date +%s) > 0 ? next - $(date +%s) : 0 ))
done
wait "$W1" "$W2" || true
sleep 2  # the last events drain into the log and the status reaches the control plane
AFTER="$(( $(date +%s) - start )) $(sample "$CPID") $(sample "${EPID[1]}")"

result() {  # wrk output file -> "requests non2xx sock_errors codes"
  local line codes
  line=$(grep '^RESULT' "$1" || echo "RESULT requests=0 non2xx=0 sock_errors=0")
  codes=$(grep -E '^  status ' "$1" | sed -E 's/^  status ([0-9]+) x([0-9]+).*/\1 x\2/' | paste -sd, - || true)
  echo "$(sed -E 's/.*requests=([0-9]+).*/\1/' <<< "$line") $(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<< "$line") $(sed -E 's/.*sock_errors=([0-9]+).*/\1/' <<< "$line") ${codes:-none}"
}
read -r IN_N IN_BAD IN_SOCK IN_CODES <<< "$(result "$WORK/wrk-ingress.out")"
read -r EX_N EX_BAD EX_SOCK EX_CODES <<< "$(result "$WORK/wrk-execute.out")"
DELIVERED=$(logged || echo "?")
DROPPED=$(curl -fs "$ENGINE/metrics" | awk '/^aether_dataplane_dropped_total / {print $2}')

echo "## Soak ($(date -u +%Y-%m-%dT%H:%M:%SZ), $DURATION, a sample every $INTERVAL, wrk -t1 -c$CONNS x2)"
echo
echo "| t (s) | control RSS (MiB) | control fds | control threads | engine RSS (MiB) | engine fds | engine threads |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
row() {  # [t label] < "t rss fds threads rss fds threads" lines -> table rows
  awk -v t="$1" '{printf "| %s | %.1f | %d | %d | %.1f | %d | %d |\n",
                  t == "" ? $1 : t, $2 / 1024, $3, $4, $5 / 1024, $6, $7}'
}
row "" < "$SAMPLES"
row "${AFTER%% *} (after the load)" <<< "$AFTER"
echo
echo "| load | requests | non-2xx | socket errors | statuses |"
echo "|---|---:|---:|---:|---|"
echo "| workflow ingress (cast; 503 = refused, chain full) | $IN_N | $IN_BAD | $IN_SOCK | $IN_CODES |"
echo "| /execute hello | $EX_N | $EX_BAD | $EX_SOCK | $EX_CODES |"
echo
echo "Events accepted (202): $(( IN_N - IN_BAD )); handled by the file-log: $DELIVERED;"\
  "aether_dataplane_dropped_total: ${DROPPED:-?}. (wrk leaves out the requests in flight when"\
  "it stops, up to $CONNS: the file-log may count that many more.)"
echo
# Verdict: mean of the last third against the mean of the first third.
python3 - "$SAMPLES" "$RSS_TOLERANCE" "$FD_TOLERANCE" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
rss_tol, fd_tol = float(sys.argv[2]), float(sys.argv[3])
k = max(1, len(rows) // 3)
first, last = rows[:k], rows[-k:]
mean = lambda rs, c: sum(r[c] for r in rs) / len(rs)
print(f"Verdict (mean of the last {k} samples against the first {k}):")
print()
print("| process | figure | first third | last third | growth | verdict |")
print("|---|---|---:|---:|---:|---|")
bad = False
for name, base in (("control", 1), ("engine", 4)):
    for label, col, unit in (("RSS", 0, "MiB"), ("fds", 1, ""), ("threads", 2, "")):
        a, b = mean(first, base + col), mean(last, base + col)
        if label == "RSS":
            a, b = a / 1024, b / 1024
            pct = (b - a) / a * 100 if a else 0
            ok = pct <= rss_tol
            growth = f"{pct:+.1f} %"
        else:
            ok = b - a <= fd_tol
            growth = f"{b - a:+.1f}"
        bad |= not ok
        print(f"| {name} | {label} | {a:.1f} {unit} | {b:.1f} {unit} | {growth} | {'flat' if ok else 'GROWS'} |")
print()
print("Overall: " + ("GROWS (see above)" if bad else "flat"))
PY
