"""Core routes over the Flask test client: create_draft, add_video, add_audio, add_image, add_text,
query_script, generate_draft_url and the catalogue GET routes.

Media URLs point at 127.0.0.1 but nothing is fetched when clips are added, so no server runs
here. Every assertion on the draft itself reads the parsed `/query_script` output (the app JSON).
"""
from __future__ import annotations

import json
import re
import sqlite3

import pytest
from helpers import check_envelope, fail, make_settings, new_draft, ok, only_segment, post, track
from pyJianYingDraft import ScriptFile

from capcut_drafts.model import catalog

HOST = "http://127.0.0.1:8765"
V1, V2, A, I = f"{HOST}/v1.mp4", f"{HOST}/v2.mp4", f"{HOST}/a.mp3", f"{HOST}/i.png"  # noqa: E741 (I: image)
DRAFT_ID = re.compile(r"^dfd_cat_\d+_[0-9a-f]{8}$")
S = 1_000_000   # µs per second


# --- helpers -----------------------------------------------------------------------------------


def script(client, draft_id: str, **extra) -> str:
    """The raw `/query_script` output string."""
    output = ok(client, "/query_script", {"draft_id": draft_id, **extra})
    assert isinstance(output, str)
    return output


def content(client, draft_id: str) -> dict:
    return json.loads(script(client, draft_id, force_update=False))


def refs(doc: dict, segment: dict, bucket: str) -> list[dict]:
    """Materials of `bucket` that the segment references through extra_material_refs."""
    wanted = set(segment["extra_material_refs"])
    return [m for m in doc["materials"][bucket] if m["id"] in wanted]


def blurs(doc: dict) -> list[float]:
    """Blur levels of the background-blur canvases (the apps also give clips a plain canvas)."""
    return [c["blur"] for c in doc["materials"]["canvases"] if c["type"] == "canvas_blur"]


def animated(doc: dict) -> list[dict]:
    """material_animations entries that hold at least one animation."""
    return [m for m in doc["materials"]["material_animations"] if m["animations"]]


def timing(segment: dict) -> tuple:
    src = segment["source_timerange"]
    dst = segment["target_timerange"]
    return (src["start"], src["duration"]) if src else None, (dst["start"], dst["duration"])


# --- the typical upstream client session: create, two clips, audio, a title, query ---------------

def test_upstream_typical_flow_replay(client):
    created = ok(client, "/create_draft", {"width": 1080, "height": 1920})
    d = created["draft_id"]
    assert DRAFT_ID.match(d)
    assert created["draft_url"] == f"http://127.0.0.1:9001/drafts/{d}"
    steps = [
        ("/add_video", {"draft_id": d, "video_url": V1, "start": 0, "end": 5, "target_start": 0,
                        "track_name": "video_main", "transition": "Dissolve", "transition_duration": 1.0}),
        ("/add_video", {"draft_id": d, "video_url": V2, "start": 0, "end": 5, "target_start": 5,
                        "track_name": "video_main", "speed": 1.0, "volume": 0.5, "background_blur": 2}),
        ("/add_audio", {"draft_id": d, "audio_url": A, "start": 0, "end": 8, "target_start": 0, "volume": 0.6,
                        "track_name": "audio_main", "effect_type": "Big_House", "effect_params": [50]}),
        ("/add_text", {"draft_id": d, "text": "My Title", "start": 0, "end": 3, "font": "思源中宋",
                       "font_color": "#FFD700", "font_size": 12, "transform_y": 0.6, "track_name": "title",
                       "shadow_enabled": True, "background_color": "#000000", "background_alpha": 0.5,
                       "background_style": 1, "intro_animation": "Fade_In", "intro_duration": 0.5,
                       "outro_animation": "Fade_Out", "outro_duration": 0.5}),
    ]
    for path, body in steps:
        out = ok(client, path, body)
        assert out["draft_id"] == d
        assert DRAFT_ID.match(out["draft_id"]) and out["draft_url"].endswith(f"/drafts/{out['draft_id']}")

    raw = script(client, d, force_update=False)
    doc = json.loads(raw)
    assert (doc["canvas_config"]["width"], doc["canvas_config"]["height"]) == (1080, 1920)
    # Upstream also writes an empty implicit "video" track first (a bug this service does not repeat).
    assert [(t["type"], t["name"]) for t in doc["tracks"]] == \
        [("video", "video_main"), ("audio", "audio_main"), ("text", "title")]
    video = track(doc, "video_main")["segments"]
    assert [timing(s)[1] for s in video] == [(0, 5 * S), (5 * S, 5 * S)]
    assert timing(only_segment(doc, "audio_main")) == ((0, 8 * S), (0, 8 * S))
    assert timing(only_segment(doc, "title"))[1] == (0, 3 * S)
    render = [s["render_index"] for t in doc["tracks"] for s in t["segments"]]
    assert render == sorted(render) and render[-1] == 14000     # video, audio 0 < the first text 14000
    assert doc["duration"] == 10 * S
    m = doc["materials"]
    assert "common_mask" in m and m["common_mask"] == []
    assert [t["name"] for t in refs(doc, video[0], "transitions")] == ["Dissolve"]
    assert [c["blur"] for c in refs(doc, video[1], "canvases")] == [0.375]
    assert video[1]["volume"] == 0.5
    assert len(m["transitions"]) == len(blurs(doc)) == len(m["audio_effects"]) == 1
    assert len(animated(doc)) == 1       # the title's intro/outro


def test_query_script_output_is_a_json_string(client):
    d = new_draft(client)
    raw = script(client, d)
    assert isinstance(raw, str)
    assert isinstance(json.loads(raw), dict)


# --- start, end, duration, speed and target_start (no probing needed) -----------------------------

