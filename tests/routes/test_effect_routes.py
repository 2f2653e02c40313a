"""/add_effect, /add_filter, /add_sticker, /add_video_keyframe, the catalogue GET routes and the clip
filters of /add_video and /add_image, over the Flask test client.

Every assertion on the draft reads the parsed `/query_script` output (the app JSON). Media URLs
point at 127.0.0.1 but nothing is fetched when clips are added.
"""
from __future__ import annotations

import json

import pytest
from helpers import PROFILES, check_envelope, fail, new_draft, ok, only_segment, post, segments, track

from capcut_drafts.model import catalog, operations
from capcut_drafts.model.timeline import Track

HOST = "http://127.0.0.1:8765"
V1, V2, A, I, I2 = (f"{HOST}/{n}" for n in ("v1.mp4", "v2.mp4", "a.mp3", "i.png", "i2.png"))  # noqa: E741 (I: image)
S = 1_000_000   # µs per second
MISSING_EFFECT = "Hi, the required parameters 'effect_type' are missing. Please add them and try again."
MISSING_STICKER = "Hi, the required parameter 'sticker_id' is missing. Please add it and try again. "
EFFECT_ERROR = "Error occurred while adding effect: "
FILTER_ERROR = "Error occurred while adding filter: "
STICKER_ERROR = "Error occurred while adding sticker: "
KEYFRAME_ERROR = "Error occurred while adding keyframe: "
# two effects with two parameters each (JianYing's has a range other than 0..1)
TWO_PARAM_EFFECT = {"capcut": "Heart_Kisses", "jianying": "闪白_II"}


# --- helpers -----------------------------------------------------------------------------------


def query(client, draft_id: str) -> dict:
    reply = post(client, "/query_script", {"draft_id": draft_id})
    assert reply["success"], reply
    assert isinstance(reply["output"], str)
    return reply


def script(client, draft_id: str) -> str:
    return query(client, draft_id)["output"]


def content(client, draft_id: str) -> dict:
    return json.loads(script(client, draft_id))


def warnings(client, draft_id: str) -> list[str]:
    return query(client, draft_id).get("warnings", [])


def by_id(doc: dict, bucket: str, material_id: str) -> dict:
    found = [m for m in doc["materials"][bucket] if m["id"] == material_id]
    assert len(found) == 1, (bucket, material_id)
    return found[0]


def refs(doc: dict, segment: dict, bucket: str) -> list[dict]:
    wanted = set(segment["extra_material_refs"])
    return [m for m in doc["materials"][bucket] if m["id"] in wanted]


def keyframes(segment: dict) -> dict[str, list[tuple[int, list[float]]]]:
    """property_type -> [(time_offset, values), ...]"""
    return {kf["property_type"]: [(k["time_offset"], k["values"]) for k in kf["keyframe_list"]]
            for kf in segment["common_keyframes"]}


def timerange(segment: dict) -> tuple[int, int]:
    return segment["target_timerange"]["start"], segment["target_timerange"]["duration"]


def listing(client, category_route: str, profile: str) -> list[dict]:
    resp = client.get(f"{category_route}?profile={profile}")
    assert resp.status_code == 200
    reply = check_envelope(resp.get_json())
    assert reply["success"], reply
    return reply["output"]


# --- /add_effect ------------------------------------------------------------------------------

SCENE = {"capcut": "Blur", "jianying": catalog.names("jianying", "scene_effect")[0]}
CHARACTER = {app: catalog.names(app, "character_effect")[0] for app in PROFILES}


def test_scene_effect_by_name_is_a_global_video_effect_on_effect_01(client, any_draft, profile):
    entry = catalog.lookup(profile, "scene_effect", SCENE[profile])
    out = ok(client, "/add_effect", {"draft_id": any_draft, "effect_type": entry.name, "params": []})
    assert out["draft_id"] == any_draft
    doc = content(client, any_draft)
    assert track(doc, "effect_01")["type"] == "effect"
    seg = only_segment(doc, "effect_01")
    assert timerange(seg) == (0, 3 * S)
    assert seg["render_index"] == 11000          # the apps' effect range (CapCut 6.2, 6.9)
    effect = by_id(doc, "video_effects", seg["material_id"])
    assert (effect["resource_id"], effect["effect_id"], effect["name"]) == \
        (entry.resource_id, entry.effect_id, entry.title)
    assert effect["type"] == "video_effect"
    assert effect["apply_target_type"] == 2


def test_upstream_flow_step_7_blur_effect(client, draft):
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "effect_category": "scene", "start": 0,
                               "end": 2, "track_name": "effect_01", "params": [40]})
    doc = content(client, draft)
    seg = only_segment(doc, "effect_01")
    assert timerange(seg) == (0, 2 * S) and seg["render_index"] == 11000
    effect = by_id(doc, "video_effects", seg["material_id"])
    assert [(p["name"], p["value"]) for p in effect["adjust_params"]] == [("effects_adjust_blur", pytest.approx(0.4))]
    assert len(doc["materials"]["video_effects"]) == 1


def test_character_effect_by_name_is_a_global_face_effect(client, any_draft, profile):
    entry = catalog.lookup(profile, "character_effect", CHARACTER[profile])
    ok(client, "/add_effect", {"draft_id": any_draft, "effect_type": entry.name, "effect_category": "character",
                               "start": 1, "end": 2.5})
    doc = content(client, any_draft)
    seg = only_segment(doc, "effect_01")
    assert timerange(seg) == (1 * S, 1_500_000)
    effect = by_id(doc, "video_effects", seg["material_id"])
    assert effect["resource_id"] == entry.resource_id
    assert effect["type"] == "face_effect"
    assert effect["apply_target_type"] == 2


def test_effect_name_of_the_other_family_is_unknown_with_a_hint(client, any_draft, profile):
    other = "jianying" if profile == "capcut" else "capcut"
    name = next(n for n in catalog.names(other, "scene_effect")
                if catalog.find(profile, "scene_effect", n) is None
                and catalog.counterpart(profile, "scene_effect", n) is None)
    error = fail(client, "/add_effect", {"draft_id": any_draft, "effect_type": name}, "unknown_name")
    assert error.startswith(EFFECT_ERROR) and name in error and "/get_video_scene_effect_types" in error


def test_unknown_effect_name_gets_suggestions_not_the_list(client, draft):
    error = fail(client, "/add_effect", {"draft_id": draft, "effect_type": "Blurr"}, "unknown_name")
    assert "Did you mean: Blur" in error
    listed = [n for n in catalog.names("capcut", "scene_effect") if f" {n}," in error or f" {n}?" in error]
    assert 0 < len(listed) <= 5


