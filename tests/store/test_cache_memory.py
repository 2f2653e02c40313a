"""How much of a worker's memory the draft cache may hold: at most `draft_cache_mb` of drafts
(estimated by `footprint`) and `draft_cache_size` drafts, least recently used dropped first, the
draft in use kept."""
from __future__ import annotations

import gc
import tracemalloc

import pytest
from helpers import new_draft, ok
from helpers.store import add_clip, new_doc, starts

from capcut_drafts.store.cache import DraftCache, footprint
from capcut_drafts.store.memory import MemoryStore

KINDS = ("text", "video", "audio", "image", "effect")


def mixed_add(client, draft_id: str, n: int, distinct_urls: bool = False) -> None:
    """The n-th add of the benchmarks' workload: text, video, audio, image, effect in turn."""
    kind, at = KINDS[n % 5], float(n // 5)
    url = f"https://media.example.com/{n if distinct_urls else n % 4}"
    body = {"draft_id": draft_id, "track_name": kind, "start": at, "end": at + 1}
    body.update({"text": {"text": f"line {n}"}, "video": {"video_url": url + ".mp4", "start": 0, "end": 1,
                                                          "target_start": at},
                 "audio": {"audio_url": url + ".mp3", "start": 0, "end": 1, "target_start": at},
                 "image": {"image_url": url + ".png"}, "effect": {"effect_type": "Blur"}}[kind])
    ok(client, f"/add_{kind}", body)


def measured_bytes(cache: DraftCache, draft_id: str) -> int:
    """What the cache entry of `draft_id` holds once loaded again, as tracemalloc counts it: the
    least of three loads, because tracemalloc also counts what other threads of the test process
    (left by earlier tests) allocate meanwhile, which only ever adds."""
    cache.forget(draft_id)
    cache.read(draft_id, lambda draft: None)        # warm the code path's own caches first
    return min(_one_load_bytes(cache, draft_id) for _ in range(3))


def _one_load_bytes(cache: DraftCache, draft_id: str) -> int:
    cache.forget(draft_id)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        cache.read(draft_id, lambda draft: None)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


@pytest.mark.parametrize(("adds", "distinct_urls", "keyframes"), [
    (0, False, 0), (10, False, 0), (300, False, 0), (300, True, 0), (5, False, 100)])
def test_the_size_estimate_is_close_to_what_the_draft_takes(client, app, adds, distinct_urls, keyframes):
    draft_id = new_draft(client)
    for n in range(adds):
        mixed_add(client, draft_id, n, distinct_urls)
    for n in range(keyframes):
        ok(client, "/add_video_keyframe", {"draft_id": draft_id, "track_name": "video", "property_types": ["alpha"],
                                           "times": [n * 0.005], "values": ["0.5"]})
    cache = app.extensions["capcut"].cache
    estimate, measured = cache.read(draft_id, footprint), measured_bytes(cache, draft_id)
    slack = 1024        # an empty draft measured 2.4-3.1 KB, depending on what the process had interned
    assert 0.7 * measured - slack <= estimate <= 1.4 * measured + slack, (estimate, measured)


def test_over_the_byte_limit_the_least_recently_used_drafts_go_first():
    store, lookups = MemoryStore(), []
    one = footprint(new_doc())
    cache = DraftCache(store, max_bytes=3 * one, on_lookup=lookups.append)
    for name in ("a", "b", "c"):
        cache.create(new_doc(name))
    cache.read("a", lambda draft: None)             # a is now used more recently than b
    cache.create(new_doc("d"))                      # over: b goes
    del lookups[:]
    for name in ("a", "c", "d", "b"):
        cache.read(name, lambda draft: None)
    assert lookups == [True, True, True, False]     # b was loaded from the store again


def test_a_draft_that_grows_pushes_the_others_out_but_stays_itself():
    store, lookups = MemoryStore(), []
    cache = DraftCache(store, max_bytes=footprint(new_doc()) * 2 + 1, on_lookup=lookups.append)
    cache.create(new_doc("d1"))
    cache.create(new_doc("other"))
    for k in range(20):                             # d1 alone is soon larger than the limit
        cache.update("d1", add_clip(k))
    del lookups[:]
    assert starts(cache) == list(range(20))
    cache.read("other", lambda draft: None)
    assert lookups == [True, False]
    assert cache.read("d1", footprint) > cache.max_bytes


def test_the_count_limit_still_applies():
    store, lookups = MemoryStore(), []
    cache = DraftCache(store, capacity=2, on_lookup=lookups.append)
    for name in ("a", "b", "c"):
        cache.create(new_doc(name))
    for name in ("b", "c", "a"):
        cache.read(name, lambda draft: None)
    assert lookups == [True, True, False]


def test_the_held_total_follows_creates_changes_and_forgets():
    cache = DraftCache(MemoryStore())
    cache.create(new_doc("a"))
    cache.create(new_doc("b"))
    cache.update("a", add_clip(0))
    cache.update("a", add_clip(1))
    held = lambda: sum(cache.read(name, footprint) for name in ("a", "b"))  # noqa: E731
    assert cache.held_bytes == held()
    cache.forget("a")
    assert cache.held_bytes == cache.read("b", footprint)
    cache.delete("b")
    assert cache.held_bytes == 0
