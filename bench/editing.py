"""Cost of the editing routes against gunicorn: update/undo on a large draft vs an add on a small one,
and one /batch of N adds vs N separate adds. Prints Markdown tables.

    .venv/bin/python bench/editing.py [--samples 300] [--size 2000] [--batch 100] [--rounds 5] [--profile]

gunicorn runs with the production config (`-c gunicorn.conf.py`, 2 workers unless GUNICORN_WORKERS
says otherwise) on a fresh SQLite data_dir; one client with a keep-alive session over loopback.

* Latency: 30 drafts of 10 texts and one draft of `--size` texts, each built with /batch (500 adds
  a batch at most). Then `--samples` rounds, interleaved so machine noise hits all alike: (a)
  /add_text on a small draft (round-robin, so each grows by samples/30 only), (b) /update_segment
  of a random segment of the large draft (a new text), (c) /undo then /redo on the large draft (the
  redo keeps its size and history). Ratios are to (a); the target is 1.2x at most.
* Batch: `--rounds` times, on new drafts of 0 and of `--size` texts: `--batch` /add_text, one
  request each, on one draft, and one /batch of `--batch` /add_text on another; median wall times
  and the speed-up (target >= 5x).
* `--profile`: cProfile through the Flask test client (in this process, SQLite in a temporary
  directory) on a `--size`-segment draft of `--batch` /update_segment, `--batch` /undo + /redo
  pairs and `--batch`/5 batches of one /add_text; the service's functions by cumulative time and
  the top entries by own time.

Client and server share this machine's cores (printed). Nothing is fetched.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from add_latency import percentile  # noqa: E402  (bench/ helpers)
from scale import gunicorn  # noqa: E402

SMALL_DRAFTS, SMALL_SIZE, BATCH_LIMIT = 30, 10, 500
Post = Callable[[str, dict], dict]


# --- requests -----------------------------------------------------------------------------------

def http_poster(session: requests.Session, base: str) -> Post:
    """POST over `session`; the output of a successful reply (anything else raises)."""
    def post(path: str, body: dict) -> dict:
        reply = session.post(base + path, json=body, timeout=120).json()
        if not reply["success"]:
            raise RuntimeError(f"{path}: {reply['error']}")
        return reply["output"]
    return post


def timed(post: Post, path: str, body: dict) -> float:
    """Seconds one request took."""
    started = time.perf_counter()
    post(path, body)
    return time.perf_counter() - started


def text_op(index: int) -> dict:
    return {"route": "/add_text", "body": {"text": f"line {index}", "start": index, "end": index + 1}}


def new_draft(post: Post, size: int) -> tuple[str, list[str]]:
    """A draft of `size` texts, one second each, built with /batch; its id and segment ids."""
    draft_id = post("/create_draft", {})["draft_id"]
    ids: list[str] = []
    for first in range(0, size, BATCH_LIMIT):
        ops = [text_op(i) for i in range(first, min(size, first + BATCH_LIMIT))]
        results = post("/batch", {"draft_id": draft_id, "operations": ops})["results"]
        ids += [r["output"]["segment_id"] for r in results]
    return draft_id, ids


# --- 1. latency ---------------------------------------------------------------------------------

def latencies(post: Post, size: int, samples: int) -> dict[str, list[float]]:
    """Interleaved samples of add (small draft), update, undo and redo (large draft), in seconds."""
    small = [new_draft(post, SMALL_SIZE)[0] for _ in range(SMALL_DRAFTS)]
    large, ids = new_draft(post, size)
    rng = random.Random(1)
    timings: dict[str, list[float]] = {"add": [], "update": [], "undo": [], "redo": []}
    for i in range(samples):
        draft_id = small[i % SMALL_DRAFTS]
        timings["add"].append(timed(post, "/add_text", {"draft_id": draft_id, "text": f"more {i}",
                                                        "start": 100 + i, "end": 101 + i}))
        timings["update"].append(timed(post, "/update_segment", {"draft_id": large, "segment_id": rng.choice(ids),
                                                                 "text": f"edit {i}"}))
        timings["undo"].append(timed(post, "/undo", {"draft_id": large}))
        timings["redo"].append(timed(post, "/redo", {"draft_id": large}))
    return timings


def latency_table(timings: dict[str, list[float]], size: int) -> None:
    base50, base99 = statistics.median(timings["add"]), percentile(timings["add"], 0.99)
    labels = {"add": f"(a) /add_text, {SMALL_SIZE}-segment drafts", "update": f"(b) /update_segment, {size} segments",
              "undo": f"(c) /undo, {size} segments", "redo": f"(c) /redo, {size} segments"}
    print(f"\n| request ({len(timings['add'])} samples each) | p50 ms | p99 ms | max ms | p50 / (a) | p99 / (a) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in timings.items():
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"| {labels[name]} | {p50 * 1000:.2f} | {p99 * 1000:.2f} | {max(values) * 1000:.2f} | "
              f"{p50 / base50:.2f} | {p99 / base99:.2f} |")
    print("target: (b), (c) within 1.2x of (a)", flush=True)


# --- 2. one batch vs separate requests ----------------------------------------------------------

def batch_vs_single(post: Post, size: int, count: int, rounds: int) -> tuple[float, float]:
    """Median wall seconds of `count` separate /add_text and of one /batch of `count` /add_text, each
    round on new drafts of `size` texts."""
    single, batched = [], []
    for _ in range(rounds):
        draft_id = new_draft(post, size)[0]
        started = time.perf_counter()
        for i in range(size, size + count):
            post("/add_text", {"draft_id": draft_id, **text_op(i)["body"]})
        single.append(time.perf_counter() - started)
        draft_id = new_draft(post, size)[0]
        ops = [text_op(i) for i in range(size, size + count)]
        batched.append(timed(post, "/batch", {"draft_id": draft_id, "operations": ops}))
    return statistics.median(single), statistics.median(batched)


def batch_table(post: Post, sizes: list[int], count: int, rounds: int) -> None:
    print(f"\n| {count} /add_text, median of {rounds} | {count} requests ms | 1 /batch ms | speed-up |")
    print("|---|---:|---:|---:|")
    for size in sizes:
        single, batched = batch_vs_single(post, size, count, rounds)
        print(f"| draft of {size} segments | {single * 1000:.1f} | {batched * 1000:.1f} | {single / batched:.1f}x |")
    print("target: speed-up >= 5x", flush=True)


# --- 3. where the time goes ---------------------------------------------------------------------

def profile(size: int, count: int) -> None:
    """cProfile, in-process, on a `size`-segment draft: `count` updates, `count` undo + redo pairs, and
    `count` // 5 batches of one /add_text."""
    from capcut_drafts.settings import Settings
    from capcut_drafts.web.app import create_app
    with tempfile.TemporaryDirectory(prefix="capcut-bench-") as tmp:
        settings = Settings().replace(data_dir=tmp, store="sqlite", prefetch_on_add=False, log_level="WARNING")
        client = create_app(settings).test_client()
        post: Post = lambda path, body: client.post(path, json=body).get_json()["output"]
        large, ids = new_draft(post, size)
        rng = random.Random(1)
        runs = {
            "/update_segment": [("/update_segment", {"draft_id": large, "segment_id": rng.choice(ids),
                                                     "text": f"p{i}"}) for i in range(count)],
            "/undo + /redo": [(path, {"draft_id": large}) for _ in range(count) for path in ("/undo", "/redo")],
            "/batch of 1 /add_text": [("/batch", {"draft_id": large, "operations": [text_op(size + i)]})
                                      for i in range(count // 5)],
        }
        for name, calls in runs.items():
            profiler = cProfile.Profile()
            profiler.enable()
            for path, body in calls:
                post(path, body)
            profiler.disable()
            report(profiler, f"{name}: {len(calls)} requests on a {size}-segment draft")


def report(profiler: cProfile.Profile, title: str) -> None:
    """The service's functions by cumulative time, then everything by own time (top 12 each)."""
    for order, only in (("cumulative", "capcut_drafts"), ("tottime", "")):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(only, 12)
        table = out.getvalue()[out.getvalue().index("   ncalls"):].rstrip()
        print(f"\n## {title}, by {order}\n{table.replace(str(ROOT) + '/', '')}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    workers = int(os.environ.get("GUNICORN_WORKERS", 2))
    print(f"{platform.platform()}, {os.cpu_count()} cores shared by client and server; gunicorn.conf.py, "
          f"{workers} workers, SQLite", flush=True)
    with gunicorn(workers, "sqlite", "") as base, requests.Session() as session:
        post = http_poster(session, base)
        latency_table(latencies(post, args.size, args.samples), args.size)
        batch_table(post, [0, args.size], args.batch, args.rounds)
    if args.profile:
        profile(args.size, args.batch)


if __name__ == "__main__":
    main()
