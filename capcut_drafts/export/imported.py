"""The app JSON of an imported draft: the app's own JSON with the document's changes laid over it.

An imported draft (capcut_drafts/imports/reader.py) keeps the app JSON it came from
(`Draft.base.content`). Saving starts from that JSON, unchanged, and for each app segment the
document models writes what the document says now: its timing (fills, `fit`), speed, volume,
position, its text (the designer's first style over a replaced text), its media (a replaced file
gets a copy of the app material, so crop, matting and every other setting stay) and where the
saved file is. A segment the document no longer has was removed; segments kept only in the app
JSON (`base.unmodelled`) stay. Segments added over the API after the import are built by the
builder and merged in: onto the app track they were added to, or as new tracks above the
designer's.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from capcut_drafts.export import builder
from capcut_drafts.export.builder import Built
from capcut_drafts.imports.reader import _transform as read_transform
from capcut_drafts.imports.reader import plain_text
from capcut_drafts.model.timeline import Draft, Material, Segment, Track
from capcut_drafts.model.timing import Cut, track_timings
from capcut_drafts.save.folder_writer import int_or_zero
from capcut_drafts.save.paths import material_path

Placed = tuple[Track, Cut]


def rebuild(draft: Draft, draft_folder: str | None) -> Built:
    """The app JSON of imported `draft` (see the module doc)."""
    assert draft.base is not None
    content = json.loads(draft.base.content)
    warnings: list[str] = []
    placed = {cut.segment.id: (track, cut) for track in draft.tracks
              for cut in track_timings(draft, track, warnings)}
    layer = _Layer(draft, draft_folder, content)
    kept_only = set(draft.base.unmodelled)
    designed_end = _last_end(content)
    in_base: set[str] = set()
    for app_track in _dicts(content.get("tracks")):
        segments = []
        for app_segment in app_track.get("segments") or ():
            if not isinstance(app_segment, dict):
                segments.append(app_segment)            # not ours to judge: written back as it was
                continue
            segment_id = str(app_segment.get("id"))
            in_base.add(segment_id)
            found = placed.get(segment_id)
            if found is not None:
                layer.overlay(app_segment, *found)
            if found is not None or segment_id in kept_only:
                segments.append(app_segment)
        app_track["segments"] = segments
    built = merge_added(draft, draft_folder, content, in_base, warnings)
    if _last_end(content) != designed_end:        # the app's own duration stays while the end does
        content["duration"] = _last_end(content)
    return Built(content, warnings, built.subtitles if built else [])


def _last_end(content: dict[str, Any]) -> int:
    return max((_end(s) for t in _dicts(content.get("tracks")) for s in _dicts(t.get("segments"))), default=0)


def _dicts(items: Any) -> list[dict]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _end(segment: dict) -> int:
    target = segment.get("target_timerange")
    return int_or_zero(target.get("start")) + int_or_zero(target.get("duration")) if isinstance(target, dict) else 0


class _Layer:
    """Writes the document's values over app segments and their materials."""

    def __init__(self, draft: Draft, draft_folder: str | None, content: dict[str, Any]):
        self.draft, self.draft_folder, self.content = draft, draft_folder, content
        self.materials = content.setdefault("materials", {})
        self.by_id = {item["id"]: (name, item) for name, items in self.materials.items() if isinstance(items, list)
                      for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)}

    def overlay(self, app: dict[str, Any], track: Track, cut: Cut) -> None:
        segment = cut.segment
        app["target_timerange"] = {"duration": cut.target.length_us, "start": cut.target.start_us}
        if isinstance(app.get("source_timerange"), dict) and track.kind in ("video", "audio"):
            app["source_timerange"] = {"duration": cut.source.length_us, "start": cut.source.start_us}
        if app.get("volume") != segment.volume:
            app["volume"] = segment.volume
        if app.get("speed") != segment.speed:
            self.set_speed(app, segment.speed)
        if segment.transform is not None and read_transform(app.get("clip")) != segment.transform:
            app["clip"] = builder.clip_settings(segment).export_json()
        if segment.material_id is not None:
            self.media(app, self.draft.materials[segment.material_id])
        if segment.text is not None:
            self.text(app, segment)

    def set_speed(self, app: dict[str, Any], speed: float) -> None:
        app["speed"] = speed
        for ref in app.get("extra_material_refs") or ():
            found = self.by_id.get(ref)
            if found is not None and found[0] == "speeds":
                found[1]["speed"] = speed

    def media(self, app: dict[str, Any], ours: Material) -> None:
        """Point the segment at the saved file; a replaced file gets its own copy of the material."""
        found = self.by_id.get(app.get("material_id"))
        if found is None:
            return
        list_name, material = found
        if ours.at_app_path:
            return                                   # kept at the designer's path
        if ours.id != material["id"]:
            material = self.replacement(list_name, material, ours)
            app["material_id"] = material["id"]
        material["path"] = material_path(self.draft_folder, self.draft.id, ours.kind, ours.file_name)

    def replacement(self, list_name: str, original: dict[str, Any], ours: Material) -> dict[str, Any]:
        found = self.by_id.get(ours.id)
        if found is not None:
            return found[1]
        material = copy.deepcopy(original)
        name_key = "material_name" if list_name == "videos" else "name"
        material.update({"id": ours.id, name_key: ours.file_name, "local_material_id": ""})
        if ours.duration_us:
            material["duration"] = ours.duration_us
        if list_name == "videos":
            kind = "photo" if ours.kind == "image" and ours.media_type != "gif" else ours.media_type
            material.update(width=ours.width or material.get("width", 0),
                            height=ours.height or material.get("height", 0), type=kind or material.get("type"))
            if ours.has_audio is not None:
                material["has_audio"] = ours.has_audio
        self.materials[list_name].append(material)
        self.by_id[ours.id] = (list_name, material)
        return material

    def text(self, app: dict[str, Any], segment: Segment) -> None:
        found = self.by_id.get(app.get("material_id"))
        wanted = segment.text_content()
        assert wanted is not None
        if found is None or not isinstance(found[1].get("content"), str):
            return
        material = found[1]
        if plain_text(material["content"], {"size": 15.0, "color": "#FFFFFF", "alpha": 1.0})[0] != wanted:
            material["content"] = replaced_text(material["content"], wanted)


