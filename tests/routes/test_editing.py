"""Editing over HTTP: segment ids in replies, /get_timeline, update/move/remove, undo/redo, /batch
and dry runs (Flask test client, in-memory store; the store backends and processes are covered by
tests/store/test_history.py and tests/e2e/test_editing_workers.py).

Nothing is fetched: media URLs name 127.0.0.1 but no save runs here.
"""
from __future__ import annotations

import json

import pytest
from helpers import fail, make_settings, new_draft, ok, post

HOST = "http://127.0.0.1:8765"
V1, V2, A, I = f"{HOST}/v1.mp4", f"{HOST}/v2.mp4", f"{HOST}/a.mp3", f"{HOST}/i.png"  # noqa: E741
SRT = "1\n00:00:00,000 --> 00:00:01,000\nOne\n\n2\n00:00:01,000 --> 00:00:02,500\nTwo\n"


def timeline(client, draft_id: str) -> dict:
    return ok(client, "/get_timeline", {"draft_id": draft_id})


def content(client, draft_id: str) -> tuple[dict, str]:
    """The timeline without its undo/redo stacks, and the app JSON: what an edit changes."""
    doc = timeline(client, draft_id)
    doc.pop("undo"), doc.pop("redo")
    return doc, ok(client, "/query_script", {"draft_id": draft_id})


def segment(doc: dict, segment_id: str) -> dict:
    found = [s for t in doc["tracks"] for s in t["segments"] if s["id"] == segment_id]
    assert len(found) == 1, segment_id
    return found[0]


def raw(client, path: str, body: dict) -> dict:
    """POST `body` encoded with escapes (lone surrogates, NaN), as a hostile client sends it."""
    return client.post(path, data=json.dumps(body, allow_nan=True), content_type="application/json").get_json()


def add(client, path: str, draft_id: str, **body) -> dict:
    return ok(client, path, {"draft_id": draft_id, **body})


# --- segment ids in replies --------------------------------------------------------------------

def test_every_add_reply_names_what_it_created(client, draft):
    made = {
        "/add_video": add(client, "/add_video", draft, video_url=V1, end=3),
        "/add_audio": add(client, "/add_audio", draft, audio_url=A, end=3),
        "/add_image": add(client, "/add_image", draft, image_url=I, start=3, end=4),
        "/add_text": add(client, "/add_text", draft, text="hi", start=0, end=2),
        "/add_effect": add(client, "/add_effect", draft, effect_type="Blur", params=[10]),
        "/add_filter": add(client, "/add_filter", draft, filter_type="亮肤"),
        "/add_sticker": add(client, "/add_sticker", draft, sticker_id="7107529669750066445"),
    }
    doc = timeline(client, draft)
    for path, output in made.items():
        entry = segment(doc, output["segment_id"])
        assert entry["track_name"] == output["track_name"] and entry["made_by"] == path, path
    cues = add(client, "/add_subtitle", draft, srt=SRT)
    assert len(cues["segment_ids"]) == 2 and "segment_id" not in cues and cues["track_name"] == "subtitle"
    keys = add(client, "/add_video_keyframe", draft, track_name="video_main", property_types=["alpha", "alpha"],
               times=[0.5, 1.0], values=["0.2", "1"])
    assert keys["segment_ids"] == [made["/add_video"]["segment_id"]] and keys["added_keyframes_count"] == 2


def test_timeline_in_seconds_with_parameters(client, draft):
    video = add(client, "/add_video", draft, video_url=V1, start=1, end=4, target_start=2, speed=2,
                transition="Dissolve", track_name="main")
    text = add(client, "/add_text", draft, text="Title", start=0.5, end=1.5, intro_animation="Fade_In")
    doc = timeline(client, draft)
    assert doc["canvas"] == {"width": 1080, "height": 1920, "fps": 30} and doc["duration"] == 3.5
    clip = segment(doc, video["segment_id"])
    assert clip["source"] == {"start": 1.0, "end": 4.0} and clip["target"] == {"start": 2.0, "end": 3.5}
    assert clip["media_url"] == V1 and clip["speed"] == 2.0 and clip["effects"] == {"transition": "Dissolve"}
    assert clip["params"]["target_start"] == 2 and clip["kind"] == "video"
    title = segment(doc, text["segment_id"])
    assert title["text"] == "Title" and title["kind"] == "text" and "intro" in title["effects"]
    assert [t["name"] for t in sorted(doc["tracks"], key=lambda t: t["render_order"])] == ["main", "text_main"]
    assert doc["materials"][0]["url"] == V1 and doc["materials"][0]["duration"] is None
    assert doc["undo"][0] == {"operation": "/add_text", "segment_id": text["segment_id"], "track_name": "text_main"}
    page = client.get(f"/drafts/{draft}/timeline.json")
    assert page.status_code == 200 and page.get_json()["output"] == doc


