#!/usr/bin/env python3
"""Lock files that point npm at a mirror registry, which this machine cannot reach (only
registry.npmjs.org is open here). Prints one line per such lock file ("PATH: what the run does")
and nothing when there is none; real-repos.sh then gives the build
npm_config_replace_registry_host=always (npm's `replace-registry-host`: fetch every registry
tarball from the configured registry, whatever host its `resolved` URL names). The lock file is
not changed: its integrity hashes still check what npm fetches.

    npm-registry.py DIR
"""
import json
import os
import sys
from collections import Counter
from urllib.parse import urlparse

SKIP_DIRS = {"node_modules", ".next", ".git", "dist", "build", ".venv", "venv", "__pycache__"}
LOCKS = {"package-lock.json", "npm-shrinkwrap.json"}
NPMJS = "registry.npmjs.org"


def resolved_urls(lock):
    """Every `resolved` URL in a lock file (v2/v3 `packages`, v1 nested `dependencies`)."""
    for entry in (lock.get("packages") or {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("resolved"), str):
            yield entry["resolved"]
    stack = [lock.get("dependencies") or {}]
    while stack:
        for entry in stack.pop().values():
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get("resolved"), str):
                yield entry["resolved"]
            stack.append(entry.get("dependencies") or {})


def mirror_hosts(lock):
    """Hosts other than npm's own that registry tarballs (`…/-/name-1.0.0.tgz`) resolve to."""
    hosts = Counter()
    for url in resolved_urls(lock):
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https") and "/-/" in parsed.path and parsed.hostname != NPMJS:
            hosts[parsed.hostname] += 1
    return hosts


def main() -> int:
    root = sys.argv[1]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for filename in sorted(LOCKS & set(filenames)):
            path = os.path.join(dirpath, filename)
            try:
                lock = json.load(open(path, encoding="utf-8"))
            except (OSError, ValueError):
                continue
            hosts = mirror_hosts(lock)
            if hosts:
                at = ", ".join(f"{h} ({n} packages)" for h, n in sorted(hosts.items()))
                print(f"{os.path.relpath(path, root)}: resolved at {at}, which this machine cannot reach -> "
                      f"npm_config_replace_registry_host=always for the build (npm fetches them from its configured registry)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
