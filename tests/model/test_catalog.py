"""Effect catalogue: counts, exact lookups, suggestions, listings and parameter mapping."""
import dataclasses
import json
from pathlib import Path

import pytest

from capcut_drafts.errors import ApiError
from capcut_drafts.model import catalog
from capcut_drafts.model.catalog import Entry, Param, listing, lookup, map_params, names, param_names

# CapCut family: equals upstream's CapCut tables, except fonts and filters,
# which come from pyjianyingdraft in both families.
CAPCUT_COUNTS = {
    "transition": 116, "intro": 43, "outro": 23, "combo": 108, "mask": 9,
    "audio_effect": 29, "font": 798, "text_intro": 76, "text_outro": 68, "text_loop": 53,
    "scene_effect": 345, "character_effect": 95, "filter": 1052,
}
# JianYing family: pyjianyingdraft 0.3.1 (metadata dated 2026-03) is newer than the library
# upstream vendors, so most tables are larger than upstream's (upstream's counts in comments).
JIANYING_COUNTS = {
    "transition": 453,        # upstream 362
    "intro": 155,             # 95
    "outro": 124,             # 72
    "combo": 123,             # 123
    "mask": 6,                # 6
    "audio_effect": 148,      # 106 = 57 tone + 43 scene + 6 speech-to-song; now 57 + 85 + 6
    "font": 798,              # 335
    "text_intro": 145,        # 144
    "text_outro": 97,         # 97
    "text_loop": 93,          # 92
    "scene_effect": 1097,     # 912
    "character_effect": 240,  # 227
    "filter": 1052,           # 468
}


@pytest.mark.parametrize("app,expected", [("capcut", CAPCUT_COUNTS), ("jianying", JIANYING_COUNTS)])
def test_counts_per_family_and_category(app, expected):
    assert set(expected) == set(catalog.CATEGORIES)
    got = {category: len(names(app, category)) for category in catalog.CATEGORIES}
    assert got == expected
    for category in catalog.CATEGORIES:
        assert len(listing(app, category)) == expected[category]
        assert len(set(names(app, category))) == expected[category]  # no duplicate names


def test_audio_group_counts():
    def groups(app):
        counts = {}
        for item in listing(app, "audio_effect"):
            counts[item["type"]] = counts.get(item["type"], 0) + 1
        return counts

    assert groups("capcut") == {"Voice_filters": 15, "Voice_characters": 13, "Speech_to_song": 1}
    assert groups("jianying") == {"Tone": 57, "Audio_scene": 85, "Speech_to_song": 6}


def test_routes_cover_every_category():
    assert sorted(catalog.ROUTES.values()) == sorted(catalog.CATEGORIES)
    assert catalog.ROUTES["/get_transition_types"] == "transition"
    assert catalog.ROUTES["/get_combo_animation_types"] == "combo"
    assert catalog.ROUTES["/get_text_loop_anim_types"] == "text_loop"
    assert catalog.ROUTES["/get_video_character_effect_types"] == "character_effect"
    assert catalog.ROUTES["/get_audio_effect_types"] == "audio_effect"
    assert catalog.ROUTES["/get_filter_types"] == "filter"


# --- exact lookups ------------------------------------------------------------------------------


def test_capcut_transition_dissolve():
    e = lookup("capcut", "transition", "Dissolve")
    assert e.name == "Dissolve" and e.title == "Dissolve"
    assert e.duration_us == 466_666 and isinstance(e.duration_us, int)
    assert e.is_overlap is False
    assert e.resource_id == "6724846004274729480"
    assert e.effect_id == "392FD26E-A514-4d0f-8950-EA4A20CB407C"
    assert e.library_member is None
    assert lookup("capcut", "transition", "Dissolve_II").title == "Dissolve II"


