#!/usr/bin/env bash
# First response of a newly deployed module while other modules compile
# (issue #11, "Hot paths": target <= 50 ms on the fast tier for a 150 KB
# Rust module). Starts aether-control and one aether-engine on 127.0.0.1
# with empty caches, deploys BURST other modules at once (each compiles its
# fast tier, then its optimized tier with gcc -O2 in the background), then
# deploys word_count (153 KB, Rust) and times deploy -> first 200 from the
# engine's /execute, polling every 2 ms over one kept connection. Repeated ROUNDS times with fresh
# copies of the modules (a unique custom section makes every copy a new
# sha256, so nothing comes from a cache). Prints a markdown table, then
# where each round's time went, from the servers' DEBUG lines
# (docs/benchmarks.md, "Where the time goes").
# Env: BUILD_DIR (build), BURST (6), ROUNDS (3), TOGETHER (0; 1: word_count is
# deployed with the others, not after them, as `make run` deploys).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BURST=${BURST:-6}  # 0: no other compiles (the baseline)
ROUNDS=${ROUNDS:-3}
BIN="$BUILD_DIR/bin"
BENCH_NAME=first_response
LOG_LEVEL=debug  # the stage lines (common/stage_times.h)
# shellcheck source=bench/cluster.sh
. bench/cluster.sh
WC="$BUILD_DIR/functions/word_count.wasm"
[ -f "$WC" ] || die "$WC missing: build first (make build)"
OTHERS=("$BUILD_DIR"/functions/{json_transform,sha,fib,hello,echo}.wasm "$WC")

start_control 10s 1s
start_engine 1 1s
ENGINE="http://127.0.0.1:${EPORT[1]}"

# unique FILE TAG -> a copy with a custom section naming TAG (new sha256).
unique() {
  python3 - "$1" "$2" "$WORK/$2.wasm" <<'PY'
import sys
src, tag, out = sys.argv[1:]
data = open(src, "rb").read()
name = b"aether-bench"
payload = bytes([len(name)]) + name + tag.encode()
open(out, "wb").write(data + b"\x00" + bytes([len(payload)]) + payload)
PY
  echo "$WORK/$2.wasm"
}
deploy() {  # name file
  curl -fs "${AUTH[@]}" -X PUT -H 'Content-Type: application/wasm' --data-binary "@$2" \
    "$CTRL/api/functions/$1" >/dev/null || die "deploy of $1 failed"
}