@pytest.mark.parametrize("params", ["absent", None, []])
def test_effect_params_missing_null_or_empty_use_the_defaults(client, any_draft, profile, params):
    entry = catalog.lookup(profile, "scene_effect", TWO_PARAM_EFFECT[profile])
    request = {"draft_id": any_draft, "effect_type": entry.name}
    if params != "absent":
        request["params"] = params
    ok(client, "/add_effect", request)
    doc = content(client, any_draft)
    effect = by_id(doc, "video_effects", only_segment(doc, "effect_01")["material_id"])
    assert {p["name"]: p["value"] for p in effect["adjust_params"]} == {p.name: p.default for p in entry.params}


def test_effect_params_map_0_100_onto_each_range_in_the_listed_order(client, any_draft, profile):
    name = TWO_PARAM_EFFECT[profile]
    entry = catalog.lookup(profile, "scene_effect", name)
    [item] = [i for i in listing(client, "/get_video_scene_effect_types", profile) if i["name"] == name]
    listed = [p["name"] for p in item["params"]]
    assert sorted(listed) == sorted(p.name for p in entry.params) and len(listed) == 2
    sent = [20, 70]
    ok(client, "/add_effect", {"draft_id": any_draft, "effect_type": name, "params": sent})
    doc = content(client, any_draft)
    effect = by_id(doc, "video_effects", only_segment(doc, "effect_01")["material_id"])
    exported = {p["name"]: p for p in effect["adjust_params"]}
    ranges = {p.name: (p.min, p.max) for p in entry.params}
    for param_name, value in zip(listed, sent, strict=False):
        low, high = ranges[param_name]
        assert exported[param_name]["value"] == pytest.approx(low + (high - low) * value / 100), param_name
        assert (exported[param_name]["min_value"], exported[param_name]["max_value"]) == (low, high)


def test_effect_listing_defaults_are_on_the_client_scale(client, profile):
    name = TWO_PARAM_EFFECT[profile]
    entry = catalog.lookup(profile, "scene_effect", name)
    [item] = [i for i in listing(client, "/get_video_scene_effect_types", profile) if i["name"] == name]
    for listed in item["params"]:
        param = next(p for p in entry.params if p.name == listed["name"])
        assert listed["default_value"] == pytest.approx((param.default - param.min) / (param.max - param.min) * 100)
        assert (listed["min_value"], listed["max_value"]) == (0, 100)


def test_effect_param_null_keeps_that_parameters_default(client, draft):
    entry = catalog.lookup("capcut", "scene_effect", "Heart_Kisses")
    [item] = [i for i in listing(client, "/get_video_scene_effect_types", "capcut") if i["name"] == entry.name]
    first, second = (p["name"] for p in item["params"])
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": entry.name, "params": [None, 40]})
    doc = content(client, draft)
    values = {p["name"]: p["value"] for p in by_id(doc, "video_effects",
                                                    only_segment(doc, "effect_01")["material_id"])["adjust_params"]}
    defaults = {p.name: p.default for p in entry.params}
    assert values[first] == defaults[first]
    assert values[second] == pytest.approx(0.4)


def test_single_effect_value_goes_to_the_effects_first_parameter_as_upstream(client, draft):
    entry = catalog.lookup("capcut", "scene_effect", "Heart_Kisses")
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": entry.name, "params": [30]})
    doc = content(client, draft)
    effect = by_id(doc, "video_effects", only_segment(doc, "effect_01")["material_id"])
    values = [p["value"] for p in effect["adjust_params"]]
    assert values == [pytest.approx(0.3), entry.params[1].default]


def test_surplus_effect_values_drop_the_ones_sent_first_as_upstream(client, draft):
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "params": [10, 40]})
    doc = content(client, draft)
    effect = by_id(doc, "video_effects", only_segment(doc, "effect_01")["material_id"])
    assert [p["value"] for p in effect["adjust_params"]] == [pytest.approx(0.4)]


@pytest.mark.parametrize("index,value", [(0, 101), (1, -1), (0, 100.5), (1, -0.01), (0, 1e9)])
def test_effect_param_out_of_range_or_not_a_number_names_the_parameter(client, any_draft, profile, index, value):
    name = TWO_PARAM_EFFECT[profile]
    [item] = [i for i in listing(client, "/get_video_scene_effect_types", profile) if i["name"] == name]
    params = [50, 50]
    params[index] = value
    before = script(client, any_draft)
    error = fail(client, "/add_effect", {"draft_id": any_draft, "effect_type": name, "params": params},
                 "invalid_parameter")
    assert error.startswith(EFFECT_ERROR)
    assert f"'{item['params'][index]['name']}'" in error and f"params[{index}]" in error, error
    assert script(client, any_draft) == before


@pytest.mark.parametrize("value", ["fifty", [50], {"v": 50}])
def test_effect_param_that_is_not_a_number_is_rejected(client, draft, value):
    error = fail(client, "/add_effect", {"draft_id": draft, "effect_type": "Heart_Kisses", "params": [50, value]},
                 "invalid_parameter")
    assert error.startswith(EFFECT_ERROR) and "params" in error


def test_effect_param_true_is_not_taken_as_a_number(client, draft):
    error = fail(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "params": [True]},
                 "invalid_parameter")
    assert "effects_adjust_blur" in error


def test_effect_category_other_is_rejected_with_upstream_wording(client, draft):
    error = fail(client, "/add_effect", {"draft_id": draft, "effect_type": "Like", "effect_category": "other",
                                         "params": []}, "unknown_name")
    assert error.startswith("Error occurred while adding effect: Unknown other effect type: Like. ")


def test_effect_tracks_take_11000_plus_n_in_the_order_relative_index_gives(client, draft):
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "track_name": "fx_top", "relative_index": 5})
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "track_name": "fx_low"})
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "track_name": "fx_top", "relative_index": 9,
                               "start": 3, "end": 4})
    doc = content(client, draft)
    assert [s["render_index"] for s in segments(doc, "fx_top")] == [11001, 11001]
    assert only_segment(doc, "fx_low")["render_index"] == 11000
    assert [t["name"] for t in doc["tracks"]] == ["fx_low", "fx_top"]


def test_effects_on_one_track_may_touch_but_not_overlap(client, draft):
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "start": 0, "end": 2})
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "start": 2, "end": 4})
    error = fail(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "start": 3, "end": 5},
                 "segment_overlap")
    assert "[start: 2000000, end: 4000000]" in error
    assert [timerange(s) for s in segments(content(client, draft), "effect_01")] == [(0, 2 * S), (2 * S, 2 * S)]


def test_each_effect_segment_has_its_own_video_effect(client, draft):
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "start": 0, "end": 1, "params": [10]})
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur", "start": 1, "end": 2, "params": [90]})
    doc = content(client, draft)
    effects = [by_id(doc, "video_effects", s["material_id"]) for s in segments(doc, "effect_01")]
    assert len({e["id"] for e in effects}) == 2
    assert [e["adjust_params"][0]["value"] for e in effects] == [pytest.approx(0.1), pytest.approx(0.9)]


# --- /add_filter and clip filters -----------------------------------------------------------------

FILTER = "_1980"