def test_capcut_animations():
    e = lookup("capcut", "intro", "Fade_In")
    assert (e.title, e.duration_us, e.is_vip) == ("Fade In", 500_000, False)
    assert e.resource_id == "6798320778182922760"
    assert lookup("capcut", "outro", "Fade_Out").duration_us == 500_000
    assert lookup("capcut", "combo", "Zoom_1").duration_us == 4_000_000
    assert lookup("capcut", "text_intro", "Throw_Out").params == ()


def test_capcut_effects():
    blur = lookup("capcut", "scene_effect", "Blur")
    assert blur.params == (Param("effects_adjust_blur", 0.5, 0.0, 1.0),)
    assert blur.effect_id == "15206412"
    assert lookup("capcut", "character_effect", "Woman_4").params[0].name == "effects_adjust_size"

    house = lookup("capcut", "audio_effect", "Big_House")
    assert house.group == "Voice_filters"
    assert house.params == (Param("strength", 1.0, 0.0, 1.0),)
    assert lookup("capcut", "audio_effect", "Fussy_male").group == "Voice_characters"
    assert lookup("capcut", "audio_effect", "Folk").group == "Speech_to_song"


def test_jianying_entries_carry_library_members():
    from pyJianYingDraft.metadata import AudioSceneEffectType, MaskType, TransitionType, VideoSceneEffectType

    mask = lookup("jianying", "mask", "圆形")
    assert mask.library_member is MaskType.圆形
    assert mask.resource_type == "circle" and mask.default_aspect_ratio == 1.0

    echo = lookup("jianying", "audio_effect", "回音")
    assert echo.library_member is AudioSceneEffectType.回音
    assert echo.group == "Audio_scene"
    assert param_names(echo) == ["change_voice_param_quantity", "change_voice_param_strength"]

    t = lookup("jianying", "transition", "_3D空间")  # member name, not the display name "3D空间"
    assert t.library_member is TransitionType._3D空间
    assert (t.title, t.duration_us, t.is_overlap) == ("3D空间", 1_500_000, True)

    effect = lookup("jianying", "scene_effect", "_1998")
    assert effect.library_member is VideoSceneEffectType._1998
    assert [p.name for p in effect.params] == ["effects_adjust_filter", "effects_adjust_texture"]

    assert lookup("jianying", "intro", "Kira游动").duration_us == 2_267_000
    assert lookup("jianying", "text_loop", "VHS").library_member is not None


@pytest.mark.parametrize("app", catalog.APPS)
@pytest.mark.parametrize("font", ["文轩体", "思源粗宋", "思源中宋"])
def test_fonts_in_both_families(app, font):
    from pyJianYingDraft.metadata import FontType

    e = lookup(app, "font", font)
    assert e.library_member is FontType[font]
    assert e.resource_id and e.effect_id


@pytest.mark.parametrize("app", catalog.APPS)
def test_filters_come_from_the_library_in_both_families(app):
    from pyJianYingDraft.metadata import FilterType

    assert names(app, "filter") == [m.name for m in FilterType]
    assert lookup(app, "filter", "_1980").library_member is FilterType._1980


def test_jianying_table_order_is_enum_order():
    from pyJianYingDraft.metadata import AudioSceneEffectType, IntroType, ToneEffectType

    assert names("jianying", "intro") == [m.name for m in IntroType]
    # audio listing: tone, then scene sounds, then speech-to-song (upstream order)
    audio = names("jianying", "audio_effect")
    assert audio[:57] == [m.name for m in ToneEffectType]
    assert audio[57:142] == [m.name for m in AudioSceneEffectType]


def test_capcut_table_order_is_source_order():
    data = json.loads(catalog.DATA_FILE.read_text(encoding="utf-8"))
    assert names("capcut", "transition") == list(data["transition"])
    assert names("capcut", "transition")[:3] == ["Montage_Snippets", "Mix", "Mix_1"]
    audio = names("capcut", "audio_effect")
    assert audio[0] == "Big_House" and audio[-1] == "Folk"