def test_an_open_clip_has_no_end_until_probed(client, draft):
    video = add(client, "/add_video", draft, video_url=V1)
    assert segment(timeline(client, draft), video["segment_id"])["target"] == {"start": 0.0, "end": None}


# --- update ----------------------------------------------------------------------------------

def test_update_changes_only_what_is_sent(client, draft):
    text = add(client, "/add_text", draft, text="Helo", start=0, end=2, font_size=12, font_color="#FF0000")
    out = add(client, "/update_segment", draft, segment_id=text["segment_id"], text="Hello", color="#00FF00")
    assert out["segment_id"] == text["segment_id"]
    entry = segment(timeline(client, draft), text["segment_id"])
    assert entry["text"] == "Hello" and entry["params"]["font_color"] == "#00FF00"
    assert entry["params"]["font_size"] == 12 and entry["target"] == {"start": 0.0, "end": 2.0}
    built = json.loads(ok(client, "/query_script", {"draft_id": draft}))
    content_json = json.loads(built["materials"]["texts"][0]["content"])
    assert content_json["text"] == "Hello"


def test_update_null_means_unchanged_and_unknown_keys_are_warned(client, draft):
    text = add(client, "/add_text", draft, text="A", start=0, end=2)
    reply = post(client, "/update_segment", {"draft_id": draft, "segment_id": text["segment_id"], "text": None,
                                             "font_size": 20, "wobble": 3})
    assert reply["success"] and any("wobble" in w for w in reply["warnings"])
    entry = segment(timeline(client, draft), text["segment_id"])
    assert entry["text"] == "A" and entry["params"]["font_size"] == 20


def test_an_update_that_changes_nothing_stores_nothing(client, draft):
    text = add(client, "/add_text", draft, text="A", start=0, end=2)
    for path, extra in (("/update_segment", {}), ("/update_segment", {"text": "A"}),
                        ("/move_segment", {"track_name": "text_main"}), ("/move_segment", {"target_start": 0})):
        reply = post(client, path, {"draft_id": draft, "segment_id": text["segment_id"], **extra})
        assert reply["success"] and reply["warnings"] == ["Nothing changed: the segment already has these values."]
    assert len(timeline(client, draft)["undo"]) == 1


def test_update_video_source_and_media(client, draft):
    video = add(client, "/add_video", draft, video_url=V1, start=0, end=4, target_start=1)
    add(client, "/update_segment", draft, segment_id=video["segment_id"], video_url=V2, end=2, speed=0.5)
    doc = timeline(client, draft)
    clip = segment(doc, video["segment_id"])
    assert clip["media_url"] == V2 and clip["target"] == {"start": 1.0, "end": 5.0}
    assert [m["url"] for m in doc["materials"]] == [V2]          # the unused one went with it


@pytest.mark.parametrize("change, code", [
    ({"font": "No Such Font"}, "unknown_name"),
    ({"end": 9, "start": 10}, "invalid_parameter"),
    ({"font_size": float("nan")}, "invalid_parameter"),
    ({"font_color": "red"}, "invalid_color"),
    ({"track_name": "video_main"}, "track_kind_mismatch"),
    ({"start": 3, "end": 5}, "segment_overlap"),
])
def test_a_refused_update_changes_nothing(client, draft, change, code):
    add(client, "/add_video", draft, video_url=V1, end=2)
    text = add(client, "/add_text", draft, text="A", start=0, end=2)
    add(client, "/add_text", draft, text="B", start=4, end=6)
    before = content(client, draft)
    reply = raw(client, "/update_segment", {"draft_id": draft, "segment_id": text["segment_id"], **change})
    assert reply["success"] is False and reply["code"] == code, reply
    assert content(client, draft) == before