def test_filter_track_segment_and_filter_effect(client, any_draft, profile):
    entry = catalog.lookup(profile, "filter", FILTER)
    ok(client, "/add_filter", {"draft_id": any_draft, "filter_type": FILTER, "filter_intensity": 40,
                               "start": 1, "end": 3})
    doc = content(client, any_draft)
    assert track(doc, "filter_01")["type"] == "filter"
    seg = only_segment(doc, "filter_01")
    assert timerange(seg) == (1 * S, 2 * S) and seg["render_index"] == 10000    # as CapCut 8.6 writes it
    effect = by_id(doc, "effects", seg["material_id"])
    assert effect["type"] == "filter"
    assert effect["resource_id"] == entry.resource_id
    assert effect["value"] == pytest.approx(0.4)


def test_filter_defaults_full_intensity_0_to_3_seconds(client, draft):
    ok(client, "/add_filter", {"draft_id": draft, "filter_type": FILTER})
    doc = content(client, draft)
    seg = only_segment(doc, "filter_01")
    assert timerange(seg) == (0, 3 * S)
    assert by_id(doc, "effects", seg["material_id"])["value"] == 1.0


def test_filter_relative_index_and_track_name(client, draft):
    ok(client, "/add_filter", {"draft_id": draft, "filter_type": FILTER, "track_name": "grade", "relative_index": 2})
    ok(client, "/add_filter", {"draft_id": draft, "filter_type": FILTER, "track_name": "base"})
    doc = content(client, draft)
    assert [(t["name"], t["segments"][0]["render_index"]) for t in doc["tracks"]] == [("base", 10000),
                                                                                     ("grade", 10001)]


@pytest.mark.parametrize("path,media", [
    ("/add_video", {"video_url": V1, "end": 2}),
    ("/add_image", {"image_url": I}),
])
def test_clip_filter_on_video_and_image_is_a_filter_effect_referenced_by_the_clip(client, any_draft, profile,
                                                                                 path, media):
    entry = catalog.lookup(profile, "filter", FILTER)
    ok(client, path, {"draft_id": any_draft, "track_name": "clips", "filter_type": FILTER, "filter_intensity": 65,
                      **media})
    doc = content(client, any_draft)
    seg = only_segment(doc, "clips")
    [effect] = [e for e in refs(doc, seg, "effects") if e["type"] == "filter"]
    assert effect["resource_id"] == entry.resource_id
    assert effect["value"] == pytest.approx(0.65)


def test_clip_without_filter_references_none(client, draft):
    ok(client, "/add_video", {"draft_id": draft, "video_url": V1, "end": 2})
    doc = content(client, draft)
    assert [e for e in refs(doc, only_segment(doc, "video_main"), "effects") if e["type"] == "filter"] == []


@pytest.mark.parametrize("path,request_body,prefix", [
    ("/add_filter", {"filter_type": "1980"}, FILTER_ERROR),
    ("/add_video", {"video_url": V1, "end": 2, "filter_type": "1980"}, "Error occurred while processing video: "),
    ("/add_image", {"image_url": I, "filter_type": "1980"}, "Error occurred while processing image: "),
])
def test_unknown_filter_gets_suggestions_and_changes_nothing(client, draft, path, request_body, prefix):
    before = script(client, draft)
    error = fail(client, path, {"draft_id": draft, **request_body}, "unknown_name")
    assert error.startswith(prefix + "Unknown filter '1980'.")
    assert "Did you mean: _1980" in error and "/get_filter_types" in error
    assert script(client, draft) == before


@pytest.mark.parametrize("path,request_body", [
    ("/add_filter", {"filter_type": FILTER, "filter_intensity": 101}),
    ("/add_filter", {"filter_type": FILTER, "filter_intensity": -1}),
    ("/add_filter", {"filter_type": FILTER, "filter_intensity": "max"}),
    ("/add_video", {"video_url": V1, "end": 2, "filter_type": FILTER, "filter_intensity": 150}),
    ("/add_image", {"image_url": I, "filter_type": FILTER, "filter_intensity": -5}),
])
def test_filter_intensity_outside_0_100_is_rejected(client, draft, path, request_body):
    error = fail(client, path, {"draft_id": draft, **request_body}, "invalid_parameter")
    assert "filter_intensity" in error


@pytest.mark.parametrize("request_body", [{}, {"filter_type": ""}, {"filter_type": None}])
def test_add_filter_missing_filter_type(client, request_body):
    error = fail(client, "/add_filter", request_body, "missing_parameter")
    assert error == "Hi, the required parameters 'filter_type' are missing. Please add them and try again."


# --- /add_sticker ---------------------------------------------------------------------------------

STICKER_ID = "7107529669750066445"


def test_sticker_defaults(client, draft):
    out = ok(client, "/add_sticker", {"draft_id": draft, "sticker_id": STICKER_ID})
    assert out["draft_id"] == draft
    doc = content(client, draft)
    assert track(doc, "sticker_main")["type"] == "sticker"
    seg = only_segment(doc, "sticker_main")
    assert timerange(seg) == (0, 5 * S)
    assert seg["render_index"] == 14000
    assert seg["clip"] == {"scale": {"x": 1.0, "y": 1.0}, "rotation": 0.0, "transform": {"x": 0.0, "y": 0.0},
                           "flip": {"vertical": False, "horizontal": False}, "alpha": 1.0}
    sticker = by_id(doc, "stickers", seg["material_id"])
    assert (sticker["sticker_id"], sticker["resource_id"], sticker["type"]) == (STICKER_ID, STICKER_ID, "sticker")


def test_sticker_parameters_reach_the_clip(client, any_draft):
    ok(client, "/add_sticker", {"draft_id": any_draft, "sticker_id": STICKER_ID, "start": 1.5, "end": 4,
                                "transform_x": 0.2, "transform_y": -0.3, "scale_x": 1.5, "scale_y": 0.5,
                                "alpha": 0.4, "rotation": 30, "flip_horizontal": True, "flip_vertical": True,
                                "track_name": "deco"})
    seg = only_segment(content(client, any_draft), "deco")
    assert timerange(seg) == (1_500_000, 2_500_000)
    assert seg["clip"] == {"scale": {"x": 1.5, "y": 0.5}, "rotation": 30.0, "transform": {"x": 0.2, "y": -0.3},
                           "flip": {"vertical": True, "horizontal": True}, "alpha": 0.4}


def test_two_sticker_tracks_with_relative_index_999_and_0(client, draft):
    """example.py test_stiker_0*: stickers on two tracks with relative_index 999 and 0."""
    ok(client, "/add_sticker", {"draft_id": draft, "sticker_id": "7107529669750066445", "track_name": "sticker_top",
                                "relative_index": 999})
    ok(client, "/add_sticker", {"draft_id": draft, "sticker_id": "7226264888031694091", "track_name": "sticker_low",
                                "relative_index": 0})
    doc = content(client, draft)
    assert only_segment(doc, "sticker_top")["render_index"] == 14001      # one counter from 14000, bottom up
    assert only_segment(doc, "sticker_low")["render_index"] == 14000
    assert [t["name"] for t in doc["tracks"]] == ["sticker_low", "sticker_top"]
    assert {s["sticker_id"] for s in doc["materials"]["stickers"]} == {"7107529669750066445", "7226264888031694091"}