def test_masks_carry_shape_and_aspect_ratio():
    capcut = {n: lookup("capcut", "mask", n) for n in names("capcut", "mask")}
    assert list(capcut) == ["Split", "Filmstrip", "Circle", "Rectangle", "Stars", "Heart",
                            "Text", "Brush", "Pen"]
    assert capcut["Circle"].resource_type == "circle"
    assert capcut["Heart"].resource_type == "heart"
    assert capcut["Heart"].default_aspect_ratio == pytest.approx(1.1148148148)
    assert names("jianying", "mask") == ["线性", "镜面", "圆形", "矩形", "爱心", "星形"]
    for app in catalog.APPS:
        for n in names(app, "mask"):
            e = lookup(app, "mask", n)
            assert e.resource_type and isinstance(e.default_aspect_ratio, float)
            assert e.duration_us is None and e.params == ()


@pytest.mark.parametrize("app", catalog.APPS)
@pytest.mark.parametrize("category", catalog.CATEGORIES)
def test_every_entry_has_ids(app, category):
    for n in names(app, category):
        e = lookup(app, category, n)
        assert e.name == n
        assert e.title
        assert e.resource_id and e.effect_id
        assert isinstance(e.md5, str)
        assert isinstance(e.params, tuple)
        assert (e.group is not None) == (category == "audio_effect")
        if category in ("transition", "intro", "outro", "combo",
                        "text_intro", "text_outro", "text_loop"):
            assert isinstance(e.duration_us, int) and e.duration_us > 0
        if category == "transition":
            assert isinstance(e.is_overlap, bool)
        wants_member = app == "jianying" or category in ("font", "filter")
        assert (e.library_member is not None) == wants_member


def test_entry_is_frozen():
    e = lookup("capcut", "transition", "Dissolve")
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.name = "x"


# --- unknown names --------------------------------------------------------------------------------


def _error(app, category, name) -> ApiError:
    with pytest.raises(ApiError) as info:
        lookup(app, category, name)
    assert info.value.code == "unknown_name"
    return info.value


def test_lookup_is_case_sensitive_with_suggestions():
    err = _error("capcut", "transition", "dissolve")
    assert err.message.startswith("Unknown transition 'dissolve'. Did you mean: Dissolve, ")
    assert "Dissolve_1" in err.message and "Dissolve_II" in err.message
    assert err.message.endswith("The full list: GET /get_transition_types")

    err = _error("capcut", "intro", "fade_in")
    assert "Did you mean: Fade_In" in err.message
    assert "GET /get_intro_animation_types" in err.message


def test_space_and_underscore_normalised_match_comes_first():
    assert "Did you mean: Dissolve_II," in _error("capcut", "transition", "Dissolve II").message
    assert "Did you mean: Big_House" in _error("capcut", "audio_effect", "big house").message
    assert "Did you mean: _3D空间" in _error("jianying", "transition", "3D空间").message


def test_message_never_lists_everything():
    for app, category, name in [("jianying", "font", "文"), ("capcut", "scene_effect", "a"),
                                ("jianying", "scene_effect", "特效"), ("capcut", "font", "Arial")]:
        msg = _error(app, category, name).message
        assert len(msg) < 400, msg
        if "Did you mean: " in msg:
            listed = msg.split("Did you mean: ")[1].split("?")[0].split(", ")
            assert 1 <= len(listed) <= 5
    msg = _error("capcut", "scene_effect", "zzqqxxjj").message
    assert msg == ("Unknown scene effect 'zzqqxxjj'. "
                   "The full list: GET /get_video_scene_effect_types")


def test_mask_name_of_the_other_family_is_the_same_shape():
    assert catalog.lookup("capcut", "mask", "圆形").name == "Circle"
    assert catalog.lookup("jianying", "mask", "Heart").name == "爱心"
    assert catalog.counterpart("jianying", "mask", "Text") is None


def test_shape_words_suggest_the_mask_of_the_family():
    assert "Did you mean: 圆形" in _error("jianying", "mask", "circle").message
    assert "Did you mean: Circle" in _error("capcut", "mask", "circle").message