def test_video_start_end_speed_target_start(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "start": 1, "end": 4, "speed": 2, "target_start": 5})
    seg = only_segment(content(client, d), "video_main")
    assert timing(seg) == ((1 * S, 3 * S), (5 * S, 1_500_000))
    assert seg["speed"] == 2
    assert seg["render_index"] == 0


def test_audio_duration_start_speed(client):
    d = new_draft(client)
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "duration": 8, "start": 2, "speed": 2, "target_start": 1})
    seg = only_segment(content(client, d), "audio_main")
    assert timing(seg) == ((2 * S, 6 * S), (1 * S, 3 * S))
    assert seg["render_index"] == 0


def test_audio_end_wins_over_duration(client):
    d = new_draft(client)
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "duration": 8, "start": 1, "end": 3})
    assert timing(only_segment(content(client, d), "audio_main")) == ((1 * S, 2 * S), (0, 2 * S))


def test_image_start_end_relative_index(client):
    d = new_draft(client)
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 10, "end": 12, "track_name": "img",
                              "relative_index": 2})
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 1})
    doc = content(client, d)
    seg = only_segment(doc, "img")
    assert timing(seg) == ((0, 2 * S), (10 * S, 2 * S))
    # relative_index 2 puts the track above video_main: an overlay, as the apps write one (flag 2, index 1)
    assert [(t["name"], t["flag"]) for t in doc["tracks"]] == [("video_main", 0), ("img", 2)]
    assert seg["render_index"] == 1 and only_segment(doc, "video_main")["render_index"] == 0


def test_image_defaults_to_three_seconds_from_zero(client):
    d = new_draft(client)
    ok(client, "/add_image", {"draft_id": d, "image_url": I})
    assert timing(only_segment(content(client, d), "image_main")) == ((0, 3 * S), (0, 3 * S))


def test_relative_index_is_only_honoured_when_the_track_is_created(client):
    d = new_draft(client)
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 0, "end": 1, "track_name": "img",
                              "relative_index": 3})
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 1, "end": 2, "track_name": "img",
                              "relative_index": 7})
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 0, "end": 1, "track_name": "mid",
                              "relative_index": 5})
    assert [t["name"] for t in content(client, d)["tracks"]] == ["img", "mid"]     # img stayed at 3


def test_video_without_end_has_length_zero_until_probed_and_says_so(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "start": 2, "target_start": 1})
    reply = post(client, "/query_script", {"draft_id": d})
    seg = only_segment(json.loads(reply["output"]), "video_main")
    assert timing(seg) == ((2 * S, 0), (1 * S, 0))       # never negative (upstream: -2 s)
    assert reply.get("warnings"), "an open clip shown with length 0 should come with a warning"


def test_audio_without_end_or_duration_has_length_zero_until_probed(client):
    d = new_draft(client)
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "target_start": 1})
    reply = post(client, "/query_script", {"draft_id": d})
    assert timing(only_segment(json.loads(reply["output"]), "audio_main")) == ((0, 0), (1 * S, 0))
    assert reply.get("warnings")


def test_open_video_clip_runs_to_the_declared_media_duration(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "start": 1, "duration": 5, "speed": 2,
                              "target_start": 3})
    seg = only_segment(content(client, d), "video_main")
    assert timing(seg) == ((1 * S, 4 * S), (3 * S, 2 * S))


def test_touching_segments_do_not_overlap(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 5})
    ok(client, "/add_video", {"draft_id": d, "video_url": V2, "end": 5, "target_start": 5})
    assert len(track(content(client, d), "video_main")["segments"]) == 2


def test_segments_are_written_in_timeline_order(client):
    d = new_draft(client)
    for start in (6, 0, 3):
        ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 2, "target_start": start})
    starts = [s["target_timerange"]["start"] for s in track(content(client, d), "video_main")["segments"]]
    assert starts == [0, 3 * S, 6 * S]


def test_overlap_is_found_behind_open_clips(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 100})
    for start in range(1, 8):      # open-ended clips (no end) never overlap anything at add time
        ok(client, "/add_video", {"draft_id": d, "video_url": V2, "target_start": start})
    fail(client, "/add_video", {"draft_id": d, "video_url": V2, "end": 1, "target_start": 50}, "segment_overlap")


def test_overlap_is_found_behind_eight_open_clips(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 100})
    for start in range(1, 9):
        ok(client, "/add_video", {"draft_id": d, "video_url": V2, "target_start": start})
    fail(client, "/add_video", {"draft_id": d, "video_url": V2, "end": 1, "target_start": 50}, "segment_overlap")


# --- error shapes --------------------------------------------------------------------------------

@pytest.mark.parametrize("path,body,message", [
    ("/add_video", {}, "Hi, the required parameters 'video_url' are missing."),
    ("/add_audio", {}, "Hi, the required parameters 'audio_url' are missing."),
    ("/add_image", {}, "Hi, the required parameters 'image_url' are missing."),
    ("/add_text", {"text": ""}, "Hi, the required parameters 'text', 'start' or 'end' are missing. "),
    ("/add_text", {"text": "hi", "end": None}, "Hi, the required parameters 'text', 'start' or 'end' are missing. "),
    ("/query_script", {}, "Hi, the required parameter 'draft_id' is missing. Please add it and try again."),
    ("/generate_draft_url", {}, "Hi, the required parameter 'draft_id' is missing. Please add it and try again."),
])
def test_missing_parameter_messages_match_upstream(client, path, body, message):
    assert fail(client, path, body, "missing_parameter").startswith(message)


def test_query_script_unknown_draft_message_matches_upstream(client):
    error = fail(client, "/query_script", {"draft_id": "nope"}, "draft_not_found")
    assert error == "Draft nope does not exist in cache."


@pytest.fixture
def filled_draft(client) -> str:
    """A draft with a 0-5 s clip on video_main, 0-8 s audio, a 0-3 s title and a 0-3 s image."""
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 5})
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "end": 8})
    ok(client, "/add_text", {"draft_id": d, "text": "Title", "start": 0, "end": 3, "track_name": "title"})
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "track_name": "img"})
    return d


