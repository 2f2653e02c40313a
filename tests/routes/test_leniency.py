"""Inputs upstream accepts and ignores or clamps: the request succeeds, the input is left out or
clamped, and a `warnings` entry says so (issue "Drop-in for real clients"). `strict_names: true`
turns unknown names back into `unknown_name` errors. Names of the other app family's table are
used when the same resource exists for the draft's app."""
from __future__ import annotations

import json

import pytest
from helpers import fail, make_settings, new_draft, ok, only_segment, post, segments

from capcut_drafts.model import catalog

A = "http://127.0.0.1:9/a.mp3"
V = "http://127.0.0.1:9/v.mp4"
TEXT_SLOTS = [("intro_animation", "text_intro", "in"), ("outro_animation", "text_outro", "out"),
              ("loop_animation", "text_loop", "loop")]


@pytest.fixture
def strict_client(tmp_path):
    from capcut_drafts.web.app import create_app
    return create_app(make_settings(tmp_path, store="memory", strict_names=True)).test_client()


def content(client, draft_id: str) -> dict:
    return json.loads(ok(client, "/query_script", {"draft_id": draft_id}))


def refs(doc: dict, segment: dict, bucket: str) -> list[dict]:
    wanted = set(segment["extra_material_refs"])
    return [m for m in doc["materials"][bucket] if m["id"] in wanted]


def text_animations(doc: dict, track_name: str) -> dict[str, dict]:
    """The animations of the last text on `track_name`, by type ('in', 'out', 'loop')."""
    segment = segments(doc, track_name)[-1]
    return {a["type"]: a for m in refs(doc, segment, "material_animations") for a in m["animations"]}


def misspelt(app: str, category: str) -> tuple[str, str]:
    """(a near miss of a valid name, that name): the valid name with its last letter doubled."""
    name = next(n for n in catalog.names(app, category) if n.isascii() and len(n) > 4)
    return name + name[-1], name


# --- text animations ------------------------------------------------------------------------

@pytest.mark.parametrize("key,category,kind", TEXT_SLOTS)
def test_unknown_text_animation_is_left_out_with_a_warning_naming_close_names(client, key, category, kind):
    d = new_draft(client)
    sent, close = misspelt("capcut", category)
    reply = post(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "t", key: sent})
    assert reply["success"], reply
    [warning] = reply["warnings"]
    assert warning.startswith(f"Left out: Unknown {catalog._WORDS[category]} '{sent}'.")
    assert f"Did you mean: {close}" in warning
    doc = content(client, d)
    assert kind not in text_animations(doc, "t") and len(segments(doc, "t")) == 1


def test_jianying_text_animation_names_on_a_capcut_draft_are_left_out(client):
    d = new_draft(client)
    reply = post(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "t",
                                       "intro_animation": "弹入", "outro_animation": "晕开"})
    assert reply["success"], reply
    intro, outro = reply["warnings"]
    assert "'弹入'" in intro and "That is a JianYing name" in intro and "GET /get_text_intro_types" in intro
    assert "'晕开'" in outro and "GET /get_text_outro_types" in outro
    assert text_animations(content(client, d), "t") == {}


def test_known_names_beside_an_unknown_one_still_apply(client):
    d = new_draft(client)
    outro = catalog.names("capcut", "text_outro")[0]
    reply = post(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "t",
                                       "intro_animation": "Nope", "outro_animation": outro})
    assert reply["success"] and len(reply["warnings"]) == 1
    assert set(text_animations(content(client, d), "t")) == {"out"}


def test_a_new_draft_gets_one_warning_per_name(client):
    reply = post(client, "/add_text", {"text": "x", "intro_animation": "Nope"})
    assert reply["success"] and len(reply["warnings"]) == 1


def test_known_names_answer_without_warnings(client):
    reply = post(client, "/add_text", {"text": "x", "intro_animation": catalog.names("capcut", "text_intro")[0]})
    assert reply["success"] and "warnings" not in reply


