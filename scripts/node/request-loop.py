#!/usr/bin/env python3
"""A steady, bounded request loop for upgrade tests and benchmarks: GET URL with COOKIE every
1/RATE seconds (one request at a time, 5 s timeout each) until STOP_FILE exists (and at least
MIN_REQUESTS were made) or MAX_SECONDS pass, then print one JSON line: requests, failures
(non-2xx or no answer), the first failures, and latency percentiles in milliseconds.

Usage: request-loop.py URL COOKIE_HEADER STOP_FILE [RATE=10] [MAX_SECONDS=600] [MIN_REQUESTS=0]
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

url, cookie, stop = sys.argv[1:4]
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
limit = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
least = int(sys.argv[6]) if len(sys.argv) > 6 else 0
latencies, failures, started = [], [], time.monotonic()
while not (os.path.exists(stop) and len(latencies) >= least) and time.monotonic() - started < limit:
    t0 = time.monotonic()
    try:
        req = urllib.request.Request(url, headers={"Cookie": cookie})
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()
            ok = 200 <= r.status < 300
            why = f"HTTP {r.status}"
    except urllib.error.HTTPError as e:
        ok, why = False, f"HTTP {e.code}: {e.read()[:200]!r}"
    except Exception as e:  # connection refused/reset, timeout: all count as failures
        ok, why = False, f"{type(e).__name__}: {e}"
    elapsed = time.monotonic() - t0
    latencies.append(elapsed * 1000)
    if not ok:
        failures.append(f"{time.monotonic() - started:.1f}s {why}")
    time.sleep(max(0.0, 1.0 / rate - elapsed))
latencies.sort()


def pct(p):
    return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1) if latencies else None


print(json.dumps({"requests": len(latencies), "failures": len(failures), "first_failures": failures[:5],
                  "seconds": round(time.monotonic() - started, 1),
                  "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99), "max_ms": pct(100)}))
