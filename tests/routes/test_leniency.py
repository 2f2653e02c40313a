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
