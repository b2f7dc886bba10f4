#!/usr/bin/env python3
"""The `--set` values that point a deploy at the images `berth images build` just built: one line
per image, `KEY=TAG`, for the component (or the internal database) whose `image.build` names the
spec the image was built from. Reads berth.yaml in DIR and the build's stdout (REF, digest,
archive path OUT/<spec>.tar, tab-separated).

    image-sets.py DIR BUILD_STDOUT
"""
import os
import sys

import yaml


def main() -> int:
    root, built = sys.argv[1:3]
    values = yaml.safe_load(open(os.path.join(root, "berth.yaml"), encoding="utf-8")) or {}
    owners = {}  # spec name -> values key of its image
    for name, comp in (values.get("components") or {}).items():
        build = ((comp or {}).get("image") or {}).get("build")
        if build:
            owners[os.path.basename(build).removesuffix(".toml")] = f"components.{name}.image"
    internal = ((values.get("database") or {}).get("internal") or {}).get("image") or {}
    if internal.get("build"):
        owners[os.path.basename(internal["build"]).removesuffix(".toml")] = "database.internal.image"
    for line in open(built, encoding="utf-8"):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            continue
        ref, archive = fields[0], fields[-1]
        spec = os.path.basename(archive).removesuffix(".tar")
        key = owners.get(spec)
        if key is None:
            print(f"image-sets: {ref} (spec {spec}) is not used by berth.yaml", file=sys.stderr)
            continue
        print(f"{key}.tag={ref.rsplit(':', 1)[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