def test_overlap_names_the_existing_segment(client, filled_draft):
    error = fail(client, "/add_video",
                 {"draft_id": filled_draft, "video_url": V2, "start": 0, "end": 3, "target_start": 2},
                 "segment_overlap")
    assert error.startswith("Error occurred while processing video: New segment overlaps with existing segment "
                            "[start: 0, end: 5000000]")


def test_unknown_transition_fails_with_a_suggestion_not_the_list(client, filled_draft):
    error = fail(client, "/add_video", {"draft_id": filled_draft, "video_url": V2, "end": 1, "target_start": 10,
                                        "transition": "Disolve"}, "unknown_name")
    assert error.startswith("Error occurred while processing video: ")
    assert "Disolve" in error and "Dissolve" in error
    listed = [n for n in catalog.names("capcut", "transition") if re.search(rf"\b{re.escape(n)}\b", error)]
    assert len(listed) <= 5, f"the message lists {len(listed)} transitions"
    error = fail(client, "/add_video", {"draft_id": filled_draft, "video_url": V2, "end": 1, "target_start": 10,
                                        "transition": "NoSuch"}, "unknown_name")
    assert "NoSuch" in error and "/get_transition_types" in error


@pytest.mark.parametrize("path,media", [("/add_video", {"video_url": V2, "end": 1, "target_start": 10}),
                                        ("/add_image", {"image_url": I, "start": 10, "end": 11})])
def test_background_blur_level_5_is_rejected(client, filled_draft, path, media):
    error = fail(client, path, {"draft_id": filled_draft, **media, "background_blur": 5}, "invalid_parameter")
    assert "Invalid background blur level: 5, valid values are: 1, 2, 3, 4" in error


def test_unknown_font_is_rejected_without_the_font_list(client, filled_draft):
    error = fail(client, "/add_text",
                 {"draft_id": filled_draft, "text": "x", "start": 5, "end": 6, "font": "NoSuchFont"},
                 "unknown_name")
    assert error.startswith("Error occurred while processing text: ")
    assert "NoSuchFont" in error and len(error) < 400


def test_alpha_above_one_is_rejected(client, filled_draft):
    error = fail(client, "/add_text", {"draft_id": filled_draft, "text": "x", "start": 5, "end": 6, "alpha": 2},
                 "invalid_parameter")
    assert "alpha value must be between 0.0 and 1.0" in error


@pytest.mark.parametrize("path", ["/create_draft", "/add_video", "/query_script", "/generate_draft_url"])
def test_get_on_a_post_route_is_405_with_the_envelope(client, path):
    resp = client.get(path)
    assert resp.status_code == 405
    assert check_envelope(resp.get_json())["code"] == "method_not_allowed"


def test_unknown_path_is_404_with_the_envelope(client):
    resp = client.post("/no_such_route", json={})
    assert resp.status_code == 404
    assert check_envelope(resp.get_json())["code"] == "not_found"


def test_draft_url_is_the_drafts_page_here(client):
    created = ok(client, "/create_draft", {})
    d = created["draft_id"]
    url = ok(client, "/generate_draft_url", {"draft_id": d, "draft_folder": "/ignored"})["draft_url"]
    added = ok(client, "/add_text", {"draft_id": d, "text": "x"})["draft_url"]
    assert url == created["draft_url"] == added == f"http://127.0.0.1:9001/drafts/{d}"
    assert client.get(f"/drafts/{d}").status_code == 200


def test_draft_domain_restores_upstreams_link(tmp_path):
    from capcut_drafts.web.app import create_app
    app = create_app(make_settings(tmp_path, store="memory", draft_domain="https://www.capcutapi.top"))
    with app.test_client() as upstream:
        d = new_draft(upstream)
        url = ok(upstream, "/generate_draft_url", {"draft_id": d})["draft_url"]
        j = new_draft(upstream, profile="jianying")
        url_j = ok(upstream, "/generate_draft_url", {"draft_id": j})["draft_url"]
    app.extensions["capcut"].runner.shutdown(wait=True)
    assert url == f"https://www.capcutapi.top/draft/downloader?draft_id={d}&is_capcut=1"   # not upstream's "?=<id>"
    assert url_j.endswith(f"?draft_id={j}&is_capcut=0")


def test_generate_draft_url_unknown_draft(client):
    fail(client, "/generate_draft_url", {"draft_id": "nope"}, "draft_not_found")


# --- malformed requests: envelope, stable code, nothing changes -----------------------------------

@pytest.mark.parametrize("data,content_type,code", [
    ("{not json", "application/json", "malformed_json"),
    ("[1, 2]", "application/json", "malformed_json"),
    ("null", "application/json", "malformed_json"),
    ('"text"', "application/json", "malformed_json"),
    ('{"video_url": "x"}', None, "unsupported_media_type"),
    ('{"video_url": "x"}', "text/plain", "unsupported_media_type"),
    ("video_url=x", "application/x-www-form-urlencoded", "unsupported_media_type"),
])
def test_malformed_bodies_get_the_envelope(client, data, content_type, code):
    kwargs = {"content_type": content_type} if content_type else {}
    resp = client.post("/add_video", data=data, **kwargs)
    assert resp.status_code == 200
    assert resp.is_json
    assert check_envelope(resp.get_json())["code"] == code


def test_json_null_body_is_reported_as_not_an_object(client):
    resp = client.post("/add_video", data="null", content_type="application/json")
    assert "must be a JSON object" in resp.get_json()["error"]


