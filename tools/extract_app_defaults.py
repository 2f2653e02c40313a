"""Derive the per-profile app defaults in template/<profile>/ from the app-written reference drafts.

Dev-time only: the service reads the generated JSON files and never this script or the reference
folder. Run:

    .venv/bin/python tools/extract_app_defaults.py [--ref /work/shared/reference] [--check]

For every object kind (top-level document, material bucket entry of one ``type``, track, segment of
one track type, keyframe curve/point, animation entry) a *schema* instance from a reference draft
gives the key set and the key order; optional *value* instances (other drafts, same kind) supply
neutral values for the keys they share, because the schema instance is sometimes an unusual one
(an auto-caption, a moved sticker).  Every value is then sanitised: ids, names, paths, URLs and
request ids become "", data lists become [] (except the few every app fills alike, _LIST_DEFAULTS),
timing becomes 0.  What remains are the app's default scalars and the shape of its nested objects.
rules.json also lists the *app-owned* keys (APP_OWNED): where pyjianyingdraft writes a constant the
apps do not, the template's value replaces it.

Also writes tests/data/keysets_capcut.json and tests/data/keysets_jianying.json: the key sets of
the schema instances, which the tests compare with what capcut_drafts.export.app_schema produces.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "capcut_drafts" / "export" / "templates"
KEYSET_DIR = ROOT / "tests" / "data"

# Short names for the reference files used below (paths relative to the reference folder).
FILES = {
    "cc89": "drafts/capcut-8.9-win-donor-282new/draft_content.json",
    "cc86_masks": "drafts/capcut-8.6-win-sanitized-masks-filters/draft_content.json",
    "cc86_stickers": "drafts/capcut-8.6-win-sanitized-stickers/draft_content.json",
    "cc86_trans": "drafts/capcut-8.6-win-sanitized-transitions/draft_content.json",
    "cc91_hybrid": "drafts/capcut-9.1-win-pipeline-hybrid/fixtures/parity-gold/parity_gold_snap_full.json",
    "cc91_premiere": "drafts/capcut-9.1-win-premiere/draft_content.json",
    "cc81_juz6": "drafts/capcut-8.1-win-quran-juz6-timelines/draft_content.json",
    "cc77_tracker": "drafts/capcut-7.7-win-tqk-tracker/draft_content.json",
    "cc77_embedded": "drafts/capcut-7.7-win-tqk-embedded/draft_content.json",
    "cc65_tmpl": "templates/capcutapi-template/template-2.tmp",
    "cc62": "drafts/capcut-6.2-win-baby-starfish/draft_content.json",
    "cc69_rolik": "drafts/capcut-6.9-win-rolik/draft_content.json",
    "cc58_trans": "drafts/capcut-5.8-win-catcuttool/draft_content_transition.json",
    "cc38": "drafts/capcut-3.8-win-temp/draft_content.json",
    "jy59": "drafts/jianying-5.9-win-pyjydraft-web/draft_content.json",
    "jy59_tmpl": "templates/capcutapi-template_jianying/template-2.tmp",
    "jy56_t1": "drafts/jianying-5.6-win-draftdemo-t1/draft_content.json",
    "jy56_t2": "drafts/jianying-5.6-win-draftdemo-t2/draft_content.json",
    "jy55": "drafts/jianying-5.5-win-draftdemo-normal/draft_content.json",
    "jy545": "drafts/jianying-5.4.5beta-mac-mirage/draft_info.json",
}

# ----------------------------------------------------------------------------------------------
# Picking instances out of a draft
# ----------------------------------------------------------------------------------------------


class Refs:
    def __init__(self, ref_root: Path):
        self.root = ref_root
        self._cache: dict[str, dict] = {}
        self.used: set = set()

    def draft(self, name: str) -> dict:
        self.used.add(name)
        if name not in self._cache:
            with open(self.root / FILES[name], encoding="utf-8-sig") as fh:
                self._cache[name] = json.load(fh)
        return self._cache[name]

    def material(self, name: str, bucket: str, where: Callable[[dict], bool] | None = None) -> dict:
        for obj in self.draft(name)["materials"].get(bucket) or []:
            if where is None or where(obj):
                return obj
        raise LookupError(f"{name}: no {bucket} entry matching")

    def segment(self, name: str, track_type: str, where: Callable[[dict], bool] | None = None) -> dict:
        for track in self.draft(name)["tracks"]:
            if track["type"] != track_type:
                continue
            for seg in track["segments"]:
                if where is None or where(seg):
                    return seg
        raise LookupError(f"{name}: no {track_type} segment matching")

    def track(self, name: str, track_type: str) -> dict:
        for track in self.draft(name)["tracks"]:
            if track["type"] == track_type:
                return {k: v for k, v in track.items()}
        raise LookupError(f"{name}: no {track_type} track")

    def keyframe_curve(self, name: str) -> dict:
        for track in self.draft(name)["tracks"]:
            for seg in track["segments"]:
                for curve in seg.get("common_keyframes") or []:
                    if curve.get("keyframe_list"):
                        return curve
        raise LookupError(f"{name}: no keyframes")


def of_type(t: str) -> Callable[[dict], bool]:
    return lambda o: o.get("type") == t


def anim_entry(kind: str | None = None) -> Callable[[dict], bool]:
    return lambda o: any(kind is None or a.get("type") == kind for a in o.get("animations") or [])


# ----------------------------------------------------------------------------------------------
# Sanitising
# ----------------------------------------------------------------------------------------------

_PATHLIKE = re.compile(r"^(?:[A-Za-z]:[/\\]|/|\\\\|https?://|file:)")
_BLANK_KEYS = {
    "id", "name", "material_name", "text", "content", "recognize_text", "base_content", "language",
    "query", "font_name", "style_name", "report_name", "tone_effect_name", "pgc_name", "unique_id",
    "icon_url", "preview_cover_url", "md5", "key", "resource_name", "title", "recognize_model",
    "punc_model", "ssml_content", "translate_original_text", "update_params", "merge_content",
    "file_uri", "custom_matting_id", "category_name_key",
}
# Timing and sizes that belong to one clip, not to the kind.
_ZERO_NUMBER_KEYS = {"start", "duration", "start_time", "end_time", "time_offset"}
# Lists the apps fill with the same value in every object of the kind: kept, not emptied.
# ai_beats.melody_percents: [0.0] in the beats of CapCut 1.5–8.9 and JianYing 2.8–5.6 where no
# beat analysis ran ([0.6…] only in the few where it did).
_LIST_DEFAULTS: dict[str, list] = {"melody_percents": [0.0]}


def sanitize(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: sanitize(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return list(_LIST_DEFAULTS.get(key, []))
    if isinstance(value, str):
        if key == "category_name" and value != "local":
            return ""  # catalogue names ("Trending", "Hot Bgm"...) belong to one effect; "local" is the kind's
        if key == "font_title":
            return "none"
        if key in _BLANK_KEYS or key.endswith("_id") or "path" in key or key.endswith("url"):
            return ""
        if _PATHLIKE.match(value):
            return ""
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and key in _ZERO_NUMBER_KEYS:
        return type(value)(0)
    return value


def compose(schema: dict, values: list[dict], overrides: dict | None = None,
            add_keys: dict | None = None, keys_from: dict | None = None) -> dict:
    """Keys/order from `schema` (or `keys_from`), values from the first of `values` that has the key."""
    order = list((keys_from or schema).keys())
    out: dict[str, Any] = {}
    for k in order:
        for src in values + [schema]:
            if k in src:
                out[k] = src[k]
                break
    out = sanitize(out)
    for k, v in (add_keys or {}).items():
        out.setdefault(k, v)
    for k, v in (overrides or {}).items():
        if k not in out:
            raise KeyError(f"override of unknown key {k}")
        out[k] = v
    return out


NEUTRAL_CLIP = {"scale": {"x": 1.0, "y": 1.0}, "rotation": 0.0, "transform": {"x": 0.0, "y": 0.0},
                "flip": {"vertical": False, "horizontal": False}, "alpha": 1.0}


def neutral_clip(template_clip: Any) -> Any:
    """Keep the app's key order of `clip`, reset the numbers to identity."""
    if not isinstance(template_clip, dict):
        return template_clip
    out = {}
    for k, v in template_clip.items():
        if isinstance(v, dict):
            out[k] = {kk: NEUTRAL_CLIP[k][kk] for kk in v}
        else:
            out[k] = NEUTRAL_CLIP[k]
    return out