def test_update_of_a_subtitle_cue(client, draft):
    cues = add(client, "/add_subtitle", draft, srt=SRT, font_color="#FFFF00", time_offset=1)
    first, second = cues["segment_ids"]
    add(client, "/update_segment", draft, segment_id=first, text="Uno", end=1.5)
    doc = timeline(client, draft)
    assert segment(doc, first)["text"] == "Uno" and segment(doc, first)["target"] == {"start": 1.0, "end": 1.5}
    assert segment(doc, first)["params"]["font_color"] == "#FFFF00" and segment(doc, second)["text"] == "Two"
    fail(client, "/update_segment", {"draft_id": draft, "segment_id": first, "end": 2.5}, "segment_overlap")


def test_unknown_segment_and_bad_ids(client, draft):
    fail(client, "/update_segment", {"draft_id": draft, "segment_id": "NOPE", "text": "x"}, "segment_not_found")
    assert raw(client, "/remove_segment", {"draft_id": draft, "segment_id": "a\ud800"})["code"] == "invalid_parameter"
    fail(client, "/remove_segment", {"draft_id": draft, "segment_id": "../x"}, "invalid_parameter")
    fail(client, "/move_segment", {"draft_id": draft}, "missing_parameter")
    fail(client, "/update_segment", {"draft_id": "dfd_cat_1_00000000", "segment_id": "X"}, "draft_not_found")


def test_a_segment_from_before_editing_is_not_editable(app, client, draft):
    from capcut_drafts.model import operations
    from capcut_drafts.model.time import TimeRange
    from capcut_drafts.model.timeline import Segment, Track
    ctx = app.extensions["capcut"]
    old = Segment(id="OLD-1", target=TimeRange(start_us=0, duration_us=10**6), text={"text": "x", "ranges": []})
    ctx.cache.update(draft, lambda d: (operations.add_segment(Track(name="t", kind="text"), old), None))
    fail(client, "/update_segment", {"draft_id": draft, "segment_id": "OLD-1", "text": "y"}, "segment_not_editable")
    add(client, "/remove_segment", draft, segment_id="OLD-1")


# --- move and remove -------------------------------------------------------------------------

def test_move_takes_keyframes_along_and_drops_the_empty_track(client, draft):
    video = add(client, "/add_video", draft, video_url=V1, end=2, target_start=1, track_name="a")
    add(client, "/add_video_keyframe", draft, track_name="a", property_types=["alpha", "alpha"], times=[1.5, 2.5],
        values=["0.5", "1"])
    add(client, "/move_segment", draft, segment_id=video["segment_id"], target_start=4, track_name="b")
    doc = timeline(client, draft)
    assert [t["name"] for t in doc["tracks"]] == ["b"]
    assert segment(doc, video["segment_id"])["target"] == {"start": 4.0, "end": 6.0}
    assert [(k["track_name"], k["time"]) for k in doc["keyframes"]] == [("b", 4.5), ("b", 5.5)]
    assert doc["undo"][0]["operation"] == "/move_segment"


def test_move_a_text_keeps_its_length(client, draft):
    text = add(client, "/add_text", draft, text="A", start=1, end=2.5)
    add(client, "/move_segment", draft, segment_id=text["segment_id"], target_start=10)
    assert segment(timeline(client, draft), text["segment_id"])["target"] == {"start": 10.0, "end": 11.5}


def test_remove_drops_keyframes_and_unused_media_and_undo_restores_exactly(client, draft):
    keep = add(client, "/add_video", draft, video_url=V1, end=2)
    gone = add(client, "/add_video", draft, video_url=V2, end=2, target_start=3)
    add(client, "/add_video_keyframe", draft, track_name="video_main", property_types=["alpha"] * 2, times=[1, 4],
        values=["0.5", "0.5"])
    before = content(client, draft)
    add(client, "/remove_segment", draft, segment_id=gone["segment_id"])
    doc = timeline(client, draft)
    assert [m["url"] for m in doc["materials"]] == [V1] and [k["time"] for k in doc["keyframes"]] == [1.0]
    add(client, "/remove_segment", draft, segment_id=keep["segment_id"])
    assert timeline(client, draft)["tracks"] == [] and timeline(client, draft)["keyframes"] == []
    ok(client, "/undo", {"draft_id": draft})
    ok(client, "/undo", {"draft_id": draft})
    assert content(client, draft) == before