@pytest.mark.parametrize("key,category,kind", TEXT_SLOTS)
def test_strict_names_refuses_unknown_text_animations_and_changes_nothing(strict_client, key, category, kind):
    d = new_draft(strict_client)
    before = content(strict_client, d)
    error = fail(strict_client, "/add_text", {"draft_id": d, "text": "x", key: "Nope"}, "unknown_name")
    assert f"Unknown {catalog._WORDS[category]} 'Nope'" in error
    assert content(strict_client, d) == before


# --- names of the other family ----------------------------------------------------------------

@pytest.mark.parametrize("family", ["capcut", "jianying"])
@pytest.mark.parametrize("key,category,kind", TEXT_SLOTS)
def test_other_family_text_animation_of_the_same_resource_is_used(client, family, key, category, kind):
    other = "jianying" if family == "capcut" else "capcut"
    name = next(n for n in catalog.names(other, category) if catalog.counterpart(family, category, n))
    mine = catalog.counterpart(family, category, name)
    theirs = catalog.lookup(other, category, name)
    assert mine.effect_id == theirs.effect_id or mine.resource_id == theirs.resource_id
    d = new_draft(client, profile=family)
    reply = post(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "t", key: name})
    assert reply["success"] and "warnings" not in reply, reply
    assert text_animations(content(client, d), "t")[kind]["resource_id"] == mine.resource_id


def test_jianying_transition_name_on_a_capcut_draft_uses_the_capcut_transition(client):
    name = next(n for n in catalog.names("jianying", "transition")
                if catalog.find("capcut", "transition", n) is None and catalog.counterpart("capcut", "transition", n))
    mine = catalog.counterpart("capcut", "transition", name)
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V, "end": 2, "transition": name})
    [transition] = content(client, d)["materials"]["transitions"]
    assert transition["resource_id"] == mine.resource_id


def test_other_family_name_without_the_resource_is_still_refused_where_upstream_refuses(client):
    name = next(n for n in catalog.names("jianying", "transition")
                if catalog.find("capcut", "transition", n) is None
                and catalog.counterpart("capcut", "transition", n) is None)
    error = fail(client, "/add_video", {"video_url": V, "end": 2, "transition": name}, "unknown_name")
    assert "That is a JianYing name" in error


# --- audio effects ----------------------------------------------------------------------------

def test_unknown_audio_effect_is_left_out_with_a_warning_naming_close_names(client):
    d = new_draft(client)
    sent, close = misspelt("capcut", "audio_effect")
    reply = post(client, "/add_audio", {"draft_id": d, "audio_url": A, "end": 3, "effect_type": sent,
                                        "effect_params": [50]})
    assert reply["success"], reply
    [warning] = reply["warnings"]
    assert f"Unknown audio effect '{sent}'" in warning and f"Did you mean: {close}" in warning
    doc = content(client, d)
    assert refs(doc, only_segment(doc, "audio_main"), "audio_effects") == []


def test_strict_names_refuses_unknown_audio_effects(strict_client):
    error = fail(strict_client, "/add_audio", {"audio_url": A, "end": 3, "effect_type": "Nope"}, "unknown_name")
    assert "Unknown audio effect 'Nope'" in error


# --- numbers upstream passes through -------------------------------------------------------------

def test_upstream_readme_round_radius_20_is_clamped_to_1(client):
    d = new_draft(client)
    reply = post(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "t", "background_alpha": 1,
                                       "background_round_radius": 20})
    assert reply["success"], reply
    assert reply["warnings"] == ["Parameter 'background_round_radius' is 20, outside the app's range 0 to 1; "
                                 "1 was used."]
    doc = content(client, d)
    texts = [m for m in doc["materials"]["texts"] if m["id"] == segments(doc, "t")[0]["material_id"]]
    assert texts[0]["background_round_radius"] == 1


