"""What one cached draft costs in a worker's LRU, measured with tracemalloc. Prints Markdown.

    .venv/bin/python bench/memory.py [--sizes 10,2000]

For each size, a draft is built over the API (in this process, Flask test client, SQLite in a
temporary directory) with the bench's mixed adds (text, video, audio, image, effect in rotation,
bench/scale.py's bodies); then the worker's copy is dropped, the garbage collector run, and the
draft loaded back into the LRU while tracemalloc counts: the memory still allocated after the
load (and another collection) is what the cached entry holds. Targets (issue 18): 10 segments
<= 20 KB, 2 000 segments <= 2 MB.
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT), str(ROOT / "tests")]
from scale import ROUTES, add_body  # noqa: E402  (bench/ helpers)

from capcut_drafts.settings import Settings  # noqa: E402


def build(client, size: int) -> str:
    draft_id = client.post("/create_draft", json={}).get_json()["output"]["draft_id"]
    for n in range(size):
        route = ROUTES[n % len(ROUTES)]
        reply = client.post(f"/add_{route}", json=add_body(route, draft_id, n // len(ROUTES), 0)).get_json()
        if not reply["success"]:
            raise RuntimeError(reply["error"])
    return draft_id


def cached_bytes(ctx, draft_id: str) -> int:
    """Bytes the LRU entry of `draft_id` holds once loaded (tracemalloc, after collections)."""
    ctx.cache.forget(draft_id)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    ctx.cache.read(draft_id, lambda draft: None)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,2000")
    args = parser.parse_args()
    from capcut_drafts.web.app import create_app
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=tmp, store="sqlite", prefetch_on_add=False, log_level="WARNING")
        app = create_app(settings)
        ctx, client = app.extensions["capcut"], app.test_client()
        print("| segments | cached draft | per segment |\n|---:|---:|---:|")
        for size in (int(s) for s in args.sizes.split(",")):
            draft_id = build(client, size)
            cached_bytes(ctx, draft_id)                     # once to warm caches of the code path
            held = min(cached_bytes(ctx, draft_id) for _ in range(3))
            print(f"| {size} | {held / 1024:.1f} KB | {held / size:.0f} B |")


if __name__ == "__main__":
    main()
