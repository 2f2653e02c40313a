"""/add_text and /add_subtitle over the Flask test client.

Every assertion on the draft reads the parsed `/query_script` output (the app JSON): the text
material's `content` is itself a JSON string, parsed with `body()`. Both profiles are exercised
where the catalogue names differ. The SRT-over-HTTP tests start a small `http.server` on
127.0.0.1 in a thread; nothing else touches the network.
"""
from __future__ import annotations

import http.server
import json
import threading

import pytest
from helpers import fail, make_settings, new_draft, ok, only_segment, post, segments, track

from capcut_drafts.model import catalog

S = 1_000_000   # µs per second
MISSING_TEXT = "Hi, the required parameters 'text', 'start' or 'end' are missing. "
MISSING_SRT = "Hi, the required parameters 'srt' are missing."
TEXT_ERROR = "Error occurred while processing text: "
SUBTITLE_ERROR = "Error occurred while processing subtitle: "
STEP6_SRT = "1\n00:00:00,000 --> 00:00:02,500\nHello\n\n2\n00:00:02,500 --> 00:00:05,000\nWorld\n"


# --- helpers -----------------------------------------------------------------------------------


def script(client, draft_id: str) -> str:
    output = ok(client, "/query_script", {"draft_id": draft_id})
    assert isinstance(output, str)
    return output


def content(client, draft_id: str) -> dict:
    return json.loads(script(client, draft_id))


def material(doc: dict, segment: dict) -> dict:
    """The text material a text segment shows."""
    found = [m for m in doc["materials"]["texts"] if m["id"] == segment["material_id"]]
    assert len(found) == 1
    return found[0]


def body(mat: dict) -> dict:
    """The parsed `content` of a text material: {"text", "styles": [...]}."""
    assert isinstance(mat["content"], str)
    return json.loads(mat["content"])


def styles(doc: dict, segment: dict) -> list[dict]:
    return body(material(doc, segment))["styles"]


def refs(doc: dict, segment: dict, bucket: str) -> list[dict]:
    wanted = set(segment["extra_material_refs"])
    return [m for m in doc["materials"][bucket] if m["id"] in wanted]


def animations(doc: dict, segment: dict) -> dict[str, dict]:
    """The segment's animations by type ('in', 'out', 'loop')."""
    found = [a for m in refs(doc, segment, "material_animations") for a in m["animations"]]
    by_type = {a["type"]: a for a in found}
    assert len(by_type) == len(found), found
    return by_type


def color(style: dict) -> list[float]:
    return style["fill"]["content"]["solid"]["color"]


def font_id(app: str, name: str) -> str:
    return catalog.lookup(app, "font", name).resource_id


def covered(style_list: list[dict], length: int) -> list[tuple[int, int]]:
    """The style ranges, checked to cover 0..length exactly once, in order."""
    ranges = [tuple(s["range"]) for s in style_list]
    cursor = 0
    for start, end in ranges:
        assert start == cursor and end > start, ranges
        cursor = end
    assert cursor == length, ranges
    return ranges


def add_text(client, draft_id: str, **fields) -> dict:
    """Add one text on its own track and return (document, segment)."""
    fields.setdefault("text", "Hello")
    fields.setdefault("track_name", "t")
    ok(client, "/add_text", {"draft_id": draft_id, **fields})
    doc = content(client, draft_id)
    return doc, segments(doc, fields["track_name"])[-1]


# --- /add_text: defaults, aliases, font -------------------------------------------------------

def test_text_defaults_are_red_size_8_wenxuan_font_0_to_5_seconds_on_text_main(client, any_draft, profile):
    ok(client, "/add_text", {"draft_id": any_draft, "text": "Hi"})
    doc = content(client, any_draft)
    seg = only_segment(doc, "text_main")
    assert seg["target_timerange"] == {"start": 0, "duration": 5 * S}
    assert seg["render_index"] == 14000 and track(doc, "text_main")["flag"] == 0
    [style] = styles(doc, seg)
    assert style["range"] == [0, 2]
    assert color(style) == [1.0, 0.0, 0.0]
    assert style["size"] == 8.0
    assert style["fill"].get("alpha", 1) == 1
    assert not {"bold", "italic", "underline"} & set(style) and style["useLetterColor"] is True
    assert style["font"]["id"] == font_id(profile, "文轩体")
    assert "strokes" not in style and "shadows" not in style
    mat = material(doc, seg)
    assert mat["text_color"].lower() == "#ff0000" and mat["font_size"] == 8.0
    assert body(mat)["text"] == "Hi"
    assert seg["clip"]["transform"] == {"x": 0.0, "y": 0.0}
    assert refs(doc, seg, "effects") == []


def test_short_aliases_win_over_the_long_names(client, draft):
    doc, seg = add_text(client, draft, color="#00FF00", font_color="#0000FF", size=13, font_size=4,
                        alpha=0.25, font_alpha=0.75)
    [style] = styles(doc, seg)
    assert color(style) == [0.0, 1.0, 0.0]
    assert style["size"] == 13.0
    assert style["fill"]["alpha"] == 0.25


def test_alpha_reaches_the_fill_and_the_global_alpha(client, draft):
    doc, seg = add_text(client, draft, alpha=0.25)
    assert styles(doc, seg)[0]["fill"]["alpha"] == 0.25
    assert material(doc, seg)["global_alpha"] == 0.25


def test_flat_text_alpha_mirrors_the_requested_alpha(client, draft):
    doc, seg = add_text(client, draft, alpha=0.25)
    assert material(doc, seg)["text_alpha"] == 0.25


def test_long_names_apply_when_the_aliases_are_absent_and_rgb_shorthand_expands(client, draft):
    doc, seg = add_text(client, draft, font_color="#00f", font_size=4.5, font_alpha=0.75)
    [style] = styles(doc, seg)
    assert color(style) == [0.0, 0.0, 1.0]
    assert style["size"] == 4.5
    assert style["fill"]["alpha"] == 0.75


def test_null_aliases_do_not_hide_the_long_names(client, draft):
    doc, seg = add_text(client, draft, color=None, font_color="#00FF00", size=None, font_size=9)
    [style] = styles(doc, seg)
    assert color(style) == [0.0, 1.0, 0.0] and style["size"] == 9.0


@pytest.mark.parametrize("font", ["思源中宋", "SourceHanSansCN_Regular"])
def test_font_by_catalogue_name_writes_its_resource_id(client, any_draft, profile, font):
    doc, seg = add_text(client, any_draft, font=font)
    [style] = styles(doc, seg)
    assert style["font"]["id"] == font_id(profile, font)


def test_font_null_writes_no_font_so_the_app_default_is_used(client, draft):
    doc, seg = add_text(client, draft, font=None)
    [style] = styles(doc, seg)
    assert "font" not in style
    assert material(doc, seg)["font_id"] == ""


def test_start_end_transform_and_track_name(client, draft):
    ok(client, "/add_text", {"draft_id": draft, "text": "x", "start": 1.5, "end": 4, "transform_x": 0.25,
                             "transform_y": -0.45, "track_name": "captions"})
    seg = only_segment(content(client, draft), "captions")
    assert seg["target_timerange"] == {"start": 1_500_000, "duration": 2_500_000}
    assert seg["clip"]["transform"] == {"x": 0.25, "y": -0.45}