@pytest.mark.parametrize("path,body,code", [
    ("/add_video", {"video_url": V2, "speed": "fast"}, "invalid_parameter"),
    ("/add_video", {"video_url": V2, "speed": 0}, "invalid_parameter"),
    ("/add_video", {"video_url": V2, "speed": -1}, "invalid_parameter"),
    ("/add_video", {"video_url": V2, "end": "soon"}, "invalid_parameter"),
    ("/add_video", {"video_url": V2, "start": 3, "end": 2}, "invalid_parameter"),
    ("/add_video", {"video_url": ["a"]}, "invalid_parameter"),
    ("/add_audio", {"audio_url": A, "volume": "loud"}, "invalid_parameter"),
    ("/add_audio", {"audio_url": A, "effect_params": "50"}, "invalid_parameter"),
    ("/add_image", {"image_url": I, "start": 2, "end": 1}, "invalid_parameter"),
    ("/add_image", {"image_url": I, "relative_index": "top"}, "invalid_parameter"),
    ("/add_text", {"text": "x", "font_size": "big"}, "invalid_parameter"),
    ("/add_text", {"text": "x", "font_color": "red"}, "invalid_color"),
    ("/create_draft", {"width": "wide"}, "invalid_parameter"),
    ("/create_draft", {"width": 1080.5}, "invalid_parameter"),
    ("/create_draft", {"profile": "nope"}, "unknown_name"),
    ("/query_script", {"draft_id": "d", "force_update": "sometimes"}, "invalid_parameter"),
])
def test_wrong_types_and_values_have_stable_codes(client, path, body, code):
    fail(client, path, body, code)


@pytest.mark.parametrize("path,body", [
    ("/add_video", {"video_url": V2}),
    ("/add_audio", {"audio_url": A}),
    ("/add_image", {"image_url": I}),
    ("/add_text", {"text": "x"}),
])
def test_unknown_draft_id_is_an_error_by_default(client, path, body):
    error = fail(client, path, {"draft_id": "dfd_cat_1_deadbeef", **body}, "draft_not_found")
    assert "dfd_cat_1_deadbeef" in error


@pytest.fixture
def compat_client(settings):
    from capcut_drafts.web.app import create_app
    return create_app(settings.replace(unknown_draft_creates=True)).test_client()


def test_unknown_draft_id_creates_a_new_draft_when_configured(compat_client):
    out = ok(compat_client, "/add_text", {"draft_id": "nonexistent", "text": "hi", "start": 0, "end": 1,
                                          "width": 720, "height": 1280})
    assert out["draft_id"] != "nonexistent" and DRAFT_ID.match(out["draft_id"])
    doc = content(compat_client, out["draft_id"])
    assert (doc["canvas_config"]["width"], doc["canvas_config"]["height"]) == (720, 1280)
    assert len(track(doc, "text_main")["segments"]) == 1
    fail(compat_client, "/query_script", {"draft_id": "nonexistent"}, "draft_not_found")


@pytest.mark.parametrize("path,body,code", [
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "track_name": "new", "transition": "NoSuch"},
     "unknown_name"),
    ("/add_video", {"video_url": f"{HOST}/new.mp4", "start": 0, "end": 3, "target_start": 2}, "segment_overlap"),
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "track_name": "new", "background_blur": 5},
     "invalid_parameter"),
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "track_name": "new", "mask_type": "Nope"},
     "unknown_name"),
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "track_name": "new", "mask_type": "Circle",
                    "mask_rect_width": 0.3}, "invalid_parameter"),
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "track_name": "title"}, "track_kind_mismatch"),
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "speed": "fast"}, "invalid_parameter"),
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "speed": 0}, "invalid_parameter"),
    ("/add_video", {"video_url": "/etc/passwd", "end": 1, "target_start": 10}, "invalid_url"),
    ("/add_video", {"video_url": V2, "end": 1, "target_start": 10, "draft_folder": "C:\\x\\..\\y"},
     "invalid_parameter"),
    ("/add_video", {"video_url": ""}, "missing_parameter"),
    ("/add_audio", {"audio_url": f"{HOST}/b.mp3", "end": 3, "track_name": "new", "effect_type": "Big_House",
                    "effect_params": [50, 50]}, "invalid_parameter"),
    ("/add_audio", {"audio_url": f"{HOST}/b.mp3", "end": 3, "track_name": "new", "effect_type": "Big_House",
                    "effect_params": [150]}, "invalid_parameter"),
    ("/add_image", {"image_url": f"{HOST}/j.png", "start": 10, "end": 11, "track_name": "new",
                    "combo_animation": "Zoom_1", "intro_animation": "Fade_In"}, "invalid_parameter"),
    ("/add_image", {"image_url": f"{HOST}/j.png", "start": 10, "end": 11, "track_name": "new",
                    "outro_animation": "Nope"}, "unknown_name"),
    ("/add_image", {"image_url": f"{HOST}/j.png", "start": 1, "end": 2, "track_name": "img"}, "segment_overlap"),
    ("/add_text", {"text": "x", "start": 5, "end": 6, "track_name": "new", "font": "NoSuchFont"}, "unknown_name"),
    ("/add_text", {"text": "x", "start": 5, "end": 6, "track_name": "new", "alpha": 2}, "invalid_parameter"),
    ("/add_text", {"text": "x", "start": 1, "end": 2, "track_name": "title"}, "segment_overlap"),
])
def test_a_failing_request_changes_nothing(client, filled_draft, path, body, code):
    before = script(client, filled_draft)
    fail(client, path, {"draft_id": filled_draft, **body}, code)
    assert script(client, filled_draft) == before


@pytest.mark.parametrize("data,content_type", [("{not json", "application/json"), ("{}", "text/plain")])
def test_a_malformed_request_changes_nothing(client, filled_draft, data, content_type):
    before = script(client, filled_draft)
    client.post("/add_video", data=data, content_type=content_type)
    assert script(client, filled_draft) == before