# --- undo and redo ---------------------------------------------------------------------------

def test_undo_redo_walk_the_history_and_restore_byte_identical_drafts(client, draft):
    states = [content(client, draft)]
    text = add(client, "/add_text", draft, text="A", start=0, end=2)
    states.append(content(client, draft))
    add(client, "/add_video", draft, video_url=V1, end=3)
    states.append(content(client, draft))
    add(client, "/update_segment", draft, segment_id=text["segment_id"], text="B", start=1)
    states.append(content(client, draft))
    add(client, "/add_subtitle", draft, srt=SRT)
    states.append(content(client, draft))
    for expected in reversed(states[:-1]):
        ok(client, "/undo", {"draft_id": draft})
        assert content(client, draft) == expected
    fail(client, "/undo", {"draft_id": draft}, "nothing_to_undo")
    for expected in states[1:]:
        ok(client, "/redo", {"draft_id": draft})
        assert content(client, draft) == expected
    fail(client, "/redo", {"draft_id": draft}, "nothing_to_redo")


def test_undo_says_what_it_undid_and_a_new_edit_clears_redo(client, draft):
    text = add(client, "/add_text", draft, text="A", start=0, end=2)
    out = ok(client, "/undo", {"draft_id": draft})
    assert out["undone"] == {"operation": "/add_text", "segment_id": text["segment_id"], "track_name": "text_main"}
    assert out["undo_left"] == 0 and out["redo_available"] == 1
    add(client, "/add_text", draft, text="C", start=0, end=2)
    fail(client, "/redo", {"draft_id": draft}, "nothing_to_redo")
    dry = ok(client, "/undo", {"draft_id": draft, "dry_run": True})
    assert dry["dry_run"] and dry["undone"]["operation"] == "/add_text"
    assert len(timeline(client, draft)["tracks"][0]["segments"]) == 1


def test_undo_depth_is_bounded(client, draft):
    from capcut_drafts.model.operations import UNDO_DEPTH
    for i in range(UNDO_DEPTH + 5):
        add(client, "/add_text", draft, text=str(i), start=i, end=i + 1)
    assert len(timeline(client, draft)["undo"]) == UNDO_DEPTH
    for _ in range(UNDO_DEPTH):
        ok(client, "/undo", {"draft_id": draft})
    fail(client, "/undo", {"draft_id": draft}, "nothing_to_undo")
    assert len(timeline(client, draft)["tracks"][0]["segments"]) == 5


# --- batch -----------------------------------------------------------------------------------

def text_op(text: str, start: float, end: float) -> dict:
    return {"route": "/add_text", "body": {"text": text, "start": start, "end": end}}


def test_batch_applies_all_as_one_change(client, draft):
    out = ok(client, "/batch", {"draft_id": draft, "operations": [
        text_op("a", 0, 1), {"route": "add_video", "body": {"video_url": V1, "end": 2}}, text_op("b", 1, 2)]})
    assert [r["success"] for r in out["results"]] == [True] * 3
    ids = [r["output"]["segment_id"] for r in out["results"]]
    doc = timeline(client, draft)
    assert all(segment(doc, i) for i in ids) and doc["undo"][0]["operation"] == "/batch"
    ok(client, "/undo", {"draft_id": draft})
    assert timeline(client, draft)["tracks"] == []


