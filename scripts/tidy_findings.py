#!/usr/bin/env python3
"""Helper of scripts/check-tidy.sh; the rules are described there.

  tidy_findings.py units ROOT COMPILE_DB BASE|-            -> the TUs to check
  tidy_findings.py compare ROOT BASELINE LOG...            -> new findings, exit 1
  tidy_findings.py record ROOT BASELINE COMMIT LOG...      -> writes BASELINE

A finding is keyed by file (relative to ROOT), check and message, without
the line and column: code that moves keeps its accepted findings, and a
finding that a header gives in every TU including it counts once.
"""
import json
import os
import re
import subprocess
import sys

# Our sources: what CMake compiles from these trees (guests are wasm32 C,
# built outside the compile database).
OUR_TREES = ("src/", "tests/integration/", "tests/support/", "tests/chaos/", "tests/browser/",
             "bench/")
WARNING = re.compile(r"^(?P<path>[^:\s][^:]*):(?P<line>\d+):(?P<col>\d+): warning: "
                     r"(?P<msg>.*) \[(?P<check>[a-z0-9.,-]+)\]$")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def ours(rel):
    return rel.startswith(OUR_TREES)


def translation_units(root, db):
    with open(db) as f:
        entries = json.load(f)
    units = []
    for e in entries:
        path = os.path.normpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(path, root)
        if ours(rel) and rel not in units:
            units.append(rel)
    return sorted(units)


def git(root, *args):
    return subprocess.run(["git", "-C", root, *args], check=True, capture_output=True,
                          text=True).stdout


def changed_files(root, base):
    """Files that differ from `base`: commits since, the index, the work tree,
    and untracked files (so a local run sees what CI will see)."""
    out = set(git(root, "diff", "--name-only", base).split())
    out |= set(git(root, "ls-files", "--others", "--exclude-standard").split())
    return out


def includes_of(root, rel, cache):
    """Project headers that `rel` includes directly ("..." includes resolved
    against src/, the file's own directory and tests/support/, which the
    tests that start the binaries include by bare name)."""
    if rel in cache:
        return cache[rel]
    found = []
    try:
        with open(os.path.join(root, rel), errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    for inc in INCLUDE.findall(text):
        for cand in (os.path.join("src", inc), os.path.join(os.path.dirname(rel), inc),
                     os.path.join("tests/support", inc)):
            cand = os.path.normpath(cand)
            if os.path.isfile(os.path.join(root, cand)):
                found.append(cand)
                break
    cache[rel] = found
    return found


def closure(root, unit, cache):
    """`unit` and every project header it reaches through includes."""
    seen, todo = set(), [unit]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(includes_of(root, f, cache))
    return seen


def cmd_units(root, db, base):
    """The changed units, and for each changed header that none of them
    reaches, one unit that includes it (its own .cc when it has one): a
    header's findings show in any unit that includes it, so one is enough.
    What a header change does to the code of other units that include it is
    not checked here (rare for these checks); --all checks everything."""
    units = translation_units(root, db)
    if base == "-":
        print("\n".join(units))
        return 0
    changed = changed_files(root, base)
    if ".clang-tidy" in changed:
        print("\n".join(units))
        return 0
    cache = {}
    picked = [u for u in units if u in changed]
    covered = set()
    for u in picked:
        covered |= closure(root, u, cache)
    headers = sorted(f for f in changed if ours(f) and f.endswith(".h"))
    for h in headers:
        if h in covered:
            continue
        own = h[:-2] + ".cc"
        candidates = ([own] if own in units else []) + units
        for u in candidates:
            reach = closure(root, u, cache)
            if h in reach:
                picked.append(u)
                covered |= reach
                break
    print("\n".join(sorted(set(picked))))
    return 0


def findings(root, logs):
    out = set()
    for log in logs:
        with open(log, errors="replace") as f:
            for line in f:
                m = WARNING.match(line.rstrip("\n"))
                if not m:
                    continue
                if m["check"].startswith("clang-diagnostic-"):
                    continue  # the compiler's warnings: gcc's job, in the build
                rel = os.path.relpath(os.path.normpath(m["path"]), root)
                if ours(rel):
                    out.add(f"{rel}|{m['check']}|{m['msg']}")
    return out


def read_baseline(path):
    keys = set()
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if line and not line.startswith("#"):
                    keys.add(line)
    return keys


def cmd_compare(root, baseline, logs):
    new = sorted(findings(root, logs) - read_baseline(baseline))
    for key in new:
        path, check, msg = key.split("|", 2)
        print(f"  {path}: {msg} [{check}]")
    return 1 if new else 0


def cmd_record(root, baseline, commit, logs):
    keys = sorted(findings(root, logs))
    with open(baseline, "w") as f:
        f.write("# clang-tidy findings accepted as of the commit below (scripts/check-tidy.sh).\n")
        f.write("# One per line: file|check|message. Written by --record; fix and remove\n")
        f.write("# entries rather than adding them by hand.\n")
        f.write(f"# checked-at: {commit}\n")
        for k in keys:
            f.write(k + "\n")
    print(f"{len(keys)} findings recorded in {os.path.relpath(baseline, root)}")
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "units":
        return cmd_units(argv[2], argv[3], argv[4])
    if len(argv) >= 4 and argv[1] == "compare":
        return cmd_compare(argv[2], argv[3], argv[4:])
    if len(argv) >= 5 and argv[1] == "record":
        return cmd_record(argv[2], argv[3], argv[4], argv[5:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
