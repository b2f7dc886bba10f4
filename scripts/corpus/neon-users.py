#!/usr/bin/env python3
"""The components of the stack in DIR whose code queries through Neon's serverless driver: one
name a line, for each component whose image spec's context holds a package.json that depends on
@neondatabase/serverless. scripts/real-repos.sh gives such a repository the Neon stand-in
(neon-standin/) next to its stand-in PostgreSQL, and these components trust its certificate.

    neon-users.py DIR
"""
import json
import os
import sys
import tomllib

import yaml

DRIVER = "@neondatabase/serverless"


def uses_driver(context: str) -> bool:
    try:
        package = json.load(open(os.path.join(context, "package.json"), encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(DRIVER in (package.get(kind) or {}) for kind in ("dependencies", "devDependencies"))


def main() -> int:
    root = sys.argv[1]
    values = yaml.safe_load(open(os.path.join(root, "berth.yaml"), encoding="utf-8")) or {}
    for name, comp in (values.get("components") or {}).items():
        build = ((comp or {}).get("image") or {}).get("build")
        if not build:
            continue
        try:
            spec = tomllib.load(open(os.path.join(root, build), "rb"))
        except (OSError, ValueError):
            continue
        # A spec's context is relative to the directory berth runs in (the stack's root).
        if uses_driver(os.path.join(root, spec.get("context", "."))):
            print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