# A text default must not switch on a look the builder did not ask for: the plain texts in the
# references carry their author's background/outline choices.  These are the values the 8.9
# captions and the library use when a feature is off.
NEUTRAL_TEXT = {
    "background_color": "", "background_style": 0, "background_alpha": 1.0, "background_round_radius": 0.0,
    "background_width": 0.14, "background_height": 0.14, "background_horizontal_offset": 0.0,
    "background_vertical_offset": 0.0, "background_fill": "", "has_shadow": False, "bold_width": 0.0,
    "italic_degree": 0, "underline": False, "text_color": "#ffffff", "text_alpha": 1.0, "ktv_color": "",
    "border_color": "", "border_alpha": 1.0, "border_width": 0.08, "font_size": 15.0,
    "fixed_width": -1.0, "fixed_height": -1.0,
}


# JianYing's own text-shadow defaults (the values the app shows when a shadow is switched on), the
# same in every JianYing text here (4.6.1 and 5.4.5: distance 8, smoothing 1.0, alpha 0.8, point at
# 8 × (0.127, −0.127), colour black); CapCut 3.8–8.1 write 5 / 0.45 / 0.9 instead, so the CapCut
# 3.8 text the JianYing template otherwise uses cannot supply them.
JIANYING_TEXT_KEYS = ("shadow_alpha", "shadow_color", "shadow_distance", "shadow_point", "shadow_smoothing",
                      "use_effect_default_color")


