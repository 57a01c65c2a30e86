#!/usr/bin/env bash
# First response of a newly deployed module while other modules compile
# (issue #11, "Hot paths": target <= 50 ms on the fast tier for a 150 KB
# Rust module). Starts aether-control and one aether-engine on 127.0.0.1
# with empty caches, deploys BURST other modules at once (each compiles its
# fast tier, then its optimized tier with gcc -O2 in the background), then
# deploys word_count (153 KB, Rust) and times deploy -> first 200 from the
# engine's /execute, polling every 2 ms. Repeated ROUNDS times with fresh
# copies of the modules (a unique custom section makes every copy a new
# sha256, so nothing comes from a cache). Prints a markdown table.
# Env: BUILD_DIR (build), BURST (6), ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BURST=${BURST:-6}  # 0: no other compiles (the baseline)
ROUNDS=${ROUNDS:-3}
BIN="$BUILD_DIR/bin"
BENCH_NAME=first_response
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
for r in $(seq 1 "$ROUNDS"); do
  deploys=()
  for i in $(seq 1 "$BURST"); do
    f=${OTHERS[$(( (i - 1) % ${#OTHERS[@]} ))]}
    deploy "other$r-$i" "$(unique "$f" "o$r-$i")" &
    deploys+=($!)
  done
  [ ${#deploys[@]} = 0 ] || wait "${deploys[@]}"  # not the servers: background jobs too
  target=$(unique "$WC" "wc$r")
  t0=$(now_ms)
  deploy "wc$r" "$target"
  ms=timeout
  for _ in $(seq 1 1500); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      --data '{"function": "wc'"$r"'", "input": "a b c"}' "$ENGINE/execute")
    if [ "$code" = 200 ]; then ms=$(( $(now_ms) - t0 )); break; fi
    last=$code
    sleep 0.002
  done
  [ "$ms" != timeout ] || echo "round $r: last answer HTTP $last" >&2
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
TABLE
