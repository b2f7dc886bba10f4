#!/usr/bin/env python3
"""Edits a handler N times with atomic saves while a client polls it; prints a JSON summary.

usage: dev-edits.py FILE OLD_TEXT URL COUNT TIMEOUT_S

Each edit writes FILE with `"ok"` in OLD_TEXT followed by `"edit": "berth-dev-edit-N"` (a Python
dict or JSON object literal; without an `"ok"`, that entry first in OLD_TEXT's first `{`), the way
editors save: a temporary file in the same directory, then
rename(2) over FILE. A poller thread requests URL every 50 ms (a new connection each time, as a
browser's reload) and records every answer with the time it arrived.
After each save the script waits until the answer holds the new marker (or TIMEOUT_S), then
waits 0.5 s more so the next edit starts from a settled state. Summary: per edit, the seconds from
the save to the first answer with its marker; every request that failed; the order in which
markers were seen (an edit seen after a later one was applied twice or served out of order).
"""
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request

path, old, url, count, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
original = open(path).read()
if old not in original:
    sys.exit(f"{old!r} is not in {path}")
marker_of = lambda n: f"berth-dev-edit-{n}"


def edited(n):
    """OLD_TEXT with the marker of edit n: after its `"ok"`, else first in its dict literal."""
    if '"ok"' in old:
        return old.replace('"ok"', f'"ok", "edit": "{marker_of(n)}"')
    return old.replace("{", f'{{"edit": "{marker_of(n)}", ', 1)
answers = []  # (time, marker number or None, ok, detail)
lock = threading.Lock()
stop = threading.Event()


def seen(body):
    start = body.find("berth-dev-edit-")
    if start < 0:
        return 0
    digits = ""
    for ch in body[start + len("berth-dev-edit-"):]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def poll():
    while not stop.is_set():
        # The time an answer arrived, not when its request left: a server that reloads holds
        # requests until its new code serves them.
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = r.read().decode(errors="replace")
                entry = (time.monotonic(), seen(body), 200 <= r.status < 300, f"{r.status}")
        except Exception as e:  # a refused, reset or failed request
            entry = (time.monotonic(), None, False, str(e)[:200])
        with lock:
            answers.append(entry)
        time.sleep(0.05)


def save(text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".dev-edit-", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


poller = threading.Thread(target=poll, daemon=True)
poller.start()
time.sleep(1)
latencies = []
lost = []
try:
    for n in range(1, count + 1):
        save(original.replace(old, edited(n)))
        saved = time.monotonic()
        got = None
        while time.monotonic() - saved < timeout:
            with lock:
                got = next((t for (t, m, ok, _) in answers if t >= saved and m == n and ok), None)
            if got is not None:
                break
            time.sleep(0.02)
        if got is None:
            lost.append(n)
        else:
            latencies.append(round(got - saved, 3))
        time.sleep(0.5)
finally:
    stop.set()
    poller.join(timeout=15)
    open(path, "w").write(original)

failures = [d for (_, _, ok, d) in answers if not ok]
order = []
for (_, m, ok, _) in answers:
    if ok and m is not None and (not order or order[-1] != m):
        order.append(m)
out_of_order = [b for a, b in zip(order, order[1:]) if b < a]
s = sorted(latencies)
pct = lambda p: s[max(0, -(-p * len(s) // 100) - 1)] if s else None
print(json.dumps({
    "edits": count, "served": len(latencies), "lost": lost, "requests": len(answers),
    "failures": len(failures), "failure_samples": failures[:5], "out_of_order": out_of_order,
    "save_to_new_response_s": {"p50": pct(50), "p95": pct(95), "max": s[-1] if s else None},
    "latencies_s": latencies,
}))
sys.exit(0 if not lost and not failures and not out_of_order and len(latencies) == count else 1)