def test_stickers_on_one_track_may_not_overlap(client, draft):
    ok(client, "/add_sticker", {"draft_id": draft, "sticker_id": "1", "start": 0, "end": 2})
    ok(client, "/add_sticker", {"draft_id": draft, "sticker_id": "2", "start": 2, "end": 3})
    error = fail(client, "/add_sticker", {"draft_id": draft, "sticker_id": "3", "start": 1, "end": 2.5},
                 "segment_overlap")
    assert error.startswith(STICKER_ERROR + "New segment overlaps with existing segment [start: 0, end: 2000000]")


def test_tracks_are_ordered_by_render_index_across_kinds(client, draft):
    ok(client, "/add_text", {"draft_id": draft, "text": "t"})
    ok(client, "/add_sticker", {"draft_id": draft, "sticker_id": "1"})
    ok(client, "/add_filter", {"draft_id": draft, "filter_type": FILTER})
    ok(client, "/add_effect", {"draft_id": draft, "effect_type": "Blur"})
    ok(client, "/add_video", {"draft_id": draft, "video_url": V1, "end": 1})
    doc = content(client, draft)
    assert [(t["name"], t["segments"][0]["render_index"]) for t in doc["tracks"]] == [
        ("video_main", 0), ("filter_01", 10000), ("effect_01", 11000), ("sticker_main", 14000), ("text_main", 14001)]


# --- /add_video_keyframe --------------------------------------------------------------------------

@pytest.fixture
def two_clips(client) -> str:
    """The start of the typical client session: two 5 s clips back to back on video_main."""
    d = new_draft(client, width=1080, height=1920)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "start": 0, "end": 5, "target_start": 0,
                              "track_name": "video_main", "transition": "Dissolve", "transition_duration": 1.0})
    ok(client, "/add_video", {"draft_id": d, "video_url": V2, "start": 0, "end": 5, "target_start": 5,
                              "track_name": "video_main", "speed": 1.0, "volume": 0.5, "background_blur": 2})
    return d


def test_upstream_flow_step_8_batch_keyframes(client, two_clips):
    out = ok(client, "/add_video_keyframe", {
        "draft_id": two_clips, "track_name": "video_main",
        "property_types": ["alpha", "alpha", "uniform_scale", "uniform_scale"],
        "times": [0, 1, 5.5, 9], "values": ["0", "1", "1.0", "1.2"]})
    assert out["added_keyframes_count"] == 4
    assert out["draft_id"] == two_clips and out["draft_url"].endswith(f"/drafts/{two_clips}")
    reply = query(client, two_clips)
    assert not reply.get("warnings")
    first, second = segments(json.loads(reply["output"]), "video_main")
    assert keyframes(first) == {"KFTypeAlpha": [(0, [0.0]), (1 * S, [1.0])]}
    assert keyframes(second) == {"KFTypeScaleX": [(500_000, [1.0]), (4 * S, [1.2])]}
    assert second["uniform_scale"]["on"] is True


def test_single_keyframe_output_has_no_count(client, two_clips):
    out = ok(client, "/add_video_keyframe", {"draft_id": two_clips, "property_type": "alpha", "time": 1,
                                             "value": "0.5"})
    assert "added_keyframes_count" not in out


def test_single_keyframe_defaults_alpha_1_at_time_0_on_video_main(client, two_clips):
    ok(client, "/add_video_keyframe", {"draft_id": two_clips})
    first = segments(content(client, two_clips), "video_main")[0]
    assert keyframes(first) == {"KFTypeAlpha": [(0, [1.0])]}


@pytest.mark.parametrize("prop,value,kf_type,stored", [
    ("position_x", 0.5, "KFTypePositionX", 0.5),
    ("position_x", "-1.5", "KFTypePositionX", -1.5),
    ("position_y", "+0.25", "KFTypePositionY", 0.25),
    ("rotation", "45deg", "KFTypeRotation", 45.0),
    ("rotation", -90, "KFTypeRotation", -90.0),
    ("rotation", "30", "KFTypeRotation", 30.0),
    ("scale_x", 1.5, "KFTypeScaleX", 1.5),
    ("scale_y", "0.5", "KFTypeScaleY", 0.5),
    ("uniform_scale", 2, "KFTypeScaleX", 2.0),
    ("alpha", "50%", "KFTypeAlpha", 0.5),
    ("alpha", "0.25", "KFTypeAlpha", 0.25),
    ("alpha", 0.75, "KFTypeAlpha", 0.75),
    ("alpha", 1, "KFTypeAlpha", 1.0),
    ("saturation", "+0.2", "KFTypeSaturation", 0.2),
    ("saturation", -0.4, "KFTypeSaturation", -0.4),
    ("contrast", "-0.5", "KFTypeContrast", -0.5),
    ("brightness", "0.3", "KFTypeBrightness", 0.3),
    ("brightness", 0.3, "KFTypeBrightness", 0.3),
    ("volume", "80%", "KFTypeVolume", 0.8),
    ("volume", 1.5, "KFTypeVolume", 1.5),
])
def test_keyframe_value_syntax_strings_and_plain_numbers(client, two_clips, prop, value, kf_type, stored):
    ok(client, "/add_video_keyframe", {"draft_id": two_clips, "property_type": prop, "time": 2, "value": value})
    first = segments(content(client, two_clips), "video_main")[0]
    assert keyframes(first) == {kf_type: [(2 * S, [pytest.approx(stored)])]}
    assert first["uniform_scale"]["on"] is (prop not in ("scale_x", "scale_y"))


@pytest.mark.parametrize("prop,value", [
    ("alpha", "abc"), ("alpha", ""), ("alpha", "50%%"), ("alpha", "0.5.1"), ("position_x", 11),
    ("position_y", "-10.5"), ("uniform_scale", "big"), ("rotation", "45 degrees"), ("brightness", "bright"),
    ("alpha", "nan"), ("alpha", "inf"),
    ("alpha", [0.5]), ("alpha", {"v": 1}),          # null is the default "1.0": tests/routes/test_null_defaults.py
])
def test_keyframe_out_of_range_positions_or_unparsable_values_are_rejected(client, two_clips, prop, value):
    before = script(client, two_clips)
    error = fail(client, "/add_video_keyframe", {"draft_id": two_clips, "property_type": prop, "time": 1,
                                                 "value": value}, "invalid_parameter")
    assert error.startswith(KEYFRAME_ERROR)
    assert "value" in error
    assert script(client, two_clips) == before


def test_batch_keyframe_value_true_is_rejected(client, two_clips):
    error = fail(client, "/add_video_keyframe", {"draft_id": two_clips, "property_types": ["alpha"], "times": [1],
                                                 "values": [True]}, "invalid_parameter")
    assert "value (item 0)" in error


