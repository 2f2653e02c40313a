"""Values the apps write, against the app-written reference drafts (issue 15, points 1, 5 and 6):
`has_audio` from the probe, effect resource keys, names and cache paths, and the small values
(text sizes, is_overlap, enable_adjust/enable_lut, beats, check_flag…). Each test reads the value
from a reference draft (tools/extract_app_defaults.py and the docstrings of
capcut_drafts/export/builder._has_audio and capcut_drafts/export/resource_paths.py say why that one)
and compares ours with it.

Drafts are made through the routes (the `app`/`client` fixtures), with the probed facts recorded by a
`set_media` operation as a save records them, then built by capcut_drafts.export.builder; the
has_audio test saves real generated media through the whole save job instead.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import helpers
import pytest
from helpers import new_draft, ok
from helpers.media import make_image, make_video

from capcut_drafts.export import app_schema, builder
from capcut_drafts.model import operations
from capcut_drafts.model.profiles import PROFILES
from capcut_drafts.model.timeline import Draft, Material

REFERENCE = helpers.REFERENCE
PROFILE_NAMES = ["capcut", "capcut_legacy", "jianying", "jianying_pro_10"]
HOST = "http://127.0.0.1:8765"
CC_DRAFTS = r"C:\Users\Acer\AppData\Local\CapCut\User Data\Projects\com.lveditor.draft"
JY_DRAFTS = "C:/Users/Administrator/AppData/Local/JianyingPro/User Data/Projects/com.lveditor.draft"

# Reference files (relative to REFERENCE) by short name.
CC89 = "drafts/capcut-8.9-win-donor-282new/draft_content.json"
CC86_MASKS = "drafts/capcut-8.6-win-sanitized-masks-filters/draft_content.json"
CC86_TRANS = "drafts/capcut-8.6-win-sanitized-transitions/draft_content.json"
CC91_HYBRID = "drafts/capcut-9.1-win-pipeline-hybrid/fixtures/parity-gold/parity_gold_snap_full.json"
CC77_TRACKER = "drafts/capcut-7.7-win-tqk-tracker/draft_content.json"
CC77_EMBEDDED = "drafts/capcut-7.7-win-tqk-embedded/draft_content.json"
CC69_ROLIK = "drafts/capcut-6.9-win-rolik/draft_content.json"
CC63 = "drafts/capcut-6.3-mac-segments2jy/draft_info.json"
CC63_T2 = "drafts/capcut-6.3-mac-segments2jy/template-2.tmp"
CC62 = "drafts/capcut-6.2-win-baby-starfish/draft_content.json"
CC15 = "drafts/capcut-1.5-win-primena/draft_content.json"
JY59 = "drafts/jianying-5.9-win-pyjydraft-web/draft_content.json"
JY56 = "drafts/jianying-5.6-win-draftdemo-t1/draft_content.json"
JY545 = "drafts/jianying-5.4.5beta-mac-mirage/draft_info.json"
JY285 = "drafts/jianying-2.8.5-win-srt4ulikecam/draft_content.json"


@cache
def _load(rel: str) -> dict:
    return json.loads((REFERENCE / rel).read_text(encoding="utf-8-sig"))


def ref(rel: str) -> dict:
    helpers.require_reference()
    return _load(rel)


def ref_material(rel: str, bucket: str, **match) -> dict:
    """The first material of `bucket` in reference `rel` whose keys equal `match`."""
    for obj in ref(rel)["materials"][bucket]:
        if all(obj.get(k) == v for k, v in match.items()):
            return obj
    raise LookupError(f"{rel}: no {bucket} entry with {match}")


def ref_segments(rel: str, track_type: str) -> list[dict]:
    return [s for t in ref(rel)["tracks"] if t["type"] == track_type for s in t["segments"]]


# --- drafts through the routes, built as a save builds them -----------------------------------------

def document(app, draft_id: str) -> Draft:
    return app.extensions["capcut"].cache.read(draft_id, lambda d: d.model_copy(deep=True))


def probed(draft: Draft, **facts) -> Draft:
    """`draft` after the set_media operation a save records (`facts` per material kind)."""
    learned = {}
    for m in draft.materials.values():
        base = {"video": {"duration_us": 10_000_000, "width": 64, "height": 48, "media_type": "video",
                          "has_audio": True},
                "audio": {"duration_us": 30_000_000, "width": None, "height": None, "media_type": "audio",
                          "has_audio": True},
                "image": {"duration_us": None, "width": 64, "height": 48, "media_type": "photo",
                          "has_audio": False}}[m.kind]
        learned[m.id] = {**base, **facts.get(m.kind, {}), "file_name": m.file_name}
    operations.apply(draft, operations.set_media(learned))
    return draft


def every_route(app, client, profile: str) -> Draft:
    """One of each: video with transition, mask, filter and blur; image with an outro (CapCut) or a
    combo animation (JianYing); audio; text of size 12; sticker; scene effect; filter track."""
    jy = profile.startswith("jianying")
    d = new_draft(client, profile=profile)
    for path, body in [
        ("/add_video", {"video_url": f"{HOST}/clip.mp4", "start": 0, "end": 3, "duration": 10,
                        "transition": "上移" if jy else "Dissolve", "mask_type": "圆形" if jy else "Circle",
                        "filter_type": "ABG", "background_blur": 2}),
        ("/add_video", {"video_url": f"{HOST}/clip.mp4", "start": 3, "end": 5, "target_start": 3, "duration": 10}),
        ("/add_image", {"image_url": f"{HOST}/still.png", "start": 5, "end": 8,
                        **({"combo_animation": "荡秋千"} if jy else {"outro_animation": "Fade_Out"})}),
        ("/add_audio", {"audio_url": f"{HOST}/song.mp3", "start": 0, "end": 5, "duration": 30}),
        ("/add_text", {"text": "Title", "start": 0, "end": 3, "track_name": "title", "font_size": 12}),
        ("/add_sticker", {"sticker_id": "7226264888031694091", "start": 1, "end": 3}),
        ("/add_effect", {"effect_type": "_1998" if jy else "Blur", "start": 0, "end": 2}),
        ("/add_filter", {"filter_type": "ABG", "start": 0, "end": 3}),
    ]:
        ok(client, path, {"draft_id": d, **body})
    return probed(document(app, d))


@pytest.fixture(scope="module")
def contents() -> dict:
    return {}


@pytest.fixture
def built(app, client, contents):
    """built(profile, draft_folder=None) -> the app JSON of the every-route draft (cached per module)."""
    def make(profile: str, draft_folder: str | None = None) -> dict:
        key = (profile, draft_folder)
        if key not in contents:
            contents[key] = builder.build(every_route(app, client, profile), draft_folder).content
        return contents[key]
    return make


def ours(content: dict, bucket: str, **match) -> list[dict]:
    return [m for m in content["materials"][bucket] if all(m.get(k) == v for k, v in match.items())]


def our_segments(content: dict, track_type: str) -> list[dict]:
    return [s for t in content["tracks"] if t["type"] == track_type for s in t["segments"]]


def video_materials_in_order(content: dict) -> list[dict]:
    index = {m["id"]: m for m in content["materials"]["videos"]}
    segments = sorted(our_segments(content, "video"), key=lambda s: s["target_timerange"]["start"])
    return [index[s["material_id"]] for s in segments]


# --- 1. has_audio from the probe ---------------------------------------------------------------------

# Per profile: (reference, material_name) of a video with sound and of one without, in the app version
# nearest the profile's that has one (capcut_drafts/export/builder._has_audio lists them all).
HAS_AUDIO_REFERENCES = {
    "capcut": ((CC89, "IMG_1482.MOV"), (CC77_TRACKER, "f4cb1c5d-6b51-4f03-b993-854f5f906996.mp4")),
    "capcut_legacy": ((CC63, "九霄.mp4"), (CC62, "vidu-video-2787460910756280_trimmed(concat).mp4")),
    "jianying": ((JY545, "复合片段10"), (JY285, "videoplayback (1).mp4")),
}
HAS_AUDIO_REFERENCES["jianying_pro_10"] = HAS_AUDIO_REFERENCES["jianying"]


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("media")
    make_video(d / "sound.mp4", seconds=1, size=(32, 32))                 # H.264 + AAC
    make_video(d / "mute.mp4", seconds=1, size=(32, 32), audio=False)    # H.264 only
    make_image(d / "still.png", size=(32, 32))
    return d


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_has_audio_is_what_the_probe_found_as_the_apps_write_it(service, media_server, profile):
    (sound_ref, sound_name), (mute_ref, mute_name) = HAS_AUDIO_REFERENCES[profile]
    with_sound = ref_material(sound_ref, "videos", material_name=sound_name)["has_audio"]
    without_sound = ref_material(mute_ref, "videos", material_name=mute_name)["has_audio"]
    photo = ref_material(JY59 if profile.startswith("jianying") else CC86_MASKS, "videos", type="photo")["has_audio"]
    assert (with_sound, without_sound, photo) == (True, False, False)

    svc = service()
    d = svc.draft(profile)
    svc.add("video", d, video_url=media_server.url("sound.mp4"), start=0, end=1)
    svc.add("video", d, video_url=media_server.url("mute.mp4"), start=0, end=1, target_start=1)
    svc.add("image", d, image_url=media_server.url("still.png"), start=2, end=3)
    svc.saved(d)
    sound, mute, still = video_materials_in_order(svc.content(d))
    assert (sound["type"], mute["type"], still["type"]) == ("video", "video", "photo")
    assert (sound["has_audio"], mute["has_audio"], still["has_audio"]) == (with_sound, without_sound, photo)

    # the probe's fact is in the stored document, recorded by the save's set_media operation
    stored = svc.ctx.cache.read(d, lambda draft: {m.kind + str(m.has_audio) for m in draft.materials.values()})
    assert stored == {"videoTrue", "videoFalse", "imageFalse"}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_documents_from_before_has_audio_load_and_keep_the_template_value(app, client, profile):
    d = new_draft(client, profile=profile)
    ok(client, "/add_video", {"draft_id": d, "video_url": f"{HOST}/clip.mp4", "start": 0, "end": 2})
    draft = document(app, d)
    old = draft.model_dump(mode="json")
    for material in old["materials"].values():
        del material["has_audio"]                                    # as stored before the field existed
    draft = Draft.model_validate(old)
    assert all(m.has_audio is None for m in draft.materials.values())
    (mid,) = draft.materials
    old_op = {mid: {"duration_us": 4_000_000, "width": 64, "height": 48, "media_type": "video",
                    "file_name": draft.materials[mid].file_name}}     # a set_media stored before, no has_audio
    operations.apply(draft, operations.set_media(old_op))
    assert draft.materials[mid].has_audio is None and draft.materials[mid].probed
    (video,) = builder.build(draft).content["materials"]["videos"]
    template = json.loads((Path(app_schema.TEMPLATE_ROOT) / app_schema.TEMPLATE_DIRS.get(profile, profile)
                           / "materials.json").read_text(encoding="utf-8"))
    assert video["has_audio"] is template["buckets"]["videos"]["video"]["has_audio"]
    assert Material.model_validate({"id": "m", "kind": "video", "url": "u", "file_name": "f.mp4"}).has_audio is None


# --- 2. effect resources: keys, names, cache paths -----------------------------------------------------

def test_the_capcut_legacy_sticker_has_the_keys_and_values_of_the_7_7_app(built):
    sticker_ref = ref_material(CC77_TRACKER, "stickers")
    (sticker,) = built("capcut_legacy")["materials"]["stickers"]
    assert sorted(sticker) == sorted(sticker_ref) and len(sticker) == 41
    for key in ("type", "platform", "source_platform", "check_flag", "sub_type", "global_alpha", "radius",
                "shape_param", "shape_fill_render_style", "combo_info", "aigc_type", "multi_language_current"):
        assert sticker[key] == sticker_ref[key], key
    assert sticker["sticker_id"] == sticker["resource_id"] == "7226264888031694091"


def cache_tail(path: str) -> str:
    return path.split("/Cache/")[-1] if "/Cache/" in path else path.split("/cache/")[-1]


@pytest.mark.parametrize("profile, folder, bucket, match, ref_file, ref_match, whole", [
    # JianYing 5.9 writes exactly this path for 荡秋千 (the draft folder is its user's)
    ("jianying", JY_DRAFTS, "material_animations", {"name": "荡秋千"}, JY59, {"name": "荡秋千"}, True),
    ("jianying_pro_10", JY_DRAFTS, "material_animations", {"name": "荡秋千"}, JY59, {"name": "荡秋千"}, True),
    # CapCut 8.9.1 writes exactly this path for Fade Out (the folder of its user, C:/Users/Acer/…)
    ("capcut", CC_DRAFTS, "material_animations", {"name": "Fade Out"}, CC89, {"name": "Fade Out"}, True),
    # CapCut 8.6 (sanitized root /fixtures/cache): the same effect/<resource id>/<md5> for Dissolve
    ("capcut", CC_DRAFTS, "transitions", {"name": "Dissolve"}, CC86_TRANS, {"name": "Dissolve"}, False),
    ("capcut_legacy", CC_DRAFTS, "transitions", {"name": "Dissolve"}, CC86_TRANS, {"name": "Dissolve"}, False),
])
def test_effect_cache_paths_are_the_ones_the_apps_write(built, profile, folder, bucket, match, ref_file, ref_match,
                                                         whole):
    content = built(profile, folder)
    if bucket == "material_animations":
        mine = [a for g in content["materials"][bucket] for a in g["animations"]
                if all(a.get(k) == v for k, v in match.items())]
        theirs = [a for g in ref(ref_file)["materials"][bucket] for a in g["animations"]
                  if all(a.get(k) == v for k, v in ref_match.items())]
    else:
        mine, theirs = ours(content, bucket, **match), [ref_material(ref_file, bucket, **ref_match)]
    assert mine and theirs
    ref_path = theirs[0]["path"]
    assert mine[0]["name"] == theirs[0]["name"]                        # the catalogue's name
    if whole:
        assert mine[0]["path"] == ref_path
    else:
        assert cache_tail(mine[0]["path"]) == cache_tail(ref_path)
        assert mine[0]["path"].startswith("C:/Users/Acer/AppData/Local/CapCut/User Data/Cache/effect/")


@pytest.mark.parametrize("profile", ["capcut", "capcut_legacy", "jianying"])
@pytest.mark.parametrize("folder", [None, "D:/My CapCut Drafts", r"\\server\share\drafts"])
def test_no_cache_path_without_the_apps_own_drafts_folder(built, profile, folder):
    content = built(profile, folder)
    objects = [m for b in ("transitions", "common_mask", "masks", "effects", "video_effects")
               for m in content["materials"].get(b, [])]
    objects += [a for g in content["materials"]["material_animations"] for a in g["animations"]]
    assert objects and all(not o.get("path") for o in objects)


@pytest.mark.parametrize("profile", ["capcut", "capcut_legacy"])
def test_capcut_masks_effects_filters_and_stickers_keep_an_empty_path(built, profile):
    """Not derivable (export/resource_paths.py): the reference caches them under ids we do not have."""
    circle = ref_material(CC86_MASKS, "common_mask")
    assert circle["resource_id"] == "7374021188315517456" and circle["path"].endswith("/effect/1068046525/"
                                                                                      "3ab1c47350d987c8ad415497e020a38b")
    content = built(profile, CC_DRAFTS)
    for bucket in ("common_mask", "effects", "video_effects", "stickers"):
        assert content["materials"][bucket] and all(m.get("path", "") == "" for m in content["materials"][bucket])
    (sticker,) = content["materials"]["stickers"]
    assert sticker["name"] == ""                          # the sticker's name comes from the effect platform
    assert ref_material(CC89, "stickers")["name"]         # (which the app asked; we do not)


# --- 3. small values ---------------------------------------------------------------------------------

def test_text_content_numbers_are_ints_when_whole(built):
    """CapCut 8.9.1 writes "size":12 and "color":[0,0,0] in content; a fraction stays a float."""
    ref_style = json.loads(ref_material(CC89, "texts", type="text")["content"])["styles"][0]
    assert type(ref_style["size"]) is int and ref_style["strokes"][0]["content"]["solid"]["color"] == [0, 0, 0]
    for profile in PROFILE_NAMES:
        (text,) = ours(built(profile), "texts", type="text")
        style = json.loads(text["content"])["styles"][0]
        assert style["size"] == 12 and type(style["size"]) is int
        assert all(type(c) is int for c in style["fill"]["content"]["solid"]["color"])   # white: [1, 1, 1]
        assert style["range"] == [0, 5]
        assert text["font_size"] == 12.0 and type(text["font_size"]) is float           # flat field: float
    assert app_schema._whole_numbers_as_ints({"a": [1.0, 0.5, -0.0, True], "b": 2.25}) == {"a": [1, 0.5, 0, True],
                                                                                          "b": 2.25}


@pytest.mark.parametrize("profile, name, ref_file", [
    ("capcut", "Dissolve", CC86_TRANS),          # 8.6 writes false for Dissolve
    ("capcut", "Mix", CC15),                     # 1.5 writes true for Mix
    ("capcut_legacy", "Dissolve", CC86_TRANS),
])
def test_is_overlap_is_the_transitions_own_as_the_app_writes_it(app, client, profile, name, ref_file):
    d = new_draft(client, profile=profile)
    ok(client, "/add_video", {"draft_id": d, "video_url": f"{HOST}/clip.mp4", "end": 2, "transition": name})
    (transition,) = builder.build(probed(document(app, d))).content["materials"]["transitions"]
    assert transition["is_overlap"] is ref_material(ref_file, "transitions", name=name)["is_overlap"]


# The reference each profile's segments are compared with, per track type (the nearest app version
# that has that kind of segment).
SEGMENT_REFERENCES = {
    "capcut": {"video": CC89, "audio": CC89, "text": CC89, "sticker": CC89, "filter": CC86_MASKS,
               "effect": CC91_HYBRID},
    "capcut_legacy": {"video": CC62, "audio": CC62, "text": CC62, "sticker": CC77_TRACKER, "filter": CC86_MASKS,
                      "effect": CC62},
    "jianying": {"video": JY59, "audio": JY56, "text": JY545, "sticker": JY545, "filter": CC86_MASKS,
                 "effect": CC62},
}
SEGMENT_REFERENCES["jianying_pro_10"] = SEGMENT_REFERENCES["jianying"]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_enable_adjust_and_enable_lut_per_segment_type_as_the_apps(built, profile):
    content = built(profile)
    for track_type, ref_file in SEGMENT_REFERENCES[profile].items():
        theirs = {(s["enable_adjust"], s["enable_lut"]) for s in ref_segments(ref_file, track_type)}
        mine = {(s["enable_adjust"], s["enable_lut"]) for s in our_segments(content, track_type)}
        assert len(theirs) == 1 and mine == theirs, (track_type, mine, theirs)
    assert {(s["enable_adjust"], s["enable_lut"]) for s in our_segments(content, "video")} == {(True, True)}


def without_id(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "id"}


@pytest.mark.parametrize("profile, ref_file", [
    ("capcut_legacy", CC63_T2),                 # 6.3: no AI beats, user_delete_ai_beats null (6.9, 7.7 alike)
    ("capcut_legacy", CC69_ROLIK),
    ("capcut", CC89),
    ("jianying", JY56),
])
def test_beats_are_the_apps_untouched_beats(built, profile, ref_file):
    """A beats helper of audio nobody ran beat detection on (8.9.1 has one analysed entry too)."""
    theirs = without_id(next(b for b in ref(ref_file)["materials"]["beats"] if not b["ai_beats"]["beats_path"]))
    for beats in built(profile)["materials"]["beats"]:
        assert sorted(beats) == sorted({**theirs, "id": ""})
        assert without_id(beats) == theirs
    assert theirs["user_delete_ai_beats"] is None and theirs["ai_beats"]["melody_percents"] == [0.0]


@pytest.mark.parametrize("profile, video_ref, photo_ref, audio_ref", [
    ("capcut", CC89, CC86_MASKS, CC89),                 # 62978047 / 62978047 / 1
    ("capcut_legacy", CC62, CC62, CC62),                # 62978047 / 62978047 / 1 (also 9 of 10 6.9 photos)
    ("jianying", JY545, JY59, JY56),                    # 63487 / 63487 / 1
    ("jianying_pro_10", JY545, JY59, JY56),
])
def test_check_flag_of_media_materials_as_the_apps(built, profile, video_ref, photo_ref, audio_ref):
    content = built(profile)
    expected = {"video": ref_material(video_ref, "videos", type="video")["check_flag"],
                "photo": ref_material(photo_ref, "videos", type="photo")["check_flag"]}
    for material in content["materials"]["videos"]:
        assert material["check_flag"] == expected[material["type"]], material["type"]
    audio_flag = ref_material(audio_ref, "audios", type="extract_music")["check_flag"]
    assert {a["check_flag"] for a in content["materials"]["audios"]} == {audio_flag} == {1}


def test_capcut_mask_category_and_blur_canvas_colour_as_the_apps(built):
    content = built("capcut")
    (mask,) = content["materials"]["common_mask"]
    theirs = ref_material(CC86_MASKS, "common_mask")
    assert (mask["category_id"], mask["category_name"]) == (theirs["category_id"], theirs["category_name"]) == ("", "")
    (blur,) = ours(content, "canvases", type="canvas_blur")
    assert blur["color"] == ref_material(CC91_HYBRID, "canvases", type="canvas_blur")["color"] == ""


SHADOW_KEYS = ("shadow_alpha", "shadow_distance", "shadow_point", "shadow_smoothing")


@pytest.mark.parametrize("profile, ref_file, match", [
    ("capcut", CC89, None),                                           # unchanged: 8.1.1 plain texts
    ("capcut_legacy", CC77_EMBEDDED, {"type": "text", "add_type": 0}),
    ("jianying", JY545, {"type": "text", "shadow_color": "#000000"}),
])
def test_text_shadow_defaults_of_a_text_without_shadow_as_the_app(built, profile, ref_file, match):
    (text,) = ours(built(profile), "texts", type="text")
    assert text["has_shadow"] is False
    if match is None:
        theirs = ref_material("drafts/capcut-8.1-win-quran-juz6-timelines/draft_content.json", "texts",
                              type="text", add_type=0)
    else:
        theirs = ref_material(ref_file, "texts", **match)
    assert {k: text[k] for k in SHADOW_KEYS} == {k: theirs[k] for k in SHADOW_KEYS}


def test_capcut_legacy_photo_is_not_marked_copyrighted(built):
    photos = ours(built("capcut_legacy"), "videos", type="photo")
    theirs = {p["is_copyright"] for p in ref(CC69_ROLIK)["materials"]["videos"] if p["type"] == "photo"}
    assert photos and {p["is_copyright"] for p in photos} == theirs == {False}


def test_the_values_survive_dumps(built):
    """The compact file the folder writer saves carries the same values (alphabetical and schema order)."""
    for profile in PROFILE_NAMES:
        content = built(profile)
        again = json.loads(app_schema.dumps(content, PROFILES[profile]))
        assert again == json.loads(json.dumps(content))