def test_a_batch_whose_third_operation_fails_changes_nothing(client, draft):
    add(client, "/add_text", draft, text="x", start=0, end=1)
    before = content(client, draft)
    reply = post(client, "/batch", {"draft_id": draft, "operations": [
        text_op("a", 1, 2), text_op("b", 2, 3), text_op("c", 2.5, 4), text_op("d", 5, 6)]})
    assert reply["success"] is False and reply["code"] == "segment_overlap" and reply["failed_operation"] == 2
    assert "Operation 2 (/add_text)" in reply["error"]
    assert content(client, draft) == before
    reply = post(client, "/batch", {"draft_id": draft, "operations": [text_op("a", 1, 2), {"route": "/add_text",
                                                                                        "body": {"start": 3}}]})
    assert reply["code"] == "missing_parameter" and reply["failed_operation"] == 1
    assert content(client, draft) == before


def test_batch_may_start_a_draft_and_later_operations_see_earlier_ones(client):
    out = ok(client, "/batch", {"operations": [
        {"route": "/create_draft", "body": {"width": 1920, "height": 1080}},
        {"route": "/add_video", "body": {"video_url": V1, "end": 2}}, text_op("t", 0, 1)]})
    draft = out["draft_id"]
    video = out["results"][1]["output"]["segment_id"]
    ok(client, "/batch", {"draft_id": draft, "operations": [
        {"route": "/update_segment", "body": {"segment_id": video, "target_start": 3}},
        {"route": "/move_segment", "body": {"segment_id": video, "track_name": "second"}},
        {"route": "/remove_segment", "body": {"segment_id": out["results"][2]["output"]["segment_id"]}}]})
    doc = timeline(client, draft)
    assert doc["canvas"]["width"] == 1920 and [t["name"] for t in doc["tracks"]] == ["second"]
    assert segment(doc, video)["target"] == {"start": 3.0, "end": 5.0}


def test_a_failed_batch_without_draft_creates_none(app, client):
    ctx = app.extensions["capcut"]
    before = ctx.cache.store.list_drafts(0, 10, None)[1] if hasattr(ctx.cache.store, "list_drafts") else None
    reply = post(client, "/batch", {"operations": [text_op("a", 0, 1), text_op("b", 0.5, 2)]})
    assert reply["code"] == "segment_overlap"
    if before is not None:
        assert ctx.cache.store.list_drafts(0, 10, None)[1] == before


@pytest.mark.parametrize("operations, code, words", [
    ([{"route": "/save_draft", "body": {}}], "invalid_parameter", "cannot be part of a batch"),
    ([{"route": "/undo", "body": {}}], "invalid_parameter", "cannot be part of a batch"),
    ([{"route": "/batch", "body": {"operations": []}}], "invalid_parameter", "cannot be part of a batch"),
    ([text_op("a", 0, 1), {"route": "/create_draft", "body": {}}], "invalid_parameter", "cannot be part"),
    (["/add_text"], "invalid_parameter", "must be an object"),
    ([{"route": "/add_text", "body": [1]}], "invalid_parameter", "must be a JSON object"),
    ([{"route": "/add_text", "body": {"text": "a", "draft_id": "dfd_cat_1_00000000"}}], "invalid_parameter",
     "draft_id differs"),
    ([], "missing_parameter", "'operations' is missing"),
])
def test_batch_refusals(client, draft, operations, code, words):
    assert words in fail(client, "/batch", {"draft_id": draft, "operations": operations}, code)


def test_batch_size_is_limited(tmp_path):
    from capcut_drafts.web.app import create_app
    client = create_app(make_settings(tmp_path, store="memory", batch_max_operations=3)).test_client()
    draft = new_draft(client)
    message = fail(client, "/batch", {"draft_id": draft, "operations": [text_op(str(i), i, i + 1) for i in range(4)]},
                   "batch_too_large")
    assert "at most 3" in message and "batch_max_operations" in message
    ok(client, "/batch", {"draft_id": draft, "operations": [text_op(str(i), i, i + 1) for i in range(3)]})


def test_a_huge_batch_is_refused_before_any_parsing(client, draft):
    huge = [{"route": "/add_text", "body": {"text": "x" * 10, "start": i, "end": i + 1}} for i in range(20_000)]
    fail(client, "/batch", {"draft_id": draft, "operations": huge}, "batch_too_large")


# --- dry runs --------------------------------------------------------------------------------