# --- border, background, shadow ---------------------------------------------------------------

def test_border_width_colour_alpha_reach_the_stroke(client, draft):
    doc, seg = add_text(client, draft, border_width=40, border_color="#00FF00", border_alpha=0.5)
    [style] = styles(doc, seg)
    [stroke] = style["strokes"]
    assert stroke["width"] == pytest.approx(40 / 100 * 0.2)      # the app's 0..100 slider → 0..0.2
    assert stroke["content"]["solid"]["color"] == [0.0, 1.0, 0.0]
    assert stroke["content"]["solid"]["alpha"] == 0.5
    mat = material(doc, seg)
    assert mat["border_color"].lower() == "#00ff00" and mat["border_alpha"] == 0.5


def test_border_width_zero_writes_no_stroke(client, draft):
    doc, seg = add_text(client, draft, border_width=0, border_color="#00FF00")
    assert "strokes" not in styles(doc, seg)[0]


@pytest.mark.parametrize("requested,stored", [(0, 2), (1, 1), (2, 2)])
def test_background_style_alpha_radius_size_and_offsets(client, draft, requested, stored):
    doc, seg = add_text(client, draft, background_color="#00FF00", background_style=requested,
                        background_alpha=0.5, background_round_radius=0.3, background_height=0.2,
                        background_width=0.4, background_horizontal_offset=0.75, background_vertical_offset=0.25)
    mat = material(doc, seg)
    assert mat["background_style"] == stored
    assert mat["background_color"].lower() == "#00ff00"
    assert mat["background_alpha"] == 0.5
    assert mat["background_round_radius"] == 0.3
    assert mat["background_height"] == 0.2
    assert mat["background_width"] == 0.4
    assert mat["background_horizontal_offset"] == pytest.approx(0.5)     # 2·0.75 − 1
    assert mat["background_vertical_offset"] == pytest.approx(-0.5)      # 2·0.25 − 1


def test_background_offsets_default_to_the_centre(client, draft):
    mat = material(*add_text(client, draft, background_alpha=1.0))
    assert (mat["background_horizontal_offset"], mat["background_vertical_offset"]) == (0.0, 0.0)
    assert (mat["background_width"], mat["background_height"]) == (0.14, 0.14)


def test_background_style_outside_0_to_2_is_rejected(client, draft):
    error = fail(client, "/add_text", {"draft_id": draft, "text": "x", "background_alpha": 0.5,
                                       "background_style": 3}, "invalid_parameter")
    assert "background_style" in error


def test_shadow_parameters_reach_every_style(client, draft):
    doc, seg = add_text(client, draft, shadow_enabled=True, shadow_alpha=0.5, shadow_angle=30,
                        shadow_color="#FF0000", shadow_distance=8, shadow_smoothing=0.6)
    [style] = styles(doc, seg)
    [shadow] = style["shadows"]
    assert shadow["alpha"] == 0.5 and shadow["angle"] == 30 and shadow["distance"] == 8
    assert shadow["content"]["solid"]["color"] == [1.0, 0.0, 0.0]
    assert shadow["diffuse"] == pytest.approx(0.6 / 6)        # smoothing 0..1 on the app's diffuse scale
    assert material(doc, seg)["has_shadow"] is True


def test_shadow_defaults(client, draft):
    doc, seg = add_text(client, draft, shadow_enabled=True)
    [shadow] = styles(doc, seg)[0]["shadows"]
    assert (shadow["alpha"], shadow["angle"], shadow["distance"]) == (0.9, -45.0, 5.0)
    assert shadow["content"]["solid"]["color"] == [0.0, 0.0, 0.0]


def test_shadow_parameters_are_mirrored_in_the_flat_material_fields(client, draft):
    doc, seg = add_text(client, draft, shadow_enabled=True, shadow_alpha=0.5, shadow_angle=30,
                        shadow_color="#FF0000", shadow_distance=8, shadow_smoothing=0.6)
    mat = material(doc, seg)
    assert mat["has_shadow"] is True
    assert (mat["shadow_alpha"], mat["shadow_angle"], mat["shadow_distance"]) == (0.5, 30, 8)
    assert mat["shadow_color"].lower() == "#ff0000"
    assert mat["shadow_smoothing"] == pytest.approx(1.8)


def test_no_shadow_unless_enabled(client, draft):
    doc, seg = add_text(client, draft, shadow_alpha=0.5, shadow_color="#FF0000")
    assert "shadows" not in styles(doc, seg)[0]
    assert material(doc, seg)["has_shadow"] is False


# --- bubble, flower text ----------------------------------------------------------------------

def test_bubble_becomes_a_text_shape_effect_referenced_by_the_segment(client, draft):
    doc, seg = add_text(client, draft, bubble_effect_id="7080000000000000001",
                        bubble_resource_id="7080000000000000002")
    [shape] = refs(doc, seg, "effects")
    assert shape["type"] == "text_shape"
    assert (shape["effect_id"], shape["resource_id"]) == ("7080000000000000001", "7080000000000000002")


@pytest.mark.parametrize("given", [{"bubble_effect_id": "1"}, {"bubble_resource_id": "2"}])
def test_bubble_needs_both_ids(client, draft, given):
    error = fail(client, "/add_text", {"draft_id": draft, "text": "x", **given}, "invalid_parameter")
    assert "bubble_effect_id" in error and "bubble_resource_id" in error


def test_flower_text_becomes_a_text_effect_referenced_by_the_segment(client, draft):
    doc, seg = add_text(client, draft, effect_effect_id="7090000000000000003")
    [flower] = refs(doc, seg, "effects")
    assert flower["type"] == "text_effect"
    assert flower["effect_id"] == flower["resource_id"] == "7090000000000000003"
    assert styles(doc, seg)[0]["effectStyle"]["id"] == "7090000000000000003"


def test_bubble_and_flower_text_together(client, draft):
    doc, seg = add_text(client, draft, bubble_effect_id="11", bubble_resource_id="22", effect_effect_id="33")
    assert sorted(e["type"] for e in refs(doc, seg, "effects")) == ["text_effect", "text_shape"]


# --- animations -----------------------------------------------------------------------------------

def _first(app: str, category: str) -> catalog.Entry:
    return catalog.lookup(app, category, catalog.names(app, category)[0])


def test_intro_outro_loop_animations_and_the_loop_fills_the_rest(client, any_draft, profile):
    intro, outro, loop = (_first(profile, c) for c in ("text_intro", "text_outro", "text_loop"))
    doc, seg = add_text(client, any_draft, start=2, end=5, intro_animation=intro.name, intro_duration=0.5,
                        outro_animation=outro.name, outro_duration=1.0, loop_animation=loop.name)
    anims = animations(doc, seg)
    assert set(anims) == {"in", "out", "loop"}
    assert (anims["in"]["resource_id"], anims["in"]["start"], anims["in"]["duration"]) == \
        (intro.resource_id, 0, 500_000)
    assert (anims["out"]["resource_id"], anims["out"]["start"], anims["out"]["duration"]) == \
        (outro.resource_id, 2 * S, 1 * S)
    assert (anims["loop"]["resource_id"], anims["loop"]["start"], anims["loop"]["duration"]) == \
        (loop.resource_id, 500_000, 1_500_000)


