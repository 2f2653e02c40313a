"""Undo, redo and batches are operations in the log: every backend replays them to the same
document, with or without snapshots in between, and a second process sees what the first did.

The edits go through the routes' planners on a real DraftCache (editing/segments.py,
editing/batch.py), so this is the same code path as HTTP, minus Flask.
"""
from __future__ import annotations

import json

import pytest
from helpers.store import add_clip, dump, new_doc, starts

from capcut_drafts.model import operations
from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, Segment, Track
from capcut_drafts.store.cache import DraftCache

S = 1_000_000


def text_segment(segment_id: str, start_s: float) -> Segment:
    return Segment(id=segment_id, target=TimeRange(start_us=round(start_s * S), duration_us=S),
                   text={"text": segment_id, "ranges": []})


def remove(segment_id: str):
    def plan(draft: Draft):
        track, segment = draft.find_segment(segment_id)
        return operations.remove_segments([(track.name, segment)]), None
    return plan


def step(kind: str):
    return lambda draft: ({"op": kind}, None)


def replace(segment_id: str, start_s: float):
    """A plan that moves `segment_id` (on track t) to `start_s` as remove + put, as /move_segment does."""
    def plan(draft: Draft):
        moved = text_segment(segment_id, start_s)
        track, segment = draft.find_segment(segment_id)
        return operations.batch([operations.remove_segments([(track.name, segment)]),
                                 operations.put_segments([("t", moved)])]), None
    return plan


@pytest.mark.parametrize("snapshot_every", [1, 3, 1000])
def test_history_replays_identically_in_a_second_process(open_store, snapshot_every):
    first = DraftCache(open_store(), snapshot_every=snapshot_every)
    first.create(new_doc())
    for start in (0, 2, 4):
        first.update("d1", add_clip(start))
    first.update("d1", replace("seg-t-2", 7))
    first.update("d1", remove("seg-t-0"))
    first.update("d1", step("undo"))
    first.update("d1", step("undo"))
    first.update("d1", step("redo"))
    first.update("d1", operations_batch())
    assert starts(first) == [0, 4, 7, 10, 12]
    second = DraftCache(open_store(), snapshot_every=snapshot_every)
    assert dump(second) == dump(first)
    second.update("d1", step("undo"))              # the batch, in one step
    assert starts(first) == [0, 4, 7] and dump(first) == dump(second)
    assert [json.loads(c.what)["operation"] for c in reversed(second.read("d1", lambda d: d.redo))] == ["batch"]


def operations_batch():
    def plan(draft: Draft):
        track = draft.track("t") or Track(name="t", kind="text")
        return {**operations.batch([operations.add_segment(track, text_segment("b1", 10)),
                                    operations.add_segment(track, text_segment("b2", 12))]),
                "what": {"operation": "batch"}}, None
    return plan


def test_undo_then_a_new_edit_clears_redo_everywhere(open_store):
    first = DraftCache(open_store())
    first.create(new_doc())
    first.update("d1", add_clip(0))
    first.update("d1", step("undo"))
    second = DraftCache(open_store())
    second.update("d1", add_clip(5))
    assert first.read("d1", lambda d: (len(d.undo), len(d.redo))) == (1, 0)
    assert starts(first) == [5] == starts(second)


def test_undoing_everything_gives_the_empty_document_back(open_store):
    cache = DraftCache(open_store(), snapshot_every=2)
    cache.create(new_doc())
    empty = dump(cache)
    for start in range(5):
        cache.update("d1", add_clip(start, track=f"t{start % 2}"))
    for _ in range(5):
        cache.update("d1", step("undo"))
    undone = Draft.model_validate_json(dump(cache))
    assert undone.model_copy(update={"redo": [], "segments_added": 0}).model_dump() == \
        Draft.model_validate_json(empty).model_dump()
    for _ in range(5):
        cache.update("d1", step("redo"))
    assert starts(cache, track="t0") == [0, 2, 4] and starts(cache, track="t1") == [1, 3]


def busy_draft() -> Draft:
    """Tracks with ties (open clips at one start), materials, keyframes, 30 texts on one track."""
    from capcut_drafts.model.timeline import Material, PendingKeyframe
    draft = new_doc()
    video = Track(name="v", kind="video")
    for i in range(3):          # open clips: they may share a start
        draft.materials[f"m{i}"] = Material(id=f"m{i}", kind="video", url=f"https://x/{i}.mp4", file_name=f"{i}.mp4")
        operations.apply(draft, operations.add_segment(video, Segment(id=f"open{i}", material_id=f"m{i}",
                                                                      target=TimeRange(start_us=0))))
        video = draft.track("v")
    texts = Track(name="t", kind="text")
    operations.apply(draft, operations.add_segments(texts, [text_segment(f"x{i}", i) for i in range(30)]))
    draft.keyframes = [PendingKeyframe(track_name="v", property="alpha", time_us=i, value=0.5) for i in range(4)]
    return draft


def test_a_trial_leaves_the_draft_exactly_as_it_was():
    draft = busy_draft()
    before = draft.model_dump_json()
    texts = draft.track("t")
    with operations.trial(draft) as take:
        take(operations.remove_segments([("v", draft.track("v").segments[1])], materials=["m1"], keyframes=[0, 2]))
        take(operations.remove_segments([("t", s) for s in texts.segments[5:20]]))
        take(operations.add_segments(Track(name="new", kind="text"), [text_segment("n1", 3)]))
        take(operations.batch([operations.remove_segments([("t", texts.segments[0])]),
                               operations.put_segments([("t", text_segment("x0", 40))])]))
        take(operations.rename("renamed"))
        assert draft.name == "renamed" and len(draft.track("t").segments) == 15
    assert draft.model_dump_json() == before


def test_undo_and_redo_of_big_removals_are_exact(open_store):
    cache = DraftCache(open_store(), snapshot_every=2)
    cache.create(busy_draft())
    before = dump(cache)

    def remove_many(draft: Draft):
        track = draft.track("t")
        return operations.remove_segments([("t", s) for s in track.segments[3:25]] +
                                          [("v", draft.track("v").segments[0])]), None

    cache.update("d1", remove_many)
    after = dump(cache)
    cache.update("d1", step("undo"))
    assert Draft.model_validate_json(dump(cache)).model_copy(update={"redo": []}).model_dump() == \
        Draft.model_validate_json(before).model_dump()
    cache.update("d1", step("redo"))
    assert Draft.model_validate_json(dump(cache)).model_copy(update={"undo": []}).model_dump() == \
        Draft.model_validate_json(after).model_copy(update={"undo": []}).model_dump()


def test_a_big_draft_snapshots_as_rarely_per_operation_as_its_size(open_store):
    from capcut_drafts.store.cache import BIG_DRAFT
    store = open_store()
    cache = DraftCache(store, snapshot_every=10)
    cache.create(new_doc())
    cache.update("d1", lambda d: (operations.add_segments(
        Track(name="t", kind="text"), [text_segment(f"s{i}", i) for i in range(BIG_DRAFT)]), None))
    for start in range(20):
        cache.update("d1", add_clip(BIG_DRAFT + start, track="u"))
    assert store.load("d1").snapshot_seq == 0          # 21 operations: far from 1 020
    small = DraftCache(store, snapshot_every=10)
    small.create(new_doc("d2"))
    for start in range(21):
        small.update("d2", add_clip(start))
    assert store.load("d2").snapshot_seq == 20
