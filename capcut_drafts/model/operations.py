"""Operations: the small, validated changes stored in a draft's log, and how to apply them.

An operation is plain JSON produced by a feature's plan (which did every check against the
current document); applying it is deterministic and cannot fail for a valid log, so replaying
the log in any process rebuilds the same document. Ids are generated at plan time and carried
in the operation for the same reason.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Change, Draft, Material, PendingKeyframe, Segment, Track, TrackKind, packed

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


UNDO_DEPTH = 100      # changes a draft can step back through; older ones are forgotten


def _apply_add_segment(draft: Draft, op: Op) -> Op:
    spec = op["track"]
    track = draft.track(spec["name"])
    new_track = track is None
    if track is None:
        track = Track(**spec)
        draft.tracks.append(track)
    material = op.get("material")
    new_material = material is not None and material["id"] not in draft.materials
    if material is not None and new_material:
        draft.materials[material["id"]] = Material(**material)
    first = draft.segments_added
    added = [Segment(**segment, order=first + i) for i, segment in enumerate(op["segments"])]
    track.insert_all(added)
    draft.index_segments(track, added)
    draft.segments_added += len(added)
    return remove_segments([(track.name, s) for s in added], tracks=[spec["name"]] if new_track else [],
                           materials=[material["id"]] if material is not None and new_material else [])


# A track holding more than this many of the segments one operation removes or puts back is
# rebuilt in one pass instead of one list shift per segment.
_ONE_PASS = 8


def remove_segments(segments: Iterable[tuple[str, Segment]], *, tracks: Iterable[str] = (),
                    materials: Iterable[str] = (), keyframes: Iterable[int] = ()) -> Op:
    """Remove `segments` (track name, segment), then the tracks and materials named (the plan
    checked they are left unused) and the keyframes at the list positions `keyframes`."""
    return {"op": "remove_segments", "segments": [[name, s.id, s.target.start_us] for name, s in segments],
            "tracks": list(tracks), "materials": list(materials), "keyframes": sorted(keyframes)}


def _apply_remove_segments(draft: Draft, op: Op) -> Op:
    removed: list[list[Any]] = []
    for name, items in _by_track(op["segments"]).items():
        track = _track(draft, name)
        taken = _take(track, {item[1]: item[2] for item in items})
        draft.unindex_segments(segment for _, segment in taken)
        removed += [[name, index, segment.model_dump(exclude_defaults=True)] for index, segment in taken]
    tracks = [[i, t.model_dump(exclude={"segments"})] for i, t in enumerate(draft.tracks) if t.name in op["tracks"]]
    if op["tracks"]:
        draft.tracks = [t for t in draft.tracks if t.name not in op["tracks"]]
    materials = [[i, m.model_dump(exclude_defaults=True)] for i, (key, m) in enumerate(draft.materials.items())
                 if key in op["materials"]]
    for key in op["materials"]:
        draft.materials.pop(key, None)
    keyframes = [[i, draft.keyframes[i].model_dump()] for i in op["keyframes"]]
    for i in reversed(op["keyframes"]):
        del draft.keyframes[i]
    return {"op": "put_segments", "tracks": tracks, "materials": materials, "segments": removed,
            "keyframes": keyframes}


def _by_track(items: list[list[Any]]) -> dict[str, list[list[Any]]]:
    grouped: dict[str, list[list[Any]]] = {}
    for item in items:
        grouped.setdefault(item[0], []).append(item)
    return grouped


def _track(draft: Draft, name: str) -> Track:
    track = draft.track(name)
    if track is None:
        raise ValueError(f"the log names track {name}, which the draft lacks")
    return track


def _take(track: Track, starts: dict[str, int]) -> list[tuple[int, Segment]]:
    """Remove the segments with these ids ({id: target start}) from `track`; (index, segment) of
    each, by ascending index."""
    segments = track.segments
    if len(starts) > _ONE_PASS:
        taken = [(i, s) for i, s in enumerate(segments) if s.id in starts]
        track.segments = [s for s in segments if s.id not in starts]
    else:
        positions = sorted(_position(track, segment_id, start) for segment_id, start in starts.items())
        taken = [(index, segments[index]) for index in positions]
        for index in reversed(positions):
            del segments[index]
    if len(taken) != len(starts):
        raise ValueError(f"the log removes segments track {track.name} lacks")
    return taken


def _position(track: Track, segment_id: str, start_us: int) -> int:
    index = track.index_of(segment_id, start_us)
    if index is None:
        raise ValueError(f"the log removes segment {segment_id} at {start_us} µs, which track {track.name} lacks")
    return index


def put_segments(segments: Iterable[tuple[str, Segment]], *, tracks: Iterable[tuple[int, Track]] = (),
                 materials: Iterable[tuple[int, Material]] = (),
                 keyframes: Iterable[tuple[int, PendingKeyframe]] = ()) -> Op:
    """Put whole segments (ids and `order` kept) on named tracks; insert the tracks, materials and
    keyframes given at their list positions first. The inverse of `remove_segments`, whose
    inverse also gives each segment's position in its track."""
    return {"op": "put_segments",
            "tracks": [[i, t.model_dump(exclude={"segments"})] for i, t in sorted(tracks, key=lambda x: x[0])],
            "materials": [[i, m.model_dump(exclude_defaults=True)] for i, m in sorted(materials, key=lambda x: x[0])],
            "segments": [[name, None, s.model_dump(exclude_defaults=True)] for name, s in segments],
            "keyframes": [[i, k.model_dump()] for i, k in sorted(keyframes, key=lambda x: x[0])]}