def test_single_keyframe_value_true_is_rejected(client, two_clips):
    before = script(client, two_clips)
    fail(client, "/add_video_keyframe", {"draft_id": two_clips, "property_type": "alpha", "time": 1, "value": True},
         "invalid_parameter")
    assert script(client, two_clips) == before


def test_unknown_keyframe_property_lists_the_valid_ones(client, two_clips):
    error = fail(client, "/add_video_keyframe", {"draft_id": two_clips, "property_type": "blur", "time": 1,
                                                 "value": "1"}, "unknown_name")
    assert error.startswith(KEYFRAME_ERROR + "Unknown keyframe property 'blur'")
    for name in ("position_x", "uniform_scale", "alpha", "volume"):
        assert name in error


@pytest.mark.parametrize("extra,message", [
    ({"property_types": ["alpha"], "times": [1, 2], "values": ["1", "1"]},
     "property_types, times, values must have equal lengths, current lengths are: 1, 2, 2."),
    ({"property_types": ["alpha", "alpha"], "times": [1, 2], "values": ["1"]},
     "property_types, times, values must have equal lengths, current lengths are: 2, 2, 1."),
    ({"property_types": ["alpha"], "times": [1]}, "missing: values"),
    ({"times": [1], "values": ["1"]}, "missing: property_types"),
    ({"values": ["1"]}, "missing: property_types, times"),
    ({"property_types": "alpha", "times": [1], "values": ["1"]}, "property_types must be a list."),
    ({"property_types": ["alpha"], "times": 1, "values": ["1"]}, "times must be a list."),
    ({"property_types": ["alpha"], "times": [1], "values": "1"}, "values must be a list."),
    ({"property_types": [], "times": [], "values": []}, "property_types cannot be empty."),
    ({"property_types": ["alpha"], "times": [], "values": ["1"]}, "times cannot be empty."),
])
def test_batch_validation_messages(client, two_clips, extra, message):
    before = script(client, two_clips)
    reply = post(client, "/add_video_keyframe", {"draft_id": two_clips, "track_name": "video_main", **extra})
    assert reply["success"] is False
    assert reply["code"] in ("invalid_parameter", "missing_parameter")
    assert message in reply["error"], reply["error"]
    assert script(client, two_clips) == before


def test_unequal_lengths_message_has_the_upstream_prefix(client, two_clips):
    error = fail(client, "/add_video_keyframe", {"draft_id": two_clips, "property_types": ["alpha"],
                                                 "times": [1, 2], "values": ["1", "1"]}, "invalid_parameter")
    assert error == (KEYFRAME_ERROR + "property_types, times, values must have equal lengths, current lengths are: "
                     "1, 2, 2.")


@pytest.mark.parametrize("items,word", [
    ((["alpha", "alpha", "alpha"], [0, 1, 2], ["0", "half", "1"]), "'half'"),
    ((["alpha", 5], [0, 1], ["0", "1"]), "property_type (item 1)"),
    ((["alpha", "alpha"], [0, -1], ["0", "1"]), "time (item 1)"),
    ((["alpha", "alpha"], [0, "soon"], ["0", "1"]), "time (item 1)"),
    ((["alpha", "spin"], [0, 1], ["0", "1"]), "'spin'"),
])
def test_a_bad_batch_item_rejects_the_whole_batch(client, two_clips, items, word):
    before = script(client, two_clips)
    props, times, values = items
    reply = post(client, "/add_video_keyframe", {"draft_id": two_clips, "property_types": props, "times": times,
                                                 "values": values})
    assert reply["success"] is False and word in reply["error"], reply["error"]
    assert script(client, two_clips) == before
    assert warnings(client, two_clips) == []


def test_a_bad_batch_value_names_its_item(client, two_clips):
    error = fail(client, "/add_video_keyframe", {"draft_id": two_clips, "property_types": ["alpha"] * 4,
                                                 "times": [0, 1, 2, 3], "values": ["0", "1", "x", "1"]},
                 "invalid_parameter")
    assert "(item 2)" in error, error


def test_missing_track_message_lists_the_tracks(client, two_clips):
    ok(client, "/add_audio", {"draft_id": two_clips, "audio_url": A, "end": 3})
    before = script(client, two_clips)
    error = fail(client, "/add_video_keyframe", {"draft_id": two_clips, "track_name": "nope", "time": 1},
                 "track_not_found")
    assert error.startswith(KEYFRAME_ERROR + "Failed to add keyframe: ")
    assert "'nope'" in error and "video_main" in error and "audio_main" in error
    assert script(client, two_clips) == before


def test_keyframe_on_an_empty_track_is_rejected(app, client, draft):
    ok(client, "/add_video", {"draft_id": draft, "video_url": V1, "end": 1})
    cache = app.extensions["capcut"].cache
    cache.update(draft, lambda doc: (operations.add_segments(Track(name="empty", kind="video"), []), None))
    assert track(content(client, draft), "empty")["segments"] == []
    error = fail(client, "/add_video_keyframe", {"draft_id": draft, "track_name": "empty", "time": 0},
                 "invalid_parameter")
    assert error == KEYFRAME_ERROR + "No segments in track empty"


def test_keyframe_on_an_unknown_draft_is_an_error(client):
    fail(client, "/add_video_keyframe", {"draft_id": "nope", "time": 0}, "draft_not_found")


def test_keyframe_without_draft_id_is_missing(client):
    error = fail(client, "/add_video_keyframe", {"property_type": "alpha", "time": 0}, "missing_parameter")
    assert error.startswith("Hi, the required parameter 'draft_id' is missing.")


def test_boundary_time_belongs_to_the_earlier_clip(client, two_clips):
    ok(client, "/add_video_keyframe", {"draft_id": two_clips, "property_type": "rotation", "time": 5,
                                       "value": "45deg"})
    first, second = segments(content(client, two_clips), "video_main")
    assert keyframes(first) == {"KFTypeRotation": [(5 * S, [45.0])]}
    assert keyframes(second) == {}


def test_keyframes_matching_no_clip_come_back_as_query_warnings(client, two_clips):
    ok(client, "/add_video_keyframe", {"draft_id": two_clips, "property_types": ["alpha", "position_x"],
                                       "times": [3, 20], "values": ["0.5", "0.3"]})
    reply = query(client, two_clips)
    [warning] = reply["warnings"]
    assert "position_x" in warning and "20s" in warning and "video_main" in warning
    first, second = segments(json.loads(reply["output"]), "video_main")
    assert keyframes(first) == {"KFTypeAlpha": [(3 * S, [0.5])]}
    assert keyframes(second) == {}


def test_query_script_without_keyframe_problems_has_no_warnings(client, two_clips):
    assert "warnings" not in query(client, two_clips)


