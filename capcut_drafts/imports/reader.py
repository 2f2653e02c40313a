"""An app-written draft JSON (CapCut 1.5–9.1, JianYing 2.8–5.9) as one of our draft documents.

What the document models is read into it: the canvas, tracks of the six kinds we edit, and
per segment its timing, speed, volume, position (the app's `clip`), the media it cuts from, its
text and text styles, the sticker or effect it shows. Everything else — the app's own materials
(animations, transitions, masks, keyframes, canvases, text templates…), tracks of other kinds,
segments whose material is not one we model — stays in the app JSON kept on the document
(`Draft.base`); the save writes it back unchanged (capcut_drafts/export/imported.py). Segment and
material ids are the app's, so the save finds each segment's app object again.

Three text encodings occur: a JSON `{"text", "styles"}` object (CapCut ≥ 3, JianYing ≥ 4), markup
such as `<size=15><color=(r,g,b,a)>[text]</color></size>` (CapCut 1.5–2.x) and plain text with
the style in the material's own fields (early JianYing).
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from typing import Any

from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import (
    APP_FILE_SCHEME,
    Canvas,
    Draft,
    ImageTransform,
    ImportedBase,
    Material,
    NamedEffect,
    Segment,
    Track,
    TrackKind,
    packed,
)
from capcut_drafts.routes.text import make_spec
from capcut_drafts.save.paths import base_name

MADE_BY = "/import_draft"
TRACK_KINDS: dict[str, TrackKind] = {"video": "video", "audio": "audio", "text": "text", "sticker": "sticker",
                                     "effect": "effect", "filter": "filter"}
# Material lists of the six kinds, per track kind, in the order they are searched.
MATERIAL_LISTS = {"video": ("videos",), "audio": ("audios",), "text": ("texts",), "sticker": ("stickers",),
                  "effect": ("video_effects", "effects"), "filter": ("effects", "filters")}
# App materials a segment refers to that the document reads (the rest are kept as they are).
MODELLED_LISTS = frozenset(("videos", "audios", "texts", "stickers", "video_effects", "speeds"))
_MARKUP_TEXT = re.compile(r"\[(.*)\]", re.S)
_MARKUP_SIZE = re.compile(r"<size=([0-9.]+)>")
_MARKUP_COLOR = re.compile(r"<color=\(([0-9.]+),([0-9.]+),([0-9.]+),([0-9.]+)\)>")
MAX_LISTED = 20
MAX_US = 10 ** 13                   # about 115 days: the routes' time limit


@dataclass
class Reading:
    """The state of one import: the app JSON, its materials by id, and what was found."""
    content: dict[str, Any]
    keep_file: Callable[[str], str | None]       # app media path -> our URL when the zip holds the file
    materials: dict[str, tuple[str, dict]] = field(default_factory=dict)   # id -> (list name, material)
    ours: dict[str, Material] = field(default_factory=dict)
    unmodelled: list[str] = field(default_factory=list)
    not_in_zip: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    order: int = 0


def read_draft(content: dict[str, Any], content_text: str, keep_file: Callable[[str], str | None],
               draft_id: str, name: str, created_at: float) -> tuple[Draft, list[str]]:
    """The document of app draft `content` (whose exact text is `content_text`) and warnings that
    name what is kept only as the app wrote it. `keep_file(path)` gives the URL of a media file
    the zip holds (None when it does not)."""
    reading = Reading(content, keep_file)
    for list_name, items in (content.get("materials") or {}).items():
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                reading.materials.setdefault(item["id"], (list_name, item))
    tracks, track_ids = read_tracks(reading)
    platform = content.get("last_modified_platform") or content.get("platform") or {}
    base = ImportedBase(content=content_text, app_version=str(platform.get("app_version") or ""),
                        track_ids=track_ids, unmodelled=reading.unmodelled)
    draft = Draft(id=draft_id, profile=profile_of(content), name=name, created_at=created_at,
                  canvas=canvas_of(content), tracks=tracks, materials=reading.ours, base=base,
                  segments_added=reading.order)
    return draft, reading.notes + kept_notes(reading)


def profile_of(content: dict[str, Any]) -> str:
    """Our profile for the app and version that last saved `content`: JianYing ("lv", or no
    platform block: early JianYing), CapCut before 7 (`capcut_legacy`) or after."""
    platform = content.get("last_modified_platform") or content.get("platform") or {}
    if platform.get("app_source") != "cc":
        return "jianying"
    major = str(content.get("new_version") or "0").split(".", 1)[0]
    return "capcut" if major.isdigit() and int(major) >= 150 else "capcut_legacy"


def canvas_of(content: dict[str, Any]) -> Canvas:
    config = content.get("canvas_config") or {}
    width, height, fps = config.get("width"), config.get("height"), content.get("fps")
    return Canvas(width=_int(width, 1080, 16, 16384), height=_int(height, 1920, 16, 16384), fps=_int(fps, 30, 1, 240))


def _int(value: Any, default: int, low: int, high: int) -> int:
    """A JSON number as an int in [low, high]; `default` for anything else."""
    number = _finite(value)
    return default if number is None else min(max(round(number), low), high)


# -- tracks ---------------------------------------------------------------------------------------

def read_tracks(reading: Reading) -> tuple[list[Track], dict[str, str]]:
    """Our tracks, named `<kind>_main` for the first of a kind (the routes' default names, so an
    add lands on the designer's main track) and `<kind>_2`, `<kind>_3`… after it."""
    tracks: list[Track] = []
    track_ids: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for app_track in reading.content.get("tracks") or ():
        if not isinstance(app_track, dict):
            continue
        segments = [s for s in app_track.get("segments") or () if isinstance(s, dict)]
        kind = TRACK_KINDS.get(str(app_track.get("type")))
        if kind is None:
            reading.unmodelled.extend(str(s.get("id")) for s in segments)
            reading.notes.append(f"a '{str(app_track.get('type'))[:40]}' track ({len(segments)} segments) is kept "
                                 "as the app wrote it; it cannot be edited here.")
            continue
        seen[kind] += 1
        name = f"{kind}_main" if seen[kind] == 1 else f"{kind}_{seen[kind]}"
        track = Track(name=name, kind=kind, relative_index=seen[kind] - 1)
        for app_segment in segments:
            segment = read_segment(reading, kind, app_segment)
            if segment is None:
                reading.unmodelled.append(str(app_segment.get("id")))
            else:
                track.segments.append(segment)
        track.segments.sort(key=lambda s: s.target.start_us)
        tracks.append(track)
        track_ids[name] = str(app_track.get("id") or "")
    return tracks, track_ids


# -- segments -------------------------------------------------------------------------------------

def read_segment(reading: Reading, kind: TrackKind, app: dict[str, Any]) -> Segment | None:
    """Our segment for an app segment of a `kind` track; None when its material is not one we model."""
    found = reading.materials.get(str(app.get("material_id")))
    target = _range(app.get("target_timerange"))
    if found is None or found[0] not in MATERIAL_LISTS[kind] or target is None or not isinstance(app.get("id"), str):
        return None
    list_name, material = found
    reading.order += 1
    segment = Segment(id=app["id"], target=target, order=reading.order, made_by=MADE_BY,
                      speed=_number(app.get("speed"), 1.0, 0.01, 100.0),
                      volume=_number(app.get("volume"), 1.0, 0.0, 100.0), transform=_transform(app.get("clip")))
    source = _range(app.get("source_timerange"))
    if kind in ("video", "audio"):
        ours = media_material(reading, kind, material)
        return segment.model_copy(update={"material_id": ours.id, "source": source or TimeRange(start_us=0,
                                                                                              duration_us=0)})
    if kind == "text":
        spec = text_spec(material)
        return None if spec is None else segment.model_copy(update={"text": packed(spec)})
    if kind == "sticker":
        sticker = material.get("resource_id") or material.get("sticker_id") or material.get("id")
        return segment.model_copy(update={"sticker_id": str(sticker)})
    category = "filter" if kind == "filter" else "video_scene_effect"
    value = _number(material.get("value"), 1.0, 0.0, 1.0)
    effect = NamedEffect(name=str(material.get("name") or material.get("effect_id") or list_name)[:200],
                         category=category, intensity=value * 100 if kind == "filter" else None)
    return segment.model_copy(update={"effect": effect})


def _range(value: Any) -> TimeRange | None:
    if not isinstance(value, dict):
        return None
    start, duration = _finite(value.get("start")), _finite(value.get("duration"))
    if start is None or duration is None:
        return None
    return TimeRange(start_us=min(max(int(start), 0), MAX_US), duration_us=min(max(int(duration), 0), MAX_US))


def _finite(value: Any) -> float | None:
    """A JSON number that is finite (Python's parser also reads NaN and Infinity), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _number(value: Any, default: float, low: float, high: float) -> float:
    number = _finite(value)
    return number if number is not None and low <= number <= high else default


def _transform(clip: Any) -> ImageTransform | None:
    if not isinstance(clip, dict):
        return None
    scale, move, flip = clip.get("scale") or {}, clip.get("transform") or {}, clip.get("flip") or {}
    return ImageTransform(transform_x=_number(move.get("x"), 0.0, -1e4, 1e4),
                          transform_y=_number(move.get("y"), 0.0, -1e4, 1e4),
                          scale_x=_number(scale.get("x"), 1.0, -1e4, 1e4),
                          scale_y=_number(scale.get("y"), 1.0, -1e4, 1e4),
                          rotation=_number(clip.get("rotation"), 0.0, -1e6, 1e6),
                          alpha=_number(clip.get("alpha"), 1.0, 0, 1),
                          flip_horizontal=flip.get("horizontal") is True, flip_vertical=flip.get("vertical") is True)


def media_material(reading: Reading, kind: TrackKind, app: dict[str, Any]) -> Material:
    """Our material for an app video/audio material (one per app material id)."""
    known = reading.ours.get(app["id"])
    if known is not None:
        return known
    path = str(app.get("path") or "")
    file_name = str(app.get("material_name") or app.get("name") or base_name(path) or "media")
    url = reading.keep_file(path) if path else None
    if url is None:
        reading.not_in_zip.append(file_name)
        url = APP_FILE_SCHEME + path
    media_type = str(app.get("type") or ("audio" if kind == "audio" else "video"))
    is_image = media_type in ("photo", "gif")
    duration = app.get("duration")
    ours = Material(id=app["id"], kind="audio" if kind == "audio" else ("image" if is_image else "video"), url=url,
                    file_name=_file_name(file_name, path),
                    duration_us=int(duration) if isinstance(duration, (int, float)) and not is_image and duration > 0
                    else None,
                    width=_int(app.get("width"), 0, 0, 100_000) or None,
                    height=_int(app.get("height"), 0, 0, 100_000) or None,
                    media_type=media_type if media_type in ("video", "photo", "gif", "audio") else None,
                    has_audio=app.get("has_audio") if isinstance(app.get("has_audio"), bool) else None)
    reading.ours[ours.id] = ours
    return ours


def _file_name(name: str, path: str) -> str:
    """A file name for the saved assets: the material's name, with the path's extension when it has none."""
    base = base_name(name)[:200] or "media"
    suffix = PureWindowsPath(path).suffix
    return base if "." in base or not suffix else base + suffix


# -- texts ----------------------------------------------------------------------------------------

def text_spec(material: dict[str, Any]) -> dict | None:
    """The document's text spec (routes/text.py make_spec) of an app text material."""
    content = material.get("content")
    if not isinstance(content, str):
        return None
    base = {"size": _number(material.get("font_size"), 15.0, 0.1, 1000.0),
            "color": _hex(material.get("text_color")) or "#FFFFFF", "alpha": 1.0}
    text, ranges = plain_text(content, base)
    align = material.get("alignment")
    return make_spec(text, ranges, font=None, vertical=material.get("typesetting") == 1,
                     align=align if isinstance(align, int) and 0 <= align <= 5 else 0)


def plain_text(content: str, base: dict[str, Any]) -> tuple[str, list[dict]]:
    """The text and its style ranges from any of the three encodings (module doc)."""
    if content.startswith("{"):
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("text"), str):
            return body["text"], json_ranges(body["text"], body.get("styles"), base)
    markup = _MARKUP_TEXT.search(content) if content.startswith("<") else None
    if markup is not None:
        size, color = _MARKUP_SIZE.search(content), _MARKUP_COLOR.search(content)
        style = {**base, "size": float(size.group(1)) if size else base["size"]}
        if color:
            style["color"] = _hex([float(color.group(i)) for i in (1, 2, 3)]) or base["color"]
        text = markup.group(1)
        return text, [_range_of(style, 0, len(text))] if text else []
    return content, [_range_of(base, 0, len(content))] if content else []


