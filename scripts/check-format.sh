#!/usr/bin/env bash
# clang-format (.clang-format) over our C++ sources, without changing them:
# exits 1 and names each file whose formatting differs, 0 when all match.
#
#   scripts/check-format.sh             every tracked C++ file under src/
#                                       tests/ bench/ fuzz/ (CI)
#   scripts/check-format.sh FILE...     just those files
#   scripts/check-format.sh --fix       reformat them in place instead
#
# The files are the ones git tracks (plus FILE... as given), so build dirs
# and untracked scratch files never count, and a clean clone gets the same
# answer on any machine. Guests (tests/guests/*.c) are C for wasm32 and are
# not checked; neither is vendored code (there is none under these trees).
#
# Env: CLANG_FORMAT (clang-format-14: the version pins the output, since
# clang-format's layout changes between releases).
set -euo pipefail
cd "$(dirname "$0")/.."
FORMAT=${CLANG_FORMAT:-clang-format-14}

die() { echo "check-format: $*" >&2; exit 2; }

fix=0
files=()
for a in "$@"; do
  case "$a" in
    --fix) fix=1 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $a (see --help)" ;;
    *) files+=("$a") ;;
  esac
done
command -v "$FORMAT" >/dev/null || die "no $FORMAT (make deps)"
[ -f .clang-format ] || die "no .clang-format at the top of the tree"

if [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(git ls-files -- 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' \
    'bench/*.cc' 'bench/*.h' 'fuzz/*.cc' 'fuzz/*.h')
fi
[ ${#files[@]} -gt 0 ] || die "no files to check"

if [ "$fix" = 1 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 "$FORMAT" -i --style=file
  echo "check-format: reformatted ${#files[@]} files"
  exit 0
fi

# --dry-run -Werror: an error line per difference ("FILE:LINE:COL: error:
# code should be clang-formatted") and a non-zero exit, no change. One run
# over every file (one process per file costs minutes on a busy machine);
# keep the names of the files that differ, not every line.
for f in "${files[@]}"; do [ -f "$f" ] || die "no such file: $f"; done
out=$(printf '%s\0' "${files[@]}" | xargs -0 "$FORMAT" --dry-run -Werror --style=file 2>&1) && rc=0 || rc=$?
mapfile -t bad < <(printf '%s\n' "$out" | sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: .*\[-Wclang-format-violations\]$/\1/p' | sort -u)
if [ "$rc" -ne 0 ] && [ ${#bad[@]} -eq 0 ]; then
  echo "$out" | head -n 20 >&2
  die "$FORMAT failed"
fi
if [ ${#bad[@]} -ne 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not formatted as .clang-format says:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "check-format: see one with '$FORMAT --dry-run --style=file FILE';" \
    "fix with 'scripts/check-format.sh --fix FILE...'" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