def test_dry_runs_store_nothing(client, draft):
    add(client, "/add_text", draft, text="x", start=0, end=1)
    before = content(client, draft)
    out = add(client, "/add_video", draft, video_url=V1, end=2, target_start=1, dry_run=True)
    assert out["dry_run"] and out["segments"][0]["target"] == {"start": 1.0, "end": 3.0}
    assert out["segments"][0]["id"] == out["segment_id"]
    text = timeline(client, draft)["tracks"][0]["segments"][0]["id"]
    out = add(client, "/update_segment", draft, segment_id=text, end=4, dry_run=True)
    assert out["segments"][0]["target"] == {"start": 0.0, "end": 4.0}
    add(client, "/remove_segment", draft, segment_id=text, dry_run=True)
    out = ok(client, "/batch", {"draft_id": draft, "dry_run": True, "operations": [text_op("a", 2, 3)]})
    assert out["dry_run"] and out["results"][0]["success"]
    assert content(client, draft) == before
    fail(client, "/add_text", {"draft_id": draft, "text": "y", "start": 0.5, "end": 2, "dry_run": True},
         "segment_overlap")


def test_a_dry_run_without_draft_creates_none(client):
    out = ok(client, "/add_text", {"text": "x", "start": 0, "end": 1, "dry_run": True})
    assert out["draft_id"] is None and out["segments"][0]["text"] == "x"
    out = ok(client, "/batch", {"dry_run": True, "operations": [{"route": "/create_draft", "body": {}},
                                                               text_op("a", 0, 1)]})
    assert out["draft_id"] is None


# --- hostile input ---------------------------------------------------------------------------

def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("extra", [
    {"text": "a\udc00"}, {"font_size": 1e-320}, {"font_size": 1e300}, {"text_styles": nested(30)},
])
def test_hostile_updates_are_refused_or_harmless(client, draft, extra):
    text = add(client, "/add_text", draft, text="A", start=0, end=2)
    before = content(client, draft)
    reply = raw(client, "/update_segment", {"draft_id": draft, "segment_id": text["segment_id"], **extra})
    if reply["success"]:
        assert segment(timeline(client, draft), text["segment_id"])["text"] == "A"
    else:
        assert reply["code"] in ("invalid_parameter", "nesting_too_deep") and content(client, draft) == before


def test_batch_hostile_bodies(client, draft):
    fail(client, "/batch", {"draft_id": draft, "operations": nested(30)}, "nesting_too_deep")
    reply = raw(client, "/batch", {"draft_id": draft, "operations": [{"route": "/add_text\ud800", "body": {}}]})
    assert reply["code"] == "invalid_parameter"
    fail(client, "/batch", {"draft_id": draft, "operations": "x"}, "invalid_parameter")


def test_rename_is_batchable_and_undo_keeps_the_name_index_current(client, draft):
    def listed(name: str) -> list[str]:
        return [d["draft_id"] for d in ok(client, "/list_drafts", {"name": name})["drafts"]]

    ok(client, "/batch", {"draft_id": draft, "operations": [{"route": "/rename_draft", "body": {"name": "Promo"}},
                                                            text_op("a", 0, 1)]})
    assert listed("promo") == [draft]
    assert ok(client, "/undo", {"draft_id": draft})["undone"]["operations"] == ["/rename_draft", "/add_text"]
    assert listed("promo") == [] and listed(draft) == [draft]
    ok(client, "/redo", {"draft_id": draft})
    assert listed("promo") == [draft]
    ok(client, "/rename_draft", {"draft_id": draft, "name": "Second"})
    ok(client, "/undo", {"draft_id": draft})
    assert listed("second") == [] and listed("promo") == [draft]


def test_a_renamed_draft_is_saved_under_its_new_project_name(app, client, draft):
    from capcut_drafts.save import delivery
    add(client, "/add_text", draft, text="a", start=0, end=1)
    ok(client, "/rename_draft", {"draft_id": draft, "name": "Summer promo"})
    assert ok(client, "/save_draft", {"draft_id": draft})["status"] == "completed"
    folder = delivery.folder_path(app.extensions["capcut"].settings, draft)
    meta = json.loads((folder / "draft_meta_info.json").read_text(encoding="utf-8"))
    assert meta["draft_name"] == "Summer promo" and folder.name == draft