def _draft_count(sqlite_settings) -> int:
    with sqlite3.connect(f"{sqlite_settings.data_dir}/drafts.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0]


@pytest.mark.parametrize("path,body", [
    ("/add_video", {"video_url": V1, "transition": "NoSuch", "end": 1}),
    ("/add_video", {"video_url": V1, "background_blur": 5, "end": 1}),
    ("/add_video", {"video_url": V1, "speed": 0}),
    ("/add_video", {"video_url": V1, "mask_type": "Nope"}),
    ("/add_video", {}),
    ("/add_image", {"image_url": I, "combo_animation": "Zoom_1", "intro_animation": "Fade_In"}),
    ("/add_image", {"image_url": I, "background_blur": 7}),
    ("/add_text", {"text": "x", "font": "NoSuchFont"}),
    ("/add_text", {"text": "x", "alpha": 2}),
    ("/create_draft", {"profile": "nope"}),
    ("/create_draft", {"width": -5}),
])
@pytest.mark.parametrize("unknown_draft_creates", [False, True])
def test_a_failing_request_without_draft_id_creates_no_draft(sqlite_settings, path, body, unknown_draft_creates):
    from capcut_drafts.web.app import create_app
    settings = sqlite_settings.replace(unknown_draft_creates=unknown_draft_creates)
    client = create_app(settings).test_client()
    assert _draft_count(settings) == 0
    reply = post(client, path, body)
    assert reply["success"] is False
    if unknown_draft_creates and path != "/create_draft":
        reply = post(client, path, {"draft_id": "nonexistent", **body})
        assert reply["success"] is False
    assert _draft_count(settings) == 0


def test_a_successful_request_without_draft_id_creates_exactly_one_draft(sqlite_settings):
    from capcut_drafts.web.app import create_app
    client = create_app(sqlite_settings).test_client()
    out = ok(client, "/add_video", {"video_url": V1, "end": 2})
    assert DRAFT_ID.match(out["draft_id"]) and _draft_count(sqlite_settings) == 1
    assert len(track(content(client, out["draft_id"]), "video_main")["segments"]) == 1


def _first_change(client, path: str) -> tuple[dict, int]:
    """A body of `path` that starts a new draft, and how many segments that draft gets. The
    template and the OTIO document come from a one-text source draft."""
    if path == "/add_text":
        return {"text": "first", "end": 2}, 1
    if path == "/batch":
        return {"operations": [{"route": "/add_text", "body": {"text": "a", "end": 1}},
                               {"route": "/add_video", "body": {"video_url": V1, "end": 2}}]}, 2
    source = new_draft(client)
    ok(client, "/add_text", {"draft_id": source, "text": "Hi {{name}}", "end": 1})
    if path == "/render_template":
        return {"template_draft_id": source, "merge": {"name": "Ann"}}, 1
    return {"otio": ok(client, "/export_otio", {"draft_id": source})["otio"]}, 1


@pytest.mark.parametrize("path", ["/add_text", "/batch", "/render_template", "/import_otio"])
def test_a_new_draft_and_its_first_change_are_one_write_that_undo_reverts(sqlite_settings, path):
    """While the database refuses every append, a request that starts a draft still succeeds: the
    draft is stored with its change in one write, never as an empty draft plus an append that
    could fail and leave it behind."""
    from capcut_drafts.web.app import create_app
    client = create_app(sqlite_settings).test_client()
    body, segments = _first_change(client, path)
    drafts_before = _draft_count(sqlite_settings)
    with sqlite3.connect(f"{sqlite_settings.data_dir}/drafts.sqlite3") as db:
        db.execute("CREATE TRIGGER refuse_appends BEFORE INSERT ON ops BEGIN SELECT json('refused'); END")
    draft_id = ok(client, path, body)["draft_id"]
    assert _draft_count(sqlite_settings) == drafts_before + 1
    changed = content(client, draft_id)
    assert sum(len(t["segments"]) for t in changed["tracks"]) == segments
    fail(client, "/undo", {"draft_id": draft_id}, "store_unavailable")      # /undo appends: refused
    with sqlite3.connect(f"{sqlite_settings.data_dir}/drafts.sqlite3") as db:
        db.execute("DROP TRIGGER refuse_appends")
    ok(client, "/undo", {"draft_id": draft_id})
    undone = content(client, draft_id)                  # a rendered template: the copy before the fill
    assert undone != changed and (path == "/render_template" or undone["tracks"] == [])
    ok(client, "/redo", {"draft_id": draft_id})
    assert content(client, draft_id) == changed


def test_width_and_height_are_ignored_for_an_existing_draft(client):
    d = new_draft(client, width=720, height=1280)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 1, "width": 1920, "height": 1080})
    canvas = content(client, d)["canvas_config"]
    assert (canvas["width"], canvas["height"]) == (720, 1280)


def test_unknown_body_keys_are_ignored(client):
    d = new_draft(client, license_key="x", is_capcut=1)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 1, "license_key": "x", "prompt": "p"})


# --- track names: "video" is an ordinary name, no implicit empty track ----------------------------

def test_track_named_video_works_for_several_clips(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 2, "track_name": "video"})
    ok(client, "/add_video", {"draft_id": d, "video_url": V2, "end": 2, "target_start": 2, "track_name": "video"})
    doc = content(client, d)
    assert [t["name"] for t in doc["tracks"]] == ["video"]
    assert len(track(doc, "video")["segments"]) == 2


@pytest.mark.parametrize("path,body,default", [
    ("/add_video", {"video_url": V1, "end": 1}, "video_main"),
    ("/add_image", {"image_url": I}, "image_main"),
    ("/add_audio", {"audio_url": A, "end": 1}, "audio_main"),
    ("/add_text", {"text": "x", "start": 0, "end": 1}, "text_main"),
])
def test_track_name_null_uses_the_route_default(client, path, body, default):
    d = new_draft(client)
    ok(client, path, {"draft_id": d, **body, "track_name": None})
    doc = content(client, d)
    assert [t["name"] for t in doc["tracks"]] == [default]
    assert len(doc["tracks"][0]["segments"]) == 1


