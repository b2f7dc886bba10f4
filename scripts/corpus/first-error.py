#!/usr/bin/env python3
"""The line that says what went wrong in a step's log, for the report: berth's innermost
"caused by:" (the failing command's text left out) followed by the first error line of the
command's own output (after "--- output ---"); for other logs the first error line, else the last.

    first-error.py LOG
"""
import os
import re
import sys

VERDICT = re.compile(r"\s*(ERROR:|error:|Error:|npm error code|fatal:)")
# A line that names the cause itself (a bundler's, compiler's or Python's), before any verdict:
# `next build` ends with "Build failed because of webpack errors" after "Module not found: …".
CAUSE = re.compile(r"Module not found|Can't resolve|Cannot find module|ModuleNotFoundError|ImportError:|Type error:|SyntaxError")
ERROR = re.compile(r"(^|[^a-z])(error|Error|ERROR|ERR!|failed|FAILED|fatal|Traceback|not found|refused)([^a-z]|$)")


def main() -> int:
    try:
        lines = [l.rstrip() for l in open(sys.argv[1], encoding="utf-8", errors="replace")]
    except FileNotFoundError:
        print("(no log)")
        return 0
    lines = [l for l in lines if l.strip()]
    if not lines:
        print("(empty log)")
        return 0
    parts = []
    caused = [l for l in lines if l.strip().startswith("caused by:")]
    if caused:
        inner = caused[-1].strip()[len("caused by:"):].strip()
        inner = re.sub(r"command `.*", "a command failed", inner, flags=re.S)
        # A parse error shows the offending line and then says what is wrong with it.
        after = lines[lines.index(caused[-1]) + 1 :]
        verdict = next((l.strip() for l in after if l.strip() and not re.match(r"\s*(\d+\s*)?\|", l)), None)
        if verdict and "parse error" in inner and not verdict.startswith("caused by:") and verdict != "--- output ---":
            snippet = next((l.split("|", 1)[1].strip() for l in after if re.match(r"\s*\d+\s*\|", l)), "")
            inner += f": {verdict}" + (f" ({snippet})" if snippet else "")
        parts.append(inner)
    if "--- output ---" in lines:
        output = lines[lines.index("--- output ---") + 1 :]
        # pip and tools like it say the verdict last ("ERROR: No matching distribution …").
        verdicts = [l for l in output if VERDICT.match(l)]
        causes = [l for l in output if CAUSE.search(l)]
        if causes:
            hit = causes[0]
        else:
            hit = verdicts[-1] if verdicts else next((l for l in output if ERROR.search(l)), output[-1] if output else "")
        at = output.index(hit) if hit in output else -1
        if hit.startswith("npm error code") and 0 <= at < len(output) - 1:
            hit = f"{hit.strip()}: {output[at + 1].removeprefix('npm error').strip()}"  # the code's explanation
        parts.append(hit.strip())
    if not parts:
        # berth ends with its own "error: …" line; otherwise the first line that looks like one.
        verdicts = [l for l in lines if l.startswith("error:")]
        hit = verdicts[-1] if verdicts else next((l for l in lines if ERROR.search(l)), lines[-1])
        # "error: invalid values:" says what follows: the first item.
        if hit.rstrip().endswith(":") and lines.index(hit) + 1 < len(lines):
            hit = f"{hit.strip()} {lines[lines.index(hit) + 1].strip()}"
        parts.append(hit.strip())
    # The exit status of the failing command, when berth's message names it on its own line.
    status = next((m.group(0) for l in lines for m in [re.search(r"failed \(exit status: \d+\)", l)] if m), None)
    # A deploy that failed: `berth diagnose`'s first warning event beside it says why (real-repos.sh
    # writes diagnose.log next to deploy.log).
    diagnose = os.path.join(os.path.dirname(sys.argv[1]), "diagnose.log")
    if os.path.basename(sys.argv[1]) == "deploy.log" and os.path.exists(diagnose):
        for l in open(diagnose, encoding="utf-8", errors="replace"):
            if re.search(r"Warning \S+ (Failed|BackOff)", l) and "FailedScheduling" not in l:
                parts.append(l.strip())
                break
    text = " | ".join(p for p in parts if p)
    if status and status not in text:
        text += f" ({status})"
    print(text[:700])
    return 0


if __name__ == "__main__":
    sys.exit(main())