def test_animation_durations_are_capped_at_the_clip_length(client, any_draft, profile):
    intro, outro = _first(profile, "text_intro"), _first(profile, "text_outro")
    doc, seg = add_text(client, any_draft, start=0, end=0.8, intro_animation=intro.name, intro_duration=3,
                        track_name="a")
    assert animations(doc, seg)["in"]["duration"] == 800_000
    doc, seg = add_text(client, any_draft, start=0, end=0.8, outro_animation=outro.name, outro_duration=3,
                        track_name="b")
    out = animations(doc, seg)["out"]
    assert (out["start"], out["duration"]) == (0, 800_000)


def test_loop_alone_covers_the_whole_clip(client, any_draft, profile):
    loop = _first(profile, "text_loop")
    doc, seg = add_text(client, any_draft, start=1, end=4, loop_animation=loop.name)
    assert {k: (a["start"], a["duration"]) for k, a in animations(doc, seg).items()} == {"loop": (0, 3 * S)}


def test_intro_duration_defaults_to_half_a_second(client, any_draft, profile):
    doc, seg = add_text(client, any_draft, intro_animation=_first(profile, "text_intro").name)
    assert animations(doc, seg)["in"]["duration"] == 500_000


@pytest.mark.parametrize("key", ["intro_animation", "outro_animation", "loop_animation"])
def test_other_family_animation_name_without_a_counterpart_is_left_out_with_a_warning(client, any_draft, profile,
                                                                                        key):
    other = "jianying" if profile == "capcut" else "capcut"
    category = {"intro_animation": "text_intro", "outro_animation": "text_outro",
                "loop_animation": "text_loop"}[key]
    name = next(n for n in catalog.names(other, category)
                if catalog.find(profile, category, n) is None and catalog.counterpart(profile, category, n) is None)
    reply = post(client, "/add_text", {"draft_id": any_draft, "text": "x", "track_name": "t", key: name})
    assert reply["success"], reply
    [warning] = reply["warnings"]
    assert name in warning and "names" in warning
    doc = content(client, any_draft)
    assert animations(doc, segments(doc, "t")[-1]) == {}


# --- size and layout -------------------------------------------------------------------------------

@pytest.mark.parametrize("canvas,expected", [((1080, 1920), (540, 480)), ((1920, 1080), (960, 270))])
def test_fixed_width_and_height_are_canvas_ratios_written_in_pixels(client, canvas, expected):
    d = new_draft(client, width=canvas[0], height=canvas[1])
    mat = material(*add_text(client, d, fixed_width=0.5, fixed_height=0.25))
    assert (mat["fixed_width"], mat["fixed_height"]) == expected


def test_fixed_size_not_set_by_default(client, draft):
    mat = material(*add_text(client, draft))
    assert mat["fixed_width"] <= 0 and mat["fixed_height"] <= 0


def test_vertical_text_sets_vertical_typesetting(client, draft):
    assert material(*add_text(client, draft, vertical=True, track_name="v"))["typesetting"] == 1
    assert material(*add_text(client, draft, vertical=False, track_name="h"))["typesetting"] == 0


# --- text_styles ------------------------------------------------------------------------------------

def test_text_styles_every_range_attribute_reaches_the_json(client, any_draft, profile):
    text = "Hello brave new world"
    doc, seg = add_text(client, any_draft, text=text, font_color="#FFFFFF", font_size=8, border_width=10,
                        text_styles=[
                            {"start": 0, "end": 5, "style": {"size": 12, "bold": True, "color": "#00FF00",
                                                             "alpha": 0.5},
                             "border": {"width": 40, "color": "#0000FF", "alpha": 0.8}},
                            {"start": 6, "end": 11, "style": {"italic": True, "underline": True},
                             "font": "思源中宋"},
                            {"start": 16, "end": 21, "style": {"color": "#FF0000"}, "border": {"width": 0}},
                        ])
    style_list = styles(doc, seg)
    assert covered(style_list, len(text)) == [(0, 5), (5, 6), (6, 11), (11, 16), (16, 21)]
    hello, gap1, brave, gap2, world = style_list
    assert (hello["size"], hello["bold"], "italic" in hello, "underline" in hello) == (12, True, False, False)
    assert color(hello) == [0.0, 1.0, 0.0] and hello["fill"]["alpha"] == 0.5
    [stroke] = hello["strokes"]
    assert stroke["width"] == pytest.approx(0.08)
    assert stroke["content"]["solid"] == {"alpha": 0.8, "color": [0.0, 0.0, 1.0]}
    assert hello["font"]["id"] == font_id(profile, "文轩体")
    assert (brave["italic"], brave["underline"], "bold" in brave) == (True, True, False)
    assert brave["font"]["id"] == font_id(profile, "思源中宋")
    assert color(brave) == [1.0, 1.0, 1.0] and brave["size"] == 8.0       # unset fields: segment style
    assert brave["strokes"][0]["width"] == pytest.approx(0.02)             # segment border
    assert color(world) == [1.0, 0.0, 0.0] and "strokes" not in world      # border width 0: none
    for gap in (gap1, gap2):
        assert gap["size"] == 8 and not {"bold", "italic", "underline"} & set(gap)     # defaults are left out
        assert color(gap) == [1.0, 1.0, 1.0] and "alpha" not in gap["fill"]
        assert gap["font"]["id"] == font_id(profile, "文轩体")
        assert gap["strokes"][0]["width"] == pytest.approx(0.02)
    assert body(material(doc, seg))["text"] == text


@pytest.mark.parametrize("ranges,expected", [
    ([], [(0, 10)]),
    ([(0, 10)], [(0, 10)]),
    ([(3, 5)], [(0, 3), (3, 5), (5, 10)]),
    ([(0, 2), (2, 4)], [(0, 2), (2, 4), (4, 10)]),
    ([(7, 10), (1, 3)], [(0, 1), (1, 3), (3, 7), (7, 10)]),     # given out of order
    ([(9, 10)], [(0, 9), (9, 10)]),
])
def test_text_styles_gaps_are_filled_and_every_character_is_covered_once(client, draft, ranges, expected):
    text = "abcdefghij"
    doc, seg = add_text(client, draft, text=text, font_color="#FFFFFF",
                        text_styles=[{"start": a, "end": b, "style": {"color": "#00FF00"}} for a, b in ranges])
    style_list = styles(doc, seg)
    assert covered(style_list, len(text)) == expected
    for style in style_list:
        wanted = [0.0, 1.0, 0.0] if tuple(style["range"]) in ranges else [1.0, 1.0, 1.0]
        assert color(style) == wanted, style["range"]


