"""Writes a reproducible zip: zip.py OUT.zip STAGE_DIR TOP_DIR SOURCE_DATE_EPOCH.

Entries sorted, every date the commit's (zip stores local time without a zone: UTC here),
mode 0755 for the .exe and 0644 otherwise, deflated. Python's zipfile, so no `zip` binary
is needed and the bytes do not depend on the zip tool's version.
"""

import os
import sys
import time
import zipfile

out, stage, top, epoch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# Zip dates start in 1980.
date = time.gmtime(max(epoch, 315532800))[:6]
paths = []
for dirpath, dirnames, filenames in os.walk(os.path.join(stage, top)):
    rel = os.path.relpath(dirpath, stage)
    paths.append(rel + "/")
    paths.extend(os.path.join(rel, f) for f in filenames)
with zipfile.ZipFile(out, "w") as archive:
    for rel in sorted(paths):
        info = zipfile.ZipInfo(rel.replace(os.sep, "/"), date_time=date)
        if rel.endswith("/"):
            info.external_attr = (0o40755 << 16) | 0x10
            archive.writestr(info, b"")
            continue
        mode = 0o755 if rel.endswith(".exe") else 0o644
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(stage, rel), "rb") as f:
            archive.writestr(info, f.read(), compresslevel=9)
