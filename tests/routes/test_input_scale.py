"""Requests whose work grows with one input: SRT cues, keyframes on a clip, text_styles ranges.

Each cost must grow linearly (or n log n), checked between n and 4n two ways:
* Python function calls counted by cProfile — deterministic: linear work gives about 4×,
  quadratic work about 16×, so the bound is 8×;
* the best of three wall-clock runs — a generous 10× bound (quadratic work gives about 16×).
Each input also has a limit (capcut_drafts/model/timeline.py): at the limit the request succeeds, one more
is refused with `invalid_parameter` and a message naming the limit, and the draft is unchanged.
"""
from __future__ import annotations

import cProfile
import gc
import json
import time
from collections.abc import Callable

from helpers import fail, new_draft, ok, post

from capcut_drafts.model.timeline import MAX_KEYFRAMES_PER_TRACK, MAX_SUBTITLE_CUES, MAX_TEXT_STYLES

VIDEO = "http://127.0.0.1:8765/v.mp4"
CALLS_BOUND = 8
TIME_BOUND = 10
KEYFRAME_BATCH = 1000

Action = Callable[[], None]


# -- measuring --------------------------------------------------------------------------------

def count_calls(action: Action) -> int:
    """Function calls (Python and built-in) made while `action` runs."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        action()
    finally:
        profile.disable()
    return sum(entry.callcount for entry in profile.getstats())


def seconds(action: Action) -> float:
    """Wall-clock time of `action` with the cyclic garbage collector paused: its full passes cost
    in proportion to the whole heap, which holds every draft this test made, not to the request."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started
    finally:
        gc.enable()


def assert_linear(prepare: Callable[[int], Action], n: int) -> None:
    """`prepare(size)` sets up a fresh draft (not measured) and returns the measured action.
    Timings alternate between the sizes and the best of three counts, so load from other
    processes and a heap that grows during the test do not land on one size only."""
    small, large = count_calls(prepare(n)), count_calls(prepare(4 * n))
    assert large < CALLS_BOUND * small, f"{n}: {small} calls, {4 * n}: {large} calls ({large / small:.1f}×)"
    runs = [(seconds(prepare(n)), seconds(prepare(4 * n))) for _ in range(3)]
    small_s, large_s = min(r[0] for r in runs), min(r[1] for r in runs)
    assert large_s < TIME_BOUND * small_s, f"{n}: {small_s:.3f} s, {4 * n}: {large_s:.3f} s"


def script(client, draft_id: str) -> dict:
    reply = post(client, "/query_script", {"draft_id": draft_id})
    assert reply["success"], reply
    return reply


# -- inputs -----------------------------------------------------------------------------------

def srt(cues: int, first: int = 0) -> str:
    """`cues` one-second cues, one every two seconds from second 2*first."""
    def stamp(seconds: int) -> str:
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d},000"
    return "\n".join(f"{i + 1}\n{stamp(2 * i)} --> {stamp(2 * i + 1)}\nline {i}\n"
                     for i in range(first, first + cues))


def clip_draft(client, seconds: float) -> str:
    draft = new_draft(client)
    ok(client, "/add_video", {"draft_id": draft, "video_url": VIDEO, "start": 0, "end": seconds})
    return draft


def add_keyframes(client, draft: str, count: int, first: int = 0) -> None:
    """`count` alpha keyframes 0.01 s apart from keyframe number `first`, in batches."""
    for start in range(first, first + count, KEYFRAME_BATCH):
        size = min(KEYFRAME_BATCH, first + count - start)
        ok(client, "/add_video_keyframe", {
            "draft_id": draft, "property_types": ["alpha"] * size,
            "times": [(start + i) / 100 for i in range(size)], "values": [(i % 2) * 1.0 for i in range(size)]})


def styles(count: int) -> list[dict]:
    return [{"start": i, "end": i + 1, "style": {"bold": i % 2 == 0, "color": "#00FF00"}} for i in range(count)]


# -- growth -----------------------------------------------------------------------------------

def test_add_subtitle_cost_grows_linearly_with_the_cues(client):
    def prepare(n: int) -> Action:
        draft, text = new_draft(client), srt(n)
        return lambda: ok(client, "/add_subtitle", {"draft_id": draft, "srt": text})

    assert_linear(prepare, 500)


def test_query_script_cost_grows_linearly_with_the_keyframes_on_one_clip(client):
    def prepare(n: int) -> Action:
        draft = clip_draft(client, n / 100 + 1)

        def action() -> None:
            add_keyframes(client, draft, n)
            script(client, draft)
        return action

    assert_linear(prepare, 1000)