def text_default(schema: dict, values: list[dict], overrides: dict | None = None) -> dict:
    out = compose(schema, values)
    for k, v in NEUTRAL_TEXT.items():
        if k in out:
            out[k] = v
    for k, v in (overrides or {}).items():
        if k not in out:
            raise KeyError(k)
        out[k] = v
    return out


def segment_default(schema: dict, values: list[dict], overrides: dict | None = None,
                    keys_from: dict | None = None) -> dict:
    seg = compose(schema, values, keys_from=keys_from)
    for k in ("render_index", "track_render_index"):
        if k in seg:
            seg[k] = 0
    for k in ("volume", "last_nonzero_volume", "speed"):
        if k in seg:
            seg[k] = 1.0
    if "clip" in seg:
        seg["clip"] = neutral_clip(seg["clip"])
    for k, v in (overrides or {}).items():
        seg[k] = v
    return seg


# ----------------------------------------------------------------------------------------------
# Profile specs
# ----------------------------------------------------------------------------------------------

# Order of a segment's extra_material_refs by bucket (reference README fact 13 and the orders seen
# in the drafts: masks, hsl, chromas and audio fades sit between the transition slot and canvases on
# video segments; audio fades sit before beats on audio segments; JianYing lists a compound clip's
# `drafts` entry first, CapCut 6.2 an audio `time_marks` entry first).  Buckets not listed here go
# into the "other" slot.
VIDEO_REF_ORDER = ["drafts", "time_marks", "speeds", "placeholder_infos", "transitions", "common_mask",
                   "masks", "chromas", "hsl", "audio_fades", "*", "canvases", "material_animations",
                   "sound_channel_mappings", "material_colors", "loudnesses", "vocal_beautifys",
                   "vocal_separations"]
AUDIO_REF_ORDER = ["drafts", "time_marks", "speeds", "placeholder_infos", "audio_fades", "*", "beats",
                   "sound_channel_mappings", "loudnesses", "vocal_beautifys", "vocal_separations"]
TEXT_REF_ORDER = ["material_animations", "effects", "*"]

# Keys whose value the app decides, whatever pyjianyingdraft wrote: app_schema writes the template's
# value (from the reference drafts) even where the library already set one. Only keys for which the
# library writes a constant that the apps do not:
#   segments            enable_adjust / enable_lut: the library writes true on every segment; the apps
#                       true on video segments only and false on audio, text, sticker, effect and
#                       filter segments (every reference: CapCut 1.5–9.1, JianYing 2.8–5.9)
#   videos              check_flag: the library writes 63487, as CapCut ≤ 3.8 and JianYing do; CapCut
#                       5.8–9.1 write 62978047 on videos and photos (CapCut 6.x: 6.2, 6.3, 6.9)
#   audios              check_flag: the library writes 3, every app 1
#   common_mask         category_id / category_name: the library writes "jichu" / "基础"; CapCut 8.6
#                       writes "" / ""
#   canvases.canvas_blur color: the library writes "#00000000"; CapCut 9.1 writes ""
# "<bucket>" applies to every kind of the bucket, "<bucket>.<type>" to one kind; a kind the profile
# has no template for is left as the library writes it.
APP_OWNED = {
    "segments": ["enable_adjust", "enable_lut"],
    "materials": {
        "videos": ["check_flag"],
        "audios": ["check_flag"],
        "common_mask": ["category_id", "category_name"],
        "canvases.canvas_blur": ["color"],
    },
}


def app_owned(materials: dict[str, dict[str, dict]], segments: dict[str, dict]) -> dict:
    """APP_OWNED narrowed to what this profile's templates have (every named key must exist)."""
    out: dict[str, Any] = {"segments": APP_OWNED["segments"], "materials": {}}
    for ttype, seg in segments.items():
        missing = [k for k in APP_OWNED["segments"] if k not in seg]
        if missing:
            raise KeyError(f"segment {ttype} template lacks app-owned keys {missing}")
    for target, keys in APP_OWNED["materials"].items():
        bucket, _, kind = target.partition(".")
        kinds = [k for k in materials.get(bucket, {}) if not kind or k == kind]
        for k in kinds:
            missing = [key for key in keys if key not in materials[bucket][k]]
            if missing:
                raise KeyError(f"{bucket}.{k} template lacks app-owned keys {missing}")
        if kinds:
            out["materials"][target] = keys
    return out