def test_text_styles_not_starting_at_zero_with_a_shadow_works(client, draft):
    # upstream: "cannot access local variable 'style_item'"
    doc, seg = add_text(client, draft, text="abcdef", shadow_enabled=True, shadow_color="#00FF00",
                        text_styles=[{"start": 2, "end": 4, "style": {"bold": True}}])
    style_list = styles(doc, seg)
    assert covered(style_list, 6) == [(0, 2), (2, 4), (4, 6)]
    for style in style_list:
        [shadow] = style["shadows"]
        assert shadow["content"]["solid"]["color"] == [0.0, 1.0, 0.0]
    assert [s.get("bold", False) for s in style_list] == [False, True, False]


@pytest.mark.parametrize("ranges,words", [
    ([(0, 7)], ["start=0", "end=7", "<= 6"]),
    ([(-1, 2)], ["start=-1"]),
    ([(3, 3)], ["start=3", "end=3"]),
    ([(4, 2)], ["start=4", "end=2"]),
    ([(0, 3), (2, 5)], ["2..5", "overlap"]),
    ([(0, 6), (1, 2)], ["1..2", "overlap"]),
])
def test_text_styles_out_of_bounds_or_overlapping_are_rejected(client, draft, ranges, words):
    before = script(client, draft)
    error = fail(client, "/add_text", {"draft_id": draft, "text": "abcdef", "text_styles": [
        {"start": a, "end": b} for a, b in ranges]}, "invalid_parameter")
    assert error.startswith(TEXT_ERROR + "text_styles[")
    for word in words:
        assert word in error
    assert script(client, draft) == before


def test_text_styles_error_names_the_item_as_the_client_sent_it(client, draft):
    error = fail(client, "/add_text", {"draft_id": draft, "text": "abcdef", "text_styles": [
        {"start": 3, "end": 5}, {"start": 0, "end": 20}]}, "invalid_parameter")
    assert "text_styles[1]" in error


def test_text_styles_colour_error_names_the_item_as_the_client_sent_it(client, draft):
    error = fail(client, "/add_text", {"draft_id": draft, "text": "abcdef", "text_styles": [
        {"start": 3, "end": 5, "style": {"color": "red"}}, {"start": 0, "end": 2}]}, "invalid_color")
    assert "text_styles[0].style.color" in error


@pytest.mark.parametrize("item,code,words", [
    ({"start": 0, "end": 2, "font": "NoSuchFont"}, "unknown_name", ["NoSuchFont"]),
    ({"start": 0, "end": 2, "style": {"color": "green"}}, "invalid_color", ["green"]),
    ({"start": 0, "end": 2, "style": {"size": 0}}, "invalid_parameter", ["size"]),
    ({"start": 0}, "invalid_parameter", ["end"]),
    ({"start": "a", "end": 2}, "invalid_parameter", ["start"]),
])
def test_text_styles_bad_items_are_rejected(client, draft, item, code, words):
    error = fail(client, "/add_text", {"draft_id": draft, "text": "abcdef", "text_styles": [item]}, code)
    for word in words:
        assert word in error


def test_text_styles_must_be_a_list(client, draft):
    error = fail(client, "/add_text", {"draft_id": draft, "text": "abc", "text_styles": "bold"}, "invalid_parameter")
    assert "text_styles" in error


# --- /add_text errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("request_body", [
    {}, {"text": ""}, {"text": None}, {"text": "hi", "start": None}, {"text": "hi", "end": None},
])
def test_add_text_missing_parameters_use_upstream_wording(client, request_body):
    assert fail(client, "/add_text", request_body, "missing_parameter").startswith(MISSING_TEXT)


@pytest.mark.parametrize("extra,code,prefix", [
    ({"font": "NoSuchFont"}, "unknown_name", "Unknown font 'NoSuchFont'"),
    ({"alpha": 2}, "invalid_parameter", "alpha value must be between 0.0 and 1.0"),
    ({"font_alpha": -0.1}, "invalid_parameter", "alpha value must be between 0.0 and 1.0"),
    ({"border_width": 5, "border_alpha": 3}, "invalid_parameter", "border_alpha value must be between 0.0 and 1.0"),
    ({"background_alpha": 1.5}, "invalid_parameter", "background_alpha value must be between 0.0 and 1.0"),
    ({"font_color": "#GGG"}, "invalid_color", "Color parameter error: Invalid hexadecimal color code: #GGG"),
    ({"border_width": 5, "border_color": "black"}, "invalid_color", "Color parameter error: Invalid hexadecimal"),
    ({"shadow_enabled": True, "shadow_color": "#12345"}, "invalid_color", "Color parameter error:"),
    ({"background_alpha": 0.5, "background_color": "red"}, "invalid_color", "Color parameter error:"),
    ({"start": 3, "end": 2}, "invalid_parameter", "Invalid parameters 'start'/'end'"),
    ({"start": 2, "end": 2}, "invalid_parameter", "Invalid parameters 'start'/'end'"),
    ({"start": -1}, "invalid_parameter", "Invalid parameter 'start'"),
    ({"font_size": 0}, "invalid_parameter", "Invalid parameter 'font_size'"),
    ({"font_size": "big"}, "invalid_parameter", "Invalid parameter 'font_size'"),
    ({"start": "soon"}, "invalid_parameter", "Invalid parameter 'start'"),
    ({"vertical": "sideways"}, "invalid_parameter", "Invalid parameter 'vertical'"),
    ({"intro_animation": "Fade_In", "intro_duration": -1}, "invalid_parameter", "Invalid parameter 'intro_duration'"),
    ({"track_name": "clips"}, "track_kind_mismatch", "Track 'clips' is a video track"),
    ({"start": 1, "end": 2, "track_name": "existing"}, "segment_overlap",
     "New segment overlaps with existing segment [start: 0, end: 3000000]"),
])
def test_add_text_errors_use_the_upstream_template_and_change_nothing(client, extra, code, prefix):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": "http://127.0.0.1:9/v.mp4", "end": 1, "track_name": "clips"})
    ok(client, "/add_text", {"draft_id": d, "text": "old", "start": 0, "end": 3, "track_name": "existing"})
    before = script(client, d)
    error = fail(client, "/add_text", {"draft_id": d, "text": "x", "track_name": "new", **extra}, code)
    assert error.startswith(TEXT_ERROR + prefix), error
    assert "click the link below" not in error          # upstream's sentence pointed at no link
    assert len(error) < 400, "the message lists a whole table"
    assert script(client, d) == before


@pytest.mark.parametrize("value", [5, ["a"], {"t": 1}, True])
def test_add_text_text_must_be_a_string(client, value):
    error = fail(client, "/add_text", {"text": value}, "invalid_parameter")
    assert "'text'" in error


def test_add_text_accepts_numbers_sent_as_strings_for_times(client, draft):
    # Upstream formats times into "<x>s" strings, so "1" works there; keep it working.
    ok(client, "/add_text", {"draft_id": draft, "text": "x", "start": "1", "end": "2.5"})
    assert only_segment(content(client, draft), "text_main")["target_timerange"] == \
        {"start": 1 * S, "duration": 1_500_000}


