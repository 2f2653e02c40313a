"""capcut_drafts.export.app_schema: pyjianyingdraft output completed into what CapCut / JianYing write.

The sample drafts are built with pyjianyingdraft itself (materials made with `object.__new__`,
so no media files are needed).  Expected key sets come from tests/data/keysets_<app>.json, which
tools/extract_app_defaults.py read from the app-written reference drafts.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
from helpers import require_reference
from helpers.save import json_leaves
from pyJianYingDraft import (
    AudioMaterial,
    AudioSceneEffectType,
    AudioSegment,
    CropSettings,
    FilterType,
    IntroType,
    KeyframeProperty,
    MaskType,
    ScriptFile,
    StickerSegment,
    TextBorder,
    TextIntro,
    TextSegment,
    TextStyle,
    TrackSpec,
    TrackType,
    TransitionType,
    VideoMaterial,
    VideoSceneEffectType,
    VideoSegment,
    trange,
)

from capcut_drafts.export import app_schema
from capcut_drafts.model.profiles import PROFILES

DATA = Path(__file__).resolve().parents[1] / "data"
KEYSETS = {
    **json.loads((DATA / "keysets_capcut.json").read_text(encoding="utf-8")),
    **json.loads((DATA / "keysets_jianying.json").read_text(encoding="utf-8")),
}
KEYSETS["jianying_pro_10"] = KEYSETS["jianying"]
ALL_PROFILES = ["capcut", "capcut_legacy", "jianying", "jianying_pro_10"]

HEX32 = re.compile(r"[0-9a-f]{32}\Z")
WIN_GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9a-f]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\Z")
LOWER_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
HASH_KEYS = {"device_id", "hard_disk_id", "mac_address"}

# Buckets for which no reference draft of that app version has an entry: left as the library writes them.
NO_REFERENCE = {
    "capcut": {"audio_effects"},
    "capcut_legacy": {"audio_effects", "common_mask", "effects"},
    "jianying": {"audio_effects", "video_effects"},
    "jianying_pro_10": {"audio_effects", "video_effects"},
}


def first(enum):
    return next(iter(enum))


def video_material(name: str, kind: str, duration: int) -> VideoMaterial:
    m = object.__new__(VideoMaterial)
    m.material_id, m.local_material_id = uuid.uuid4().hex, ""
    m.material_name, m.path = name, f"/media/{name}"
    m.duration, m.width, m.height = duration, 1920, 1080
    m.crop_settings, m.material_type = CropSettings(), kind
    return m


def audio_material(name: str, duration: int) -> AudioMaterial:
    m = object.__new__(AudioMaterial)
    m.material_id, m.material_name, m.path, m.duration = uuid.uuid4().hex, name, f"/media/{name}", duration
    return m


def sample_draft() -> dict:
    """One of each kind of element: video with transition, blur canvas, mask, intro animation and a
    keyframe; a photo; audio with an audio effect; text; sticker; scene effect track; filter track."""
    script = ScriptFile(1920, 1080, 30, True)
    v = script.append_track(TrackSpec(TrackType.video, "main"))
    a = script.append_track(TrackSpec(TrackType.audio, "music"))
    t = script.append_track(TrackSpec(TrackType.text, "title"))
    s = script.append_track(TrackSpec(TrackType.sticker, "stickers"))
    script.append_track(TrackSpec(TrackType.effect, "fx"))
    script.append_track(TrackSpec(TrackType.filter, "grade"))

    clip = VideoSegment(video_material("clip.mp4", "video", 20_000_000), trange("0s", "5s"))
    clip.add_transition(first(TransitionType))
    clip.add_background_filling("blur", 0.375)
    clip.add_mask(first(MaskType), size=0.4)
    clip.add_animation(first(IntroType))
    clip.add_keyframe(KeyframeProperty.alpha, 0, 1.0)
    clip.add_keyframe(KeyframeProperty.alpha, 1_000_000, 0.5)
    script.add_segment(clip, v)
    script.add_segment(VideoSegment(video_material("still.png", "photo", 10_800_000_000), trange("5s", "3s")), v)

    audio = AudioSegment(audio_material("song.mp3", 60_000_000), trange("0s", "8s"))
    audio.add_effect(first(AudioSceneEffectType))
    script.add_segment(audio, a)

    text = TextSegment("Hello", trange("1s", "2s"), style=TextStyle(size=10, color=(1.0, 0.5, 0.0)),
                       border=TextBorder())
    text.add_animation(first(TextIntro))
    script.add_segment(text, t)
    script.add_segment(StickerSegment("7226264888031694091", trange("2s", "2s")), s)
    script.add_effect(first(VideoSceneEffectType), trange("0s", "4s"), "fx")
    script.add_filter(first(FilterType), trange("0s", "6s"), "grade", 60)
    return json.loads(script.dumps())


def completed(profile: str, seed: str = "draft-1", content: dict | None = None) -> dict:
    return app_schema.complete(content or sample_draft(), PROFILES[profile], seed=seed)


def material_index(content: dict) -> dict:
    return {m["id"]: (bucket, m) for bucket, lst in content["materials"].items() for m in lst}


def track_of(content: dict, ttype: str) -> dict:
    return next(t for t in content["tracks"] if t["type"] == ttype)


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_key_sets_match_the_reference_drafts(profile):
    content = completed(profile)
    ks = KEYSETS[profile]
    if profile == "capcut":
        assert list(content) == ks["document"]               # CapCut ≥ 8.1 schema order
    else:
        assert sorted(content) == sorted(ks["document"])
    assert sorted(content["materials"]) == ks["materials_buckets"]
    checked = set()
    for bucket, entries in content["materials"].items():
        kinds = [k for k in ks if k.startswith(bucket + ".")]
        for obj in entries:
            if not kinds:
                assert bucket in NO_REFERENCE[profile], f"{bucket} has no expected key set"
                continue
            name = f"{bucket}.{obj.get('type')}"
            if name not in ks:
                name = f"{bucket}.*" if f"{bucket}.*" in ks else kinds[0]
            assert sorted(obj) == ks[name], f"{profile} {name}: " \
                f"extra {sorted(set(obj) - set(ks[name]))} missing {sorted(set(ks[name]) - set(obj))}"
            checked.add(name)
            if bucket == "material_animations":
                for anim in obj["animations"]:
                    assert sorted(anim) == ks["items.material_animations.animations"]
    for track in content["tracks"]:
        assert sorted(track) == ks["track"]
        for seg in track["segments"]:
            assert sorted(seg) == ks[f"segment.{track['type']}"], track["type"]
            for curve in seg["common_keyframes"]:
                assert sorted(curve) == ks["keyframe_curve"]
                for point in curve["keyframe_list"]:
                    assert sorted(point) == ks["keyframe_point"]
    expected_kinds = {"videos.video", "videos.photo", "audios.extract_music", "texts.text", "speeds.speed",
                      "canvases.canvas_color", "sound_channel_mappings.none", "vocal_separations.vocal_separation",
                      "beats.beats", "material_animations.sticker_animation", "transitions.transition"}
    if "placeholder_infos.placeholder_info" in ks:
        expected_kinds.add("placeholder_infos.placeholder_info")
    assert expected_kinds <= checked, expected_kinds - checked


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_each_object_kind_completed(profile):
    content = completed(profile)
    m = content["materials"]
    p = PROFILES[profile]
    assert m[p.mask_bucket] and len(m[p.mask_bucket]) == 1
    other_mask = "masks" if p.mask_bucket == "common_mask" else "common_mask"
    assert other_mask not in m
    assert [c["type"] for c in m["canvases"]] == ["canvas_blur", "canvas_color"]
    assert {v["type"] for v in m["videos"]} == {"video", "photo"}
    assert m["effects"][0]["type"] == "filter" and m["video_effects"][0]["type"] == "video_effect"
    text = m["texts"][0]
    assert text["font_size"] == 10.0 and text["text_color"] == "#ff8000"   # mirrored from content
    assert isinstance(content["fps"], float)
    assert content["version"] == 360000 and content["new_version"] == p.new_version
    speeds = {s["id"]: s for s in m["speeds"]}
    for track in content["tracks"]:
        for seg in track["segments"]:
            for ref in seg["extra_material_refs"]:
                if ref in speeds:
                    assert speeds[ref]["speed"] == seg["speed"]


def ref_buckets(content: dict, seg: dict) -> list[str]:
    index = material_index(content)
    return [index[r][0] for r in seg["extra_material_refs"]]


EXPECTED_REFS = {
    "capcut": {
        "clip": ["speeds", "placeholder_infos", "transitions", "common_mask", "canvases", "material_animations",
                 "sound_channel_mappings", "material_colors", "vocal_separations"],
        "photo": ["speeds", "placeholder_infos", "canvases", "sound_channel_mappings", "material_colors",
                  "vocal_separations"],
        "audio": ["speeds", "placeholder_infos", "audio_effects", "beats", "sound_channel_mappings",
                  "vocal_separations"],
    },
    "capcut_legacy": {
        "clip": ["speeds", "placeholder_infos", "transitions", "common_mask", "canvases", "material_animations",
                 "sound_channel_mappings", "vocal_separations"],
        "photo": ["speeds", "placeholder_infos", "canvases", "sound_channel_mappings", "vocal_separations"],
        "audio": ["speeds", "placeholder_infos", "audio_effects", "beats", "sound_channel_mappings",
                  "vocal_separations"],
    },
    "jianying": {
        "clip": ["speeds", "transitions", "masks", "canvases", "material_animations", "sound_channel_mappings",
                 "vocal_separations"],
        "photo": ["speeds", "canvases", "sound_channel_mappings", "vocal_separations"],
        "audio": ["speeds", "audio_effects", "beats", "sound_channel_mappings", "vocal_separations"],
    },
}
EXPECTED_REFS["jianying_pro_10"] = EXPECTED_REFS["jianying"]


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_helper_materials_in_app_order_and_never_shared(profile):
    content = completed(profile)
    expected = EXPECTED_REFS[profile]
    clip, photo = track_of(content, "video")["segments"]
    assert ref_buckets(content, clip) == expected["clip"]
    assert ref_buckets(content, photo) == expected["photo"]
    assert ref_buckets(content, track_of(content, "audio")["segments"][0]) == expected["audio"]
    assert ref_buckets(content, track_of(content, "text")["segments"][0]) == ["material_animations", ]
    assert track_of(content, "sticker")["segments"][0]["extra_material_refs"] == []
    for ttype in ("effect", "filter"):
        assert track_of(content, ttype)["segments"][0]["extra_material_refs"] == []
    owners = {}
    for track in content["tracks"]:
        for seg in track["segments"]:
            for ref in [seg["material_id"], *seg["extra_material_refs"]]:
                assert ref not in owners, f"{ref} shared by {owners[ref]} and {seg['id']}"
                owners[ref] = seg["id"]


def test_text_without_animation_gets_an_empty_animation_helper():
    script = ScriptFile(1080, 1920, 30, True)
    script.append_track(TrackSpec(TrackType.text))
    script.add_segment(TextSegment("plain", trange("0s", "1s")))
    content = completed("capcut", content=json.loads(script.dumps()))
    seg = track_of(content, "text")["segments"][0]
    (bucket,) = ref_buckets(content, seg)
    assert bucket == "material_animations"
    anim = content["materials"]["material_animations"][0]
    assert anim["type"] == "sticker_animation" and anim["animations"] == []


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_no_generator_ids_left_and_windows_style(profile):
    content = completed(profile)
    text = json.dumps(content)
    assert app_schema.LIBRARY_TEMPLATE_ID not in text
    for key, value in json_leaves(content):
        if isinstance(value, str) and HEX32.match(value):
            assert key in HASH_KEYS, f"{key}: {value}"
    assert WIN_GUID.match(content["id"])
    for track in content["tracks"]:
        assert WIN_GUID.match(track["id"])
        for seg in track["segments"]:
            assert WIN_GUID.match(seg["id"]) and WIN_GUID.match(seg["material_id"])
            assert all(WIN_GUID.match(r) for r in seg["extra_material_refs"])
            for curve in seg["common_keyframes"]:
                assert WIN_GUID.match(curve["id"])
                assert all(WIN_GUID.match(p["id"]) for p in curve["keyframe_list"])
    for bucket, entries in content["materials"].items():
        for obj in entries:
            assert WIN_GUID.match(obj["id"]), (bucket, obj["id"])
    audio = content["materials"]["audios"][0]
    assert LOWER_GUID.match(audio["local_material_id"]) and LOWER_GUID.match(audio["music_id"])
    assert audio["local_material_id"] != audio["music_id"]


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_same_seed_same_bytes_other_seed_other_ids(profile):
    p = PROFILES[profile]
    # Two separately built drafts: same structure, different random library ids.
    one = app_schema.dumps(completed(profile, "seed-A"), p)
    two = app_schema.dumps(completed(profile, "seed-A"), p)
    assert one == two
    other = completed(profile, "seed-B")
    first_ids = {v for k, v in json_leaves(json.loads(one)) if k == "id"}
    other_ids = {v for k, v in json_leaves(other) if k == "id"}
    guid_ids = {i for i in first_ids if isinstance(i, str) and WIN_GUID.match(i)}
    assert guid_ids and not guid_ids & other_ids


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_references_resolve(profile):
    content = completed(profile)
    index = material_index(content)
    assert len(index) == sum(len(v) for v in content["materials"].values()), "duplicate material ids"
    for track in content["tracks"]:
        for seg in track["segments"]:
            assert seg["material_id"] in index
            for ref in seg["extra_material_refs"]:
                assert ref in index


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_loads_with_pyjianyingdraft(profile, tmp_path):
    p = PROFILES[profile]
    path = tmp_path / "draft_content.json"
    path.write_text(app_schema.dumps(completed(profile), p), encoding="utf-8")
    script = ScriptFile._load_template(str(path))
    assert len(script.imported_tracks) == 6
    assert script.imported_materials["videos"]


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_platform_blocks(profile):
    p = PROFILES[profile]
    content = completed(profile)
    for key in ("platform", "last_modified_platform"):
        block = content[key]
        assert len(block) == 8
        assert block["app_id"] == p.app_id and block["app_source"] == p.app_source
        assert block["app_version"] == p.app_version and block["os"] == "windows"
        assert re.match(r"10\.0\.\d+\Z", block["os_version"])
        assert HEX32.match(block["device_id"]) and HEX32.match(block["mac_address"])
        if profile == "capcut":
            assert block["hard_disk_id"] == ""
        else:
            assert HEX32.match(block["hard_disk_id"])
    assert content["platform"] == content["last_modified_platform"]
    assert completed(profile, "other")["platform"]["device_id"] != content["platform"]["device_id"]


def test_an_app_written_platform_is_kept_as_creator():
    content = sample_draft()
    creator = {"app_id": 359289, "app_source": "cc", "app_version": "7.7.0", "os": "windows",
               "os_version": "10.0.22631", "device_id": "a" * 32, "hard_disk_id": "", "mac_address": "b" * 32}
    content["platform"] = dict(creator)
    out = completed("capcut", content=content)
    assert out["platform"] == creator
    assert out["last_modified_platform"]["app_version"] == "8.9.1"


def test_dumps_key_order_and_form():
    for profile in ALL_PROFILES:
        p = PROFILES[profile]
        text = app_schema.dumps(completed(profile), p)
        data = json.loads(text)
        assert text == json.dumps(data, ensure_ascii=False, separators=(",", ":"))   # one compact line
        texts = data["materials"]["texts"]
        assert texts and all(t["content"] == json.dumps(json.loads(t["content"]), ensure_ascii=False,
                                                        separators=(",", ":")) for t in texts)
        top = list(data)
        if profile == "capcut":
            assert top == KEYSETS["capcut"]["document"]
            assert top[:3] == ["id", "version", "new_version"]
            seg = json.loads(text)["tracks"][0]["segments"][0]
            assert list(seg)[:4] == ["id", "source_timerange", "target_timerange", "render_timerange"]
        else:
            assert top == sorted(top)
            for _, obj in ((k, v) for k, v in walk_dicts(json.loads(text))):
                assert list(obj) == sorted(obj)


def walk_dicts(value, key=""):
    if isinstance(value, dict):
        yield key, value
        for k, v in value.items():
            yield from walk_dicts(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk_dicts(v, key)


def test_present_values_are_kept():
    content = sample_draft()
    video = next(m for m in content["materials"]["videos"] if m["type"] == "video")
    video["has_audio"] = True
    video["custom_key"] = {"b": 1, "a": 2}
    seg = content["tracks"][0]["segments"][0]
    seg["volume"] = 0.25
    out = completed("capcut", content=content)
    video = next(m for m in out["materials"]["videos"] if m["type"] == "video")
    assert video["has_audio"] is True and video["custom_key"] == {"a": 2, "b": 1}
    assert list(video)[-1] == "custom_key"
    assert track_of(out, "video")["segments"][0]["volume"] == 0.25


def test_material_used_by_two_segments_is_split():
    script = ScriptFile(1920, 1080, 30, True)
    script.append_track(TrackSpec(TrackType.video))
    material = video_material("clip.mp4", "video", 20_000_000)
    script.add_segment(VideoSegment(material, trange("0s", "2s")))
    script.add_segment(VideoSegment(material, trange("2s", "2s"), source_timerange=trange("5s", "2s")))
    content = completed("jianying", content=json.loads(script.dumps()))
    segs = content["tracks"][0]["segments"]
    assert segs[0]["material_id"] != segs[1]["material_id"]
    assert len(content["materials"]["videos"]) == 2
    paths = {m["path"] for m in content["materials"]["videos"]}
    assert paths == {"/media/clip.mp4"}


def test_duplicate_material_entries_are_assigned_not_cloned():
    """A builder that appends the same material once per segment (same id twice)."""
    script = ScriptFile(1920, 1080, 30, True)
    script.append_track(TrackSpec(TrackType.video))
    material = video_material("clip.mp4", "video", 20_000_000)
    script.add_segment(VideoSegment(material, trange("0s", "2s")))
    script.add_segment(VideoSegment(material, trange("2s", "2s")))
    content = json.loads(script.dumps())
    second = json.loads(json.dumps(content["materials"]["videos"][0]))
    second["crop"]["upper_left_x"] = 0.25                      # the second segment's own copy
    content["materials"]["videos"].append(second)
    out = completed("capcut", content=content)
    videos = {m["id"]: m for m in out["materials"]["videos"]}
    assert len(videos) == 2 == len(out["materials"]["videos"])
    first_seg, second_seg = out["tracks"][0]["segments"]
    assert videos[first_seg["material_id"]]["crop"]["upper_left_x"] == 0.0
    assert videos[second_seg["material_id"]]["crop"]["upper_left_x"] == 0.25


def big_draft(n: int) -> dict:
    """n segments: 80 % video/photo clips (every 5th animated), 10 % audio, 10 % text."""
    script = ScriptFile(1920, 1080, 30, True)
    v = script.append_track(TrackSpec(TrackType.video, "v"))
    a = script.append_track(TrackSpec(TrackType.audio, "a"))
    t = script.append_track(TrackSpec(TrackType.text, "t"))
    for i in range(n):
        at = trange(i * 1_000_000, 1_000_000)
        if i % 10 == 1:
            script.add_segment(AudioSegment(audio_material(f"s{i}.mp3", 2_000_000), at), a)
        elif i % 10 == 2:
            script.add_segment(TextSegment(f"line {i}", at), t)
        else:
            seg = VideoSegment(video_material(f"clip{i}.mp4", "photo" if i % 3 == 0 else "video", 10_800_000_000), at)
            if i % 5 == 0:
                seg.add_animation(first(IntroType))
            script.add_segment(seg, v)
    return json.loads(script.dumps())


@pytest.mark.parametrize("profile", ["capcut", "jianying"])
def test_timing_2000_segments(profile):
    p = PROFILES[profile]
    content = big_draft(2000)
    start = time.perf_counter()
    out = app_schema.complete(content, p, seed="big")
    mid = time.perf_counter()
    text = app_schema.dumps(out, p)
    end = time.perf_counter()
    print(f"\n{profile}: complete {1000 * (mid - start):.0f} ms, dumps {1000 * (end - mid):.0f} ms "
          f"for {sum(len(t['segments']) for t in out['tracks'])} segments, {len(text) / 1e6:.1f} MB")
    assert len(out["materials"]["speeds"]) == len(out["tracks"][0]["segments"]) + len(out["tracks"][1]["segments"])


def test_template_files_are_current():
    """template/ and tests/data/keysets_* are what tools/extract_app_defaults.py writes (when the
    reference folder is available)."""
    ref = require_reference()
    import tools.extract_app_defaults as extract
    assert extract.main(["--ref", str(ref), "--check"]) == 0


def test_ids_follow_the_documented_derivation():
    """The n-th distinct generator id maps to uuid5(NAMESPACE, f"{seed}:{n}") with a v4 version nibble."""
    content = completed("capcut", "seed-Z")
    expected = uuid.uuid5(app_schema.NAMESPACE, "seed-Z:0").hex
    expected = expected[:12] + "4" + expected[13:]
    variant = int(expected[16], 16) & 0x3 | 0x8
    expected = expected[:16] + f"{variant:x}" + expected[17:]
    assert content["id"] == app_schema.windows_guid(expected)
    first_track = content["tracks"][0]["id"]
    h = uuid.uuid5(app_schema.NAMESPACE, "seed-Z:1").hex
    assert first_track.replace("-", "").lower()[:12] == h[:12]


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_completing_twice_changes_nothing(profile):
    p = PROFILES[profile]
    once = app_schema.complete(sample_draft(), p, seed="s")
    text = app_schema.dumps(once, p)
    twice = app_schema.complete(json.loads(text), p, seed="s")
    assert app_schema.dumps(twice, p) == text