def spec_capcut(r: Refs) -> dict:
    d89 = r.draft("cc89")
    d86 = r.draft("cc86_stickers")
    plain_text = r.material("cc81_juz6", "texts", lambda t: t.get("add_type") == 0 and t.get("type") == "text")
    text89 = d89["materials"]["texts"][0]
    video_seg = r.segment("cc89", "video")
    return {
        "dir": "capcut",
        "app": "capcut",
        "key_order": "schema",
        "platform": {"os_version": "10.0.26100", "hard_disk_id": False},
        "document": ("cc89 (8.9.1) key set/order; values from cc86 stickers (8.6) where present",
                     compose({k: v for k, v in d89.items()}, [d86],
                             overrides={"duration": 0, "name": "",
                                        "materials": {b: [] for b in d89["materials"]}})),
        "track": ("cc89 video track", compose(r.track("cc89", "video"), [])),
        "segments": {
            "video": ("cc89 video segment", segment_default(video_seg, [])),
            "audio": ("cc89 audio segment", segment_default(r.segment("cc89", "audio"), [])),
            "text": ("cc89 text segment", segment_default(r.segment("cc89", "text"), [])),
            "sticker": ("cc89 sticker segment", segment_default(r.segment("cc89", "sticker"), [])),
            "filter": ("cc86 masks-filters filter segment, keys of cc89",
                       segment_default(r.segment("cc86_masks", "filter"), [], keys_from=video_seg)),
            "effect": ("cc91 hybrid effect segment, keys of cc89",
                       segment_default(r.segment("cc91_hybrid", "effect"), [], keys_from=video_seg)),
        },
        "keyframe_curve": ("cc91 hybrid", r.keyframe_curve("cc91_hybrid")),
        "materials": {
            "videos": {
                "video": ("cc89", compose(r.material("cc89", "videos", of_type("video")), [])),
                "photo": ("cc86 masks-filters", compose(r.material("cc86_masks", "videos", of_type("photo")), [],
                                                        keys_from=r.material("cc89", "videos"))),
            },
            "audios": {
                "extract_music": ("cc89", compose(r.material("cc89", "audios", of_type("extract_music")), [])),
                "music": ("cc89", compose(r.material("cc89", "audios", of_type("music")), [])),
            },
            "texts": {
                "text": ("cc89 key set/order; values from a plain cc81 juz6 text",
                         text_default(text89, [plain_text])),
                "subtitle": ("cc89 key set/order; values from a plain cc81 juz6 text, type subtitle",
                             text_default(text89, [plain_text], overrides={"type": "subtitle"})),
            },
            "stickers": {"sticker": ("cc89", compose(r.material("cc89", "stickers"), []))},
            "text_templates": {"text_template_subtitle": ("cc89", compose(r.material("cc89", "text_templates"), []))},
            "transitions": {"transition": ("cc89", compose(r.material("cc89", "transitions"), []))},
            "material_animations": {"sticker_animation": ("cc89",
                                                          compose(r.material("cc89", "material_animations"), []))},
            "speeds": {"speed": ("cc89", compose(r.material("cc89", "speeds"), []))},
            "placeholder_infos": {"placeholder_info": ("cc89", compose(r.material("cc89", "placeholder_infos"), []))},
            "canvases": {
                "canvas_color": ("cc89", compose(r.material("cc89", "canvases", of_type("canvas_color")), [])),
                "canvas_blur": ("cc91 hybrid",
                                compose(r.material("cc91_hybrid", "canvases", of_type("canvas_blur")), [])),
            },
            "sound_channel_mappings": {"none": ("cc89", compose(r.material("cc89", "sound_channel_mappings"), []))},
            "material_colors": {"*": ("cc89", compose(r.material("cc89", "material_colors"), []))},
            "vocal_separations": {"vocal_separation": ("cc89", compose(r.material("cc89", "vocal_separations"), []))},
            "beats": {"beats": ("cc89", compose(r.material("cc89", "beats"), []))},
            "loudnesses": {"*": ("cc89", compose(r.material("cc89", "loudnesses"), []))},
            "hsl": {"hsl": ("cc89", compose(r.material("cc89", "hsl"), []))},
            "common_mask": {"mask": ("cc86 masks-filters", compose(r.material("cc86_masks", "common_mask"), []))},
            "effects": {
                "filter": ("cc86 masks-filters", compose(r.material("cc86_masks", "effects", of_type("filter")), [])),
                "bloom": ("cc81 juz6", compose(r.material("cc81_juz6", "effects", of_type("bloom")), [])),
                "text_effect": ("cc86 filter key set/order; values from a cc77 text_effect",
                                compose(r.material("cc86_masks", "effects", of_type("filter")),
                                        [r.material("cc77_tracker", "effects", of_type("text_effect"))])),
                "*": ("cc86 filter key set/order (effects share one schema)",
                      compose(r.material("cc86_masks", "effects", of_type("filter")), [],
                              overrides={"panel_id": "", "value": 1.0})),
            },
            "video_effects": {"video_effect": ("cc91 hybrid", compose(r.material("cc91_hybrid", "video_effects"), []))},
            "audio_fades": {"audio_fade": ("cc91 premiere", compose(r.material("cc91_premiere", "audio_fades"), []))},
        },
        "items": {
            "material_animations.animations": ("cc89 'in' animation", compose(
                r.material("cc89", "material_animations", anim_entry("in"))["animations"][0], [])),
        },
        "helpers": {
            "video": ["speeds", "placeholder_infos", "canvases", "sound_channel_mappings", "material_colors",
                      "vocal_separations"],
            "audio": ["speeds", "placeholder_infos", "beats", "sound_channel_mappings", "vocal_separations"],
            "text": ["material_animations"],
        },
    }


