"""Changing what was added: /update_segment, /remove_segment, /move_segment, /undo and /redo.

A segment remembers the route that made it and that route's parameters (`Segment.made_by`,
`Segment.params`). /update_segment merges the changed parameters into them and plans the segment
again with the same route, on the draft without the old segment: the same validation as adding
(names, overlaps, track kinds), and a refused change changes nothing. The result replaces the old
segment under the same id. /move_segment is an update of the timeline position and track.

Every change is one operation whose inverse the document keeps (model/operations.py), so /undo
and /redo are themselves appended operations that every process and host replays alike.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import ConfigDict, Field

from capcut_drafts.editing import manage
from capcut_drafts.editing.pipeline import NOT_PARAMS, Planner, params_json
from capcut_drafts.errors import ApiError, ErrorCode, missing, not_found
from capcut_drafts.imports.reader import MADE_BY as IMPORTED
from capcut_drafts.model import operations
from capcut_drafts.model.operations import Op
from capcut_drafts.model.time import US_PER_SECOND, to_us
from capcut_drafts.model.timeline import Draft, Material, PendingKeyframe, Segment, Track
from capcut_drafts.model.timing import Fit
from capcut_drafts.routes import audio, effect, image, sticker, subtitle, text, video
from capcut_drafts.routes.drafts import change, draft_url, read_existing
from capcut_drafts.routes.schema import PLACEHOLDER, DraftTarget, Identifier, Plan, RequestModel, per_run

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context


@dataclass(frozen=True)
class Editor:
    """How the segments of one route are planned again: its request model and planner."""
    model: type[RequestModel]
    plan: Planner


# The route that made a segment -> its editor (a subtitle cue is edited as one cue).
EDITORS: dict[str, Editor] = {
    "/add_video": Editor(video.AddVideoRequest, video.plan),
    "/add_audio": Editor(audio.AddAudioRequest, audio.plan),
    "/add_image": Editor(image.AddImageRequest, image.plan),
    "/add_text": Editor(text.AddTextRequest, text.plan),
    "/add_subtitle": Editor(subtitle.SubtitleCueRequest, subtitle.plan_cue),
    "/add_effect": Editor(effect.AddEffectRequest, effect.plan_effect),
    "/add_filter": Editor(effect.AddFilterRequest, effect.plan_filter),
    "/add_sticker": Editor(sticker.AddStickerRequest, sticker.plan),
}


class SegmentRequest(DraftTarget):
    REQUIRED = ("draft_id", "segment_id")
    MISSING = "Hi, the required parameters 'draft_id' and 'segment_id' are missing."
    segment_id: Identifier


class UpdateSegmentRequest(SegmentRequest):
    """Any parameter of the route that made the segment, beside draft_id and segment_id."""
    model_config = ConfigDict(extra="allow")


class MoveSegmentRequest(SegmentRequest):
    target_start: float | None = Field(None, ge=0)
    track_name: str | None = None


class UndoRequest(RequestModel):
    REQUIRED = ("draft_id",)
    MISSING = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
    draft_id: Identifier
    dry_run: bool = False


# --- update and move -------------------------------------------------------------------------

def plan_update(ctx: Context, req: UpdateSegmentRequest, notes: list[str]) -> Plan:
    changes = {key: value for key, value in (req.model_extra or {}).items() if value is not None}

    def _plan(draft: Draft):
        track, segment = find(draft, req.segment_id)
        return replan(ctx, draft, track, segment, known_changes(segment, changes, notes), notes, "/update_segment")

    return per_run(notes, _plan)


def plan_move(ctx: Context, req: MoveSegmentRequest, notes: list[str]) -> Plan:
    if req.target_start is None and not req.track_name:
        raise missing("Hi, /move_segment needs 'target_start' (seconds on the timeline) or 'track_name', or both.")

    def _plan(draft: Draft):
        track, segment = find(draft, req.segment_id)
        changes: dict[str, Any] = {"track_name": req.track_name} if req.track_name else {}
        if req.target_start is not None:
            changes.update(position(editor_of(segment), segment, req.target_start))
        return replan(ctx, draft, track, segment, changes, notes, "/move_segment")

    return per_run(notes, _plan)


def position(editor: Editor, segment: Segment, target_start: float) -> dict[str, float]:
    """The parameters that put `segment` at `target_start` seconds: `target_start` for a cut of a
    media file (video, audio), the timeline `start`/`end` otherwise."""
    if "target_start" in editor.model.model_fields:
        return {"target_start": target_start}
    start = to_us(target_start)
    return {"start": start / US_PER_SECOND, "end": (start + segment.target.length_us) / US_PER_SECOND}


def known_changes(segment: Segment, changes: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """`changes` under the editor's field names; keys it does not take are left out with a note."""
    editor = editor_of(segment)
    model = editor.model
    names = {key: key for key in model.model_fields if key not in NOT_PARAMS | model.NOT_EDITABLE}
    names.update({alias: name for alias, name in model.KEY_ALIASES.items()})
    kept = {names[key]: value for key, value in changes.items() if key in names}
    ignored = sorted(key for key in changes if key not in names)
    if ignored:
        notes.append(f"{', '.join(ignored)}: not a parameter of a segment made by {segment.made_by}; ignored.")
    return kept


