#!/usr/bin/env bash
# Builds the libFuzzer targets (every src/**/NAME_fuzz_test.cc -> NAME_fuzz,
# see fuzz/CMakeLists.txt) with clang-14, ASan and UBSan in a build dir of
# their own, then runs each for FUZZ_SECONDS from its seed corpus. Exits 1
# if any target crashed, leaked, hit UB, timed out or ran out of memory;
# the input that did it is left in $FUZZ_BUILD_DIR/artifacts/.
#
#   scripts/fuzz.sh                     # every target, 30 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh json_util_fuzz translate_fuzz
#   $FUZZ_BUILD_DIR/bin/NAME_fuzz CRASH_FILE   # replay one input
#
# Env: FUZZ_SECONDS (30), FUZZ_BUILD_DIR (build/fuzzing), FUZZ_JOBS (ninja
# -j, default nproc), FUZZ_CC/FUZZ_CXX (clang-14/clang++-14), FUZZ_WERROR=ON to keep -Werror (off by default: clang
# warns where gcc does not, and this build is for finding bugs, not lint).
# The corpus each run grows is kept in $FUZZ_BUILD_DIR/corpus/NAME, so runs
# build on each other; committed seeds are in fuzz/seeds/NAME/ and the
# translate seeds are the test guests (*.wasm) built in the same dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
BUILD=${FUZZ_BUILD_DIR:-build/fuzzing}
JOBS=${FUZZ_JOBS:-$(nproc)}
CC_BIN=${FUZZ_CC:-clang-14}
CXX_BIN=${FUZZ_CXX:-clang++-14}

# The libraries get coverage instrumentation (fuzzer-no-link) and the
# sanitizers; only the fuzz executables link libFuzzer itself (see
# fuzz/CMakeLists.txt). -fno-sanitize=function: clang-14's UBSan function
# check cannot assemble C++20 coroutines (Asio's awaitables in
# http_client.cc: "Cannot represent a difference across sections",
# llvm-project#54153).
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-sanitize=function"
SAN="$SAN -fsanitize=fuzzer-no-link -fno-omit-frame-pointer"

# As scripts/sanitize.sh: a unity build (half the compile time) and ccache
# when installed.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CC=$CC_BIN CXX=$CXX_BIN cmake -S "$ROOT" -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAETHER_FUZZ=ON -DAETHER_BUILD_BENCH=OFF \
  -DAETHER_UNITY_BUILD=ON -DAETHER_FUZZ_WERROR="${FUZZ_WERROR:-OFF}" \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" "${launcher[@]}" >/dev/null
ninja -C "$BUILD" -j "$JOBS" fuzzers guests

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for bin in "$BUILD"/bin/*_fuzz; do targets+=("$(basename "$bin")"); done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD/artifacts" "$BUILD/logs"

failed=()
for t in "${targets[@]}"; do
  bin="$BUILD/bin/$t"
  [ -x "$bin" ] || { echo "fuzz: no such target $t" >&2; exit 2; }
  corpus="$BUILD/corpus/$t"
  mkdir -p "$corpus"
  seeds=()
  [ -d "fuzz/seeds/$t" ] && seeds+=("fuzz/seeds/$t")
  if [ "$t" = translate_fuzz ]; then
    # A few small real modules; the fuzzer mutates from valid structure.
    mkdir -p "$BUILD/seeds/$t"
    for g in hello fib trap_div_zero trap_indirect counter echo; do
      [ -f "$BUILD/guests/$g.wasm" ] && cp "$BUILD/guests/$g.wasm" "$BUILD/seeds/$t/"
    done
    seeds+=("$BUILD/seeds/$t")
  fi
  dict=()
  [ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="fuzz/dicts/$t.dict")
  log="$BUILD/logs/$t.log"
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s (log: $log)"
  if "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" "${dict[@]}" \
      "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz: $t ok: ${execs:-?} runs, $cov, corpus $(ls "$corpus" | wc -l) inputs"
  else
    echo "fuzz: $t FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failures in ${failed[*]}; inputs in $BUILD/artifacts/" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets clean"