def spec_capcut_legacy(r: Refs) -> dict:
    tmpl = r.draft("cc65_tmpl")
    d62 = r.draft("cc62")
    video_seg = r.segment("cc62", "video")
    text62 = r.material("cc62", "texts")
    # The 6.2 draft's objects carry its author's choices where other 6.x–7.x drafts agree on neutral
    # values: its one photo is a stock image (is_copyright true, no "local" category), its one beats
    # entry has AI beats switched on (enable_ai_beats, gear 0, mode 1, user_delete_ai_beats a dict;
    # 6.3, 6.9 and 7.7 write false / 404 / 404 / null) and its texts are auto-captions, whose shadow
    # defaults (8 / 1.0 / 0.8) differ from a plain text's (5 / 0.45 / 0.9 in 6.3, 7.7 and 3.8–8.1).
    # Those kinds keep 6.2's key set and take their values from 6.9 (rolik) and from a plain 7.7 text
    # (subtitles stay 6.2's: they are auto-captions there too).
    plain_text77 = r.material("cc77_embedded", "texts", lambda t: t.get("add_type") == 0 and t.get("type") == "text")
    return {
        "dir": "capcut_legacy",
        "app": "capcut",
        "key_order": "alphabetical",
        "platform": {"os_version": "10.0.19045", "hard_disk_id": True},
        "document": ("cc65 template (CapCut 6.5.0 mac) key set and values; color_space 0 as the Windows "
                     "drafts cc62/cc69 write (the mac template has -1)",
                     compose({k: v for k, v in tmpl.items()}, [],
                             overrides={"duration": 0, "name": "", "color_space": d62["color_space"]})),
        "track": ("cc62 video track", compose(r.track("cc62", "video"), [])),
        "segments": {
            "video": ("cc62 video segment", segment_default(video_seg, [])),
            "audio": ("cc62 audio segment", segment_default(r.segment("cc62", "audio"), [])),
            "text": ("cc62 text segment", segment_default(r.segment("cc62", "text"), [])),
            "sticker": ("cc62 text segment (same key set; stickers behave like texts)",
                        segment_default(r.segment("cc62", "text"), [])),
            "effect": ("cc62 effect segment", segment_default(r.segment("cc62", "effect"), [])),
            "filter": ("cc62 effect segment (same key set and values as a filter segment)",
                       segment_default(r.segment("cc62", "effect"), [])),
        },
        "keyframe_curve": ("cc38 (no keyframes in the 6.x drafts; string_value arrives with 6.9)",
                           r.keyframe_curve("cc38")),
        "materials": {
            "videos": {
                "video": ("cc62", compose(r.material("cc62", "videos", of_type("video")), [])),
                "photo": ("cc62; is_copyright false and category_name local as every photo of cc69 rolik and "
                          "cc77 tracker (11 of 11)",
                          compose(r.material("cc62", "videos", of_type("photo")), [],
                                  overrides={"is_copyright": False, "category_name": "local"})),
            },
            "audios": {
                "extract_music": ("cc62", compose(r.material("cc62", "audios", of_type("extract_music")), [])),
                "music": ("cc62 key set, type music",
                          compose(r.material("cc62", "audios"), [], overrides={"type": "music"})),
            },
            "texts": {
                "text": ("cc62 key set (auto-caption texts; add_type/type reset to a plain text); values from a "
                         "plain cc77 embedded text",
                         text_default(text62, [plain_text77],
                                      overrides={"type": "text", "add_type": 0, "recognize_type": 0})),
                "subtitle": ("cc62", text_default(text62, [])),
            },
            "material_animations": {"sticker_animation": ("cc62",
                                                          compose(r.material("cc62", "material_animations"), []))},
            "speeds": {"speed": ("cc62", compose(r.material("cc62", "speeds"), []))},
            "placeholder_infos": {"placeholder_info": ("cc62", compose(r.material("cc62", "placeholder_infos"), []))},
            "canvases": {"canvas_color": ("cc62",
                                          compose(r.material("cc62", "canvases", of_type("canvas_color")), []))},
            "sound_channel_mappings": {"none": ("cc62", compose(r.material("cc62", "sound_channel_mappings"), []))},
            "vocal_separations": {"vocal_separation": ("cc62", compose(r.material("cc62", "vocal_separations"), []))},
            "beats": {"beats": ("cc62 key set; values from cc69 rolik (no AI beats)",
                                compose(r.material("cc62", "beats"), [r.material("cc69_rolik", "beats")]))},
            "loudnesses": {"*": ("cc62", compose(r.material("cc62", "loudnesses"), []))},
            "chromas": {"chroma": ("cc62", compose(r.material("cc62", "chromas"), []))},
            "video_effects": {"video_effect": ("cc62", compose(r.material("cc62", "video_effects"), []))},
            "hsl": {"hsl": ("cc69 rolik", compose(r.material("cc69_rolik", "hsl"), []))},
            "transitions": {"transition": ("cc58 catcuttool transition draft (no transitions in 6.x drafts)",
                                           compose(r.material("cc58_trans", "transitions"), []))},
            "audio_fades": {"audio_fade": ("cc38 (same 5 keys from 1.5 to 9.1)",
                                           compose(r.material("cc38", "audio_fades"), []))},
            "stickers": {"sticker": ("cc77 tracker (7.7, the nearest version with a sticker; no 6.x draft here "
                                     "has one)", compose(r.material("cc77_tracker", "stickers"), []))},
        },
        "items": {
            "material_animations.animations": ("cc69 rolik 'group' animation", compose(
                r.material("cc69_rolik", "material_animations", anim_entry())["animations"][0], [])),
        },
        "helpers": {
            "video": ["speeds", "placeholder_infos", "canvases", "sound_channel_mappings", "vocal_separations"],
            "audio": ["speeds", "placeholder_infos", "beats", "sound_channel_mappings", "vocal_separations"],
            "text": ["material_animations"],
        },
    }