def test_volume_keyframes_on_an_audio_track_reach_the_audio_segment(client, draft):
    ok(client, "/add_audio", {"draft_id": draft, "audio_url": A, "end": 8, "target_start": 1})
    ok(client, "/add_video_keyframe", {"draft_id": draft, "track_name": "audio_main",
                                       "property_types": ["volume", "volume"], "times": [1, 4],
                                       "values": ["100%", 0.2]})
    reply = query(client, draft)
    assert not reply.get("warnings")
    seg = only_segment(json.loads(reply["output"]), "audio_main")
    assert keyframes(seg) == {"KFTypeVolume": [(0, [1.0]), (3 * S, [pytest.approx(0.2)])]}


@pytest.mark.parametrize("prop", ["alpha", "position_x", "rotation"])
def test_visual_keyframes_on_an_audio_track_are_rejected(client, draft, prop):
    ok(client, "/add_audio", {"draft_id": draft, "audio_url": A, "end": 8})
    before = script(client, draft)
    error = fail(client, "/add_video_keyframe", {"draft_id": draft, "track_name": "audio_main", "property_type": prop,
                                                 "time": 1, "value": "0.5"}, "invalid_parameter")
    assert "audio track" in error and prop in error
    assert script(client, draft) == before


@pytest.mark.parametrize("path,body_,name", [
    ("/add_effect", {"effect_type": "Blur"}, "effect_01"),
    ("/add_filter", {"filter_type": FILTER}, "filter_01"),
])
def test_keyframes_on_effect_and_filter_tracks_are_rejected(client, draft, path, body_, name):
    ok(client, path, {"draft_id": draft, **body_})
    error = fail(client, "/add_video_keyframe", {"draft_id": draft, "track_name": name, "time": 1, "value": "1"},
                 "invalid_parameter")
    assert name in error


@pytest.mark.parametrize("path,body_,name", [
    ("/add_text", {"text": "t", "start": 0, "end": 4}, "text_main"),
    ("/add_sticker", {"sticker_id": "1", "start": 0, "end": 4}, "sticker_main"),
    ("/add_image", {"image_url": I, "start": 0, "end": 4}, "image_main"),
])
def test_position_keyframes_on_text_sticker_and_image_clips(client, draft, path, body_, name):
    ok(client, path, {"draft_id": draft, **body_})
    ok(client, "/add_video_keyframe", {"draft_id": draft, "track_name": name, "property_types": ["position_y"] * 2,
                                       "times": [1, 3], "values": [-0.5, "0.5"]})
    seg = only_segment(content(client, draft), name)
    assert keyframes(seg) == {"KFTypePositionY": [(1 * S, [-0.5]), (3 * S, [0.5])]}


def test_keyframes_attach_to_an_open_ended_clip_once_its_length_is_known(client, draft):
    ok(client, "/add_video", {"draft_id": draft, "video_url": V1, "duration": 4, "target_start": 1})
    ok(client, "/add_video_keyframe", {"draft_id": draft, "property_types": ["alpha", "alpha"], "times": [1, 4.5],
                                       "values": ["0", "1"]})
    reply = query(client, draft)
    assert not reply.get("warnings")
    seg = only_segment(json.loads(reply["output"]), "video_main")
    assert timerange(seg) == (1 * S, 4 * S)
    assert keyframes(seg) == {"KFTypeAlpha": [(0, [0.0]), (3_500_000, [1.0])]}


def test_keyframes_added_before_later_clips_attach_to_them(client, draft):
    ok(client, "/add_video", {"draft_id": draft, "video_url": V1, "end": 2})
    ok(client, "/add_video_keyframe", {"draft_id": draft, "property_types": ["alpha", "alpha"], "times": [1, 3],
                                       "values": ["0", "1"]})
    assert len(warnings(client, draft)) == 1
    ok(client, "/add_video", {"draft_id": draft, "video_url": V2, "end": 2, "target_start": 2})
    reply = query(client, draft)
    assert not reply.get("warnings")
    first, second = segments(json.loads(reply["output"]), "video_main")
    assert keyframes(first) == {"KFTypeAlpha": [(1 * S, [0.0])]}
    assert keyframes(second) == {"KFTypeAlpha": [(1 * S, [1.0])]}


def test_uniform_scale_and_scale_x_on_one_clip_is_reported(client, two_clips):
    ok(client, "/add_video_keyframe", {"draft_id": two_clips, "property_types": ["scale_x", "uniform_scale"],
                                       "times": [1, 2], "values": ["1.5", "2"]})
    [warning] = warnings(client, two_clips)
    assert "uniform_scale" in warning and "2s" in warning


@pytest.mark.parametrize("extra,code", [
    ({"time": "soon"}, "invalid_parameter"),
    ({"time": -1}, "invalid_parameter"),
    ({"property_type": 5}, "invalid_parameter"),
    ({"track_name": ["video_main"]}, "invalid_parameter"),
])
def test_single_keyframe_wrong_types_are_rejected(client, two_clips, extra, code):
    before = script(client, two_clips)
    fail(client, "/add_video_keyframe", {"draft_id": two_clips, "time": 1, "value": "1", **extra}, code)
    assert script(client, two_clips) == before


# --- catalogue GET routes -------------------------------------------------------------------------

@pytest.mark.parametrize("path,category", sorted(catalog.ROUTES.items()))
@pytest.mark.parametrize("chosen", PROFILES)
def test_every_catalogue_route_lists_named_items(client, path, category, chosen):
    items = listing(client, path, chosen)
    assert isinstance(items, list) and len(items) > 1
    assert all(isinstance(i, dict) and isinstance(i.get("name"), str) and i["name"] for i in items)
    names = [i["name"] for i in items]
    assert len(set(names)) == len(names)
    assert names == catalog.names(chosen, category)


def test_there_are_13_catalogue_routes_including_filters(client):
    assert len(catalog.ROUTES) == 13 and "/get_filter_types" in catalog.ROUTES
    for path in catalog.ROUTES:
        reply = check_envelope(client.get(path).get_json())
        assert reply["success"] and reply["output"]


@pytest.mark.parametrize("chosen,groups", [("capcut", {"Voice_filters", "Voice_characters", "Speech_to_song"}),
                                           ("jianying", {"Tone", "Audio_scene", "Speech_to_song"})])
def test_audio_effect_items_have_name_type_and_params(client, chosen, groups):
    items = listing(client, "/get_audio_effect_types", chosen)
    assert {i["type"] for i in items} == groups
    with_params = 0
    for item in items:
        assert {"name", "type", "params"} <= set(item)
        for p in item["params"]:
            assert set(p) == {"name", "default_value", "min_value", "max_value"}
            assert p["min_value"] <= p["default_value"] <= p["max_value"]
            with_params += 1
    assert with_params > 0


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("path,category", sorted(catalog.ROUTES.items()))
def test_profile_jianying_switches_to_chinese_names(client, path, category):
    capcut = [i["name"] for i in listing(client, path, "capcut")]
    jianying = [i["name"] for i in listing(client, path, "jianying")]
    assert capcut == [i["name"] for i in check_envelope(client.get(path).get_json())["output"]]
    if category in ("font", "filter"):          # one table in both apps
        assert capcut == jianying
        return
    assert capcut != jianying
    assert sum(map(_cjk, jianying)) > len(jianying) / 2
    assert not any(map(_cjk, capcut))


