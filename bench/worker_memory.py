"""A worker's memory over a long run: whether it needs recycling (gunicorn's max_requests).

    .venv/bin/python bench/worker_memory.py [--requests 60000] [--clients 8] [--adds-per-draft 200]
                                            [--cache-size 16]

One gunicorn worker (gunicorn.conf.py, SQLite) with `draft_cache_size` = `--cache-size`. Each of
`--clients` threads creates a draft, sends it `--adds-per-draft` adds (bench/scale.py's rotating
workload), then starts the next draft, until `--requests` adds are done. So the cache holds a bounded
set of drafts, and memory that grows with the number of requests served would be a leak. Prints the
worker's resident memory (VmRSS) after every tenth of the run and the worker's CPU cost of starting
(`import app; create_app()`), what each recycling would cost.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from scale import ROUTES, _children, add_body, gunicorn  # noqa: E402  (bench/ helpers)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


class Counter:
    def __init__(self, limit: int) -> None:
        self.limit, self.done, self._lock = limit, 0, threading.Lock()

    def take(self) -> bool:
        """Count one more add; False once the run has sent `limit`."""
        with self._lock:
            if self.done >= self.limit:
                return False
            self.done += 1
            return True


def client(base: str, index: int, per_draft: int, counter: Counter, errors: list[str]) -> None:
    session = requests.Session()
    while True:
        draft_id = session.post(base + "/create_draft", json={}, timeout=60).json()["output"]["draft_id"]
        for n in range(per_draft):
            if not counter.take():
                return
            route = ROUTES[n % len(ROUTES)]
            reply = session.post(f"{base}/add_{route}", json=add_body(route, draft_id, n // len(ROUTES), index),
                                 timeout=60).json()
            if not reply.get("success"):
                errors.append(str(reply)[:200])


def start_cost_seconds() -> float:
    """CPU seconds one worker spends importing and building the app."""
    code = ("import time; t = time.process_time(); from app import create_app; create_app(); "
            "print(time.process_time() - t)")
    with tempfile.TemporaryDirectory(prefix="capcut-bench-") as data:
        env = {**os.environ, "CAPCUT_LOG_LEVEL": "WARNING", "CAPCUT_DATA_DIR": data}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=60_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--adds-per-draft", type=int, default=200)
    parser.add_argument("--cache-size", type=int, default=16)
    args = parser.parse_args()
    os.environ["CAPCUT_DRAFT_CACHE_SIZE"] = str(args.cache_size)
    master: list[int] = []
    counter, errors = Counter(args.requests), []
    print(f"1 worker, draft_cache_size {args.cache_size}, {args.clients} clients, a new draft every "
          f"{args.adds_per_draft} adds\n\n| adds served | worker RSS MB |\n|---:|---:|")
    with gunicorn(1, "sqlite", "", master=master) as base:
        worker = _children(master[0])[0]
        threads = [threading.Thread(target=client, args=(base, i, args.adds_per_draft, counter, errors), daemon=True)
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        mark = 0
        while any(t.is_alive() for t in threads):
            if counter.done >= mark:
                print(f"| {counter.done} | {rss_mb(worker):.0f} |", flush=True)
                mark += args.requests // 10
            time.sleep(0.2)
        print(f"| {counter.done} | {rss_mb(worker):.0f} |")
        if worker not in _children(master[0]):
            raise RuntimeError("the worker was restarted during the run")
    if errors:
        raise RuntimeError(f"{len(errors)} failed adds, e.g. {errors[0]}")
    print(f"\nstarting a worker (import app; create_app()): {start_cost_seconds():.2f} s of CPU")


if __name__ == "__main__":
    main()