def test_no_implicit_empty_video_track(client):
    d = new_draft(client)
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "track_name": "pictures"})
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 1, "track_name": "clips"})
    doc = content(client, d)
    assert sorted(t["name"] for t in doc["tracks"]) == ["clips", "pictures"]
    assert all(t["segments"] for t in doc["tracks"])


# --- every parameter reaches the built JSON -------------------------------------------------------

def test_video_transform_speed_volume_transition(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "start": 0, "end": 4, "speed": 2, "volume": 0.3,
                              "transform_x": 0.1, "transform_y": -0.2, "scale_x": 1.5, "scale_y": 0.5,
                              "transition": "Dissolve", "transition_duration": 0.8, "relative_index": 4})
    doc = content(client, d)
    seg = only_segment(doc, "video_main")
    assert seg["render_index"] == 0                  # the only video track is the main track
    assert seg["clip"]["transform"] == {"x": 0.1, "y": -0.2}
    assert seg["clip"]["scale"] == {"x": 1.5, "y": 0.5}
    assert seg["volume"] == 0.3 and seg["speed"] == 2
    assert [s["speed"] for s in refs(doc, seg, "speeds")] == [2]
    [transition] = refs(doc, seg, "transitions")
    assert (transition["name"], transition["duration"]) == ("Dissolve", 800_000)
    assert transition["resource_id"] == catalog.lookup("capcut", "transition", "Dissolve").resource_id


def test_video_transition_duration_defaults_to_half_a_second(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 4, "transition": "Dissolve"})
    doc = content(client, d)
    assert [t["duration"] for t in refs(doc, only_segment(doc, "video_main"), "transitions")] == [500_000]


def test_capcut_rectangle_mask_with_every_parameter_goes_to_common_mask(client):
    d = new_draft(client)       # default profile: capcut, canvas 1080x1920
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 4, "mask_type": "Rectangle",
                              "mask_center_x": 108, "mask_center_y": -192, "mask_size": 0.4, "mask_rotation": 30,
                              "mask_feather": 50, "mask_invert": True, "mask_rect_width": 0.3,
                              "mask_round_corner": 20})
    doc = content(client, d)
    assert doc["materials"].get("masks", []) == []       # CapCut's bucket only
    [mask] = refs(doc, only_segment(doc, "video_main"), "common_mask")
    assert (mask["name"], mask["resource_type"]) == ("Rectangle", "rectangle")
    cfg = mask["config"]
    assert cfg["centerX"] == pytest.approx(0.2) and cfg["centerY"] == pytest.approx(-0.2)
    assert (cfg["height"], cfg["width"], cfg["rotation"], cfg["invert"]) == (0.4, 0.3, 30, True)
    assert cfg["feather"] == pytest.approx(0.5) and cfg["roundCorner"] == pytest.approx(0.2)


def test_jianying_circle_mask_goes_to_masks(client):
    d = new_draft(client, profile="jianying")
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 4, "mask_type": "圆形", "mask_center_x": -54,
                              "mask_center_y": 96, "mask_size": 0.5, "mask_rotation": 45, "mask_feather": 10,
                              "mask_invert": True})
    doc = content(client, d)
    assert doc["materials"].get("common_mask", []) == []   # JianYing's bucket only
    [mask] = refs(doc, only_segment(doc, "video_main"), "masks")
    assert (mask["name"], mask["resource_type"]) == ("圆形", "circle")
    cfg = mask["config"]
    assert cfg["centerX"] == pytest.approx(-0.1) and cfg["centerY"] == pytest.approx(0.1)
    assert cfg["height"] == 0.5 and cfg["width"] == pytest.approx(0.5 * 1920 / 1080)   # a circle stays round
    assert (cfg["rotation"], cfg["invert"]) == (45, True) and cfg["feather"] == pytest.approx(0.1)


def test_capcut_mask_name_in_a_jianying_draft_is_the_same_shape(client):
    d = new_draft(client, profile="jianying")
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 4, "mask_type": "Circle"})
    doc = content(client, d)
    [mask] = refs(doc, only_segment(doc, "video_main"), "masks")
    assert mask["resource_id"] == catalog.lookup("jianying", "mask", "圆形").resource_id


def test_mask_name_of_no_family_is_unknown_with_the_shape_hint(client):
    d = new_draft(client, profile="jianying")
    error = fail(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 4, "mask_type": "circle"},
                 "unknown_name")
    assert "圆形" in error


def test_mask_defaults_video_and_image(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 4, "mask_type": "Circle"})
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "mask_type": "Circle"})
    doc = content(client, d)
    [video_mask] = refs(doc, only_segment(doc, "video_main"), "common_mask")
    [image_mask] = refs(doc, only_segment(doc, "image_main"), "common_mask")
    # video: centre 0.5 px from the middle, size 1.0; image: centre 0, size 0.5 (upstream defaults)
    assert video_mask["config"]["centerX"] == pytest.approx(0.5 / 540) and video_mask["config"]["height"] == 1.0
    assert image_mask["config"]["centerX"] == 0 and image_mask["config"]["height"] == 0.5


@pytest.mark.parametrize("path,media", [("/add_video", {"video_url": V1, "end": 1}), ("/add_image", {"image_url": I})])
def test_background_blur_levels(client, path, media):
    d = new_draft(client)
    for level in (1, 2, 3, 4):
        ok(client, path, {"draft_id": d, **media, "track_name": f"t{level}", "background_blur": level})
    doc = content(client, d)
    blurs = [[c["blur"] for c in refs(doc, only_segment(doc, f"t{level}"), "canvases")] for level in (1, 2, 3, 4)]
    assert blurs == [[0.0625], [0.375], [0.75], [1.0]]
    assert all(c["type"] == "canvas_blur" for c in doc["materials"]["canvases"])