def spec_jianying(r: Refs) -> dict:
    d59 = r.draft("jy59")
    video_seg = r.segment("jy59", "video")
    filter86 = r.segment("cc86_masks", "filter")
    photo59 = r.material("jy59", "videos", of_type("photo"))
    text38 = r.material("cc38", "texts", lambda t: t.get("type") == "text" and t.get("add_type") == 0)
    sub38 = r.material("cc38", "texts", of_type("subtitle"))
    audio38 = r.material("cc38", "audios", of_type("extract_music"))
    effect545 = r.material("jy545", "effects", of_type("text_effect"))
    text545 = r.material("jy545", "texts", lambda t: t.get("type") == "text" and t.get("shadow_color") == "#000000")
    return {
        "dir": "jianying",
        "app": "jianying",
        "key_order": "alphabetical",
        "platform": {"os_version": "10.0.19045", "hard_disk_id": True},
        "document": ("jy59 pyjydraft-web (5.9.0) key set and values "
                     "(the jy59 template has the same 28 keys and 45 buckets)",
                     compose({k: v for k, v in d59.items()}, [],
                             overrides={"duration": 0, "name": ""})),
        "track": ("jy59 video track", compose(r.track("jy59", "video"), [])),
        "segments": {
            "video": ("jy59 video segment", segment_default(video_seg, [])),
            "audio": ("jy59 key set; values from jy56 t1 audio segment",
                      segment_default(video_seg, [r.segment("jy56_t1", "audio")])),
            "text": ("jy59 key set; values from jy545 text segment",
                     segment_default(video_seg, [r.segment("jy545", "text")])),
            "sticker": ("jy59 key set; values from jy545 sticker segment",
                        segment_default(video_seg, [r.segment("jy545", "sticker")])),
            "effect": ("jy59 key set; values from the cc86 filter segment (no JianYing effect/filter track here)",
                       segment_default(video_seg, [filter86])),
            "filter": ("jy59 key set; values from the cc86 filter segment",
                       segment_default(video_seg, [filter86])),
        },
        "keyframe_curve": ("jy545 mirage", r.keyframe_curve("jy545")),
        "materials": {
            "videos": {
                "photo": ("jy59", compose(photo59, [])),
                "video": ("jy59 key set; values from a cc38 video (CapCut 3.8 writes the same 46 keys)",
                          compose(photo59, [r.material("cc38", "videos", of_type("video"))])),
            },
            "audios": {
                "extract_music": ("cc38 (CapCut 3.8 is JianYing 5.9's schema twin; has copyright_limit_type, "
                                  "which JianYing 5.9 output carries and the 5.6 audios lack)", compose(audio38, [])),
                "music": ("cc38 key set, type music", compose(audio38, [], overrides={"type": "music"})),
            },
            "texts": {
                "text": ("cc38 plain text (88 keys; jy545 has 83, a subset); JianYing's shadow defaults from a "
                         "jy545 text", text_default(text38, [],
                                                   overrides={k: text545[k] for k in JIANYING_TEXT_KEYS})),
                "subtitle": ("cc38 subtitle", text_default(sub38, [])),
            },
            "stickers": {"sticker": ("jy545", compose(r.material("jy545", "stickers"), []))},
            "masks": {"mask": ("jy545", compose(r.material("jy545", "masks"), []))},
            "effects": {
                "text_effect": ("jy545 + multi_language_current (written by JianYing 5.9 per the library)",
                                compose(effect545, [], add_keys={"multi_language_current": ""})),
                "*": ("jy545 text_effect key set",
                      compose(effect545, [], add_keys={"multi_language_current": ""},
                              overrides={"category_id": "", "category_name": ""})),
            },
            "material_animations": {"sticker_animation": ("jy59",
                                                          compose(r.material("jy59", "material_animations"), []))},
            "speeds": {"speed": ("jy59", compose(r.material("jy59", "speeds"), []))},
            "canvases": {"canvas_color": ("jy59",
                                          compose(r.material("jy59", "canvases", of_type("canvas_color")), []))},
            "sound_channel_mappings": {"none": ("jy59", compose(r.material("jy59", "sound_channel_mappings"), []))},
            "vocal_separations": {"vocal_separation": ("jy59", compose(r.material("jy59", "vocal_separations"), []))},
            "beats": {"beats": ("jy56 t1", compose(r.material("jy56_t1", "beats"), []))},
            "audio_fades": {"audio_fade": ("jy55", compose(r.material("jy55", "audio_fades"), []))},
            "transitions": {"transition": ("cc38 (no JianYing transition here)",
                                           compose(r.material("cc38", "transitions"), []))},
            "loudnesses": {"*": ("cc38", compose(r.material("cc38", "loudnesses"), []))},
        },
        "items": {
            "material_animations.animations": ("jy59 'group' animation", compose(
                r.material("jy59", "material_animations", anim_entry())["animations"][0], [])),
        },
        "helpers": {
            "video": ["speeds", "canvases", "sound_channel_mappings", "vocal_separations"],
            "audio": ["speeds", "beats", "sound_channel_mappings", "vocal_separations"],
            "text": ["material_animations"],
        },
    }


