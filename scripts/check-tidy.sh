#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over our sources; fails on NEW findings.
#
#   scripts/check-tidy.sh             the units affected since the recorded state (CI)
#   scripts/check-tidy.sh --all       every unit
#   scripts/check-tidy.sh --all --record   every unit, then accept what it found:
#                                     rewrites .clang-tidy-baseline (commit it)
#   scripts/check-tidy.sh FILE.cc...  just those units
#
# The rule, and why: one clang-tidy run over every translation unit (~200)
# takes 20-40 min at -j2 on the 2-core CI machine (measured 9-15 s a unit
# on an idle core, more when the machine is busy: Boost.Asio and Beast
# headers in most units), past the ~6 min CI can spare. So .clang-tidy-baseline
# records a commit ("# checked-at: <sha>") where every unit was checked, and
# the findings accepted there (file|check|message, without line numbers, so
# moved code keeps them). A normal run checks only the units changed since
# that commit, plus one unit that includes each changed header (a header's
# findings show in any unit that includes it), or all of them when
# .clang-tidy changed, and fails on any finding that is not in the
# baseline. Everything it reads is in git, so a clean clone of main gets
# the same answer on any machine. A finding in a changed file: fix it; a
# false positive: NOLINT(check) with a reason on that line. When more than
# TIDY_MAX_UNITS units are to be checked (a big merge, a reformat), the run
# refuses instead of overrunning CI: check everything once with
# `--all --record` and commit the new baseline, which also moves the
# recorded commit forward.
#
# Env: BUILD_DIR (build; needs compile_commands.json, written by CMake),
# TIDY_JOBS (nproc), CLANG_TIDY (clang-tidy-14), TIDY_MAX_UNITS (120: about 8-10 min at -j2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
JOBS=${TIDY_JOBS:-$(nproc)}
TIDY=${CLANG_TIDY:-clang-tidy-14}
MAX_UNITS=${TIDY_MAX_UNITS:-120}
BASELINE=.clang-tidy-baseline
HELPER="python3 scripts/tidy_findings.py"

die() { echo "check-tidy: $*" >&2; exit 2; }

mode=changed
record=0
files=()
for a in "$@"; do
  case "$a" in
    --all) mode=all ;;
    --record) record=1 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $a (see --help)" ;;
    *) files+=("$a"); mode=files ;;
  esac
done
[ "$record" = 0 ] || [ "$mode" = all ] || die "--record needs --all"
command -v "$TIDY" >/dev/null || die "no $TIDY (make deps)"
DB="$BUILD/compile_commands.json"
[ -f "$DB" ] || die "no $DB: configure the build first (make build)"

base=""
if [ -f "$BASELINE" ]; then
  base=$(sed -n 's/^# checked-at: *//p' "$BASELINE" | head -1)
fi
if [ "$mode" = changed ]; then
  [ -n "$base" ] || die "$BASELINE records no checked-at commit: run scripts/check-tidy.sh --all --record"
  if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    die "the recorded commit $base is not in this clone (shallow?): fetch more history, or run --all"
  fi
fi

case "$mode" in
  all) mapfile -t units < <($HELPER units "$ROOT" "$DB" -) ;;
  changed) mapfile -t units < <($HELPER units "$ROOT" "$DB" "$base") ;;
  files)
    # A set, not `printf | grep -q`: under pipefail grep's early exit can
    # fail the pipe (SIGPIPE) and refuse a unit that is there.
    declare -A known=()
    while IFS= read -r u; do known["$u"]=1; done < <($HELPER units "$ROOT" "$DB" -)
    units=()
    for f in "${files[@]}"; do
      rel=$(realpath --relative-to="$ROOT" "$f")
      [ -n "${known[$rel]:-}" ] || die "$rel is not a unit of $DB"
      units+=("$rel")
    done ;;
esac

# The helper prints an empty line when nothing changed: not a unit.
if [ "${#units[@]}" -eq 1 ] && [ -z "${units[0]}" ]; then units=(); fi

if [ "$mode" = changed ] && [ "${#units[@]}" -gt "$MAX_UNITS" ]; then
  die "${#units[@]} units changed since the recorded tidy state (${base:0:12}); more than \
TIDY_MAX_UNITS=$MAX_UNITS would overrun CI. Run 'scripts/check-tidy.sh --all --record' \
(about an hour on 2 cores) and commit $BASELINE."
fi
if [ "${#units[@]}" -eq 0 ]; then
  echo "check-tidy: no unit changed since ${base:0:12}; nothing to check"
  exit 0
fi

LOGS=$(mktemp -d /tmp/aether-tidy.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
echo "check-tidy: ${#units[@]} units, $JOBS at a time (logs in $LOGS while it runs)"
start=$SECONDS
# -Wno-error: clang's own warnings (clang-diagnostic-*) are the compiler's
# business, which gcc does in the build; they must not stop tidy's checks.
export TIDY BUILD LOGS
printf '%s\n' "${units[@]}" | xargs -P "$JOBS" -I{} bash -c '
  log="$LOGS/$(echo "$1" | tr / _).log"
  "$TIDY" -p "$BUILD" --quiet --extra-arg=-Wno-error "$1" >"$log" 2>&1 || echo "$1" >>"$LOGS/failed"
' _ {}
echo "check-tidy: done in $((SECONDS - start)) s"
if [ -f "$LOGS/failed" ]; then
  echo "check-tidy: clang-tidy could not check these units:" >&2
  while read -r u; do
    echo "--- $u" >&2
    grep -m 10 "error:" "$LOGS/$(echo "$u" | tr / _).log" >&2 || true
  done <"$LOGS/failed"
  exit 1
fi

if [ "$record" = 1 ]; then
  $HELPER record "$ROOT" "$BASELINE" "$(git rev-parse HEAD)" "$LOGS"/*.log
  [ -z "$(git status --porcelain --untracked-files=no -- . ":!$BASELINE")" ] ||
    echo "check-tidy: note: the work tree has uncommitted changes; the recorded commit is HEAD" >&2
  exit 0
fi
if ! out=$($HELPER compare "$ROOT" "$BASELINE" "$LOGS"/*.log); then
  echo "check-tidy: new clang-tidy findings (fix them, or NOLINT(check) with a reason):" >&2
  echo "$out" >&2
  exit 1
fi
echo "check-tidy: no new findings"
