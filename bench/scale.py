"""add_* throughput and p50/p99 latency with K concurrent clients against gunicorn, by worker count
and store, and /add_text latency by draft size. Prints Markdown tables.

    .venv/bin/python bench/scale.py [--clients 8] [--requests 150] [--workers 1,2,4] [--stores sqlite,redis]
                                    [--sizes 10,200,2000] [--samples 150] [--redis-url redis://127.0.0.1:6379/12]

* Throughput: gunicorn is started with the production config (`-c gunicorn.conf.py`: gthread,
  GUNICORN_THREADS=4 per worker) and `--workers` processes, on a fresh SQLite data_dir or on Redis.
  K client threads (one keep-alive session each) first warm up, then each sends `--requests`
  adds, rotating /add_text, /add_video, /add_audio, /add_image and /add_effect, each kind on its own
  track at its own time slot. Two layouts: every client on its own draft ("own"), and all K
  clients on one draft ("shared": concurrent writers of one draft retry on the compare-and-set).
  Throughput = timed requests / wall time of the timed phase; latency is per request, client-side.
* Draft size: one client, gunicorn with 2 workers, drafts of each size filled through the API, then
  `--samples` timed /add_text calls per size, interleaved (as bench/add_latency.py does).

Honest numbers: clients and servers share this machine's cores (printed), so with few cores more
workers compete with the client threads for CPU. Media URLs are never fetched (prefetch_on_add is
off for the bench). On Redis the keys of the drafts the bench created are deleted afterwards.
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
from add_latency import free_port, percentile  # noqa: E402  (bench/ helpers)

from capcut_drafts.web.server import loaded_workers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ("text", "video", "audio", "image", "effect")
MEDIA = "https://media.example.com/bench"        # never fetched: prefetch_on_add is off


# --- the service ------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def wait_until_booted(master: int, log: Path, deadline: float) -> None:
    """Wait until every worker has loaded the app (gunicorn.conf.py's post_worker_init line). /healthz
    answers as soon as one worker is up; a service worker takes about a second to load the app, and
    keep-alive clients that connect meanwhile all stay on the first worker."""
    while time.monotonic() < deadline:
        if set(_children(master)) <= loaded_workers(log.read_text(errors="replace")):
            return
        time.sleep(0.1)
    raise RuntimeError("gunicorn's workers had not loaded the app after 90 s")


@contextmanager
def gunicorn(workers: int, store: str, redis_url: str, app: str = "app:create_app()",
             master: list[int] | None = None) -> Iterator[str]:
    """gunicorn -c gunicorn.conf.py `app` with `workers` processes; yields its base URL. `app` may name a
    module of bench/ (on gunicorn's python path); `master` gets the master's pid (its workers: `_children`)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="capcut-bench-") as tmp:
        config = Path(tmp) / "config.json"
        config.write_text("{}")
        env = {**os.environ, "CAPCUT_CONFIG": str(config), "CAPCUT_HOST": "127.0.0.1", "CAPCUT_PORT": str(port),
               "CAPCUT_DATA_DIR": str(Path(tmp) / "data"), "CAPCUT_STORE": store, "CAPCUT_REDIS_URL": redis_url,
               "CAPCUT_LOG_LEVEL": "WARNING", "CAPCUT_PREFETCH_ON_ADD": "false",
               "GUNICORN_WORKERS": str(workers), "PROMETHEUS_MULTIPROC_DIR": str(Path(tmp) / "prometheus")}
        with open(Path(tmp) / "gunicorn.log", "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                     "--pythonpath", str(ROOT / "bench"), app],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if master is not None:
            master.append(proc.pid)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with {proc.returncode}: "
                                       f"{(Path(tmp) / 'gunicorn.log').read_text(errors='replace')[-2000:]}")
                if len(_children(proc.pid)) >= workers:
                    try:
                        if requests.get(base + "/healthz", timeout=1).status_code == 200:
                            break
                    except requests.RequestException:
                        pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn with {workers} workers did not come up within 90 s")
                time.sleep(0.1)
            wait_until_booted(proc.pid, Path(tmp) / "gunicorn.log", deadline)
            yield base
        finally:
            text = (Path(tmp) / "gunicorn.log").read_text(errors="replace")
            if "Traceback" in text:
                first = text[text.index("Traceback"):][:3000]
                print(f"\n!! gunicorn ({workers} workers, {store}) logged {text.count('Traceback')} tracebacks; "
                      f"the first:\n{first}", file=sys.stderr, flush=True)
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


class Drafts:
    """Every draft the bench creates (so that on Redis exactly their keys are deleted afterwards)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()

    def create(self, session: requests.Session, base: str) -> str:
        reply = session.post(base + "/create_draft", json={}, timeout=30).json()
        if not reply.get("success"):
            raise RuntimeError(f"/create_draft failed: {reply}")
        with self._lock:
            self.ids.append(reply["output"]["draft_id"])
        return self.ids[-1]

    def delete_from_redis(self, url: str, prefix: str = "capcut:") -> int:
        import redis
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        keys = [f"{prefix}{kind}:{d}" for d in self.ids for kind in ("draft", "ops", "task")]
        try:
            return sum(client.unlink(*keys[i:i + 300]) for i in range(0, len(keys), 300))
        finally:
            client.close()


# --- the clients ------------------------------------------------------------------------------

def add_body(route: str, draft_id: str, slot: int, client: int) -> dict:
    """An add of kind `route` at time slot `slot`; track names keep clients and kinds apart."""
    start, end = float(slot), slot + 1.0
    track = f"{route}_{client}"
    if route == "text":
        return {"draft_id": draft_id, "text": f"c{client} #{slot}", "start": start, "end": end, "track_name": track}
    if route == "video":
        return {"draft_id": draft_id, "video_url": f"{MEDIA}/clip{slot % 4}.mp4", "start": 0, "end": 1,
                "target_start": start, "track_name": track}
    if route == "audio":
        return {"draft_id": draft_id, "audio_url": f"{MEDIA}/tone{slot % 4}.mp3", "start": 0, "end": 1,
                "target_start": start, "track_name": track}
    if route == "image":
        return {"draft_id": draft_id, "image_url": f"{MEDIA}/still{slot % 4}.png", "start": start, "end": end,
                "track_name": track}
    return {"draft_id": draft_id, "effect_type": "Blur", "start": start, "end": end, "track_name": track}


class Client(threading.Thread):
    def __init__(self, base: str, index: int, draft_id: str, warmup: int, count: int, go: threading.Barrier):
        super().__init__(daemon=True)
        self.base, self.index, self.draft_id = base, index, draft_id
        self.warmup, self.count, self.go = warmup, count, go
        self.session = requests.Session()
        self.timings: list[tuple[str, float]] = []
        self.errors: list[str] = []

    def add(self, n: int) -> tuple[str, float, str | None]:
        route = ROUTES[n % len(ROUTES)]
        body = add_body(route, self.draft_id, n // len(ROUTES), self.index)
        started = time.perf_counter()
        try:
            reply = self.session.post(f"{self.base}/add_{route}", json=body, timeout=(3, 60)).json()
            error = None if reply.get("success") else f"{reply.get('code')}: {reply.get('error', '')[:100]}"
        except (requests.RequestException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        return route, time.perf_counter() - started, error

    def run(self) -> None:
        for n in range(self.warmup):
            self.add(n)
        self.go.wait(timeout=120)
        for n in range(self.warmup, self.warmup + self.count):
            route, elapsed, error = self.add(n)
            self.timings.append((route, elapsed))
            if error:
                self.errors.append(error)


def run_load(base: str, made: Drafts, clients: int, requests_each: int, shared: bool, warmup: int = 10) -> dict:
    session = requests.Session()
    drafts = [made.create(session, base)] * clients if shared else [made.create(session, base) for _ in range(clients)]
    go = threading.Barrier(clients + 1)
    threads = [Client(base, i, drafts[i], warmup, requests_each, go) for i in range(clients)]
    for t in threads:
        t.start()
    go.wait(timeout=120)
    started = time.perf_counter()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - started
    if any(t.is_alive() for t in threads):
        raise RuntimeError("client threads still running after 600 s")
    timings = [x for t in threads for x in t.timings]
    errors = [e for t in threads for e in t.errors]
    latencies = [s for _, s in timings]
    by_route = {r: [s for route, s in timings if route == r] for r in ROUTES}
    return {"requests": len(timings), "wall": wall, "rps": len(timings) / wall, "p50": statistics.median(latencies),
            "p99": percentile(latencies, 0.99), "errors": errors,
            "routes": {r: (statistics.median(v), percentile(v, 0.99)) for r, v in by_route.items() if v}}


def by_size(base: str, made: Drafts, sizes: list[int], samples: int, spread: int = 20) -> dict[int, dict]:
    """/add_text latency on drafts of each size, one client. Each size spreads its samples over
    `spread` drafts when small (so a 10-segment draft stays near 10 segments), one draft when large;
    the timed adds of all sizes are interleaved so machine noise hits them alike."""
    session = requests.Session()
    errors: list[str] = []

    def add(draft_id: str, index: int) -> float:
        body = {"draft_id": draft_id, "text": f"line {index}", "start": index * 0.5, "end": index * 0.5 + 0.5,
                "track_name": "captions"}
        started = time.perf_counter()
        reply = session.post(base + "/add_text", json=body, timeout=60).json()
        elapsed = time.perf_counter() - started
        if not reply.get("success"):
            errors.append(f"{draft_id} #{index}: {reply.get('code')}: {reply.get('error', '')[:120]}")
        return elapsed

    pools: dict[int, list[str]] = {}
    for size in sizes:
        pools[size] = [made.create(session, base) for _ in range(spread if size < 100 else 1)]
        for draft_id in pools[size]:
            for i in range(size):
                add(draft_id, i)
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    for i in range(samples):
        for size in sizes:
            pool = pools[size]
            timings[size].append(add(pool[i % len(pool)], size + i // len(pool)))
    return {size: {"p50": statistics.median(t), "p99": percentile(t, 0.99), "errors": errors}
            for size, t in timings.items()}


# --- main ---------------------------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="K concurrent clients")
    parser.add_argument("--requests", type=int, default=150, help="timed adds per client")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--stores", default="sqlite,redis")
    parser.add_argument("--sizes", default="10,200,2000")
    parser.add_argument("--samples", type=int, default=150, help="timed adds per draft size")
    parser.add_argument("--redis-url", default=os.environ.get("CAPCUT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    stores = args.stores.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"# bench/scale.py on {platform.node()}: {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"K = {args.clients} client threads in this process, {args.requests} timed adds each (after 10 warm-up "
          f"adds), gunicorn -c gunicorn.conf.py (gthread, {os.environ.get('GUNICORN_THREADS', 4)} threads per worker); "
          f"clients and servers share the {os.cpu_count()} cores.\n", flush=True)

    made = Drafts()
    rows, route_rows, size_rows = [], [], []
    try:
        for store in stores:
            for n in workers:
                with gunicorn(n, store, args.redis_url) as base:
                    for layout in ("own", "shared"):
                        r = run_load(base, made, args.clients, args.requests, shared=layout == "shared")
                        rows.append((store, n, layout, r))
                        print(f"  {store:6} {n} workers, {layout:6} drafts: {r['rps']:7.1f} adds/s  "
                              f"p50 {ms(r['p50'])} ms  p99 {ms(r['p99'])} ms  errors {len(r['errors'])}", flush=True)
                        if n == 2 and layout == "own":
                            route_rows.append((store, r["routes"]))
            with gunicorn(2, store, args.redis_url) as base:
                for size, r in by_size(base, made, sizes, args.samples).items():
                    size_rows.append((store, size, r))
                    print(f"  {store:6} {size:5}-segment draft: p50 {ms(r['p50'])} ms  p99 {ms(r['p99'])} ms  "
                          f"errors {len(r['errors'])}", flush=True)
    finally:
        if "redis" in stores:
            print(f"\n(deleted the {made.delete_from_redis(args.redis_url)} Redis keys of the "
                  f"{len(made.ids)} drafts the bench created in {args.redis_url})")

    print(f"\n## add_* throughput, K = {args.clients} concurrent clients "
          f"({args.clients * args.requests} adds per row, routes rotated: {', '.join('add_' + r for r in ROUTES)})\n")
    print("| store | workers | drafts | adds/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for store, n, layout, r in rows:
        label = "one per client" if layout == "own" else "one shared by all"
        print(f"| {store} | {n} | {label} | {r['rps']:.0f} | {ms(r['p50'])} | {ms(r['p99'])} | {len(r['errors'])} |")
    errors = [e for *_, r in rows for e in r["errors"]]
    if errors:
        print(f"\nerrors (first 5): {errors[:5]}")

    print(f"\n## latency by route (2 workers, one draft per client, K = {args.clients})\n")
    print("| store | " + " | ".join(f"add_{r} p50/p99 ms" for r in ROUTES) + " |")
    print("|---|" + "---:|" * len(ROUTES))
    for store, routes in route_rows:
        print(f"| {store} | " + " | ".join(f"{ms(routes[r][0])} / {ms(routes[r][1])}" for r in ROUTES) + " |")

    print(f"\n## /add_text latency by draft size (1 client, 2 workers, {args.samples} samples per size)\n")
    print("| store | segments | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for store, size, r in size_rows:
        print(f"| {store} | {size} | {ms(r['p50'])} | {ms(r['p99'])} | {len(r['errors'])} |")
    size_errors = sorted({e for *_, r in size_rows for e in r["errors"]})
    if size_errors:
        print(f"\nerrors while filling or timing (first 5 of {len(size_errors)}): {size_errors[:5]}")


if __name__ == "__main__":
    main()
