#!/usr/bin/env bash
# `make run`: starts a local Aether engine serving the example functions
# (build/functions/*.wasm) on 127.0.0.1:9091 and prints how to call them.
# State (compiled-module cache) lives in ./.aether/. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
PORT=${PORT:-9091}
ENGINE="$BUILD_DIR/bin/aether-engine"
FUNCTIONS="$(cd "$BUILD_DIR" && pwd)/functions"

if [ ! -x "$ENGINE" ]; then
  echo "run-local: $ENGINE is missing; run 'make build' first" >&2
  exit 1
fi
mkdir -p .aether
cat > .aether/engine.toml <<TOML
[server]
host = "127.0.0.1"
port = $PORT

[runtime]
functions_dir = "$FUNCTIONS"
data_dir = "$PWD/.aether/engine"
TOML

cat <<MSG

Aether engine starting on http://127.0.0.1:$PORT, serving $(ls "$FUNCTIONS" | sed -n 's/\.wasm$//p' | tr '\n' ' ')

Try, from another terminal:
  curl -s localhost:$PORT/execute -d '{"function":"hello","input":"world"}'
  curl -s localhost:$PORT/execute -d '{"function":"fib","input":25}'
  curl -s localhost:$PORT/execute -d '{"function":"sha","input":"abc"}'
  curl -s localhost:$PORT/execute -d '{"function":"json_transform","input":{"name":"ada","langs":["c","wasm"]}}'
  curl -s localhost:$PORT/health
  curl -s localhost:$PORT/metrics | head
  $BUILD_DIR/bin/aether run $BUILD_DIR/functions/hello.wasm      # the same sandbox, locally

Drop any wasm32-wasi module into $FUNCTIONS as NAME.wasm and call it by NAME.
Ctrl-C to stop.

MSG
exec "$ENGINE" --config .aether/engine.toml