def test_add_text_ignores_unknown_keys(client, draft):
    ok(client, "/add_text", {"draft_id": draft, "text": "x", "draft_folder": "C:\\drafts", "license_key": "k",
                             "is_capcut": 1})
    doc = content(client, draft)
    assert body(material(doc, only_segment(doc, "text_main")))["text"] == "x"


def test_texts_on_one_track_must_not_overlap_but_may_touch(client, draft):
    ok(client, "/add_text", {"draft_id": draft, "text": "a", "start": 0, "end": 1})
    ok(client, "/add_text", {"draft_id": draft, "text": "b", "start": 1, "end": 2})
    fail(client, "/add_text", {"draft_id": draft, "text": "c", "start": 1.5, "end": 3}, "segment_overlap")
    doc = content(client, draft)
    assert [body(material(doc, s))["text"] for s in segments(doc, "text_main")] == ["a", "b"]


def test_add_text_relative_index_orders_the_tracks_when_the_track_is_created(client, draft):
    ok(client, "/add_text", {"draft_id": draft, "text": "a", "track_name": "top", "relative_index": 7})
    ok(client, "/add_text", {"draft_id": draft, "text": "b", "track_name": "low"})
    doc = content(client, draft)
    assert only_segment(doc, "top")["render_index"] == 14001      # one index per text, bottom track first
    assert only_segment(doc, "low")["render_index"] == 14000
    assert [t["name"] for t in doc["tracks"]] == ["low", "top"]


# --- client-style sequences (as upstream's example scripts send them) --------------------------

def test_example_py_test_text_sequence(client):
    """example.py test_text: six add_text calls on main_text with border, background, shadow, text_styles."""
    d = new_draft(client, width=1080, height=1920)
    calls = [
        {"text": "Border", "start": 0, "end": 2, "font": "思源中宋", "font_color": "#FFFFFF", "font_size": 10,
         "border_width": 30, "border_color": "#FF0000", "border_alpha": 1.0},
        {"text": "Background 0", "start": 2, "end": 4, "background_color": "#0000FF", "background_alpha": 0.6,
         "background_style": 0, "background_round_radius": 0.2},
        {"text": "Background 1", "start": 4, "end": 6, "background_color": "#00FF00", "background_alpha": 0.8,
         "background_style": 1, "background_height": 0.3, "background_width": 0.5},
        {"text": "Shadow", "start": 6, "end": 8, "shadow_enabled": True, "shadow_color": "#333333",
         "shadow_alpha": 0.7, "shadow_distance": 10, "shadow_angle": -30},
        {"text": "Styled ranges", "start": 8, "end": 10, "font_color": "#FFFFFF",
         "text_styles": [{"start": 0, "end": 6, "style": {"color": "#FF0000", "size": 14, "bold": True}},
                         {"start": 7, "end": 13, "style": {"color": "#00FF00", "italic": True},
                          "border": {"width": 20, "color": "#000000", "alpha": 1.0}, "font": "思源粗宋"}]},
        {"text": "Everything", "start": 10, "end": 12, "border_width": 10, "shadow_enabled": True,
         "background_alpha": 0.5, "text_styles": [{"start": 2, "end": 5, "style": {"underline": True}}],
         "license_key": "unused"},
    ]
    for call in calls:
        assert ok(client, "/add_text", {"draft_id": d, "track_name": "main_text", **call})["draft_id"] == d
    doc = content(client, d)
    segs = segments(doc, "main_text")
    assert [s["target_timerange"]["start"] for s in segs] == [0, 2 * S, 4 * S, 6 * S, 8 * S, 10 * S]
    mats = [material(doc, s) for s in segs]
    assert [body(m)["text"] for m in mats] == [c["text"] for c in calls]
    border_style = body(mats[0])["styles"][0]
    assert border_style["strokes"][0]["content"]["solid"]["color"] == [1.0, 0.0, 0.0]
    assert border_style["font"]["id"] == font_id("capcut", "思源中宋")
    assert (mats[1]["background_style"], mats[2]["background_style"]) == (2, 1)
    assert (mats[1]["background_alpha"], mats[2]["background_alpha"]) == (0.6, 0.8)
    assert body(mats[3])["styles"][0]["shadows"][0]["alpha"] == 0.7
    ranged = body(mats[4])["styles"]
    assert covered(ranged, len("Styled ranges")) == [(0, 6), (6, 7), (7, 13)]
    assert ranged[2]["font"]["id"] == font_id("capcut", "思源粗宋")
    assert ranged[2]["strokes"][0]["width"] == pytest.approx(0.04)
    everything = body(mats[5])["styles"]
    assert covered(everything, len("Everything")) == [(0, 2), (2, 5), (5, 10)]
    assert all(s["shadows"] and s["strokes"] for s in everything)
    assert mats[5]["background_alpha"] == 0.5


def test_karaoke_captions_sequence(client):
    """pattern/001-words.py: many add_text calls on one track, per-word colour ranges."""
    d = new_draft(client)
    lines = [("the quick brown fox", 0.0, 1.6), ("jumps over the", 1.6, 3.0), ("lazy dog", 3.0, 4.2)]
    font = {"font": "ZY_Modern"} if catalog.find("capcut", "font", "ZY_Modern") else {}
    expected_ranges = []
    for text, start, end in lines:
        words, cursor, ranges = text.split(" "), 0, []
        for i, word in enumerate(words):
            ranges.append({"start": cursor, "end": cursor + len(word),
                           "style": {"color": "#FFFF00" if i % 2 == 0 else "#FFFFFF", "size": 9}})
            cursor += len(word) + 1
        expected_ranges.append(ranges)
        ok(client, "/add_text", {"draft_id": d, "text": text, "start": start, "end": end, "track_name": "karaoke",
                                 "fixed_width": 0.6, "transform_y": -0.45, "shadow_enabled": True,
                                 "border_width": 0.5, "font_color": "#FFFFFF", "text_styles": ranges, **font})
    doc = content(client, d)
    segs = segments(doc, "karaoke")
    assert [(s["target_timerange"]["start"], s["target_timerange"]["duration"]) for s in segs] == \
        [(0, 1_600_000), (1_600_000, 1_400_000), (3 * S, 1_200_000)]
    for seg, (text, _, _), ranges in zip(segs, lines, expected_ranges, strict=False):
        assert seg["clip"]["transform"]["y"] == -0.45
        mat = material(doc, seg)
        assert mat["fixed_width"] == 648                      # 0.6 · 1080
        style_list = body(mat)["styles"]
        covered(style_list, len(text))
        words = {(r["start"], r["end"]): r["style"]["color"] for r in ranges}
        for style in style_list:
            rng = tuple(style["range"])
            if rng in words:
                assert color(style) == ([1.0, 1.0, 0.0] if words[rng] == "#FFFF00" else [1.0, 1.0, 1.0])
                assert style["size"] == 9.0
            else:
                assert rng[1] - rng[0] == 1 and text[rng[0]] == " "     # the spaces keep the segment style
            assert style["shadows"] and style["strokes"][0]["width"] == pytest.approx(0.001)
            if font:
                assert style["font"]["id"] == font_id("capcut", "ZY_Modern")


# --- /add_subtitle -------------------------------------------------------------------------------