def replan(ctx: Context, draft: Draft, track: Track, segment: Segment, changes: dict[str, Any],
           notes: list[str], operation: str, fit: Fit | None = None) -> tuple[Op | None, dict[str, Any]]:
    """The operation (`operation` names the route) that replaces `segment` by the one its route
    plans from its parameters with `changes`, keeping its id and its `fit` (`fit` given: that
    one), and the reply."""
    editor = editor_of(segment)
    params = {**json.loads(segment.params or "{}"), "track_name": track.name, **changes}
    req = editor.model.parse({**params, "draft_id": draft.id})
    with detached(track, segment):
        op, _ = editor.plan(ctx, req, notes)(draft)
    if op is None or op["op"] != "add_segment" or len(op["segments"]) != 1:
        raise RuntimeError(f"the planner of {segment.made_by} did not plan one segment")
    dump = op["segments"][0]
    replacement = Segment(**{**dump, "id": segment.id, "order": segment.order, "made_by": segment.made_by,
                             "params": dump.get("params") or params_json(req), "fit": fit or segment.fit})
    new_track = op["track"]["name"]
    if new_track == track.name and replacement.model_copy(update={"params": segment.params}) == segment \
            and merge_fields(replacement.params) == merge_fields(segment.params):
        notes.append("Nothing changed: the segment already has these values.")
        return None, {"segment_id": segment.id, "track_name": new_track}
    replace = replacement_op(draft, track, segment, replacement, op)
    what = {"operation": operation, "segment_id": segment.id, "track_name": new_track}
    return {**replace, "what": what}, {"segment_id": segment.id, "track_name": new_track}


def replacement_op(draft: Draft, track: Track, old: Segment, new: Segment, planned: Op) -> Op:
    """remove `old` + put `new` (its track and material from the planned add when they are new),
    dropping the old track and material when nothing else uses them, and moving the keyframes
    that fell on `old` with it."""
    target_name = planned["track"]["name"]
    drop_track = target_name != track.name and len(track.segments) == 1
    drop_material = old.material_id != new.material_id and unused_material(draft, old)
    moved = old.target.start_us != new.target.start_us or target_name != track.name
    keyframes = keyframes_on(draft, track.name, old) if moved else []
    shift = new.target.start_us - old.target.start_us
    tracks = [] if draft.track(target_name) is not None else [
        (len(draft.tracks) - drop_track, Track(**planned["track"]))]
    material = planned.get("material")
    materials = [(len(draft.materials) - drop_material, Material(**material))] if material else []
    return operations.batch([
        operations.remove_segments([(track.name, old)], tracks=[track.name] if drop_track else [],
                                   materials=[old.material_id] if drop_material and old.material_id else [],
                                   keyframes=[i for i, _ in keyframes]),
        operations.put_segments([(target_name, new)], tracks=tracks, materials=materials,
                                keyframes=[(i, k.model_copy(update={"track_name": target_name,
                                                                    "time_us": k.time_us + shift}))
                                           for i, k in keyframes]),
    ])


# --- remove ----------------------------------------------------------------------------------

def plan_remove(ctx: Context, req: SegmentRequest, notes: list[str]) -> Plan:
    def _plan(draft: Draft):
        track, segment = find(draft, req.segment_id)
        last = len(track.segments) == 1
        keyframes = [i for i, k in enumerate(draft.keyframes) if k.track_name == track.name] if last else \
            [i for i, _ in keyframes_on(draft, track.name, segment)]
        material = segment.material_id if segment.material_id and unused_material(draft, segment) else None
        op = operations.remove_segments([(track.name, segment)], tracks=[track.name] if last else [],
                                        materials=[material] if material else [], keyframes=keyframes)
        what = {"operation": "/remove_segment", "segment_id": segment.id, "track_name": track.name}
        return {**op, "what": what}, {"segment_id": segment.id, "track_name": track.name, "removed": True}

    return _plan


