"""p50/p99 latency of POST /add_text against gunicorn, on a small and on a large draft.

    .venv/bin/python bench/add_latency.py [--workers 2] [--sizes 10,2000] [--samples 200]

Starts gunicorn on a free loopback port with a fresh SQLite data directory, fills drafts of each
size through the API, then times `--samples` further /add_text calls per size, interleaved. The point: one add
must cost the same on a 2 000-segment draft as on a 10-segment one (the store appends an
operation; it never rewrites the document).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(workers: int, store: str = "sqlite", extra_env: dict | None = None):
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "CAPCUT_DATA_DIR": data, "CAPCUT_STORE": store, "CAPCUT_LOG_LEVEL": "WARNING",
               **(extra_env or {})}
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                 "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    requests.get(base + "/get_mask_types", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def add_text(session: requests.Session, base: str, draft_id: str, index: int) -> float:
    body = {"draft_id": draft_id, "text": f"line {index}", "start": index * 0.5, "end": index * 0.5 + 0.5,
            "track_name": "captions"}
    started = time.perf_counter()
    reply = session.post(base + "/add_text", json=body, timeout=30).json()
    elapsed = time.perf_counter() - started
    if not reply["success"]:
        raise RuntimeError(reply["error"])
    return elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def new_draft(session: requests.Session, base: str, size: int) -> str:
    draft_id = session.post(base + "/create_draft", json={}, timeout=30).json()["output"]["draft_id"]
    for i in range(size):
        add_text(session, base, draft_id, i)
    return draft_id


def measure(base: str, sizes: list[int], samples: int, spread: int = 20) -> dict[int, list[float]]:
    """Interleave the timed adds of every size so machine noise hits all sizes alike. Each size
    spreads its samples over `spread` drafts of that size (a 10-segment draft stays near 10)."""
    session = requests.Session()
    drafts = {size: [new_draft(session, base, size) for _ in range(spread if size < 100 else 1)]
              for size in sizes}
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    for i in range(samples):
        for size in sizes:
            pool = drafts[size]
            draft_id = pool[i % len(pool)]
            timings[size].append(add_text(session, base, draft_id, size + i // len(pool)))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizes", default="10,2000")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--store", default="sqlite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    with gunicorn(args.workers, args.store) as base:
        for size, timings in measure(base, sizes, args.samples).items():
            results[size] = (statistics.median(timings), percentile(timings, 0.99))
            print(f"/add_text on a {size:>5}-segment draft: p50 {results[size][0] * 1000:6.2f} ms  "
                  f"p99 {results[size][1] * 1000:6.2f} ms  ({args.samples} samples, {args.workers} workers, "
                  f"{args.store})", flush=True)
    if len(sizes) >= 2:
        small, large = results[sizes[0]][0], results[sizes[-1]][0]
        print(f"p50 ratio {sizes[-1]} / {sizes[0]} segments: {large / small:.2f}")


if __name__ == "__main__":
    main()