SPECS = [spec_capcut, spec_capcut_legacy, spec_jianying]

# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


def split_keyframes(curve: dict) -> tuple[dict, dict]:
    point = compose(curve["keyframe_list"][0], [])
    point["curveType"] = "Line"
    curve_default = compose(curve, [])
    curve_default["property_type"] = ""
    return curve_default, point


def document_default(doc: dict, platform_rule: dict) -> dict:
    out = dict(doc)
    out["tracks"] = []
    out["materials"] = {b: [] for b in doc["materials"]}
    out["id"] = ""
    out["new_version"] = ""  # set from the profile
    out["create_time"] = 0
    out["update_time"] = 0
    # The platform blocks are filled in by capcut_drafts.export.app_schema; "<hash>" marks a derived 32-hex value.
    for key in ("platform", "last_modified_platform"):
        block = {}
        for k in doc[key]:
            if k in ("device_id", "mac_address"):
                block[k] = "<hash>"
            elif k == "hard_disk_id":
                block[k] = "<hash>" if platform_rule["hard_disk_id"] else ""
            elif k == "os":
                block[k] = "windows"
            elif k == "os_version":
                block[k] = platform_rule["os_version"]
            elif k in ("app_version",):
                block[k] = ""
            else:
                block[k] = doc[key][k]
        out[key] = block
    return out


def dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")