@pytest.mark.parametrize("name,sent,used", [
    ("border_width", 150, 100), ("background_height", -0.5, 0), ("background_width", 3, 1),
    ("background_horizontal_offset", 1.5, 1), ("background_vertical_offset", -2, 0),
])
def test_text_box_numbers_outside_the_app_range_are_clamped_with_a_warning(client, name, sent, used):
    reply = post(client, "/add_text", {"text": "x", "background_alpha": 1, "border_width": 5, name: sent})
    assert reply["success"], reply
    [warning] = reply["warnings"]
    assert warning.startswith(f"Parameter '{name}' is {sent:g}, outside the app's range")
    assert warning.endswith(f"{used:g} was used.")


def test_clamped_border_width_writes_the_widest_stroke(client):
    d = new_draft(client)
    ok(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "t", "border_width": 150})
    doc = content(client, d)
    [text] = [m for m in doc["materials"]["texts"] if m["id"] == segments(doc, "t")[0]["material_id"]]
    [style] = json.loads(text["content"])["styles"]
    assert style["strokes"][0]["width"] == pytest.approx(0.2)      # 100 on the app's 0..100 slider


def material(doc: dict, bucket: str, segment: dict) -> dict:
    [found] = [m for m in doc["materials"][bucket] if m["id"] == segment["material_id"]]
    return found


def clamp_note(name: str, sent: float, low: float, high: float, used: float) -> str:
    return f"Parameter '{name}' is {sent:g}, outside the app's range {low:g} to {high:g}; {used:g} was used."


SRT = "1\n00:00:00,000 --> 00:00:01,000\nA\n\n2\n00:00:01,000 --> 00:00:02,000\nB\n"


# --- subtitle animations --------------------------------------------------------------------------

@pytest.mark.parametrize("key,category,kind", TEXT_SLOTS[:2])
def test_unknown_subtitle_animation_is_left_out_once_for_all_cues(client, key, category, kind):
    d = new_draft(client)
    sent, close = misspelt("capcut", category)
    reply = post(client, "/add_subtitle", {"draft_id": d, "srt": SRT, key: sent})
    assert reply["success"], reply
    [warning] = reply["warnings"]
    assert warning.startswith(f"Left out: Unknown {catalog._WORDS[category]} '{sent}'.")
    assert f"Did you mean: {close}" in warning
    doc = content(client, d)
    cues = segments(doc, "subtitle")
    assert len(cues) == 2
    assert all(m["animations"] == [] for cue in cues for m in refs(doc, cue, "material_animations"))


def test_known_subtitle_animation_beside_an_unknown_one_still_applies_to_every_cue(client):
    d = new_draft(client)
    intro = catalog.names("capcut", "text_intro")[0]
    reply = post(client, "/add_subtitle", {"draft_id": d, "srt": SRT, "intro_animation": intro,
                                           "outro_animation": "晕开"})
    assert reply["success"] and len(reply["warnings"]) == 1 and "'晕开'" in reply["warnings"][0]
    doc = content(client, d)
    for segment in segments(doc, "subtitle"):
        assert [a["type"] for m in refs(doc, segment, "material_animations") for a in m["animations"]] == ["in"]


@pytest.mark.parametrize("key,category,kind", TEXT_SLOTS[:2])
def test_strict_names_refuses_unknown_subtitle_animations_and_changes_nothing(strict_client, key, category, kind):
    d = new_draft(strict_client)
    before = content(strict_client, d)
    error = fail(strict_client, "/add_subtitle", {"draft_id": d, "srt": SRT, key: "Nope"}, "unknown_name")
    assert f"Unknown {catalog._WORDS[category]} 'Nope'" in error
    assert content(strict_client, d) == before


# --- numbers upstream writes as sent: subtitles, text shadow and text_styles --------------------

