#!/usr/bin/env bash
# `make run`: Aether-in-a-box. Starts `aether dev` — a control plane on
# 127.0.0.1:9090 and one engine on 127.0.0.1:9091 in one process — deploys
# the example functions (build/functions/*.wasm) and prints what to try.
# State (store, modules, tokens, compile cache) lives in ./.aether/, so a
# restart keeps what was deployed. Ctrl-C stops it.
#   PORT=9190 ENGINE_PORT=9191 make run    other ports
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
PORT=${PORT:-9090}
ENGINE_PORT=${ENGINE_PORT:-9091}
AETHER="$BUILD_DIR/bin/aether"
FUNCTIONS="$BUILD_DIR/functions"

if [ ! -x "$AETHER" ]; then
  echo "run-local: $AETHER is missing; run 'make build' first" >&2
  exit 1
fi

BIN="$(cd "$BUILD_DIR/bin" && pwd)"
cat <<MSG
The commands below call \`aether\`; put it on your PATH first:
  export PATH="$BIN:\$PATH"
MSG

exec "$AETHER" dev --port "$PORT" --engine-port "$ENGINE_PORT" --data-dir .aether \
  --deploy-examples "$FUNCTIONS"