# --- undo and redo ---------------------------------------------------------------------------

def undo(ctx: Context, req: UndoRequest) -> dict[str, Any]:
    return step(ctx, req, "undo")


def redo(ctx: Context, req: UndoRequest) -> dict[str, Any]:
    return step(ctx, req, "redo")


def step(ctx: Context, req: UndoRequest, kind: Literal["undo", "redo"]) -> dict[str, Any]:
    """Undo (or redo) the draft's latest change; the reply says which change it was."""
    def _plan(draft: Draft):
        stack, other = (draft.undo, draft.redo) if kind == "undo" else (draft.redo, draft.undo)
        if not stack:
            raise nothing_to(kind)
        done = "undone" if kind == "undo" else "redone"
        op = operations.UNDO if kind == "undo" else operations.REDO
        return op, {done: orjson.loads(stack[-1].what), f"{kind}_left": len(stack) - 1,
                    f"{'redo' if kind == 'undo' else 'undo'}_available": len(other) + 1}

    if req.dry_run:
        return read_existing(ctx, req.draft_id, lambda d: {"draft_id": d.id, "draft_url": draft_url(ctx, d),
                                                            **_plan(d)[1], "dry_run": True})
    output = change(ctx, DraftTarget(draft_id=req.draft_id), _plan)
    what = output.get("undone") or output.get("redone") or {}
    if what.get("operation") == "/rename_draft" or "/rename_draft" in what.get("operations", ()):
        manage.sync_name(ctx, req.draft_id)
    return output


def nothing_to(kind: str) -> ApiError:
    if kind == "undo":
        return ApiError("Nothing to undo: the draft has no change left to step back (at most "
                        f"{operations.UNDO_DEPTH} are kept).", code=ErrorCode.NOTHING_TO_UNDO)
    return ApiError("Nothing to redo: no change was undone since the last edit.", code=ErrorCode.NOTHING_TO_REDO)


# --- shared ----------------------------------------------------------------------------------

def merge_fields(params: str | None) -> dict[str, str]:
    """The parameters of a segment that are one whole merge field (a number a template fills)."""
    return {key: value for key, value in json.loads(params or "{}").items()
            if isinstance(value, str) and PLACEHOLDER.fullmatch(value)}


def find(draft: Draft, segment_id: str) -> tuple[Track, Segment]:
    found = draft.find_segment(segment_id)
    if found is None:
        raise not_found(f"Draft {draft.id} has no segment {segment_id}. The ids are in the add_* replies "
                        "(segment_id) and in /get_timeline.", code=ErrorCode.SEGMENT_NOT_FOUND)
    return found


def editor_of(segment: Segment) -> Editor:
    editor = EDITORS.get(segment.made_by or "")
    if editor is None and segment.made_by == IMPORTED:
        raise ApiError(f"Segment {segment.id} comes from an app draft (/import_draft), which no route made: "
                       "replace its text or media with /render_template 'replace', or remove it "
                       "(/remove_segment).", code=ErrorCode.SEGMENT_NOT_EDITABLE)
    if editor is None or segment.params is None:
        raise ApiError(f"Segment {segment.id} was added before segments could be edited; remove it "
                       "(/remove_segment) and add it again.", code=ErrorCode.SEGMENT_NOT_EDITABLE)
    return editor


def unused_material(draft: Draft, segment: Segment) -> bool:
    """Whether no segment but `segment` cuts from its material."""
    return not any(s.material_id == segment.material_id and s is not segment
                   for t in draft.tracks for s in t.segments)


def keyframes_on(draft: Draft, track_name: str, segment: Segment) -> list[tuple[int, PendingKeyframe]]:
    """(list position, keyframe) of the keyframes that fall on `segment`."""
    return [(i, k) for i, k in enumerate(draft.keyframes)
            if k.track_name == track_name and segment.target.contains(k.time_us)]


@contextmanager
def detached(track: Track, segment: Segment) -> Iterator[None]:
    """`segment` off its track while a replacement is planned (its place is free), then back."""
    index = track.position(segment)
    if index is None:
        raise ValueError(f"segment {segment.id} is not on track {track.name}")
    del track.segments[index]
    try:
        yield
    finally:
        track.segments.insert(index, segment)