@pytest.mark.parametrize("name,sent,used,stored", [
    ("alpha", 1.5, 1, lambda text, style: style["fill"].get("alpha", 1)),       # the apps leave out alpha 1
    ("alpha", -0.5, 0, lambda text, style: style["fill"].get("alpha", 1)),
    ("border_width", 200, 100, lambda text, style: style["strokes"][0]["width"] / 0.2 * 100),
    ("border_alpha", 2, 1, lambda text, style: style["strokes"][0]["content"]["solid"].get("alpha", 1)),
    ("background_alpha", 3, 1, lambda text, style: text["background_alpha"]),
])
def test_subtitle_numbers_outside_the_app_range_are_clamped(client, name, sent, used, stored):
    d = new_draft(client)
    body = {"draft_id": d, "srt": SRT, "border_width": 5, "background_alpha": 0.5, name: sent}
    reply = post(client, "/add_subtitle", body)
    assert reply["success"], reply
    assert reply["warnings"] == [clamp_note(name, sent, 0, 100 if name == "border_width" else 1, used)]
    doc = content(client, d)
    for segment in segments(doc, "subtitle"):
        text = material(doc, "texts", segment)
        [style] = json.loads(text["content"])["styles"]
        assert stored(text, style) == pytest.approx(used)


def test_text_shadow_alpha_outside_0_to_1_is_clamped(client):
    d = new_draft(client)
    reply = post(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "t", "shadow_enabled": True,
                                       "shadow_alpha": 2})
    assert reply["success"] and reply["warnings"] == [clamp_note("shadow_alpha", 2, 0, 1, 1)]
    doc = content(client, d)
    assert material(doc, "texts", only_segment(doc, "t"))["shadow_alpha"] == 1


def test_text_styles_numbers_outside_the_app_range_are_clamped_and_named_by_item(client):
    d = new_draft(client)
    reply = post(client, "/add_text", {"draft_id": d, "text": "abcdef", "track_name": "t", "text_styles": [
        {"start": 3, "end": 6, "style": {"alpha": 1.5}},
        {"start": 0, "end": 2, "border": {"width": 150, "alpha": -1}}]})
    assert reply["success"], reply
    assert reply["warnings"] == [clamp_note("text_styles[0].style.alpha", 1.5, 0, 1, 1),
                                 clamp_note("text_styles[1].border.width", 150, 0, 100, 100),
                                 clamp_note("text_styles[1].border.alpha", -1, 0, 1, 0)]
    doc = content(client, d)
    text = material(doc, "texts", only_segment(doc, "t"))
    styles = {tuple(s["range"]): s for s in json.loads(text["content"])["styles"]}
    assert styles[(3, 6)]["fill"].get("alpha", 1) == 1
    [stroke] = styles[(0, 2)]["strokes"]
    assert stroke["width"] == pytest.approx(0.2) and stroke["content"]["solid"]["alpha"] == 0


# --- speed and volume -----------------------------------------------------------------------------

@pytest.mark.parametrize("path,url_key,url,track_name", [("/add_video", "video_url", V, "video_main"),
                                                        ("/add_audio", "audio_url", A, "audio_main")])
@pytest.mark.parametrize("sent,used", [(200, 100), (0.05, 0.1), (1e-9, 0.1)])
def test_speed_outside_the_app_range_is_clamped_and_sets_the_clip_length(client, path, url_key, url, track_name,
                                                                          sent, used):
    d = new_draft(client)
    reply = post(client, path, {"draft_id": d, url_key: url, "end": 2, "speed": sent})
    assert reply["success"], reply
    assert reply["warnings"] == [clamp_note("speed", sent, 0.1, 100, used)]
    segment = only_segment(content(client, d), track_name)
    assert segment["speed"] == used
    assert segment["target_timerange"]["duration"] == round(2_000_000 / used)


@pytest.mark.parametrize("path,url_key,url,track_name", [("/add_video", "video_url", V, "video_main"),
                                                        ("/add_audio", "audio_url", A, "audio_main")])
@pytest.mark.parametrize("sent,used", [(15, 10), (-1, 0)])
def test_volume_outside_the_app_range_is_clamped(client, path, url_key, url, track_name, sent, used):
    d = new_draft(client)
    reply = post(client, path, {"draft_id": d, url_key: url, "end": 2, "volume": sent})
    assert reply["success"] and reply["warnings"] == [clamp_note("volume", sent, 0, 10, used)]
    assert only_segment(content(client, d), track_name)["volume"] == used


