"""POST /get_timeline and GET /drafts/<id>/timeline.json: the draft document in seconds.

This is the stable, documented model for clients (the app JSON of /query_script changes with the
app version): canvas, tracks in render order with their segments, materials and keyframes, and
what /undo and /redo would step to. Each segment carries its id (what /update_segment,
/remove_segment and /move_segment take), what made it and the parameters it was made with.
Open-ended clips are shown with the length known from probing, or `end: null` before that; clips
with a `fit` (/render_template) with their fitted timing and speed once the media length is known.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import orjson

from capcut_drafts.model.time import US_PER_SECOND, TimeRange
from capcut_drafts.model.timeline import Draft, Segment
from capcut_drafts.model.timing import Cut, resolve_timing
from capcut_drafts.routes.drafts import DraftIdRequest, read_existing

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

# The route that made a segment -> the kind the timeline shows.
KIND_OF_ROUTE = {"/add_video": "video", "/add_audio": "audio", "/add_image": "image", "/add_text": "text",
                 "/add_subtitle": "subtitle", "/add_effect": "effect", "/add_filter": "filter",
                 "/add_sticker": "sticker"}


def get_timeline(ctx: Context, req: DraftIdRequest) -> dict[str, Any]:
    return read_existing(ctx, req.draft_id, document)


def seconds(us: int | None) -> float | None:
    return None if us is None else us / US_PER_SECOND


def span(rng: TimeRange, known: TimeRange | None = None) -> dict[str, float | None]:
    """{start, end} in seconds; `end` None while the range is open and its length unknown."""
    if rng.is_open and known is not None and known.length_us:
        rng = known
    return {"start": seconds(rng.start_us), "end": None if rng.is_open else seconds(rng.end_us)}


def document(draft: Draft) -> dict[str, Any]:
    order = {track.name: i for i, track in enumerate(draft.tracks_in_layer_order())}
    segments = {t.name: [segment_entry(draft, t.name, s) for s in t.segments] for t in draft.tracks}
    tracks = [{"name": t.name, "kind": t.kind, "render_order": order[t.name], "relative_index": t.relative_index,
               "segments": segments[t.name]} for t in draft.tracks]
    ends = [s["target"]["end"] or s["target"]["start"] for entries in segments.values() for s in entries]
    return {
        "draft_id": draft.id, "name": draft.name, "profile": draft.profile,
        "canvas": draft.canvas.model_dump(), "duration": max(ends, default=0.0), "tracks": tracks,
        "materials": [{"id": m.id, "kind": m.kind, "url": m.url, "file_name": m.file_name,
                       "duration": seconds(m.duration_us), "width": m.width, "height": m.height,
                       "media_type": m.media_type, "probed": m.probed} for m in draft.materials.values()],
        "keyframes": [{"track_name": k.track_name, "property": k.property, "time": seconds(k.time_us),
                       "value": k.value} for k in draft.keyframes],
        "undo": [orjson.loads(c.what) for c in reversed(draft.undo)],
        "redo": [orjson.loads(c.what) for c in reversed(draft.redo)],
    }


def segment_entry(draft: Draft, track_name: str, segment: Segment) -> dict[str, Any]:
    """One segment in seconds, open and fitted clips with the length known from probing."""
    material = draft.materials.get(segment.material_id or "")
    cut = resolve_timing(segment, material, [], "", draft.track(track_name))
    known = bool(material and material.duration_us)
    shown = cut if known and segment.fit else Cut(segment, segment.source, segment.target)
    entry: dict[str, Any] = {
        "id": segment.id, "kind": kind_of(draft, track_name, segment), "track_name": track_name,
        "target": span(shown.target, cut.target if known else None),
    }
    if material is not None:
        entry.update(media_url=material.url, material_id=material.id,
                     source=span(shown.source, cut.source if known else None),
                     speed=shown.segment.speed, volume=segment.volume)
    text = segment.text_content()
    if text is not None:
        entry["text"] = text
    names = effect_names(segment)
    if names:
        entry["effects"] = names
    if segment.sticker_id:
        entry["sticker_id"] = segment.sticker_id
    if segment.fit:
        entry["fit"] = segment.fit
    entry["made_by"] = segment.made_by
    entry["params"] = json.loads(segment.params) if segment.params else None
    return entry


def kind_of(draft: Draft, track_name: str, segment: Segment) -> str:
    if segment.made_by in KIND_OF_ROUTE:
        return KIND_OF_ROUTE[segment.made_by]
    material = draft.materials.get(segment.material_id or "")
    if material is not None:
        return material.kind
    track = draft.track(track_name)
    return track.kind if track is not None else "text"


def effect_names(segment: Segment) -> dict[str, str]:
    """The catalogue names on a segment, by role (transition, intro, filter, effect, mask, …)."""
    names = {slot: animation.name for slot, animation in segment.animations.items()}
    for role, item in (("transition", segment.transition), ("mask", segment.mask), ("effect", segment.effect),
                       ("filter", segment.filter)):
        if item is not None:
            names[role] = item.name
    return names
