"""GET /healthz while clients stall in the middle of their requests: success rate and p50/p99 latency.

    .venv/bin/python bench/slow_clients.py [--stalled 0,8,16,64] [--kinds body,headers,close] [--probes 40]

gunicorn runs with the production config (`-c gunicorn.conf.py`, 2 workers unless GUNICORN_WORKERS
says otherwise, GUNICORN_THREADS=4 by default) on a fresh SQLite data_dir. For each count N and
each kind, N connections stall first:

* body: full headers of `POST /create_draft` announcing a 1 000-byte body, then 12 bytes of it;
* headers: slowloris, the request line then one more header line every second, never the blank
  line that ends the headers;
* close: a whole `GET /healthz` with `Connection: close`, then neither reading the reply nor
  closing (gunicorn's graceful close waits up to 2 s for the client's FIN).

Then `--probes` sequential `GET /healthz` on new connections, each with a 1 s timeout. A probe that
fails (timeout, reset, not HTTP 200) counts as 1 000 ms in the percentiles. The stalled connections
are closed before the next row. Client and server share this machine's cores (printed).
"""
from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from add_latency import percentile  # noqa: E402  (bench/ helpers)
from scale import gunicorn  # noqa: E402

PROBE_TIMEOUT_S = 1.0
STALL_START = {
    "body": (b"POST /create_draft HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n" + b'{"width": 10'),         # 12 of the 1 000 bytes
    "headers": b"GET /healthz HTTP/1.1\r\nHost: bench\r\n",
    "close": b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
}


class Stallers:
    """N open connections stuck mid-request; `headers` ones trickle a header line every second."""

    def __init__(self, port: int, count: int, kind: str):
        self.socks: list[socket.socket] = []
        self.stop = threading.Event()
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(STALL_START[kind])
            self.socks.append(sock)
        self.trickler = threading.Thread(target=self._trickle, daemon=True) if kind == "headers" else None
        if self.trickler:
            self.trickler.start()

    def _trickle(self) -> None:
        for line in range(600):                      # at most 10 minutes of one line per second
            if self.stop.wait(1.0):
                return
            for sock in self.socks:
                try:
                    sock.sendall(b"X-Slow-%d: 1\r\n" % line)
                except OSError:
                    pass                             # the server closed it: that is allowed

    def close(self) -> None:
        self.stop.set()
        if self.trickler:
            self.trickler.join(timeout=5)
        for sock in self.socks:
            sock.close()


def probe(base: str) -> float | None:
    """Seconds one GET /healthz took on a new connection, or None if it failed."""
    started = time.perf_counter()
    try:
        with requests.get(base + "/healthz", timeout=PROBE_TIMEOUT_S, headers={"Connection": "close"}) as resp:
            ok = resp.status_code == 200 and resp.json().get("success") is True
    except (requests.RequestException, ValueError):
        return None
    return time.perf_counter() - started if ok else None


def row(base: str, port: int, count: int, kind: str, probes: int) -> str:
    stallers = Stallers(port, count, kind)
    try:
        time.sleep(0.5)                              # let the workers pick the stalled requests up
        results = [probe(base) for _ in range(probes)]
    finally:
        stallers.close()
    times = [PROBE_TIMEOUT_S if r is None else r for r in results]
    ok = sum(r is not None for r in results)
    return (f"| {kind:7} | {count:7} | {ok:3}/{probes:<3} ({100 * ok / probes:5.1f} %) "
            f"| {percentile(times, 0.50) * 1000:8.1f} | {percentile(times, 0.99) * 1000:8.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stalled", default="0,8,16,64", help="numbers of stalled connections")
    parser.add_argument("--kinds", default="body,headers,close",
                        help="body (12 of 1000 bytes), headers (slowloris), close (never closes)")
    parser.add_argument("--probes", type=int, default=40, help="GET /healthz per row")
    args = parser.parse_args()
    counts = [int(n) for n in args.stalled.split(",")]
    kinds = args.kinds.split(",")
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"GUNICORN_WORKERS={os.environ.get('GUNICORN_WORKERS', 2)} "
          f"GUNICORN_THREADS={os.environ.get('GUNICORN_THREADS', 4)}")
    os.environ.setdefault("GUNICORN_WORKERS", "2")
    with gunicorn(int(os.environ["GUNICORN_WORKERS"]), "sqlite", "") as base:
        port = int(base.rsplit(":", 1)[1])
        print("\n| stalled | count   | healthz ok          | p50 ms   | p99 ms   |")
        print("|---------|---------|---------------------|----------|----------|")
        for kind in kinds:
            for count in counts:
                print(row(base, port, count, kind, args.probes), flush=True)
                time.sleep(1.0)                      # closed stallers free their threads


if __name__ == "__main__":
    main()