def test_long_and_non_string_names():
    msg = _error("capcut", "transition", "x" * 5000).message
    assert len(msg) < 300
    assert "string" in _error("capcut", "transition", 12).message
    assert catalog.find("capcut", "transition", "nope") is None
    assert catalog.find("capcut", "transition", "Dissolve").name == "Dissolve"


def test_bad_app_or_category_is_a_programming_error():
    with pytest.raises(ValueError):
        names("tiktok", "transition")
    with pytest.raises(ValueError):
        names("capcut", "sticker")


def test_audio_lookup_order_prefers_the_first_group():
    def entry(name, group):
        return Entry(name, name, False, "r", "e", "", group=group)

    groups = {"Tone": [entry("same", "Tone")], "Audio_scene": [entry("same", "Audio_scene")],
              "Speech_to_song": [entry("song", "Speech_to_song")]}
    table = catalog._make_table("jianying", groups, None)
    assert table.index["same"].group == "Audio_scene"          # searched first
    assert [e.group for e in table.listed] == ["Tone", "Audio_scene", "Speech_to_song"]


# --- listings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("app", catalog.APPS)
def test_audio_listing_has_upstream_shape(app):
    items = listing(app, "audio_effect")
    for item in items:
        assert list(item)[:3] == ["name", "type", "params"]
        for p in item["params"]:
            assert list(p) == ["name", "default_value", "min_value", "max_value"]
    by_name = {i["name"]: i for i in items}
    if app == "capcut":
        assert by_name["Big_House"]["params"] == [
            {"name": "strength", "default_value": 100.0, "min_value": 0.0, "max_value": 100.0}]
        low = by_name["Low"]["params"][0]
        assert low["name"] == "change_voice_param_pitch" and low["default_value"] == 37.5
        assert [i["type"] for i in items][0] == "Voice_filters"
    else:
        assert by_name["回音"]["type"] == "Audio_scene"
        assert by_name["回音"]["params"][1] == {
            "name": "change_voice_param_strength", "default_value": 76.2,
            "min_value": 0.0, "max_value": 100.0}
        assert items[0]["type"] == "Tone" and items[-1]["type"] == "Speech_to_song"


def test_other_listings():
    t = listing("capcut", "transition")
    assert t[0] == {"name": "Montage_Snippets", "title": "Montage Snippets", "is_vip": False,
                    "duration": 2.0}
    dissolve = next(i for i in t if i["name"] == "Dissolve")
    assert dissolve["duration"] == 0.466666
    blur = next(i for i in listing("capcut", "scene_effect") if i["name"] == "Blur")
    # listed in the order clients send them, on the 0..100 client scale
    assert blur["params"] == [{"name": "effects_adjust_blur", "default_value": 50.0,
                               "min_value": 0, "max_value": 100}]
    multi = next(i for i in listing("capcut", "scene_effect") if len(i["params"]) > 1)
    entry = lookup("capcut", "scene_effect", multi["name"])
    assert [p["name"] for p in multi["params"]] == [p.name for p in reversed(entry.params)]
    font = listing("jianying", "font")[0]
    assert set(font) == {"name", "title", "is_vip"}
    mask = listing("jianying", "mask")[2]
    assert mask["name"] == "圆形" and "duration" not in mask
    # callers may mutate what they get without touching the catalogue
    t[0]["name"] = "changed"
    assert listing("capcut", "transition")[0]["name"] == "Montage_Snippets"
    assert json.dumps(listing("jianying", "audio_effect"), ensure_ascii=False)


# --- parameter mapping ------------------------------------------------------------------------------


def _fx(*params):
    return Entry("Fx", "Fx", False, "r", "e", "", params=tuple(Param(*p) for p in params))


FX = _fx(("a", 0.5, 0.0, 1.0), ("b", 0.2, 0.3, 2.6), ("c", 0.0, -1.0, 1.0))