def cues(doc: dict, track_name: str = "subtitle") -> list[tuple[int, int, str]]:
    return [(s["target_timerange"]["start"], s["target_timerange"]["duration"], body(material(doc, s))["text"])
            for s in segments(doc, track_name)]


def test_subtitle_upstream_flow_step_6(client):
    d = new_draft(client, width=1080, height=1920)
    out = ok(client, "/add_subtitle", {"draft_id": d, "srt": STEP6_SRT, "font": "思源粗宋", "font_size": 6,
                                       "font_color": "#FFFFFF", "border_width": 20, "border_color": "#000000",
                                       "transform_y": -0.8, "time_offset": 0})
    assert out["draft_id"] == d
    doc = content(client, d)
    assert cues(doc) == [(0, 2_500_000, "Hello"), (2_500_000, 2_500_000, "World")]
    assert track(doc, "subtitle")["flag"] == 1
    for index, seg in enumerate(segments(doc, "subtitle")):
        assert seg["render_index"] == 14000 + index
        assert seg["clip"]["transform"] == {"x": 0.0, "y": -0.8}
        mat = material(doc, seg)
        assert mat["alignment"] == 1 and mat["fixed_width"] == 648
        [style] = body(mat)["styles"]
        assert style["size"] == 6.0 and color(style) == [1.0, 1.0, 1.0]
        assert style["font"]["id"] == font_id("capcut", "思源粗宋")
        [stroke] = style["strokes"]
        assert stroke["width"] == pytest.approx(0.04)
        assert stroke["content"]["solid"]["color"] == [0.0, 0.0, 0.0]


def test_subtitle_defaults(client, any_draft, profile):
    ok(client, "/add_subtitle", {"draft_id": any_draft, "srt": "1\n00:00:01,000 --> 00:00:02,000\nhi\n"})
    doc = content(client, any_draft)
    seg = only_segment(doc, "subtitle")
    [style] = styles(doc, seg)
    assert style["size"] == 5.0 and color(style) == [1.0, 1.0, 1.0] and style["fill"].get("alpha", 1) == 1
    assert style["font"]["id"] == font_id(profile, "思源粗宋")
    assert "strokes" not in style and "shadows" not in style
    assert not {"bold", "italic", "underline"} & set(style) and style["useLetterColor"] is True
    assert seg["clip"]["transform"] == {"x": 0.0, "y": -0.8}
    assert seg["render_index"] == 14000 and material(doc, seg)["type"] == "subtitle"


def test_subtitle_style_parameters(client, draft):
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": "1\n00:00:01,000 --> 00:00:02,000\nhi\n",
                                 "bold": True, "italic": True, "underline": True, "alpha": 0.5,
                                 "font_color": "#00F", "vertical": True, "background_alpha": 0.4,
                                 "background_color": "#FF0000", "background_style": 1, "transform_x": 0.1,
                                 "scale_x": 1.5, "scale_y": 0.5, "rotation": 10, "border_width": 10,
                                 "border_color": "#00FF00", "border_alpha": 0.5})
    doc = content(client, draft)
    seg = only_segment(doc, "subtitle")
    [style] = styles(doc, seg)
    assert (style["bold"], style["italic"], style["underline"]) == (True, True, True)
    assert color(style) == [0.0, 0.0, 1.0] and style["fill"]["alpha"] == 0.5
    assert style["strokes"][0]["content"]["solid"] == {"alpha": 0.5, "color": [0.0, 1.0, 0.0]}
    mat = material(doc, seg)
    assert mat["typesetting"] == 1
    assert (mat["background_style"], mat["background_alpha"]) == (1, 0.4)
    assert mat["background_color"].lower() == "#ff0000"
    assert seg["clip"]["transform"] == {"x": 0.1, "y": -0.8}
    assert seg["clip"]["scale"] == {"x": 1.5, "y": 0.5} and seg["clip"]["rotation"] == 10


@pytest.mark.parametrize("srt,expected", [
    ("\ufeff1\n00:00:01,000 --> 00:00:02,000\nBOM\n", [(1 * S, 1 * S, "BOM")]),
    ("1\r\n00:00:01,000 --> 00:00:02,000\r\nCRLF\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nagain\r\n",
     [(1 * S, 1 * S, "CRLF"), (3 * S, 1 * S, "again")]),
    ("1\n00:00:01.250 --> 00:00:02.500\ndots\n", [(1_250_000, 1_250_000, "dots")]),
    ("00:00:01,000 --> 00:00:02,000\nno index\n\n00:00:03,000 --> 00:00:04,000\nnone here either\n",
     [(1 * S, 1 * S, "no index"), (3 * S, 1 * S, "none here either")]),
    ("\n\n\n1\n00:00:01,000 --> 00:00:02,000\na\n\n\n\n\n2\n00:00:03,000 --> 00:00:04,000\nb\n\n\n",
     [(1 * S, 1 * S, "a"), (3 * S, 1 * S, "b")]),
    ("1\n00:00:01,000 --> 00:00:02,000\nfirst\\nsecond\n", [(1 * S, 1 * S, "first\nsecond")]),
    ("1\n0:00:01,000 --> 1:00:02,000\none-digit hours\n", [(1 * S, 3601 * S, "one-digit hours")]),
    ("1\n00:00:01,000 --> 00:00:02,000\nline one\nline two\nline three\n",
     [(1 * S, 1 * S, "line one\nline two\nline three")]),
    ("1\n00:00:01,000 --> 00:00:02,000\n42\n", [(1 * S, 1 * S, "42")]),
    ("1\n00:00:01,000 --> 00:00:02,000 X1:10 X2:20\npositioned\n", [(1 * S, 1 * S, "positioned")]),
    ("1\\n00:00:01,000 --> 00:00:02,000\\nescaped\\n\\n2\\n00:00:03,000 --> 00:00:04,000\\nall the way\\n",
     [(1 * S, 1 * S, "escaped"), (3 * S, 1 * S, "all the way")]),
    ("1\n00:00:01,000 --> 00:00:02,000\nno trailing newline", [(1 * S, 1 * S, "no trailing newline")]),
    ("\ufeff1\r\n0:00:01.5 --> 0:00:02.000\r\nA\\nB\r\n\r\n\r\n\r\n00:00:03,000 --> 00:00:04,000\r\nl1\r\nl2",
     [(1_500_000, 500_000, "A\nB"), (3 * S, 1 * S, "l1\nl2")]),
])
def test_srt_edge_cases_are_parsed(client, draft, srt, expected):
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": srt})
    assert cues(content(client, draft)) == expected


SECRET = "sk_live_SECRET_9f8e7d6c5b4a"


