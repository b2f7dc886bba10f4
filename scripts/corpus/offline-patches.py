#!/usr/bin/env python3
"""Generic patches for build steps that need the internet, which this machine does not have;
applied to a scratch copy of a repository, never to the team's tree. Prints one line per patched
file ("PATH: what was changed") so the run lists every patch.

    offline-patches.py DIR

- `next/font/google` downloads the font files from Google during `next build` (the build fails
  offline with "Failed to fetch font"). Each module importing it gets a sibling module
  `berth-offline-fonts.(ts|js)` exporting the same names as functions that return what the loader
  returns (className, variable, style) with a system font, and its import points there.
"""
import os
import re
import sys

SKIP_DIRS = {"node_modules", ".next", ".git", "dist", "build", ".venv", "venv", "__pycache__"}
SOURCE = re.compile(r"\.(ts|tsx|js|jsx|mjs)$")
GOOGLE_FONT_IMPORT = re.compile(
    r"""import\s*\{(?P<names>[^}]*)\}\s*from\s*(?P<q>["'])next/font/google(?P=q)\s*;?"""
)
SHIM = "berth-offline-fonts"


def shim_source(names, typescript):
    lines = [
        "// Written by berth's scripts/real-repos.sh: next/font/google downloads fonts during the build",
        "// and this machine has no internet; a system font stands in with the loader's result shape.",
    ]
    if typescript:
        lines.append(
            "const font = (_options?: unknown) => ({ className: \"\", variable: \"\", style: { fontFamily: \"system-ui, sans-serif\" } });"
        )
    else:
        lines.append(
            "const font = () => ({ className: \"\", variable: \"\", style: { fontFamily: \"system-ui, sans-serif\" } });"
        )
    lines += [f"export const {name} = font;" for name in sorted(names)]
    return "\n".join(lines) + "\n"


def main() -> int:
    root = sys.argv[1]
    shims = {}  # directory -> (names, typescript)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for filename in filenames:
            if not SOURCE.search(filename):
                continue
            path = os.path.join(dirpath, filename)
            try:
                text = open(path, encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            if "next/font/google" not in text:
                continue
            names = set()

            def replace(match):
                imported = [n.strip() for n in match.group("names").split(",") if n.strip()]
                names.update(n.split(" as ")[0].strip() for n in imported)
                q = match.group("q")
                return f"import {{{match.group('names')}}} from {q}./{SHIM}{q};"

            patched = GOOGLE_FONT_IMPORT.sub(replace, text)
            if patched == text:
                continue
            with open(path, "w", encoding="utf-8") as f:
                f.write(patched)
            typescript = filename.endswith((".ts", ".tsx"))
            known, ts = shims.get(dirpath, (set(), False))
            shims[dirpath] = (known | names, ts or typescript)
            print(f"{os.path.relpath(path, root)}: next/font/google ({', '.join(sorted(names))}) -> ./{SHIM} (system font)")
    for dirpath, (names, typescript) in shims.items():
        with open(os.path.join(dirpath, f"{SHIM}.{'ts' if typescript else 'js'}"), "w", encoding="utf-8") as f:
            f.write(shim_source(names, typescript))
    return 0


if __name__ == "__main__":
    sys.exit(main())
