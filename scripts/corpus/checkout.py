#!/usr/bin/env python3
"""Write the files of TREE (a commit, or COMMIT:DIR) of a git directory into DEST, without git's
work-tree machinery: a stored snapshot may lack its largest blobs (build caches, binaries committed
by mistake), which makes `git archive` and `git checkout` stop; those files are skipped and their
paths printed, one a line, so the caller can report them.

    checkout.py GIT_DIR TREE DEST
"""
import os
import subprocess
import sys


def main() -> int:
    git_dir, tree, dest = sys.argv[1:4]
    listing = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "-r", "-z", tree], capture_output=True, check=True
    ).stdout.split(b"\0")
    blobs = []
    for entry in listing:
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, kind, oid = meta.split()
        if kind == b"blob":
            blobs.append((mode.decode(), oid.decode(), os.fsdecode(path)))
    cat = subprocess.Popen(
        ["git", "--git-dir", git_dir, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    missing = []
    for mode, oid, path in blobs:
        cat.stdin.write(f"{oid}\n".encode())
        cat.stdin.flush()
        header = cat.stdout.readline().decode().split()
        if len(header) < 3 or header[1] == "missing":
            missing.append(path)
            continue
        data = cat.stdout.read(int(header[2]))
        cat.stdout.read(1)  # the newline after each object
        out = os.path.join(dest, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if mode == "120000":
            os.symlink(os.fsdecode(data), out)
            continue
        with open(out, "wb") as f:
            f.write(data)
        if mode == "100755":
            os.chmod(out, 0o755)
    cat.stdin.close()
    cat.wait()
    for path in missing:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
