#!/usr/bin/env bash
# Builds the unit and integration tests, and the binaries they start, with
# clang-14, AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer
# in a build dir of their own, then runs them with ctest. Exits 1 if a test
# failed or any process (a test, or an engine, control plane or CLI that a
# test started) reported a sanitizer error; the reports are printed and
# kept in $SANITIZE_BUILD_DIR/sanitizer-logs/. docs/sanitizers.md says more.
#
#   scripts/sanitize.sh                      # build, then every test
#   scripts/sanitize.sh -R wasm_test         # extra arguments go to ctest
#   SANITIZE_BUILD_DIR=... scripts/sanitize.sh
#
# Env: SANITIZE_BUILD_DIR (build/sanitize), SANITIZE_JOBS (ninja and ctest
# -j, default nproc). Uses ccache when it is installed.
#
# Cost on this 2-core machine (load ~1.5 from other work), ccache off: the
# build from scratch 6 min 53 s (15 CPU-minutes), the tests (ctest -j2)
# 1 min 45 s, the whole script 8 min 41 s. With a warm ccache the build
# takes ~1 min 50 s. The unity build (AETHER_UNITY_BUILD) halves the build:
# one source at a time took 32.5 CPU-minutes. Under heavy load (5-6) the
# same from-scratch run took 17 min 52 s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD=${SANITIZE_BUILD_DIR:-build/sanitize}
JOBS=${SANITIZE_JOBS:-$(nproc)}

# -fno-sanitize=function: as in scripts/fuzz.sh (clang-14 cannot assemble
# it with C++20 coroutines, llvm-project#54153). -fno-sanitize-recover: UB
# is an error, not a warning. -gline-tables-only: enough for symbolized
# reports, cheaper than -g. -O2 as in the everyday build (-O1 compiles no
# faster here).
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-sanitize=function"
SAN="$SAN -fno-omit-frame-pointer"
OPT="-O2 -gline-tables-only -DNDEBUG"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAETHER_BUILD_BENCH=OFF -DAETHER_UNITY_BUILD=ON \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="$OPT" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$OPT" \
  "${launcher[@]}" >/dev/null
echo "sanitize: building $BUILD (clang-14, ASan + UBSan)"
ninja -C "$BUILD" -j "$JOBS"

LOGS=$ROOT/$BUILD/sanitizer-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
# Every process writes its report to $LOGS/asan.PID (UBSan's to ubsan.PID)
# instead of stderr: the engines and control planes that tests start write
# stderr to logs in temporary directories, and a report there would be lost.
# Inherited by every process the tests start, except the compiler process,
# which gets a clean environment; its options are in compiler_main.cc, and
# the engine brings its reports into its own log (internal/sandbox.cc).
#   detect_leaks=1: LeakSanitizer works here (no suppressions needed).
#   handle_segv=1 (default): ASan's SIGSEGV handler is installed at start-up;
#     the runtime replaces it with its own (allow_user_segv_handler=1, the
#     default), which turns faults in guest code into traps and hands every
#     other fault back to ASan's (internal/thread_state.cc).
#   detect_stack_use_after_return=1: a pointer to a returned function's
#     locals; its fake frames live on the heap, which the runtime's stack
#     limits (measured on the real stack) do not mind.
#   check_initialization_order, strict_init_order: static initialisers that
#     read another file's globals.
ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1"
ASAN_OPTIONS="$ASAN_OPTIONS:check_initialization_order=1:strict_init_order=1:log_path=$LOGS/asan"
export ASAN_OPTIONS
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan"
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer

status=0
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" "$@" || status=1

reports=("$LOGS"/*)
if [ -e "${reports[0]}" ]; then
  for r in "${reports[@]}"; do
    echo "sanitize: report in $r:" >&2
    head -n 60 "$r" >&2
  done
  echo "sanitize: ${#reports[@]} sanitizer report(s) in $LOGS" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "sanitize: FAILED (ASan + UBSan build in $BUILD)" >&2
  exit 1
fi
echo "sanitize: all tests clean under ASan + UBSan"