@pytest.mark.parametrize("query_string", ["?profile=nope", "?profile=CAPCUT", "?profile=%20"])
def test_invalid_profile_query_is_an_error_envelope(client, query_string):
    resp = client.get(f"/get_transition_types{query_string}")
    assert resp.status_code == 200
    reply = check_envelope(resp.get_json())
    assert reply["success"] is False and reply["code"] == "unknown_name"
    assert "profile" in reply["error"]


def test_profile_alias_is_accepted_on_catalogue_routes(client):
    names = [i["name"] for i in listing(client, "/get_mask_types", "jianying_pro_10_2")]
    assert names == catalog.names("jianying", "mask")


# --- catalogue names export (first, middle, last of each list) -------------------------------------

# category -> (route, request for a name)
_USES = {
    "transition": ("/add_video", lambda n: {"video_url": V1, "end": 2, "transition": n}),
    "intro": ("/add_image", lambda n: {"image_url": I, "intro_animation": n}),
    "outro": ("/add_image", lambda n: {"image_url": I, "outro_animation": n}),
    "combo": ("/add_image", lambda n: {"image_url": I, "combo_animation": n}),
    "text_intro": ("/add_text", lambda n: {"text": "t", "intro_animation": n}),
    "text_outro": ("/add_text", lambda n: {"text": "t", "outro_animation": n}),
    "text_loop": ("/add_text", lambda n: {"text": "t", "loop_animation": n}),
    "mask": ("/add_video", lambda n: {"video_url": V1, "end": 2, "mask_type": n}),
    "scene_effect": ("/add_effect", lambda n: {"effect_type": n, "effect_category": "scene", "params": []}),
    "character_effect": ("/add_effect", lambda n: {"effect_type": n, "effect_category": "character"}),
    "filter": ("/add_filter", lambda n: {"filter_type": n}),
    "audio_effect": ("/add_audio", lambda n: {"audio_url": A, "end": 2, "effect_type": n}),
    "font": ("/add_text", lambda n: {"text": "t", "font": n}),
}
_ANIMATION_TYPES = {"intro": "in", "outro": "out", "combo": "group", "text_intro": "in", "text_outro": "out",
                    "text_loop": "loop"}


def exported_resource_ids(doc: dict, category: str, app: str) -> list[str]:
    """The resource ids the exported JSON carries for `category`, from the place the app reads them."""
    m = doc["materials"]
    if category == "transition":
        return [t["resource_id"] for t in m["transitions"]]
    if category == "mask":
        return [x["resource_id"] for x in m["common_mask" if app == "capcut" else "masks"]]
    if category in _ANIMATION_TYPES:
        return [a["resource_id"] for group in m["material_animations"] for a in group["animations"]
                if a["type"] == _ANIMATION_TYPES[category]]
    if category in ("scene_effect", "character_effect"):
        return [e["resource_id"] for e in m["video_effects"]]
    if category == "filter":
        return [e["resource_id"] for e in m["effects"] if e["type"] == "filter"]
    if category == "audio_effect":
        return [e["resource_id"] for e in m["audio_effects"]]
    if category == "font":
        return [s["font"]["id"] for t in m["texts"] for s in json.loads(t["content"])["styles"] if "font" in s]
    raise AssertionError(category)


def _samples() -> list:
    cases = []
    for app in PROFILES:
        for category in catalog.CATEGORIES:
            names = catalog.names(app, category)
            for where, index in (("first", 0), ("middle", len(names) // 2), ("last", len(names) - 1)):
                cases.append(pytest.param(app, category, names[index], id=f"{app}-{category}-{where}"))
    return cases


SAMPLES = _samples()


@pytest.mark.parametrize("app_name,category,name", SAMPLES)
def test_catalogue_name_exports_its_resource_id(client, app_name, category, name):
    entry = catalog.lookup(app_name, category, name)
    d = new_draft(client, profile=app_name)
    route, make = _USES[category]
    ok(client, route, {"draft_id": d, **make(name)})
    doc = content(client, d)
    assert exported_resource_ids(doc, category, app_name) == [entry.resource_id], (app_name, category, name)


def test_catalogue_samples_cover_every_category_of_both_profiles():
    assert {(p.values[0], p.values[1]) for p in SAMPLES} == {(a, c) for a in PROFILES for c in catalog.CATEGORIES}
    assert len(SAMPLES) == 2 * 13 * 3


# --- errors for these routes ------------------------------------------------------------------

@pytest.mark.parametrize("path,request_body,message", [
    ("/add_effect", {}, MISSING_EFFECT),
    ("/add_effect", {"effect_type": ""}, MISSING_EFFECT),
    ("/add_effect", {"effect_type": None, "params": []}, MISSING_EFFECT),
    ("/add_sticker", {}, MISSING_STICKER),
    ("/add_sticker", {"sticker_id": ""}, MISSING_STICKER),
])
def test_missing_parameter_messages_match_upstream(client, path, request_body, message):
    error = fail(client, path, request_body, "missing_parameter")
    assert error.startswith(message) and error == message


@pytest.fixture
def full(client) -> str:
    """A draft with a clip, audio, an effect, a filter, a sticker and a text."""
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "end": 5})
    ok(client, "/add_audio", {"draft_id": d, "audio_url": A, "end": 8})
    ok(client, "/add_effect", {"draft_id": d, "effect_type": "Blur", "start": 0, "end": 3})
    ok(client, "/add_filter", {"draft_id": d, "filter_type": FILTER, "start": 0, "end": 3})
    ok(client, "/add_sticker", {"draft_id": d, "sticker_id": STICKER_ID, "start": 0, "end": 5})
    ok(client, "/add_text", {"draft_id": d, "text": "t", "start": 0, "end": 3})
    ok(client, "/add_video_keyframe", {"draft_id": d, "property_type": "alpha", "time": 1, "value": "0.5"})
    return d