def replaced_text(content: str, text: str) -> str:
    """The app's text content with `text` instead of its text, in the designer's first style
    (JSON styles: one range over the new text, counted in characters as the builder and the reader
    count them; markup: the bracketed text replaced; plain text: the text itself)."""
    if content.startswith("{"):
        try:
            body = json.loads(content)
        except ValueError:
            return text
        styles = [s for s in body.get("styles") or () if isinstance(s, dict)]
        body["text"] = text
        body["styles"] = [{**styles[0], "range": [0, len(text)]}] if styles else []
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    start, end = content.find("["), content.rfind("]")
    if content.startswith("<") and 0 <= start < end:
        return content[:start + 1] + text + content[end:]
    return text


def merge_added(draft: Draft, draft_folder: str | None, content: dict[str, Any], in_base: set[str],
                warnings: list[str]) -> Built | None:
    """Build the segments added after the import (a draft of only those) and merge them in."""
    tracks = [track.model_copy(update={"segments": [s for s in track.segments if s.id not in in_base]})
              for track in draft.tracks]
    tracks = [t for t in tracks if t.segments]
    if not tracks:
        return None
    added = draft.model_copy(update={"tracks": tracks, "base": None})
    built = builder.build(added, draft_folder)
    warnings.extend(built.warnings)
    app_tracks = {t.get("id"): t for t in _dicts(content.setdefault("tracks", []))}
    track_ids = draft.base.track_ids if draft.base else {}
    for new_track in built.content["tracks"]:
        existing = app_tracks.get(track_ids.get(new_track.get("name", "")))
        if existing is None:
            content["tracks"].append(new_track)
        else:
            existing["segments"] = sorted(existing["segments"] + new_track["segments"],
                                          key=lambda s: s["target_timerange"]["start"])
    materials = content.setdefault("materials", {})
    for name, items in built.content["materials"].items():
        if isinstance(items, list) and items:
            bucket = materials.setdefault(name, [])
            if isinstance(bucket, list):
                known = {m.get("id") for m in bucket if isinstance(m, dict)}
                bucket.extend(m for m in items if not isinstance(m, dict) or m.get("id") not in known)
    return built