def test_map_params_defaults():
    assert map_params(FX, None, reverse=True) == [0.5, 0.2, 0.0]
    assert map_params(FX, [], reverse=False) == [0.5, 0.2, 0.0]
    assert map_params(FX, [None, None, None], reverse=False) == [0.5, 0.2, 0.0]
    assert param_names(FX) == ["a", "b", "c"]


def test_map_params_forward_is_linear_onto_range():
    got = map_params(FX, [100, 50, 0], reverse=False)
    assert got == pytest.approx([1.0, 1.45, -1.0])
    got = map_params(FX, [25.5, None], reverse=False)  # missing tail → defaults
    assert got == pytest.approx([0.255, 0.2, 0.0])


def test_map_params_reverse_quirk():
    # the list is reversed before matching: the last value sent goes to the first parameter
    assert map_params(FX, [0, 50, 100], reverse=True) == pytest.approx([1.0, 1.45, -1.0])
    # short list: reversed [10, 20] → a=20, b=10, c default
    assert map_params(FX, [10, 20], reverse=True) == pytest.approx([0.2, 0.53, 0.0])
    # surplus values are ignored: after reversal the ones sent first are dropped
    assert map_params(FX, [99, 98, 0, 50, 100], reverse=True) == pytest.approx([1.0, 1.45, -1.0])
    assert map_params(FX, [None, 100], reverse=True) == pytest.approx([1.0, 0.2, 0.0])


def test_map_params_surplus_is_an_error_without_reverse():
    with pytest.raises(ApiError) as info:
        map_params(FX, [1, 2, 3, 4], reverse=False)
    assert "3 parameter" in info.value.message and "4 values" in info.value.message
    with pytest.raises(ApiError):
        map_params(lookup("capcut", "audio_effect", "Folk"), [50], reverse=False)


@pytest.mark.parametrize("bad", [-0.1, 100.5, 1000, "50", True, float("nan"), [1]])
def test_map_params_rejects_bad_values(bad):
    with pytest.raises(ApiError) as info:
        map_params(FX, [10, bad], reverse=False)
    assert "'b'" in info.value.message and "params[1]" in info.value.message
    assert info.value.code == "invalid_parameter"


def test_map_params_error_names_the_client_index_when_reversed():
    with pytest.raises(ApiError) as info:
        map_params(FX, [10, 20, 300], reverse=True)  # last value sent → parameter 'a'
    assert "'a'" in info.value.message and "params[2]" in info.value.message


def test_map_params_requires_a_list():
    with pytest.raises(ApiError):
        map_params(FX, "10,20", reverse=True)
    with pytest.raises(ApiError):
        map_params(FX, 10, reverse=True)


def test_map_params_on_real_entries():
    blur = lookup("capcut", "scene_effect", "Blur")
    assert map_params(blur, [80], reverse=True) == pytest.approx([0.8])
    assert map_params(blur, [], reverse=True) == [0.5]
    echo = lookup("jianying", "audio_effect", "回音")
    assert map_params(echo, [50, None], reverse=False) == pytest.approx([0.5, 0.762])


# --- data file ----------------------------------------------------------------------------------


def test_service_reads_only_its_own_data_file():
    root = Path(catalog.__file__).resolve().parent
    assert root / "data" / "capcut_catalog.json" == catalog.DATA_FILE
    assert "shared" not in Path(catalog.__file__).read_text(encoding="utf-8")


def test_data_file_is_up_to_date_with_its_source():
    import importlib.util

    tool = Path(__file__).resolve().parents[2] / "tools" / "build_catalog.py"
    if not tool.exists():
        pytest.skip("build tool not present")
    spec = importlib.util.spec_from_file_location("build_catalog", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not module.DEFAULT_SOURCE.exists():
        pytest.skip(f"the source of the catalogue ({module.DEFAULT_SOURCE}) is not on this machine")
    assert module.main(["--check"]) == 0
