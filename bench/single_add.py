"""Latency of one request at a time on an idle server: /add_text on a small draft, against the
service and against the bare Flask route (bench/bare_app.py), both under `gunicorn -c
gunicorn.conf.py`. Prints Markdown.

    .venv/bin/python bench/single_add.py [--samples 500]

The client is one keep-alive http.client connection (about 0.1 ms of client time per request,
where `requests` adds 0.5-1 ms), so the numbers are the server's time plus loopback. Each add goes
to one of 10 drafts in turn, so drafts stay small. Target (issue 18): service p50 <= 2 ms.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from add_latency import percentile  # noqa: E402  (bench/ helpers)
from scale import gunicorn  # noqa: E402

SERVICE, BARE = "app:create_app()", "bare_app:create_app()"


def post(conn: http.client.HTTPConnection, path: str, body: dict) -> dict:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    reply = json.loads(conn.getresponse().read())
    if not reply.get("success"):
        raise RuntimeError(f"{path}: {reply}")
    return reply["output"]


def timings(app: str, samples: int) -> list[float]:
    with gunicorn(2, "sqlite", "", app=app) as base:
        parts = urlsplit(base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        drafts = [post(conn, "/create_draft", {})["draft_id"] for _ in range(10)]
        result = []
        for n in range(samples + 50):
            body = {"draft_id": drafts[n % 10], "text": f"line {n}", "start": n, "end": n + 1}
            started = time.perf_counter()
            post(conn, "/add_text", body)
            if n >= 50:                          # the first 50 warm the workers up
                result.append(time.perf_counter() - started)
        conn.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    print("| server | p50 ms | p99 ms |\n|---|---:|---:|")
    for label, app in (("bare Flask route", BARE), ("service, SQLite", SERVICE)):
        t = timings(app, args.samples)
        print(f"| {label} | {statistics.median(t) * 1000:.2f} | {percentile(t, 0.99) * 1000:.2f} |")


if __name__ == "__main__":
    main()