@pytest.mark.parametrize("srt,cue,line", [
    (f"00:00:01,000 -> 00:00:02,000\n{SECRET}\n", 1, 1),
    (f"1\n00:00:01,000 --> 00:00:02,000\nok\n\n{SECRET}\n00:00:03,000 --> 00:00:04,000\nb\n", 2, 5),
    (f"00:00:01,000 --> 00:00:02,000\nok\n\n00:00:0x,000 --> 00:00:04,000\n{SECRET}\n", 2, 4),
    (f"1\n00:00:03,000 --> 00:00:02,000\n{SECRET}\n", 1, 2),
    (f"{SECRET}\n", 1, 1),
])
def test_malformed_cue_error_names_cue_and_line_never_its_text(client, draft, srt, cue, line):
    before = script(client, draft)
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": srt}, "invalid_srt")
    assert error.startswith(SUBTITLE_ERROR)
    assert f"cue {cue} (line {line})" in error, error
    assert SECRET not in error and "SECRET" not in error
    assert script(client, draft) == before


def test_malformed_timing_after_an_index_line_names_the_timing_line(client, draft):
    srt = f"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\n{SECRET}\n"
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": srt}, "invalid_srt")
    assert "cue 2 (line 6)" in error, error


def test_cue_without_text_is_rejected(client, draft):
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": "1\n00:00:01,000 --> 00:00:02,000\n\n"},
                 "invalid_srt")
    assert "cue 1" in error and "no text" in error


@pytest.mark.parametrize("srt", ["", "   ", "\n\n\n", "\ufeff"])
def test_empty_srt_is_missing_or_has_no_cues(client, draft, srt):
    reply = post(client, "/add_subtitle", {"draft_id": draft, "srt": srt})
    assert reply["success"] is False
    if srt:
        assert reply["code"] == "invalid_srt" and "no cues" in reply["error"]
    else:
        assert reply["error"].startswith(MISSING_SRT)


@pytest.mark.parametrize("path", ["/etc/passwd", "C:\\x.srt", "C:/x.srt", "~/a.srt", "\\\\server\\share\\a.srt"])
def test_srt_server_path_is_refused(client, draft, path):
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": path}, "invalid_srt")
    assert "root:" not in error and "never read" in error


def test_srt_server_path_is_never_read(client, draft, tmp_path):
    """A readable SRT file on the server: reading it would succeed, so refusal proves it is not read."""
    srt_file = tmp_path / "subs.srt"
    srt_file.write_text(f"1\n00:00:01,000 --> 00:00:02,000\n{SECRET}\n", encoding="utf-8")
    before = script(client, draft)
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": str(srt_file)}, "invalid_srt")
    assert SECRET not in error
    assert script(client, draft) == before


@pytest.mark.parametrize("srt,code", [("ftp://127.0.0.1/a.srt", "fetch_scheme"),
                                      ("file:///etc/passwd", "fetch_scheme")])
def test_srt_urls_other_than_http_are_refused(client, draft, srt, code):
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": srt}, code)
    assert "root:" not in error


# --- SRT over HTTP ---------------------------------------------------------------------------------

SERVED_SRT = "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nfrom the web\r\n".encode("utf-8")


class _SrtHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server naming)
        self.server.requests.append(self.path)
        if self.path == "/subs.srt":
            self.send_response(200)
            self.send_header("Content-Type", "application/x-subrip")
            self.send_header("Content-Length", str(len(SERVED_SRT)))
            self.end_headers()
            self.wfile.write(SERVED_SRT)
        elif self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/to-subs":
            self.send_response(301)
            self.send_header("Location", "/subs.srt")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def srt_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SrtHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fetching_client(tmp_path):
    from capcut_drafts.web.app import create_app
    return create_app(make_settings(tmp_path, store="memory", fetch_allow_hosts=["127.0.0.1"])).test_client()


def test_srt_url_on_loopback_is_refused_by_default(client, srt_server):
    server, base = srt_server
    d = new_draft(client)
    before = script(client, d)
    error = fail(client, "/add_subtitle", {"draft_id": d, "srt": f"{base}/subs.srt"}, "fetch_forbidden")
    assert "127.0.0.1" in error and "fetch_allow_hosts" in error
    assert server.requests == []                  # never contacted
    assert script(client, d) == before


def test_srt_url_is_fetched_when_the_host_is_allowed(fetching_client, srt_server):
    server, base = srt_server
    d = new_draft(fetching_client)
    ok(fetching_client, "/add_subtitle", {"draft_id": d, "srt": f"{base}/subs.srt", "time_offset": 1})
    assert cues(content(fetching_client, d)) == [(2 * S, 1 * S, "from the web")]
    assert server.requests == ["/subs.srt"]


def test_srt_url_allowed_by_replacing_the_settings(srt_server, settings):
    from capcut_drafts.web.app import create_app
    client = create_app(settings.replace(fetch_allow_hosts=["127.0.0.0/8"])).test_client()
    _, base = srt_server
    d = new_draft(client)
    ok(client, "/add_subtitle", {"draft_id": d, "srt": f"{base}/to-subs"})
    assert cues(content(client, d)) == [(1 * S, 1 * S, "from the web")]


def test_srt_redirect_to_a_forbidden_host_is_refused(fetching_client, srt_server):
    server, base = srt_server
    d = new_draft(fetching_client)
    before = script(fetching_client, d)
    error = fail(fetching_client, "/add_subtitle", {"draft_id": d, "srt": f"{base}/to-metadata"}, "fetch_forbidden")
    assert "169.254.169.254" in error
    assert server.requests == ["/to-metadata"]
    assert script(fetching_client, d) == before


def test_srt_url_404_reports_the_http_status(fetching_client, srt_server):
    _, base = srt_server
    d = new_draft(fetching_client)
    error = fail(fetching_client, "/add_subtitle", {"draft_id": d, "srt": f"{base}/missing.srt"},
                 "fetch_http_status")
    assert error.startswith(SUBTITLE_ERROR) and "404" in error


# --- subtitle placement and timing ------------------------------------------------------------

def test_subtitle_track_is_created_above_text(client, draft):
    ok(client, "/add_text", {"draft_id": draft, "text": "title", "start": 0, "end": 1})
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": STEP6_SRT})
    doc = content(client, draft)
    assert [(t["name"], t["flag"]) for t in doc["tracks"]] == [("text_main", 0), ("subtitle", 1)]
    assert [s["render_index"] for s in segments(doc, "subtitle")] == [14001, 14002]


def test_subtitle_on_a_named_existing_text_track_is_appended(client, draft):
    ok(client, "/add_text", {"draft_id": draft, "text": "title", "start": 0, "end": 1, "track_name": "words"})
    ok(client, "/add_subtitle", {"draft_id": draft, "track_name": "words",
                                 "srt": "1\n00:00:01,000 --> 00:00:02,000\nnext\n"})
    doc = content(client, draft)
    assert [c[2] for c in cues(doc, "words")] == ["title", "next"]
    assert [s["render_index"] for s in segments(doc, "words")] == [14000, 14001]
    assert [material(doc, s)["type"] for s in segments(doc, "words")] == ["text", "subtitle"]


@pytest.mark.parametrize("font", [None, ""])
def test_subtitle_font_null_or_empty_uses_the_app_default(client, draft, font):
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": STEP6_SRT, "font": font})
    doc = content(client, draft)
    for seg in segments(doc, "subtitle"):
        assert "font" not in styles(doc, seg)[0]
        assert material(doc, seg)["font_id"] == ""


