"""Drafts, plans and reads for the store tests (tests/store/): a draft document, a plan that adds a
1 s text segment, the segment starts and JSON of a cached draft, a draft built through the routes,
and many threads adding through several app clients at once."""
from __future__ import annotations

import threading

from capcut_drafts.model import operations
from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, Segment
from capcut_drafts.store.cache import DraftCache
from helpers import post

S = 1_000_000
HOST = "http://127.0.0.1:8765"


def new_doc(draft_id: str = "d1") -> Draft:
    return Draft(id=draft_id, profile="capcut", name=draft_id, created_at=0.0)


def add_clip(start_s: int, track: str = "t"):
    """A plan that puts a 1 s segment at `start_s` on text track `track` (fails on overlap)."""
    def plan(draft: Draft):
        target = operations.placement(draft, track, "text", 0, "text")
        segment = Segment(id=f"seg-{track}-{start_s}", target=TimeRange(start_us=start_s * S, duration_us=S))
        operations.check_free(target, segment.target)
        return operations.add_segment(target, segment), start_s
    return plan


def starts(cache: DraftCache, draft_id: str = "d1", track: str = "t") -> list[int]:
    def read(draft: Draft):
        found = draft.track(track)
        return [s.target.start_us // S for s in found.segments] if found else []
    return cache.read(draft_id, read)


def dump(cache: DraftCache, draft_id: str = "d1") -> str:
    return cache.read(draft_id, lambda d: d.model_dump_json())


def build_draft(client) -> str:
    d = post(client, "/create_draft", {"width": 1280, "height": 720})["output"]["draft_id"]
    for path, body in [
        ("/add_video", {"video_url": f"{HOST}/v.mp4", "start": 1, "end": 4, "speed": 2, "transition": "Dissolve",
                        "background_blur": 2, "mask_type": "Circle"}),
        ("/add_audio", {"audio_url": f"{HOST}/a.mp3", "end": 5, "effect_type": "Big_House", "effect_params": [30]}),
        ("/add_image", {"image_url": f"{HOST}/i.png", "start": 2, "end": 4, "intro_animation": "Fade_In"}),
        ("/add_text", {"text": "Hello", "start": 0, "end": 2, "font": "思源中宋", "shadow_enabled": True}),
    ]:
        reply = post(client, path, {"draft_id": d, **body})
        assert reply["success"], reply["error"]
    return d


def query(client, draft_id: str) -> str:
    reply = post(client, "/query_script", {"draft_id": draft_id})
    assert reply["success"], reply["error"]
    return reply["output"]


def hammer(clients, draft_id: str, threads: int = 8, calls: int = 25) -> list[str]:
    """`threads` threads each add `calls` 1 s texts at distinct times; returns the failures."""
    failures: list[str] = []
    barrier = threading.Barrier(threads)

    def worker(t: int):
        client = clients[t % len(clients)]
        barrier.wait()
        for k in range(calls):
            start = t * calls + k
            resp = client.post("/add_text", json={"draft_id": draft_id, "text": f"{t}-{k}", "start": start,
                                                  "end": start + 1})
            body = resp.get_json()
            if resp.status_code != 200 or not body["success"]:
                failures.append(f"{t}-{k}: {resp.status_code} {body}")

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return failures