def _apply_put_segments(draft: Draft, op: Op) -> Op:
    for index, spec in op["tracks"]:
        draft.tracks.insert(index, Track(**spec))
    if op["materials"]:
        items = list(draft.materials.items())
        for index, material in op["materials"]:
            items.insert(index, (material["id"], Material(**material)))
        draft.materials = dict(items)
    put: list[tuple[str, Segment]] = []
    for name, dumps in _by_track(op["segments"]).items():
        track = _track(draft, name)
        segments = [(index, Segment(**dump)) for _, index, dump in dumps]
        _place(track, segments)
        draft.index_segments(track, (segment for _, segment in segments))
        put += [(name, segment) for _, segment in segments]
    for index, keyframe in op["keyframes"]:
        draft.keyframes.insert(index, PendingKeyframe(**keyframe))
    return remove_segments(put, tracks=[t["name"] for _, t in op["tracks"]],
                           materials=[m["id"] for _, m in op["materials"]], keyframes=[i for i, _ in op["keyframes"]])


def _place(track: Track, segments: list[tuple[int | None, Segment]]) -> None:
    """Insert segments at their recorded positions (ascending), or by start where none is given."""
    placed = sorted(((index, segment) for index, segment in segments if index is not None), key=lambda x: x[0])
    if len(placed) > _ONE_PASS:
        merged: list[Segment] = []
        rest = iter(track.segments)
        for position, segment in placed:
            while len(merged) < position:
                merged.append(next(rest))
            merged.append(segment)
        merged.extend(rest)
        track.segments = merged
    else:
        for position, segment in placed:
            track.segments.insert(position, segment)
    for index, segment in segments:
        if index is None:
            track.insert(segment)


def set_media(info: dict[str, dict[str, Any]]) -> Op:
    """What probing learned about materials: {material_id: {duration_us, width, height, media_type, file_name,
    has_audio}} (operations stored before has_audio was probed lack it: the material keeps None)."""
    return {"op": "set_media", "materials": info}


def _apply_set_media(draft: Draft, op: Op) -> None:
    for material_id, fields in op["materials"].items():
        material = draft.materials.get(material_id)
        if material is not None:
            for name, value in fields.items():
                setattr(material, name, value)
            material.probed = True


def _apply_add_keyframes(draft: Draft, op: Op) -> Op:
    first = len(draft.keyframes)
    draft.keyframes.extend(PendingKeyframe(**k) for k in op["keyframes"])
    return remove_segments((), keyframes=range(first, len(draft.keyframes)))


def rename(name: str) -> Op:
    return {"op": "rename", "name": name}


def _apply_rename(draft: Draft, op: Op) -> Op:
    before, draft.name = draft.name, op["name"]
    return rename(before)


def batch(ops: list[Op]) -> Op:
    """Several operations as one: one sequence number, undone together."""
    return {"op": "batch", "ops": ops}


def renames(op: Op) -> bool:
    """Whether `op` changes the draft's name (which the store's draft index keeps too)."""
    return op["op"] == "rename" or (op["op"] == "batch" and any(renames(item) for item in op["ops"]))


def _apply_batch(draft: Draft, op: Op) -> Op:
    inverses = [_apply_one(draft, item) for item in op["ops"]]
    return batch([inverse for inverse in reversed(inverses) if inverse is not None])


# Each applier changes the draft and returns the operation that reverts the change (None: the
# change is not an edit, e.g. what probing learned, and is not undone).
APPLY: dict[str, Callable[[Draft, Op], Op | None]] = {
    "add_segment": _apply_add_segment,
    "remove_segments": _apply_remove_segments,
    "put_segments": _apply_put_segments,
    "add_keyframes": _apply_add_keyframes,
    "rename": _apply_rename,
    "batch": _apply_batch,
    "set_media": _apply_set_media,
}
UNDO, REDO = {"op": "undo"}, {"op": "redo"}     # the stored operations of /undo and /redo


def _apply_one(draft: Draft, op: Op) -> Op | None:
    return APPLY[op["op"]](draft, op)


def apply(draft: Draft, op: Op) -> None:
    """Apply a stored operation and keep the undo/redo stacks: an edit is pushed on the undo stack
    (with its `what`) and empties the redo stack; `undo`/`redo` move the top change across."""
    kind = op["op"]
    if kind in ("undo", "redo"):
        source, target = (draft.undo, draft.redo) if kind == "undo" else (draft.redo, draft.undo)
        change = source.pop()
        reverse = _apply_one(draft, orjson.loads(change.inverse))
        target.append(Change(what=change.what, inverse=packed(reverse or batch([]))))
        return
    inverse = _apply_one(draft, op)
    if inverse is not None:
        what = op.get("what") or {"operation": kind}
        draft.undo.append(Change(what=packed(what), inverse=packed(inverse)))
        del draft.undo[:-UNDO_DEPTH]
        draft.redo.clear()


@contextmanager
def trial(draft: Draft) -> Iterator[Callable[[Op], None]]:
    """Look ahead: yields `take(op)`, which applies `op` to `draft` (no undo history); on exit every
    operation taken is reverted through its inverse, newest first, leaving `draft` as it was (the
    tests compare its JSON). Costs what the operations cost, not what a copy of the draft would."""
    inverses: list[Op | None] = []
    added = draft.segments_added
    try:
        yield lambda op: inverses.append(_apply_one(draft, op))
    finally:
        for inverse in reversed(inverses):
            if inverse is not None:
                _apply_one(draft, inverse)
        draft.segments_added = added


def fresh_copy(draft: Draft, draft_id: str, name: str, created_at: float) -> Draft:
    """A deep copy of `draft` as a new draft: new id, name and creation time, no undo history."""
    return draft.model_copy(deep=True, update={"id": draft_id, "name": name, "created_at": created_at,
                                                "undo": [], "redo": []})


def placement(draft: Draft, name: str, kind: TrackKind, relative_index: int, noun: str) -> Track:
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