def test_text_styles_cost_grows_linearly_with_the_ranges(client):
    def prepare(n: int) -> Action:
        draft = new_draft(client)

        def action() -> None:
            ok(client, "/add_text", {"draft_id": draft, "text": "x" * n, "text_styles": styles(n)})
            script(client, draft)
        return action

    assert_linear(prepare, 1000)


def test_many_keyframes_still_attach_in_time_order_to_the_clip_under_them(client):
    draft = new_draft(client)
    for start in (0, 10, 20):
        ok(client, "/add_video", {"draft_id": draft, "video_url": VIDEO, "start": 0, "end": 10,
                                  "target_start": start})
    times = [29.5, 0.5, 10, 15, 10.5, 5, 20, 0]          # 10 and 20 are boundaries: the earlier clip
    ok(client, "/add_video_keyframe", {"draft_id": draft, "property_types": ["alpha"] * len(times),
                                       "times": times, "values": [0.5] * len(times)})
    doc = json.loads(script(client, draft)["output"])
    video = next(t for t in doc["tracks"] if t["name"] == "video_main")
    offsets = [[k["time_offset"] for k in seg["common_keyframes"][0]["keyframe_list"]] for seg in video["segments"]]
    assert offsets == [[0, 500_000, 5_000_000, 10_000_000], [500_000, 5_000_000, 10_000_000], [9_500_000]]


# -- limits -----------------------------------------------------------------------------------

def test_subtitle_cues_at_the_limit_are_accepted(client):
    draft = new_draft(client)
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": srt(MAX_SUBTITLE_CUES)})


def test_one_cue_over_the_limit_is_refused_and_changes_nothing(client):
    draft = new_draft(client)
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": srt(1)})
    before = script(client, draft)
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": srt(MAX_SUBTITLE_CUES + 1, first=1)},
                 "invalid_parameter")
    assert f"{MAX_SUBTITLE_CUES + 1} cues" in error and f"at most {MAX_SUBTITLE_CUES}" in error
    assert "Split the file" in error
    assert script(client, draft) == before


def test_keyframes_up_to_the_track_limit_are_accepted_and_one_more_is_refused(client):
    draft = clip_draft(client, MAX_KEYFRAMES_PER_TRACK / 100 + 1)
    add_keyframes(client, draft, MAX_KEYFRAMES_PER_TRACK)
    before = script(client, draft)
    error = fail(client, "/add_video_keyframe", {"draft_id": draft, "property_type": "alpha", "time": 0.005,
                                                 "value": 1}, "invalid_parameter")
    assert f"at most {MAX_KEYFRAMES_PER_TRACK} keyframes" in error and "'video_main'" in error
    assert script(client, draft) == before


def test_a_keyframe_batch_larger_than_the_track_limit_is_refused(client):
    draft = clip_draft(client, 10)
    before = script(client, draft)
    count = MAX_KEYFRAMES_PER_TRACK + 1
    error = fail(client, "/add_video_keyframe", {"draft_id": draft, "property_types": ["alpha"] * count,
                                                 "times": [i / 10_000 for i in range(count)],
                                                 "values": [1] * count}, "invalid_parameter")
    assert f"{count} keyframes" in error and f"at most {MAX_KEYFRAMES_PER_TRACK}" in error
    assert script(client, draft) == before


def test_keyframe_limit_counts_each_track_separately(client):
    draft = clip_draft(client, 10)
    ok(client, "/add_video", {"draft_id": draft, "video_url": VIDEO, "start": 0, "end": 10, "track_name": "b"})
    add_keyframes(client, draft, MAX_KEYFRAMES_PER_TRACK)
    ok(client, "/add_video_keyframe", {"draft_id": draft, "track_name": "b", "property_type": "alpha",
                                       "time": 1, "value": 1})


def test_text_styles_at_the_limit_are_accepted(client):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "x" * MAX_TEXT_STYLES,
                             "text_styles": styles(MAX_TEXT_STYLES)})


def test_one_text_style_over_the_limit_is_refused_and_changes_nothing(client):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "first", "start": 0, "end": 1})
    before = script(client, draft)
    count = MAX_TEXT_STYLES + 1
    error = fail(client, "/add_text", {"draft_id": draft, "text": "x" * count, "start": 2, "end": 3,
                                       "text_styles": styles(count)}, "invalid_parameter")
    assert f"{count} ranges" in error and f"at most {MAX_TEXT_STYLES}" in error and "text_styles" in error
    assert script(client, draft) == before
