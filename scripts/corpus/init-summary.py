#!/usr/bin/env python3
"""What `berth init` found in a repository and what it assumed, as JSON on stdout, from the files it
wrote (berth.yaml, images/*.toml, berth.env.example) and its stderr ("assumed: …", "to do: …").

    init-summary.py DIR INIT_STDERR
"""
import glob
import json
import os
import re
import sys

import yaml


def main() -> int:
    root, log = sys.argv[1:3]
    text = open(os.path.join(root, "berth.yaml"), encoding="utf-8").read()
    values = yaml.safe_load(text) or {}
    components = []
    for name, comp in (values.get("components") or {}).items():
        comp = comp or {}
        components.append(
            {
                "name": name,
                "what": comp.get("description", ""),
                "port": comp.get("port"),
                "tasks": sorted((comp.get("tasks") or {}).keys()) if isinstance(comp.get("tasks"), dict) else [],
                "env": len(comp.get("env") or {}),
            }
        )
    specs = {}
    for path in sorted(glob.glob(os.path.join(root, "images", "*.toml"))):
        spec = open(path, encoding="utf-8").read()
        base = re.search(r'^(?:base|source)\s*=\s*"([^"]+)"', spec, re.M)
        specs[os.path.basename(path)[:-5]] = base.group(1) if base else None
    secrets = {}
    for name, secret in (values.get("secrets") or {}).items():
        secret = secret or {}
        secrets[name] = "generated" if secret.get("generate") else "required" if secret.get("required") else "optional"
    lines = open(log, encoding="utf-8", errors="replace").read().splitlines()
    assumed = [l.split("assumed:", 1)[1].strip() for l in lines if "assumed:" in l]
    todo = [l.split("to do:", 1)[1].strip() for l in lines if "to do:" in l]
    # A value init assumed is marked so in berth.yaml's comments.
    assumed += [
        f"{l.split(':', 1)[0].strip()}: {l.split('# assumed:', 1)[1].strip()}"
        for l in text.splitlines()
        if "# assumed:" in l
    ]
    database = values.get("database") or {}
    expose = values.get("expose") or {}
    json.dump(
        {
            "appName": values.get("appName"),
            "components": components,
            "specs": specs,
            "database": database.get("mode"),
            "routes": expose.get("routes") or {},
            "secrets": secrets,
            "assumed": assumed,
            "todo": todo,
        },
        sys.stdout,
        indent=1,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