@pytest.mark.parametrize("path,request_body,code", [
    ("/add_effect", {"effect_type": "Like", "effect_category": "other", "track_name": "new"}, "unknown_name"),
    ("/add_effect", {"effect_type": "NoSuch", "track_name": "new"}, "unknown_name"),
    ("/add_effect", {"effect_type": "Blur", "params": [150], "track_name": "new"}, "invalid_parameter"),
    ("/add_effect", {"effect_type": "Blur", "params": "50", "track_name": "new"}, "invalid_parameter"),
    ("/add_effect", {"effect_type": "Blur", "params": ["x"], "track_name": "new"}, "invalid_parameter"),
    ("/add_effect", {"effect_type": 5, "track_name": "new"}, "invalid_parameter"),
    ("/add_effect", {"effect_type": "Blur", "start": 2, "end": 1, "track_name": "new"}, "invalid_parameter"),
    ("/add_effect", {"effect_type": "Blur", "start": "soon", "track_name": "new"}, "invalid_parameter"),
    ("/add_effect", {"effect_type": "Blur", "relative_index": "top", "track_name": "new"}, "invalid_parameter"),
    ("/add_effect", {"effect_type": "Blur", "start": 1, "end": 2}, "segment_overlap"),
    ("/add_effect", {"effect_type": "Blur", "track_name": "video_main"}, "track_kind_mismatch"),
    ("/add_filter", {"filter_type": "NoSuch", "track_name": "new"}, "unknown_name"),
    ("/add_filter", {"filter_type": FILTER, "filter_intensity": 101, "track_name": "new"}, "invalid_parameter"),
    ("/add_filter", {"filter_type": FILTER, "start": 1, "end": 2}, "segment_overlap"),
    ("/add_filter", {"filter_type": FILTER, "track_name": "effect_01"}, "track_kind_mismatch"),
    ("/add_filter", {"filter_type": ["_1980"], "track_name": "new"}, "invalid_parameter"),
    ("/add_sticker", {"sticker_id": 123, "track_name": "new"}, "invalid_parameter"),
    ("/add_sticker", {"sticker_id": STICKER_ID, "flip_horizontal": "yes please", "track_name": "new"},
     "invalid_parameter"),
    ("/add_sticker", {"sticker_id": STICKER_ID, "scale_x": "big", "track_name": "new"}, "invalid_parameter"),
    ("/add_sticker", {"sticker_id": STICKER_ID, "start": 3, "end": 3, "track_name": "new"}, "invalid_parameter"),
    ("/add_sticker", {"sticker_id": STICKER_ID, "start": 4, "end": 6}, "segment_overlap"),
    ("/add_sticker", {"sticker_id": STICKER_ID, "track_name": "text_main"}, "track_kind_mismatch"),
    ("/add_video_keyframe", {"property_types": ["alpha"], "times": [1, 2], "values": ["1", "1"]},
     "invalid_parameter"),
    ("/add_video_keyframe", {"property_type": "alpha", "time": 1, "value": "abc"}, "invalid_parameter"),
    ("/add_video_keyframe", {"property_type": "volume", "time": 1, "value": "1", "track_name": "text_main"},
     "invalid_parameter"),
    ("/add_video_keyframe", {"property_type": "alpha", "time": 1, "track_name": "nope"}, "track_not_found"),
    ("/add_video_keyframe", {"property_type": "alpha", "time": 1, "track_name": "filter_01"}, "invalid_parameter"),
])
def test_a_failing_request_changes_nothing(client, full, path, request_body, code):
    before = query(client, full)
    fail(client, path, {"draft_id": full, **request_body}, code)
    after = query(client, full)
    assert after["output"] == before["output"]
    assert after.get("warnings") == before.get("warnings")


@pytest.mark.parametrize("path,request_body,prefix", [
    ("/add_effect", {"effect_type": "NoSuch"}, EFFECT_ERROR),
    ("/add_filter", {"filter_type": "NoSuch"}, FILTER_ERROR),
    ("/add_sticker", {"sticker_id": STICKER_ID, "alpha": 2}, STICKER_ERROR),
    ("/add_video_keyframe", {"property_type": "nope"}, KEYFRAME_ERROR),
])
def test_errors_use_the_upstream_templates(client, full, path, request_body, prefix):
    reply = post(client, path, {"draft_id": full, **request_body})
    assert reply["success"] is False and reply["error"].startswith(prefix)


# --- client-style sequences (as upstream's example scripts send them) -------------------------------

def test_example_keyframe_02_batch_fade_in_bounce_and_position(client):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": V1, "start": 0, "end": 10, "track_name": "video_main"})
    out = ok(client, "/add_video_keyframe", {
        "draft_id": d, "track_name": "video_main",
        "property_types": ["alpha", "alpha", "uniform_scale", "uniform_scale", "uniform_scale",
                           "position_y", "position_y"],
        "times": [0, 3, 3, 4, 5, 5, 8],
        "values": ["0", "1", "1.0", "1.2", "1.0", 0.0, -0.35]})
    assert out["added_keyframes_count"] == 7
    reply = query(client, d)
    assert not reply.get("warnings")
    seg = only_segment(json.loads(reply["output"]), "video_main")
    assert keyframes(seg) == {
        "KFTypeAlpha": [(0, [0.0]), (3 * S, [1.0])],
        "KFTypeScaleX": [(3 * S, [1.0]), (4 * S, [1.2]), (5 * S, [1.0])],
        "KFTypePositionY": [(5 * S, [0.0]), (8 * S, [-0.35])],
    }
    assert seg["uniform_scale"]["on"] is True


def test_example_test01_single_position_keyframes_on_images(client):
    d = new_draft(client, width=480, height=480)
    ok(client, "/add_image", {"draft_id": d, "image_url": I, "start": 0, "end": 3, "track_name": "main",
                              "width": 480, "height": 480, "license_key": "x"})
    ok(client, "/add_image", {"draft_id": d, "image_url": I2, "start": 3, "end": 6, "track_name": "main"})
    for t, v in ((1.5, "0.5"), (3.5, "-0.5")):
        ok(client, "/add_video_keyframe", {"draft_id": d, "track_name": "main", "property_type": "position_y",
                                           "time": t, "value": v, "license_key": "x"})
    first, second = segments(content(client, d), "main")
    assert keyframes(first) == {"KFTypePositionY": [(1_500_000, [0.5])]}
    assert keyframes(second) == {"KFTypePositionY": [(500_000, [-0.5])]}


@pytest.mark.parametrize("media", ["image", "video"])
def test_example_transition_consecutive_clips_with_dissolve(client, media):
    d = new_draft(client)
    for i, url in enumerate((I, I2) if media == "image" else (V1, V2)):
        request = {"draft_id": d, "track_name": "main", "transition": "Dissolve", "transition_duration": 1.0}
        if media == "image":
            request.update(image_url=url, start=3 * i, end=3 * i + 3)
        else:
            request.update(video_url=url, start=0, end=3, target_start=3 * i)
        ok(client, f"/add_{media}", request)
    doc = content(client, d)
    first, second = segments(doc, "main")
    dissolve = catalog.lookup("capcut", "transition", "Dissolve")
    transitions = doc["materials"]["transitions"]
    assert len(transitions) == 2
    [mine] = refs(doc, first, "transitions")
    assert mine["resource_id"] == dissolve.resource_id and mine["name"] == "Dissolve"
    assert mine["duration"] == 1 * S
    assert len(refs(doc, second, "transitions")) == 1 and refs(doc, second, "transitions")[0]["id"] != mine["id"]
    assert [timerange(s) for s in (first, second)] == [(0, 3 * S), (3 * S, 3 * S)]
