#!/usr/bin/env bash
# `cmake --install` into a DESTDIR, then the installed programs run: the
# control plane and an engine on 127.0.0.1 (ephemeral ports, state in a
# temp dir), a function deployed and invoked through the installed CLI, and
# a C workflow built with the installed SDK and called through its ingress.
# The tokens come the ways systemd gives them: the control plane's from
# [auth] *_file keys, the engine's join token as a credential
# ($CREDENTIALS_DIRECTORY/join_token).
#
#   install_test.sh BUILD_DIR SOURCE_DIR
#
# Every process it starts is stopped by its PID on exit.
set -euo pipefail

BUILD_DIR=$(cd "$1" && pwd)
SOURCE_DIR=$(cd "$2" && pwd)
# The prefix the build directory was configured with (the units name it).
PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD_DIR/CMakeCache.txt")
PREFIX=${PREFIX:-/usr/local}

TMP=$(mktemp -d /tmp/aether-install-test.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for log in "$TMP"/*.log; do
      [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }
    done
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
# shellcheck source=tests/support/checks.sh
. "$SOURCE_DIR/tests/support/checks.sh"

# 1. Install.
DESTDIR="$TMP/root" cmake --install "$BUILD_DIR" > "$TMP/install.log"
ROOT="$TMP/root$PREFIX"
for f in bin/aether bin/aether-control bin/aether-engine bin/aether-compiler \
         share/aether/sdk/aether.h share/aether/examples/control.toml \
         share/aether/examples/engine.toml lib/systemd/system/aether-control.service \
         lib/systemd/system/aether-engine.service lib/sysusers.d/aether.conf; do
  [ -e "$ROOT/$f" ] || fail "not installed: $PREFIX/$f"
done
grep -q "^ExecStart=$PREFIX/bin/aether-engine " "$ROOT/lib/systemd/system/aether-engine.service" ||
  fail "aether-engine.service does not start $PREFIX/bin/aether-engine"
# The units parse and name existing programs (systemd-analyze wants the
# ExecStart= binaries: point them into the DESTDIR for the check).
if command -v systemd-analyze > /dev/null; then
  mkdir "$TMP/units"
  for u in aether-control aether-engine; do
    sed "s#^ExecStart=$PREFIX/bin/#ExecStart=$ROOT/bin/#" "$ROOT/lib/systemd/system/$u.service" \
      > "$TMP/units/$u.service"
  done
  verify=$(systemd-analyze verify "$TMP/units/aether-control.service" \
           "$TMP/units/aether-engine.service" 2>&1) || fail "systemd-analyze verify: $verify"
  [ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
fi

# 2. Configs: absolute state dirs in the temp dir, ephemeral ports.
mkdir -m 0700 -p "$TMP/etc" "$TMP/creds" "$TMP/state"
ADMIN_TOKEN=$(openssl rand -hex 32)
JOIN_TOKEN=$(openssl rand -hex 32)
printf '%s\n' "$ADMIN_TOKEN" > "$TMP/etc/admin.token"
printf '%s\n' "$JOIN_TOKEN" > "$TMP/etc/join.token"
cp "$TMP/etc/join.token" "$TMP/creds/join_token"
chmod 0600 "$TMP/etc/"*.token "$TMP/creds/join_token"
cat > "$TMP/etc/control.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0
[database]
path = "$TMP/state/control/aether.db"
[auth]
token_file = "$TMP/etc/admin.token"
join_token_file = "$TMP/etc/join.token"
EOF

# Waits for "listening on http://127.0.0.1:PORT" in a log; prints the URL.
wait_url() {
  local log=$1 pid=$2 url=""
  for _ in $(seq 1 200); do
    url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null | head -n1 |
          sed 's/^listening on //') || true
    [ -n "$url" ] && { echo "$url"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# 3. The installed servers, started from a directory that is not the state's
# (as systemd would from WorkingDirectory=).
cd "$TMP"
"$ROOT/bin/aether-control" --config "$TMP/etc/control.toml" > "$TMP/control.log" 2>&1 &
PIDS+=($!)
CONTROL=$(wait_url "$TMP/control.log" "${PIDS[0]}") || fail "aether-control did not start"
grep -q "admin token: $TMP/etc/admin.token" "$TMP/control.log" ||
  fail "the control plane does not say its admin token came from token_file"
[ ! -e "$TMP/state/control/admin.token" ] || fail "an admin token was generated despite token_file"

cat > "$TMP/etc/engine.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0
[runtime]
data_dir = "$TMP/state/engine"
[control]
url = "$CONTROL"
node_id = "install-test"
[registry]
heartbeat_interval = "1s"
EOF
CREDENTIALS_DIRECTORY="$TMP/creds" "$ROOT/bin/aether-engine" --config "$TMP/etc/engine.toml" \
  > "$TMP/engine.log" 2>&1 &
PIDS+=($!)
wait_url "$TMP/engine.log" "${PIDS[1]}" > /dev/null || fail "aether-engine did not start"
if grep -q -e "$JOIN_TOKEN" -e "$ADMIN_TOKEN" "$TMP/control.log" "$TMP/engine.log"; then
  fail "a token is in a log"
fi

# 4. Deploy and invoke through the installed CLI.
export AETHER_CONTROL="$CONTROL" AETHER_TOKEN="$ADMIN_TOKEN"
AETHER="$ROOT/bin/aether"
"$AETHER" deploy hello "$BUILD_DIR/functions/hello.wasm" > "$TMP/deploy.log" 2>&1 ||
  fail "deploy: $(cat "$TMP/deploy.log")"
out=""
wait_invoke "$AETHER" hello install "$TMP/invoke.log"

# 5. A workflow whose C functions the installed CLI builds with the
# installed SDK (no Aether checkout above the spec or the working directory).
if command -v clang-14 > /dev/null; then
  mkdir "$TMP/wf"
  cp "$SOURCE_DIR/examples/pipeline/parse.c" "$SOURCE_DIR/functions/workflow/filter.c" "$TMP/wf/"
  sed 's#"\.\./\.\./functions/workflow/filter\.c"#"filter.c"#' \
    "$SOURCE_DIR/examples/pipeline/workflow.json" > "$TMP/wf/workflow.json"
  "$AETHER" workflow apply "$TMP/wf/workflow.json" > "$TMP/apply.log" 2>&1 ||
    fail "workflow apply: $(cat "$TMP/apply.log")"
  pipeline_accepts "$TMP/apply.log" > /dev/null
else
  echo "install_test: clang-14 not found: the workflow step is skipped"
fi

# 6. A clean stop.
for i in 1 0; do
  kill -TERM "${PIDS[$i]}"
  wait "${PIDS[$i]}" || fail "server $i did not exit 0 on SIGTERM"
done
PIDS=()
echo "install_test: OK"
