#!/usr/bin/env python3
"""The report of scripts/real-repos.sh: OUT/results.json (one object per repository: every step's
status, seconds and message, what init found and assumed, patches, dummy secrets) and
OUT/results.md (a table), the table also on stdout. Exit 1 when a repository failed a step.

    report.py OUT NAME... [--mode repos|fixtures] [--host-only]
"""
import json
import os
import sys

STEPS = ["init", "build", "load", "deploy", "ready", "entry", "browser",
         "open-build", "open-deploy", "open", "open-browser", "open-upgrade"]
COLUMNS = [("init", "init ok"), ("build", "every image built"), ("ready", "every component Ready"),
           ("entry", "entry answers"), ("browser", "page requests ok"),
           ("open-browser", "page requests ok through berth open"),
           ("open-upgrade", "0 lost in an upgrade through berth open")]


def read_lines(path):
    try:
        return [l for l in open(path, encoding="utf-8", errors="replace").read().splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def one(out, name):
    rdir = os.path.join(out, name)
    steps = {}
    for line in read_lines(os.path.join(rdir, "steps.tsv")):
        step, status, seconds, message = (line.split("\t") + ["", "", ""])[:4]
        steps[step] = {"status": status, "seconds": int(seconds or 0), "message": message}
    try:
        init = json.load(open(os.path.join(rdir, "init.json")))
    except (FileNotFoundError, json.JSONDecodeError):
        init = None
    failure = next(({"step": s, "message": steps[s]["message"]} for s in STEPS if steps.get(s, {}).get("status") == "fail"), None)
    try:
        seconds = int(open(os.path.join(rdir, "seconds")).read())
    except (FileNotFoundError, ValueError):
        seconds = None
    return {
        "name": name,
        "steps": steps,
        "firstFailure": failure,
        "minutes": round(seconds / 60, 1) if seconds is not None else None,
        "init": init,
        "patches": read_lines(os.path.join(rdir, "patches.txt")),
        "dummySecrets": read_lines(os.path.join(rdir, "dummy-secrets.txt")),
    }


def cell(result, step, host_only):
    s = result["steps"].get(step)
    if s is None:
        return "n/a" if host_only and step not in ("init", "build") else "-"
    return {"ok": "ok", "fail": "FAIL", "skip": "skip"}.get(s["status"], s["status"])


def main() -> int:
    args = sys.argv[1:]
    mode, host_only = "repos", False
    if "--mode" in args:
        i = args.index("--mode")
        mode = args[i + 1]
        del args[i : i + 2]
    if "--host-only" in args:
        host_only = True
        args.remove("--host-only")
    out, names = args[0], args[1:]
    results = [one(out, n) for n in names]
    assists = read_lines(os.path.join(out, "assists.txt"))
    json.dump({"mode": mode, "hostOnly": host_only, "run": assists, "repositories": results}, open(os.path.join(out, "results.json"), "w"), indent=1)

    rows = ["| repository | " + " | ".join(c[1] for c in COLUMNS) + " | min | first failure |",
            "|---" * (len(COLUMNS) + 3) + "|"]
    for r in results:
        f = r["firstFailure"]
        failure = f"{f['step']}: {f['message']}" if f else ""
        rows.append(
            f"| {r['name']} | " + " | ".join(cell(r, c[0], host_only) for c in COLUMNS)
            + f" | {r['minutes'] if r['minutes'] is not None else '-'} | {failure.replace('|', '/')} |"
        )
    details = []
    for r in results:
        init = r["init"] or {}
        comps = ", ".join(f"{c['name']} ({c['what']})" for c in init.get("components", []))
        details.append(f"### {r['name']}\n")
        details.append(f"- init found: {comps or '-'}; database: {init.get('database') or '-'}; routes: {init.get('routes') or '-'}")
        for a in init.get("assumed", []):
            details.append(f"- assumed: {a}")
        for t in init.get("todo", []):
            details.append(f"- left to the user: {t}")
        for p in r["patches"]:
            details.append(f"- network patch: {p}")
        if r["dummySecrets"]:
            details.append(f"- dummy values for required secrets: {', '.join(r['dummySecrets'])}")
        for step in STEPS:
            s = r["steps"].get(step)
            if s:
                details.append(f"- {step}: {s['status']} ({s['seconds']} s){': ' + s['message'] if s['message'] else ''}")
        details.append("")
    table = "\n".join(rows)
    run = "\n".join(f"- {a}" for a in assists)
    open(os.path.join(out, "results.md"), "w").write(table + "\n\n" + run + "\n\n" + "\n".join(details))
    print(table)
    print(run)
    reached = sum(1 for r in results if r["steps"].get("ready", {}).get("status") == "ok")
    failed = sum(1 for r in results if r["firstFailure"])
    print(f"\nevery component Ready: {reached} of {len(results)}; {failed} with a failed step")
    print(f"real-repos: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