def test_image_transform_transition_and_intro_outro_animations(client):
    d = new_draft(client)
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 1, "end": 3, "transform_x": 0.5,
                              "scale_y": 2, "intro_animation": "Fade_In", "intro_animation_duration": 0.4,
                              "outro_animation": "Fade_Out", "outro_animation_duration": 0.7,
                              "transition": "Dissolve", "transition_duration": 0.3})
    doc = content(client, d)
    seg = only_segment(doc, "image_main")
    assert seg["clip"]["transform"]["x"] == 0.5 and seg["clip"]["scale"]["y"] == 2
    [group] = refs(doc, seg, "material_animations")
    anims = {a["type"]: a for a in group["animations"]}
    assert set(anims) == {"in", "out"}
    assert (anims["in"]["start"], anims["in"]["duration"]) == (0, 400_000)
    assert (anims["out"]["start"], anims["out"]["duration"]) == (2 * S - 700_000, 700_000)   # at the clip end
    assert anims["in"]["resource_id"] == catalog.lookup("capcut", "intro", "Fade_In").resource_id
    assert anims["out"]["resource_id"] == catalog.lookup("capcut", "outro", "Fade_Out").resource_id
    assert [t["duration"] for t in refs(doc, seg, "transitions")] == [300_000]


def test_image_combo_animation(client):
    d = new_draft(client)
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "combo_animation": "Zoom_1",
                              "combo_animation_duration": 1.5})
    doc = content(client, d)
    [group] = refs(doc, only_segment(doc, "image_main"), "material_animations")
    [anim] = group["animations"]
    assert (anim["type"], anim["start"], anim["duration"]) == ("group", 0, 1_500_000)
    assert anim["resource_id"] == catalog.lookup("capcut", "combo", "Zoom_1").resource_id


def test_image_legacy_animation_alias_is_the_intro(client):
    d = new_draft(client)
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "animation": "Fade_In"})
    doc = content(client, d)
    [group] = refs(doc, only_segment(doc, "image_main"), "material_animations")
    assert [(a["type"], a["duration"]) for a in group["animations"]] == [("in", 500_000)]


def test_image_combo_with_intro_is_rejected(client):
    d = new_draft(client)
    fail(client, "/add_image", {"draft_id": d, "image_url": I, "combo_animation": "Zoom_1",
                                "intro_animation": "Fade_In"}, "invalid_parameter")
    fail(client, "/add_image", {"draft_id": d, "image_url": I, "combo_animation": "Zoom_1",
                                "outro_animation": "Fade_Out"}, "invalid_parameter")


def test_audio_volume_speed_and_effect_params(client):
    d = new_draft(client)
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "end": 4, "volume": 0.6, "speed": 1.25,
                              "effect_type": "Big_House", "effect_params": [30]})
    doc = content(client, d)
    seg = only_segment(doc, "audio_main")
    assert seg["volume"] == 0.6 and seg["speed"] == 1.25
    assert [s["speed"] for s in refs(doc, seg, "speeds")] == [1.25]
    [effect] = refs(doc, seg, "audio_effects")
    assert effect["name"] == "Big House"
    assert effect["resource_id"] == catalog.lookup("capcut", "audio_effect", "Big_House").resource_id
    assert [(p["name"], p["value"]) for p in effect["audio_adjust_params"]] == [("strength", pytest.approx(0.3))]


def test_audio_effect_without_params_uses_defaults(client):
    d = new_draft(client)
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "end": 4, "effect_type": "Big_House"})
    doc = content(client, d)
    [effect] = refs(doc, only_segment(doc, "audio_main"), "audio_effects")
    assert [p["value"] for p in effect["audio_adjust_params"]] == [1.0]


def test_jianying_audio_effect(client):
    d = new_draft(client, profile="jianying")
    name = catalog.names("jianying", "audio_effect")[0]
    entry = catalog.lookup("jianying", "audio_effect", name)
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "end": 4, "effect_type": name,
                              "effect_params": [None] * len(entry.params)})
    doc = content(client, d)
    [effect] = refs(doc, only_segment(doc, "audio_main"), "audio_effects")
    assert effect["resource_id"] == entry.resource_id


# --- /query_script is a pure read ---------------------------------------------------------------

def test_query_script_is_repeatable_and_force_update_changes_nothing(client, filled_draft):
    first = script(client, filled_draft)
    assert script(client, filled_draft) == first
    assert script(client, filled_draft, force_update=True) == first
    assert script(client, filled_draft, force_update=False) == first
    assert script(client, filled_draft) == first


# --- the output parses back with pyjianyingdraft -------------------------------------------------

FULL_DRAFT = {
    "capcut": dict(transition="Dissolve", mask="Rectangle", intro="Fade_In", outro="Fade_Out", combo="Zoom_1",
                   text_intro="Fade_In", text_outro="Fade_Out", font="思源中宋"),
    "jianying": dict(transition="上移", mask="矩形", intro="动感放大", outro="向上滑动", combo="三分割",
                     text_intro="卡拉OK", text_outro=catalog.names("jianying", "text_outro")[0], font="思源中宋"),
}