@pytest.mark.parametrize("path,url_key,url", [("/add_video", "video_url", V), ("/add_audio", "audio_url", A)])
@pytest.mark.parametrize("speed", [0, -1])
def test_speed_of_zero_or_less_is_still_refused_as_upstream_divides_by_it(client, path, url_key, url, speed):
    error = fail(client, path, {url_key: url, "end": 2, "speed": speed}, "invalid_parameter")
    assert "'speed'" in error and "above 0" in error


# --- masks and transitions --------------------------------------------------------------------------

MASKED = [("/add_video", {"video_url": V, "end": 2}, "video_main", 1.0),
          ("/add_image", {"image_url": "http://127.0.0.1:9/i.png"}, "image_main", 0.5)]


def mask_config(doc: dict, track_name: str) -> dict:
    [mask] = refs(doc, only_segment(doc, track_name), "common_mask")
    return mask["config"]


@pytest.mark.parametrize("path,body,track_name,default_size", MASKED)
@pytest.mark.parametrize("name,sent,used,key", [("mask_feather", 150, 100, "feather"),
                                                ("mask_feather", -5, 0, "feather"),
                                                ("mask_round_corner", 120, 100, "roundCorner")])
def test_mask_numbers_outside_0_to_100_are_clamped(client, path, body, track_name, default_size, name, sent, used,
                                                   key):
    d = new_draft(client)
    reply = post(client, path, {"draft_id": d, **body, "mask_type": "Rectangle", name: sent})
    assert reply["success"] and reply["warnings"] == [clamp_note(name, sent, 0, 100, used)]
    assert mask_config(content(client, d), track_name)[key] == used / 100


@pytest.mark.parametrize("path,body,track_name,default_size", MASKED)
@pytest.mark.parametrize("sent", [0, -1])
def test_mask_size_of_zero_or_less_gives_the_default_size(client, path, body, track_name, default_size, sent):
    d = new_draft(client)
    reply = post(client, path, {"draft_id": d, **body, "mask_type": "Circle", "mask_size": sent})
    assert reply["success"], reply
    [warning] = reply["warnings"]
    assert warning.startswith(f"Parameter 'mask_size' is {sent:g}, but a mask needs a size above 0")
    assert warning.endswith(f"the default {default_size:g} was used.")
    assert mask_config(content(client, d), track_name)["height"] == default_size


def test_mask_numbers_without_a_mask_are_not_warned_about(client):
    reply = post(client, "/add_video", {"video_url": V, "end": 2, "mask_feather": 150, "mask_size": -1})
    assert reply["success"] and "warnings" not in reply


@pytest.mark.parametrize("path,body,track_name,length", [
    ("/add_video", {"video_url": V, "start": 1, "end": 3, "speed": 2}, "video_main", 1.0),
    ("/add_image", {"image_url": "http://127.0.0.1:9/i.png", "end": 2}, "image_main", 2.0),
])
def test_transition_longer_than_its_clip_is_cut_to_the_clip(client, path, body, track_name, length):
    d = new_draft(client)
    reply = post(client, path, {"draft_id": d, **body, "transition": "Dissolve", "transition_duration": 5})
    assert reply["success"], reply
    assert reply["warnings"] == [f"Parameter 'transition_duration' is 5s, longer than the clip ({length:g}s); "
                                 f"{length:g}s was used."]
    doc = content(client, d)
    [transition] = refs(doc, only_segment(doc, track_name), "transitions")
    assert transition["duration"] == length * 1_000_000


def test_transition_on_an_open_ended_clip_is_kept_as_sent(client):
    d = new_draft(client)
    reply = post(client, "/add_video", {"draft_id": d, "video_url": V, "transition": "Dissolve",
                                        "transition_duration": 5})
    assert reply["success"] and "warnings" not in reply