def test_subtitle_time_offset_shifts_every_cue(client, draft):
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": STEP6_SRT, "time_offset": 10.25})
    assert cues(content(client, draft)) == [(10_250_000, 2_500_000, "Hello"), (12_750_000, 2_500_000, "World")]


def test_subtitle_negative_time_offset_before_zero_is_rejected(client, draft):
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": STEP6_SRT, "time_offset": -1},
                 "invalid_parameter")
    assert "cue 1" in error and "time_offset" in error
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": "1\n00:00:05,000 --> 00:00:06,000\nx\n",
                                 "time_offset": -2})
    assert cues(content(client, draft)) == [(3 * S, 1 * S, "x")]


def test_subtitle_intro_and_outro_animation_on_every_cue(client, any_draft, profile):
    intro, outro = _first(profile, "text_intro"), _first(profile, "text_outro")
    ok(client, "/add_subtitle", {"draft_id": any_draft, "intro_animation": intro.name, "intro_duration": 0.3,
                                 "outro_animation": outro.name, "outro_duration": 0.4,
                                 "srt": "1\n00:00:00,000 --> 00:00:02,000\na\n\n2\n00:00:02,000 --> 00:00:02,500\nb\n"})
    doc = content(client, any_draft)
    first, second = segments(doc, "subtitle")
    a, b = animations(doc, first), animations(doc, second)
    assert (a["in"]["resource_id"], a["in"]["start"], a["in"]["duration"]) == (intro.resource_id, 0, 300_000)
    assert (a["out"]["resource_id"], a["out"]["start"], a["out"]["duration"]) == \
        (outro.resource_id, 1_600_000, 400_000)
    assert (b["in"]["duration"], b["out"]["start"], b["out"]["duration"]) == (300_000, 100_000, 400_000)
    assert refs(doc, first, "material_animations")[0]["id"] != refs(doc, second, "material_animations")[0]["id"]


def test_subtitle_animation_durations_are_capped_at_the_cue_length(client, any_draft, profile):
    intro = _first(profile, "text_intro")
    ok(client, "/add_subtitle", {"draft_id": any_draft, "intro_animation": intro.name, "intro_duration": 5,
                                 "srt": "1\n00:00:00,000 --> 00:00:00,200\nshort\n"})
    doc = content(client, any_draft)
    assert animations(doc, only_segment(doc, "subtitle"))["in"]["duration"] == 200_000


def test_subtitle_overlapping_existing_cues_rejects_the_whole_request(client, draft):
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": "1\n00:00:04,000 --> 00:00:06,000\nold\n"})
    before = script(client, draft)
    srt = "1\n00:00:00,000 --> 00:00:01,000\nfree\n\n2\n00:00:05,000 --> 00:00:07,000\nclash\n"
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": srt}, "segment_overlap")
    assert "[start: 4000000, end: 6000000]" in error
    assert script(client, draft) == before
    assert cues(content(client, draft)) == [(4 * S, 2 * S, "old")]


def test_subtitle_cues_overlapping_each_other_are_rejected(client, draft):
    before = script(client, draft)
    srt = "1\n00:00:01,000 --> 00:00:03,000\nA\n\n2\n00:00:02,000 --> 00:00:04,000\nB\n"
    fail(client, "/add_subtitle", {"draft_id": draft, "srt": srt}, "segment_overlap")
    assert script(client, draft) == before


def test_subtitle_cue_inside_a_long_cue_far_earlier_in_the_file_is_rejected(client, draft):
    before = script(client, draft)
    srt = ("1\n00:00:00,000 --> 00:00:10,000\nlong\n\n2\n00:00:20,000 --> 00:00:21,000\nlater\n\n"
           "3\n00:00:05,000 --> 00:00:06,000\ninside\n")
    error = fail(client, "/add_subtitle", {"draft_id": draft, "srt": srt}, "segment_overlap")
    assert "[start: 0, end: 10000000]" in error
    assert script(client, draft) == before


def test_subtitle_cues_out_of_order_are_placed_in_time_order(client, draft):
    srt = "1\n00:00:05,000 --> 00:00:06,000\nlater\n\n2\n00:00:01,000 --> 00:00:02,000\nearlier\n"
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": srt})
    assert [c[2] for c in cues(content(client, draft))] == ["earlier", "later"]


@pytest.mark.parametrize("canvas,width", [((1080, 1920), 648), ((1920, 1080), 1344), ((1080, 1080), 648)])
def test_subtitle_fixed_width_depends_on_the_canvas_orientation(client, canvas, width):
    d = new_draft(client, width=canvas[0], height=canvas[1])
    ok(client, "/add_subtitle", {"draft_id": d, "srt": STEP6_SRT})
    doc = content(client, d)
    assert {material(doc, s)["fixed_width"] for s in segments(doc, "subtitle")} == {width}


def test_subtitle_without_draft_id_creates_a_draft_with_the_requested_canvas(client):
    out = ok(client, "/add_subtitle", {"srt": STEP6_SRT, "width": 1920, "height": 1080})
    doc = content(client, out["draft_id"])
    assert (doc["canvas_config"]["width"], doc["canvas_config"]["height"]) == (1920, 1080)
    assert {material(doc, s)["fixed_width"] for s in segments(doc, "subtitle")} == {1344}


# --- /add_subtitle errors -----------------------------------------------------------------------

@pytest.mark.parametrize("request_body", [{}, {"srt": ""}, {"srt": None}])
def test_add_subtitle_missing_srt_uses_upstream_wording(client, request_body):
    assert fail(client, "/add_subtitle", request_body, "missing_parameter").startswith(MISSING_SRT)


@pytest.mark.parametrize("extra,code,words", [
    ({"srt": 5}, "invalid_parameter", ["'srt'"]),
    ({"srt": ["1"]}, "invalid_parameter", ["'srt'"]),
    ({"font": "NoSuchFont"}, "unknown_name", ["Unknown font 'NoSuchFont'"]),
    ({"font_color": "white"}, "invalid_color", ["Color parameter error", "white"]),
    ({"border_width": 5, "border_color": "#12"}, "invalid_color", ["Color parameter error"]),
    ({"font_size": -1}, "invalid_parameter", ["'font_size'"]),
    ({"time_offset": "later"}, "invalid_parameter", ["'time_offset'"]),
    ({"background_alpha": 0.5, "background_style": 9}, "invalid_parameter", ["background_style"]),
    ({"track_name": "clips"}, "track_kind_mismatch", ["Track 'clips' is a video track"]),
])
def test_add_subtitle_errors_change_nothing(client, extra, code, words):
    d = new_draft(client)
    ok(client, "/add_video", {"draft_id": d, "video_url": "http://127.0.0.1:9/v.mp4", "end": 1, "track_name": "clips"})
    before = script(client, d)
    error = fail(client, "/add_subtitle", {"draft_id": d, "srt": STEP6_SRT, **extra}, code)
    assert error.startswith(SUBTITLE_ERROR)
    for word in words:
        assert word in error
    assert script(client, d) == before


def test_add_subtitle_unknown_draft_is_an_error(client):
    fail(client, "/add_subtitle", {"draft_id": "nope", "srt": STEP6_SRT}, "draft_not_found")
