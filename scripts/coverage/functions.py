"""Per-function coverage from an `llvm-cov export` JSON (as `cargo llvm-cov report --json` writes
it, function names demangled), for the functions of one source directory, test code left out.

    python3 functions.py COVERAGE.json REPO_ROOT src/apply [CARGO_LLVM_COV]

The export names functions by their mangled symbols (`_RNvNtNtCs…_5berth5apply4plan4plan`):
given CARGO_LLVM_COV (the pinned binary), its demangler mode turns them into paths
(`berth::apply::plan::plan`); scripts/coverage.sh passes it.

Prints a Markdown table: function, file, regions covered/total, lines covered/total (and
branches covered/total when the export has branch regions: `cargo llvm-cov --branch`), then one
total row per file and one for the directory.

Counting follows llvm-cov's own report: a region is a code region (kind 0) and is covered when
its count is non-zero; a line is one llvm-cov maps (a region starts on it or a counted region
wraps it) and is covered when its count is non-zero: the lines of llvm-cov's line table (its
LCOV export has the same ones; the file summary in the JSON export counts more). A function's row merges the records that
belong to it: an async fn's body and its closures (`::{{closure}}`, `::{closure#N}`), and a
generic function's instantiations, whose identical regions count once (covered if any covered
it). Its lines are the file's lines llvm-cov maps from its first to its last region. A branch
region (one condition) counts as two branches, its true and its false side, each covered when
taken at least once.
"""

import json
import os
import re
import subprocess
import sys
from collections import defaultdict

CODE_REGION = 0
CLOSURE = re.compile(r"(::\{\{closure\}\}|::\{closure#\d+\}|::\{shim:[^}]*\})+$")
HASH = re.compile(r"::h[0-9a-f]{16}$")


def line_counts(segments):
    """{line: count} for the lines llvm-cov maps (LineCoverageStats in LLVM's CoverageMapping)."""
    counts = {}
    if not segments:
        return counts
    wrapped = None
    i = 0
    for line in range(segments[0][0], segments[-1][0] + 1):
        on_line = []
        while i < len(segments) and segments[i][0] == line:
            on_line.append(segments[i])
            i += 1
        # segment: [line, col, count, has_count, is_region_entry, is_gap_region]
        starts = [s for s in on_line if s[3] and s[4] and not s[5]]
        skipped = bool(on_line) and not on_line[0][3] and on_line[0][4]
        mapped = not skipped and ((wrapped is not None and wrapped[3]) or bool(starts))
        mapped = mapped or any(s[4] and s[3] for s in on_line)
        if mapped:
            count = wrapped[2] if wrapped is not None else 0
            for s in starts:
                count = max(count, s[2])
            counts[line] = count
        if on_line:
            wrapped = on_line[-1]
    return counts


INHERENT = re.compile(r"^<([^<> ]+)>::")


def demangled(names, demangler):
    """The names demangled by cargo-llvm-cov's demangler mode (rustc-demangle over stdin; the
    environment variable is how cargo-llvm-cov itself runs it as llvm-cov's -Xdemangler)."""
    if not demangler:
        return names
    env = dict(os.environ, __CARGO_LLVM_COV_DEMANGLER="1")
    out = subprocess.run([demangler], input="\n".join(names) + "\n", capture_output=True,
                         text=True, env=env, check=True).stdout.split("\n")
    if len(out) < len(names):
        sys.exit(f"{demangler}: {len(out)} names back for {len(names)}")
    return out[:len(names)]


def without_generic_args(name):
    """`f::<Vec<T>, U>::{closure#0}` -> `f::{closure#0}` (brackets balanced)."""
    while (start := name.find("::<")) >= 0:
        depth, end = 0, start + 2
        for end in range(start + 2, len(name)):
            depth += {"<": 1, ">": -1}.get(name[end], 0)
            if depth == 0:
                break
        name = name[:start] + name[end + 1:]
    return name


