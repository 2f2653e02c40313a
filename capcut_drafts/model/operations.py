"""Operations: the small, validated changes stored in a draft's log, and how to apply them.

An operation is plain JSON produced by a feature's plan (which did every check against the
current document); applying it is deterministic and cannot fail for a valid log, so replaying
the log in any process rebuilds the same document. Ids are generated at plan time and carried
in the operation for the same reason.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, Material, PendingKeyframe, Segment, Track

Op = dict[str, Any]


def add_segment(track: Track, segment: Segment, material: Material | None = None) -> Op:
    """The operation that puts `segment` on `track` (created if the draft lacks it)."""
    return add_segments(track, [segment], material)


def add_segments(track: Track, segments: list[Segment], material: Material | None = None) -> Op:
    """Several segments on one track in one step (e.g. the cues of a subtitle file)."""
    op: Op = {"op": "add_segment",
              "track": {"name": track.name, "kind": track.kind, "relative_index": track.relative_index},
              "segments": [s.model_dump(exclude_defaults=True) for s in segments]}
    if material is not None:
        op["material"] = material.model_dump(exclude_defaults=True)
    return op


def place(track: Track, segment: Segment, material: Material | None = None) -> Op:
    """Check that `segment` fits on `track` (open clips fit anywhere until resolved) and return
    the operation that adds it, with its material when that is new to the draft."""
    if not segment.is_open:
        check_free(track, segment.target)
    return add_segment(track, segment, material)


def add_keyframes(keyframes: list[PendingKeyframe]) -> Op:
    return {"op": "add_keyframes", "keyframes": [k.model_dump() for k in keyframes]}


def _apply_add_segment(draft: Draft, op: Op) -> None:
    spec = op["track"]
    track = draft.track(spec["name"])
    if track is None:
        track = Track(**spec)
        draft.tracks.append(track)
    material = op.get("material")
    if material is not None and material["id"] not in draft.materials:
        draft.materials[material["id"]] = Material(**material)
    first = draft.segments_added
    track.insert_all([Segment(**segment, order=first + i) for i, segment in enumerate(op["segments"])])
    draft.segments_added += len(op["segments"])


def set_media(info: dict[str, dict[str, Any]]) -> Op:
    """What probing learned about materials: {material_id: {duration_us, width, height, media_type, file_name}}."""
    return {"op": "set_media", "materials": info}


def _apply_set_media(draft: Draft, op: Op) -> None:
    for material_id, fields in op["materials"].items():
        material = draft.materials.get(material_id)
        if material is not None:
            for name, value in fields.items():
                setattr(material, name, value)
            material.probed = True


def _apply_add_keyframes(draft: Draft, op: Op) -> None:
    draft.keyframes.extend(PendingKeyframe(**k) for k in op["keyframes"])


APPLY: dict[str, Callable[[Draft, Op], None]] = {
    "add_segment": _apply_add_segment,
    "add_keyframes": _apply_add_keyframes,
    "set_media": _apply_set_media,
}


def apply(draft: Draft, op: Op) -> None:
    APPLY[op["op"]](draft, op)


def placement(draft: Draft, name: str, kind: str, relative_index: int, noun: str) -> Track:
    """The track a new segment goes on: the existing one named `name` (its kind must fit), or a
    new, not yet attached Track. Raises ApiError when the name belongs to a track of another kind."""
    track = draft.track(name)
    if track is None:
        return Track(name=name, kind=kind, relative_index=relative_index)
    if track.kind != kind:
        raise ApiError(f"Track '{name}' is a {track.kind} track and cannot hold this {noun}. "
                       f"Use another track_name (a new name creates a {kind} track).",
                       code=ErrorCode.TRACK_KIND_MISMATCH)
    return track


def check_free(track: Track, target: TimeRange) -> None:
    """Upstream's overlap rule: a new segment may not intersect one on the same track."""
    other = track.find_overlap(target)
    if other is not None:
        raise _overlap_error(track, other.target)


def check_all_free(track: Track, segments: list[Segment]) -> None:
    """The overlap rule for several new segments (the cues of one SRT): none may intersect one on
    `track` nor another of `segments`. n log n: sorted by start, intersecting positive-length
    segments always include a neighbouring pair, so only neighbours are compared."""
    for segment in segments:
        if not segment.is_open:
            check_free(track, segment.target)
    placed = sorted((s.target for s in segments if not s.target.is_empty), key=lambda t: t.start_us)
    for earlier, later in zip(placed, placed[1:], strict=False):
        if later.overlaps(earlier):
            raise _overlap_error(track, earlier)


def _overlap_error(track: Track, other: TimeRange) -> ApiError:
    """`other` is the target range of the segment in the way."""
    return ApiError(
        f"New segment overlaps with existing segment [start: {other.start_us}, "
        f"end: {other.end_us}] on track '{track.name}'. Move target_start/start, shorten "
        "the clip, or use another track_name.", code=ErrorCode.SEGMENT_OVERLAP)
