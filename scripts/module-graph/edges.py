"""The "uses" edges between the modules of berth's library, read from its sources.

    python3 edges.py SRC_DIR > crate.dot

A module is a file (src/apply/plan.rs is berth::apply::plan, src/apply/readiness/mod.rs is
berth::apply::readiness). Every `crate::…`, `super::…` and `self::…` path in its code (in `use`
lines and in bodies, brace lists included) becomes an edge to the deepest module the path names;
a name a module re-exports from a child (`pub use plan::{Plan, plan};` in apply/mod.rs) counts
as that child's. Left out: comment lines, a file's trailing `#[cfg(test)] mod …` block, and
files declared `#[cfg(test)] mod name;` with everything under them. Prints DOT edges in
cargo-modules' form (`"a" -> "b" [label="uses"];`), which check.py reads.
"""

import os
import re
import sys

CRATE = "berth"
PATH = re.compile(r"\b(crate|super|self)((?:::(?:\w+|\{[^}]*\}))+)")
TEST_MOD_DECL = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")
REEXPORT = re.compile(r"^pub use (\w+)::(\{[^}]*\}|\w+(?: as \w+)?);", re.M)


def module_of(rel):
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return "::".join([CRATE] + parts)


def code_of(text):
    """The text without comment lines and without the trailing test module."""
    cut = re.search(r"#\[cfg\(test\)\]\s*mod \w+ \{", text)
    if cut:
        text = text[:cut.start()]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def main():
    src = sys.argv[1].rstrip("/")
    texts = {}
    test_files = set()
    for dirpath, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), src)
            if rel == "main.rs":
                continue  # the binary, not the library
            text = open(os.path.join(dirpath, name)).read()
            texts[rel] = text
            base = os.path.dirname(rel) if name in ("mod.rs", "lib.rs") else rel[:-3]
            for child in TEST_MOD_DECL.findall(text):
                test_files.add(os.path.normpath(os.path.join(base, child)))
    modules = {}
    for rel, text in texts.items():
        stem = rel[:-3]
        if stem.endswith("/mod"):
            stem = stem[:-4]
        if any(stem == t or stem.startswith(t + "/") for t in test_files):
            continue
        modules[module_of(rel)] = code_of(text)

    reexports = {}  # (module, name) -> child module
    for module, code in modules.items():
        for child, names in REEXPORT.findall(code):
            if f"{module}::{child}" not in modules:
                continue
            for item in names.strip("{}").split(","):
                name = item.split(" as ")[-1].strip()
                if name and name != "self":
                    reexports[(module, name)] = f"{module}::{child}"

    def resolve(base, segments):
        """The deepest module `base::segments…` names."""
        current = base
        for segment in segments:
            if f"{current}::{segment}" in modules:
                current = f"{current}::{segment}"
            elif (current, segment) in reexports:
                return reexports[(current, segment)]
            else:
                break
        return current

    def expand(rest):
        """`::a::{b, c::d}` -> [[a, b], [a, c, d]] (one level of braces, as our code uses)."""
        paths = []
        head, _, brace = rest.partition("{")
        prefix = [s for s in head.split("::") if s]
        if not brace:
            return [prefix]
        for item in brace.rstrip("}").split(","):
            item = item.split(" as ")[0].strip()
            if item:
                paths.append(prefix + [s for s in item.split("::") if s and s != "self"])
        return paths or [prefix]

    edges = set()
    for module, code in modules.items():
        is_dir = any(module_of(rel) == module and rel.endswith(("mod.rs", "lib.rs")) for rel in texts)
        for anchor, rest in PATH.findall(code):
            if anchor == "crate":
                base = CRATE
            elif anchor == "self":
                base = module
            else:
                # `super` from a file module is its parent; from a mod.rs, the directory's parent.
                parent = module.rsplit("::", 1)[0]
                base = parent
                if not is_dir and module.count("::") == 0:
                    continue
            for segments in expand(rest):
                target = resolve(base, segments)
                if target != module and not module.startswith(target + "::"):
                    edges.add((module, target))
    print("digraph {")
    for a, b in sorted(edges):
        print(f'    "{a}" -> "{b}" [label="uses"];')
    print("}")


if __name__ == "__main__":
    main()