def build(ref_root: Path) -> dict[str, dict[str, Any]]:
    r = Refs(ref_root)
    out: dict[str, dict[str, Any]] = {}
    for spec_fn in SPECS:
        r.used = set()
        spec = spec_fn(r)
        sources: dict[str, str] = {}
        doc_src, doc = spec["document"]
        sources["document"] = doc_src
        document = document_default(doc, spec["platform"])

        materials: dict[str, dict[str, dict]] = {}
        for bucket, kinds in spec["materials"].items():
            if bucket not in document["materials"]:
                raise KeyError(f"{spec['dir']}: bucket {bucket} not written by this app version")
            materials[bucket] = {}
            for kind, (src, obj) in kinds.items():
                materials[bucket][kind] = obj
                sources[f"materials.{bucket}.{kind}"] = src
        items = {}
        for path, (src, obj) in spec["items"].items():
            items[path] = obj
            sources[f"items.{path}"] = src

        track_src, track = spec["track"]
        sources["track"] = track_src
        track["segments"] = []
        segments = {}
        for ttype, (src, seg) in spec["segments"].items():
            segments[ttype] = seg
            sources[f"segments.{ttype}"] = src
        kf_src, kf = spec["keyframe_curve"]
        curve, point = split_keyframes(kf)
        sources["keyframes"] = kf_src

        rules = {
            "_about": "Per-profile rules for capcut_drafts.export.app_schema, taken from the reference drafts. "
                      "helpers: helper materials every segment of that track type owns (created when missing). "
                      "ref_order: bucket order of extra_material_refs; '*' is the slot for buckets not listed. "
                      "app_owned: keys whose template value is written even where the library set one "
                      "(segments: every segment kind; materials: '<bucket>' or '<bucket>.<type>'; "
                      "tools/extract_app_defaults.py APP_OWNED gives the reference values).",
            "app": spec["app"],
            "key_order": spec["key_order"],
            "helpers": spec["helpers"],
            "app_owned": app_owned(materials, segments),
            "ref_order": {"video": VIDEO_REF_ORDER, "audio": AUDIO_REF_ORDER, "text": TEXT_REF_ORDER,
                          "sticker": TEXT_REF_ORDER},
            "sources": {k: f"{v}" for k, v in sorted(sources.items())},
            "reference_files": {k: v for k, v in FILES.items() if k in r.used},
        }
        out[spec["dir"]] = {
            "document.json": document,
            "materials.json": {"buckets": materials, "items": items},
            "timeline.json": {"track": track, "segments": segments, "keyframe_curve": curve, "keyframe_point": point},
            "rules.json": rules,
        }
    return out


def keysets(built: dict[str, dict[str, Any]], profile_dir: str) -> dict:
    files = built[profile_dir]
    doc = files["document.json"]
    mats = files["materials.json"]
    tl = files["timeline.json"]
    ks: dict[str, Any] = {
        "document": list(doc.keys()),
        "materials_buckets": sorted(doc["materials"].keys()),
        "platform": sorted(doc["platform"].keys()),
        "track": sorted(tl["track"].keys()),
        "keyframe_curve": sorted(tl["keyframe_curve"].keys()),
        "keyframe_point": sorted(tl["keyframe_point"].keys()),
    }
    for ttype, seg in tl["segments"].items():
        ks[f"segment.{ttype}"] = sorted(seg.keys())
    for bucket, kinds in mats["buckets"].items():
        for kind, obj in kinds.items():
            ks[f"{bucket}.{kind}"] = sorted(obj.keys())
    for path, obj in mats["items"].items():
        ks[f"items.{path}"] = sorted(obj.keys())
    return ks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="/work/shared/reference", help="reference folder")
    ap.add_argument("--check", action="store_true", help="only compare with the files on disk")
    args = ap.parse_args(argv)
    built = build(Path(args.ref))
    outputs: dict[Path, Any] = {}
    for pdir, files in built.items():
        for name, data in files.items():
            outputs[TEMPLATE_DIR / pdir / name] = data
    outputs[KEYSET_DIR / "keysets_capcut.json"] = {
        "_about": "Key sets per object kind, read from the CapCut reference drafts by tools/extract_app_defaults.py. "
                  "'document' keeps the app's key order.",
        "capcut": keysets(built, "capcut"),
        "capcut_legacy": keysets(built, "capcut_legacy"),
    }
    outputs[KEYSET_DIR / "keysets_jianying.json"] = {
        "_about": "Key sets per object kind, read from the JianYing reference drafts (and CapCut 3.8, JianYing 5.9's "
                  "schema twin, where noted in template/jianying/rules.json) by tools/extract_app_defaults.py.",
        "jianying": keysets(built, "jianying"),
    }
    stale = []
    for path, data in outputs.items():
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            dump(path, data)
    if args.check and stale:
        print("out of date:", *map(str, stale), sep="\n  ")
        return 1
    if not args.check:
        print(f"wrote {len(outputs)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