def owner(name):
    """The function a record belongs to: closures and async bodies go to their function, a
    generic function's instantiations to the function (`f::<T>` is `f`)."""
    name = without_generic_args(HASH.sub("", name))
    name = CLOSURE.sub("", name)
    # `<berth::apply::deploy::Run>::execute` (an inherent method) reads as `...::Run::execute`.
    return INHERENT.sub(r"\1::", name)


TEST_MODULE = re.compile(r"::(\w+_)?tests(::|$)")


def is_test(name, path):
    """Code of a test module (`tests`, `crash_grace_tests`, the engine_tests directory)."""
    return bool(TEST_MODULE.search(name)) or "/engine_tests/" in path


def main():
    export, root, directory = sys.argv[1], sys.argv[2].rstrip("/") + "/", sys.argv[3].rstrip("/")
    demangler = sys.argv[4] if len(sys.argv) > 4 else None
    data = json.load(open(export))["data"][0]
    names = demangled([f["name"] for f in data["functions"]], demangler)
    lines_of = {f["filename"]: line_counts(f["segments"]) for f in data["files"]}

    regions = defaultdict(dict)  # (file, function) -> {span: covered}
    branches = defaultdict(dict)  # (file, function) -> {span: (true taken, false taken)}
    extent = {}  # (file, function) -> (first line, last line)
    for record, mangled_name in zip(data["functions"], names):
        path = record["filenames"][0]
        if not path.startswith(root):
            continue
        rel = path[len(root):]
        name = owner(mangled_name)
        if not rel.startswith(directory + "/") or is_test(name, rel):
            continue
        key = (rel, name)
        for r in record["regions"]:
            line_start, col_start, line_end, col_end, count, file_id, _, kind = r[:8]
            if kind != CODE_REGION:
                continue
            span = (record["filenames"][file_id], line_start, col_start, line_end, col_end)
            regions[key][span] = regions[key].get(span, False) or count > 0
            if file_id == 0:
                first, last = extent.get(key, (line_start, line_end))
                extent[key] = (min(first, line_start), max(last, line_end))
        for b in record.get("branches", []):
            # [line start, col start, line end, col end, true count, false count, file, ...]
            span = (record["filenames"][b[6]], *b[:4])
            taken, not_taken = branches[key].get(span, (False, False))
            branches[key][span] = (taken or b[4] > 0, not_taken or b[5] > 0)

    rows = []
    for key, spans in regions.items():
        rel, name = key
        first, last = extent.get(key, (0, -1))
        counts = lines_of.get(root + rel, {})
        lines = [counts[n] for n in range(first, last + 1) if n in counts]
        sides = [side for pair in branches[key].values() for side in pair]
        rows.append((rel, first, name, sum(spans.values()), len(spans),
                     sum(c > 0 for c in lines), len(lines), sum(sides), len(sides)))
    rows.sort()

    prefix = "berth::" + directory[len("src/"):].replace("/", "::") + "::"

    def fraction(covered, total):
        share = f" ({100 * covered / total:.0f} %)" if total else ""
        return f"{covered}/{total}{share}"

    with_branches = any(row[8] for row in rows)
    head = "regions covered/total | lines covered/total |"
    head += " branches covered/total |" if with_branches else ""
    rule = "|---" * (4 + with_branches) + "|"

    def cells(rc, rt, lc, lt, bc, bt):
        text = f"{fraction(rc, rt)} | {fraction(lc, lt)} |"
        return text + (f" {fraction(bc, bt)} |" if with_branches else "")

    print(f"| function | file | {head}")
    print(rule)
    for rel, _, name, *counts in rows:
        print(f"| `{name.replace(prefix, '')}` | {rel} | {cells(*counts)}")
    totals = defaultdict(lambda: [0] * 7)
    for rel, _, _, *counts in rows:
        for t in (totals[rel], totals["all of " + directory]):
            t[0] += 1
            for i, c in enumerate(counts):
                t[i + 1] += c
    print()
    print(f"| file (functions outside tests) | functions | {head}")
    print(rule)
    for rel, (n, *counts) in sorted(totals.items(), key=lambda kv: kv[0].startswith("all")):
        print(f"| {rel} | {n} | {cells(*counts)}")


if __name__ == "__main__":
    main()