RESULTS=()
T0S=()
DEPLOYED=()
for r in $(seq 1 "$ROUNDS"); do
  deploys=()
  for i in $(seq 1 "$BURST"); do
    f=${OTHERS[$(( (i - 1) % ${#OTHERS[@]} ))]}
    deploy "other$r-$i" "$(unique "$f" "o$r-$i")" &
    deploys+=($!)
  done
  # TOGETHER=1: word_count goes with them, as `make run` deploys (their
  # fast-tier compiles then run beside its own).
  if [ "${TOGETHER:-0}" != 1 ] && [ ${#deploys[@]} != 0 ]; then
    wait "${deploys[@]}"  # not the servers: background jobs too
  fi
  target=$(unique "$WC" "wc$r")
  # One python process times the round: a curl and a date per poll cost
  # 10-70 ms each on a loaded machine, which the first runs of this bench
  # counted as the platform's.
  read -r t0 deployed ms < <(python3 - "$CTRL" "$TOKEN" "$ENGINE" "wc$r" "$target" <<'PY'
import http.client, sys, time
from urllib.parse import urlparse
ctrl, token, engine, name, path = sys.argv[1:]
def conn(url):
    u = urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)
wasm = open(path, "rb").read()
c, e = conn(ctrl), conn(engine)
e.connect()
t0 = time.time()
c.request("PUT", f"/api/functions/{name}", wasm,
          {"Authorization": f"Bearer {token}", "Content-Type": "application/wasm"})
r = c.getresponse()
r.read()
deployed = time.time()
if r.status != 201:
    print(int(t0 * 1000), -1, "deploy_failed", flush=True)
    sys.exit(0)
body = ('{"function": "%s", "input": "a b c"}' % name).encode()
result, last = "timeout", 0
while time.time() - t0 < 30:
    e.request("POST", "/execute", body, {"Content-Type": "application/json"})
    a = e.getresponse()
    a.read()
    if a.status == 200:
        result = "%.0f" % ((time.time() - t0) * 1000)
        break
    last = a.status
    time.sleep(0.002)
if result == "timeout":
    print(f"{name}: last answer HTTP {last}", file=sys.stderr)
print(int(t0 * 1000), "%.0f" % ((deployed - t0) * 1000), result, flush=True)
PY
  )
  [ "$deployed" != -1 ] || die "deploy of wc$r failed"
  [ ${#deploys[@]} = 0 ] || wait "${deploys[@]}"
  T0S+=("$t0")
  DEPLOYED+=("$deployed")
  RESULTS+=("$ms")
  sleep 5  # let the optimized tiers of this round finish before the next
done

cat <<TABLE
## First response while $BURST other modules compile ($(date -u +%Y-%m-%dT%H:%M:%SZ))

| round | deploy of word_count (153 KB) -> first 200 |
|---|---:|
$(for i in "${!RESULTS[@]}"; do echo "| $((i + 1)) | ${RESULTS[$i]} ms |"; done)

Includes the manifest long-poll to the engine, the fetch of the module
from the control plane and the fast-tier compile; target <= 50 ms.

### Where the time went (ms)

TABLE
stages() {
  python3 - "$WORK/control.log" "$WORK/engine1.log" "$ROUNDS" "${T0S[*]}" "${DEPLOYED[*]}" "${RESULTS[*]}" <<'PY'
import re, sys
from datetime import datetime
control, engine, rounds = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3])
t0s, deployed, results = sys.argv[4].split(), sys.argv[5].split(), sys.argv[6].split()
def at(line):  # spdlog's local time stamp -> epoch ms
    return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000
def find(text, pattern):
    for line in text.splitlines():
        if re.search(pattern, line):
            return line
    return None
def kv(line):
    return dict((k, float(v)) for k, v in re.findall(r"(\w+)=([\d.]+)", line or ""))
print("| round | deploy (HTTP) | validate | store | manifest at engine | read (fetch) "
      "| compile slot | process start | validate | translate | tcc | exit "
      "| publish | dlopen | ready at | first 200 |")
print("|" + "---|" * 16)
for r in range(1, rounds + 1):
    t0 = float(t0s[r - 1])
    # The control plane's own stages, not its compiler process's.
    dep = kv((find(control, rf"deploy of wc{r}:") or "").split(" (validation:")[0])
    loading = find(engine, rf"function wc{r}: loading sha256")
    sha = loading.split()[-1] if loading else "?"
    load = kv(find(engine, rf"function wc{r} load:"))
    comp = kv(find(engine, rf"module {sha} compiled \(fast"))
    ready = find(engine, rf"function wc{r} ready:")
    cells = [deployed[r - 1], dep.get("validate"), dep.get("store"),
             at(loading) - t0 if loading else None, load.get("read"),
             comp.get("slot"), comp.get("start"), comp.get("validate"), comp.get("translate"),
             comp.get("tcc"), comp.get("exit"), comp.get("publish"),
             comp.get("dlopen"), at(ready) - t0 if ready else None, results[r - 1]]
    fmt = lambda c: "?" if c is None else (f"{c:.0f}" if isinstance(c, float) else str(c))
    print(f"| {r} | " + " | ".join(fmt(c) for c in cells) + " |")
PY
}
stages || echo "(no stage lines: are the servers built with this tree?)"
cat <<TABLE

"manifest at engine" and "ready at" are from the deploy's start (the
engine's log stamps, ms resolution); the compile's stages are its own
clock: validate (read and validate the module), translate (wasm2c and the
check of its C, with tcc compiling each checked piece alongside), tcc
(what tcc had left then). Log stamps are local time: run on one machine.
TABLE
