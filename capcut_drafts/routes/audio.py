"""POST /add_audio: a cut of an audio file on an audio track, with an optional voice effect."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from capcut_drafts.model import catalog, operations
from capcut_drafts.model.ids import new_id
from capcut_drafts.model.time import to_us
from capcut_drafts.model.timeline import Draft, NamedEffect, Segment
from capcut_drafts.routes.media import (
    ClipParams,
    app_of,
    check_draft_folder,
    checked_media_url,
    clip_numbers,
    material_for,
    source_range,
    timeline_target,
)
from capcut_drafts.routes.schema import DraftTarget, MediaSource, Plan, per_run

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context


class AddAudioRequest(DraftTarget, MediaSource, ClipParams):
    REQUIRED = ("audio_url",)
    MISSING = "Hi, the required parameters 'audio_url' are missing."
    MERGE_NUMBERS = True
    audio_url: str
    start: float = 0.0
    end: float | None = None
    duration: float | None = Field(None, ge=0)
    target_start: float = Field(0.0, ge=0)
    effect_type: str | None = None
    effect_params: list[Any] | None = None   # checked per parameter by catalog.map_params


def plan(ctx: Context, req: AddAudioRequest, notes: list[str]) -> Plan:
    """The change; what was clamped or left out goes to `notes`. An unknown effect_type is left
    out with a note, as upstream ignores it, unless `strict_names`: then it fails the request."""
    strict_names = ctx.settings.strict_names
    url = checked_media_url(req.audio_url, "audio_url")
    folder = check_draft_folder(req.draft_folder)
    req = clip_numbers(req, notes)
    # Upstream: the clip ends at `end`, else at `duration`; with neither it is open (to the media end).
    end = req.end if req.end is not None else (req.duration or None)
    source = source_range(req.start, end)

    def _plan(draft: Draft):
        track = operations.placement(draft, req.track_name or "audio_main", "audio", 0, "audio clip")
        material, is_new = material_for(draft, "audio", url, folder, to_us(req.duration) if req.duration else None)
        effect = None
        entry = catalog.lookup_or_note(app_of(draft), "audio_effect", req.effect_type,
                                       None if strict_names else notes) if req.effect_type else None
        if entry is not None:
            catalog.map_params(entry, req.effect_params, reverse=False)   # validates the values
            effect = NamedEffect(name=entry.name, category="audio_effect", params=req.effect_params or [])
        segment = Segment(id=new_id(), material_id=material.id, source=source,
                          target=timeline_target(req.target_start, source, req.speed), speed=req.speed,
                          volume=req.volume, effect=effect)
        return operations.place(track, segment, material if is_new else None), None

    return per_run(notes, _plan)