def build_full_draft(client, profile: str) -> str:
    """One draft that uses every parameter of add_video/add_audio/add_image (and a styled text)."""
    n = FULL_DRAFT[profile]
    d = new_draft(client, profile=profile, width=1280, height=720)
    mask = {"mask_type": n["mask"], "mask_center_x": 64, "mask_center_y": -36, "mask_size": 0.6, "mask_rotation": 15,
            "mask_feather": 30, "mask_invert": True, "mask_rect_width": 0.4, "mask_round_corner": 25}
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "start": 1, "end": 5, "target_start": 0, "speed": 2,
                              "volume": 0.4, "duration": 6, "transform_x": 0.2, "transform_y": 0.1, "scale_x": 0.8,
                              "scale_y": 0.9, "track_name": "main", "relative_index": 1,
                              "transition": n["transition"], "transition_duration": 0.6, "background_blur": 3,
                              "draft_folder": "C:\\Users\\me\\CapCut\\Projects\\com.lveditor.draft", **mask})
    ok(client, "/add_video", {"draft_id": d, "video_url": V2, "end": 3, "target_start": 2, "track_name": "main"})
    ok(client, "/add_video", {"draft_id": d, "video_url": f"{HOST}/v3.mp4", "duration": 4, "target_start": 6,
                              "track_name": "main"})      # open-ended: runs to the declared 4 s
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "start": 0.5, "end": 6.5, "duration": 8,
                              "target_start": 1, "speed": 1.5, "volume": 0.7, "track_name": "bgm",
                              "effect_type": audio_effect_with_params(profile), "effect_params": [40],
                              "draft_folder": "/Users/me/Movies/CapCut"})
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 1, "end": 4, "transform_x": -0.3,
                              "transform_y": 0.3, "scale_x": 1.2, "scale_y": 1.2, "track_name": "overlay",
                              "relative_index": 2, "intro_animation": n["intro"], "intro_animation_duration": 0.6,
                              "outro_animation": n["outro"], "outro_animation_duration": 0.8,
                              "transition": n["transition"], "transition_duration": 0.4, "background_blur": 1,
                              **mask})
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 4, "end": 6, "track_name": "overlay",
                              "combo_animation": n["combo"], "combo_animation_duration": 1.0})
    ok(client, "/add_text", {"draft_id": d, "text": "Hello", "start": 0, "end": 3, "font": n["font"],
                             "font_color": "#FFD700", "border_width": 10, "shadow_enabled": True,
                             "background_alpha": 0.5, "intro_animation": n["text_intro"],
                             "outro_animation": n["text_outro"]})
    return d


def audio_effect_with_params(app: str) -> str:
    return next(n for n in catalog.names(app, "audio_effect") if catalog.lookup(app, "audio_effect", n).params)


@pytest.mark.parametrize("profile", ["capcut", "jianying"])
def test_full_draft_parses_back_with_pyjianyingdraft(client, tmp_path, profile):
    d = build_full_draft(client, profile)
    raw = script(client, d)
    doc = json.loads(raw)
    path = tmp_path / "draft_content.json"
    path.write_text(raw, encoding="utf-8")
    loaded = ScriptFile._load_template(str(path))
    assert (loaded.width, loaded.height) == (1280, 720)
    assert loaded.duration == doc["duration"] > 0
    assert [t.name for t in loaded.imported_tracks] == ["bgm", "main", "overlay", "text_main"]   # by layer
    assert [len(t.segments) for t in loaded.imported_tracks] == [1, 3, 2, 1]
    assert [(s.target_timerange.start, s.target_timerange.duration) for s in loaded.imported_tracks[1].segments] \
        == [(0, 2 * S), (2 * S, 3 * S), (6 * S, 4 * S)]
    bucket = "common_mask" if profile == "capcut" else "masks"
    m = loaded.imported_materials
    assert len(m[bucket]) == 2 and len(m["transitions"]) == 2 and len(m["audio_effects"]) == 1
    assert sorted(c["blur"] for c in m["canvases"] if c["type"] == "canvas_blur") == [0.0625, 0.75]
    assert len([a for a in m["material_animations"] if a["animations"]]) == 3   # 2 images + the text
    # every reference a segment makes resolves to a material in the document
    ids = {item["id"] for items in doc["materials"].values() if isinstance(items, list)
           for item in items if isinstance(item, dict) and "id" in item}
    for t in doc["tracks"]:
        for seg in t["segments"]:
            assert seg["material_id"] in ids
            assert set(seg["extra_material_refs"]) <= ids


# --- catalogue GET routes -------------------------------------------------------------------------

@pytest.mark.parametrize("path,category", sorted(catalog.ROUTES.items()))
def test_catalogue_route_lists_names(client, path, category):
    resp = client.get(path)
    assert resp.status_code == 200
    reply = check_envelope(resp.get_json())
    assert reply["success"]
    items = reply["output"]
    assert isinstance(items, list) and items
    assert [item["name"] for item in items] == catalog.names("capcut", category)


@pytest.mark.parametrize("path,category", sorted(catalog.ROUTES.items()))
def test_catalogue_profile_query_switches_the_table(client, path, category):
    items = check_envelope(client.get(f"{path}?profile=jianying").get_json())["output"]
    assert [item["name"] for item in items] == catalog.names("jianying", category)


def test_mask_listing_per_family(client):
    capcut = [i["name"] for i in client.get("/get_mask_types").get_json()["output"]]
    jianying = [i["name"] for i in client.get("/get_mask_types?profile=jianying").get_json()["output"]]
    assert "Circle" in capcut and "圆形" not in capcut
    assert "圆形" in jianying and "Circle" not in jianying


def test_audio_effect_listing_shape(client):
    items = client.get("/get_audio_effect_types").get_json()["output"]
    big_house = next(i for i in items if i["name"] == "Big_House")
    assert big_house["type"] == "Voice_filters"
    assert big_house["params"] == [{"name": "strength", "default_value": 100.0, "min_value": 0.0,
                                    "max_value": 100.0}]
    assert {i["type"] for i in items} == {"Voice_filters", "Voice_characters", "Speech_to_song"}


def test_catalogue_unknown_profile_is_an_error(client):
    resp = client.get("/get_mask_types?profile=nope")
    assert resp.status_code == 200
    assert check_envelope(resp.get_json())["code"] == "unknown_name"


def test_catalogue_default_follows_the_settings_profile(settings):
    from capcut_drafts.web.app import create_app
    client = create_app(settings.replace(is_capcut_env=False)).test_client()
    names = [i["name"] for i in client.get("/get_transition_types").get_json()["output"]]
    assert names == catalog.names("jianying", "transition")