def json_ranges(text: str, styles: Any, base: dict[str, Any]) -> list[dict]:
    """Every character covered once: the app's styles (clamped to the text), gaps in the first style."""
    parsed: list[tuple[int, int, dict]] = []
    for style in styles if isinstance(styles, list) else ():
        if not isinstance(style, dict):
            continue
        bounds = style.get("range")
        start, end = (_int(v, 0, 0, len(text)) for v in bounds[:2]) if isinstance(bounds, list) and len(bounds) >= 2 \
            else (0, len(text))
        if start < end:
            parsed.append((start, end, _style_of(style, base)))
    parsed.sort(key=lambda item: item[0])
    first = parsed[0][2] if parsed else base
    ranges, cursor = [], 0
    for start, end, style in parsed:
        start = max(start, cursor)
        if start >= end:
            continue
        if start > cursor:
            ranges.append(_range_of(first, cursor, start))
        ranges.append(_range_of(style, start, end))
        cursor = end
    if cursor < len(text):
        ranges.append(_range_of(first, cursor, len(text)))
    return ranges


def _style_of(style: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    fill = style.get("fill") or {}
    solid = ((fill.get("content") or {}).get("solid") or {}) if isinstance(fill, dict) else {}
    strokes = style.get("strokes") or []
    stroke = strokes[0] if isinstance(strokes, list) and strokes and isinstance(strokes[0], dict) else None
    border = None
    if stroke is not None:
        stroke_fill = ((stroke.get("content") or {}).get("solid") or {})
        border = {"width": _number(stroke.get("width"), 0.08, 0, 1) / 0.2 * 100,   # the app: 0.2 = 100
                  "color": _hex(stroke_fill.get("color")) or "#000000",
                  "alpha": _number(stroke_fill.get("alpha"), 1.0, 0, 1)}
    return {"size": _number(style.get("size"), base["size"], 0.1, 1000.0),
            "color": _hex(solid.get("color")) or base["color"],
            "alpha": _number(fill.get("alpha") if isinstance(fill, dict) else None, 1.0, 0, 1),
            "bold": style.get("bold") is True, "italic": style.get("italic") is True,
            "underline": style.get("underline") is True, "border": border}


def _range_of(style: dict[str, Any], start: int, end: int) -> dict[str, Any]:
    return {"size": style["size"], "bold": style.get("bold", False), "italic": style.get("italic", False),
            "underline": style.get("underline", False), "color": style["color"], "alpha": style["alpha"],
            "font": None, "border": style.get("border"), "start": start, "end": end}


def _hex(value: Any) -> str | None:
    """`#RRGGBB` from an app colour: `[r, g, b]` in 0..1 or a `#RRGGBB` string."""
    if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return value.upper()
    if isinstance(value, list) and len(value) >= 3 and all(isinstance(v, (int, float)) for v in value[:3]):
        return "#" + "".join(f"{min(max(round(float(v) * 255), 0), 255):02X}" for v in value[:3])
    return None


# -- what stays as the app wrote it -----------------------------------------------------------------

def kept_notes(reading: Reading) -> list[str]:
    """Warnings naming what the document does not model (kept and written back unchanged)."""
    notes = []
    counts = {name: len(items) for name, items in (reading.content.get("materials") or {}).items()
              if isinstance(items, list) and items and name not in MODELLED_LISTS}
    if counts:
        listed = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        notes.append(f"kept as the app wrote them and written back at save (not editable here): {listed}.")
    keyframed = sum(1 for _ in _keyframed(reading.content))
    if keyframed:
        notes.append(f"keyframes of {keyframed} segments are kept as the app wrote them.")
    if reading.unmodelled:
        notes.append(f"{len(reading.unmodelled)} segments use materials this service does not model; they are kept as "
                     "the app wrote them and cannot be edited or filled here.")
    if reading.not_in_zip:
        names = list(dict.fromkeys(reading.not_in_zip))
        more = len(names) - MAX_LISTED
        shown = ", ".join(names[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")
        notes.append(f"media not in the zip, kept at the paths of the machine that made the draft: {shown}. "
                     "Replace them with render_template 'replace', or zip them with the draft.")
    return notes


def _keyframed(content: dict[str, Any]) -> Iterator[dict]:
    for track in content.get("tracks") or ():
        for segment in (track.get("segments") or ()) if isinstance(track, dict) else ():
            if isinstance(segment, dict) and segment.get("common_keyframes"):
                yield segment