# --- stickers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sent,used", [(2, 1), (-0.5, 0)])
def test_sticker_alpha_outside_0_to_1_is_clamped(client, sent, used):
    d = new_draft(client)
    reply = post(client, "/add_sticker", {"draft_id": d, "sticker_id": "7107529669750066445", "alpha": sent})
    assert reply["success"] and reply["warnings"] == [clamp_note("alpha", sent, 0, 1, used)]
    assert only_segment(content(client, d), "sticker_main")["clip"]["alpha"] == used


# --- where upstream refuses, we refuse too ----------------------------------------------------------

@pytest.mark.parametrize("path,body,code", [
    ("/add_text", {"text": "x", "alpha": 2}, "invalid_parameter"),
    ("/add_text", {"text": "x", "border_width": 5, "border_alpha": 3}, "invalid_parameter"),
    ("/add_text", {"text": "x", "background_alpha": 1.5}, "invalid_parameter"),
    ("/add_text", {"text": "x", "font": "NoSuchFont"}, "unknown_name"),
    ("/add_subtitle", {"srt": SRT, "font": "NoSuchFont"}, "unknown_name"),
    ("/add_video", {"video_url": V, "end": 2, "transition": "NoSuch"}, "unknown_name"),
    ("/add_video", {"video_url": V, "end": 2, "mask_type": "NoSuch"}, "unknown_name"),
    ("/add_video", {"video_url": V, "end": 2, "mask_type": "Circle", "mask_round_corner": 10}, "invalid_parameter"),
    ("/add_video", {"video_url": V, "end": 2, "background_blur": 5}, "invalid_parameter"),
    ("/add_image", {"image_url": "http://127.0.0.1:9/i.png", "intro_animation": "NoSuch"}, "unknown_name"),
    ("/add_effect", {"effect_type": "NoSuch", "params": []}, "unknown_name"),
    ("/add_effect", {"effect_type": "Blur", "params": [101]}, "invalid_parameter"),
    ("/add_audio", {"audio_url": A, "end": 2, "effect_type": catalog.names("capcut", "audio_effect")[0],
                    "effect_params": [101]}, "invalid_parameter"),
])
def test_values_upstream_refuses_are_still_refused(client, path, body, code):
    fail(client, path, body, code)


# --- keyframe values ------------------------------------------------------------------------------

@pytest.mark.parametrize("prop,sent,value,low,high,used", [
    ("alpha", "150%", 1.5, 0, 1, 1), ("alpha", -0.1, -0.1, 0, 1, 0), ("scale_x", -1, -1, 0, 100, 0),
    ("rotation", 4000, 4000, -3600, 3600, 3600), ("saturation", "+1.5", 1.5, -1, 1, 1),
    ("contrast", "-2", -2, -1, 1, -1), ("volume", "1100%", 11, 0, 10, 10),
])
def test_keyframe_values_outside_the_app_range_are_clamped(client, prop, sent, value, low, high, used):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V, "end": 2})
    reply = post(client, "/add_video_keyframe", {"draft_id": d, "property_types": ["alpha", prop], "times": [0, 1],
                                                 "values": ["1", sent]})
    assert reply["success"], reply
    assert reply["warnings"] == [clamp_note(f"{prop} keyframe value (item 1)", value, low, high, used)]
    lists = only_segment(content(client, d), "video_main")["common_keyframes"]
    stored = [k["values"][0] for kl in lists for k in kl["keyframe_list"] if k["time_offset"] == 1_000_000]
    assert stored == [pytest.approx(used)]


@pytest.mark.parametrize("prop,value", [("position_x", 11), ("position_y", "-10.5")])
def test_keyframe_positions_outside_10_are_still_refused_as_upstream(client, prop, value):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V, "end": 2})
    fail(client, "/add_video_keyframe", {"draft_id": d, "property_type": prop, "time": 1, "value": value},
         "invalid_parameter")
