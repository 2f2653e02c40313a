"""POST /add_video: a cut of a video file on a video track."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from capcut_drafts.model import operations
from capcut_drafts.model.ids import new_id
from capcut_drafts.model.time import to_us
from capcut_drafts.model.timeline import Draft, ImageTransform, Segment
from capcut_drafts.routes.effect import ClipFilterParams, clip_filter
from capcut_drafts.routes.media import (
    ClipParams,
    blur_for,
    check_draft_folder,
    checked_media_url,
    clip_numbers,
    mask_for,
    material_for,
    source_range,
    timeline_target,
    transition_for,
)
from capcut_drafts.routes.schema import (
    DraftTarget,
    MaskParams,
    MediaSource,
    Plan,
    Transform,
    TransitionParams,
    per_run,
)

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context


class AddVideoRequest(DraftTarget, MediaSource, Transform, ClipParams, TransitionParams, MaskParams,
                      ClipFilterParams):
    REQUIRED = ("video_url",)
    MISSING = "Hi, the required parameters 'video_url' are missing."
    MERGE_NUMBERS = True
    video_url: str
    start: float = 0.0
    end: float | None = 0.0          # 0 or omitted: to the end of the media (resolved at save)
    duration: float | None = Field(None, ge=0)
    target_start: float = Field(0.0, ge=0)
    relative_index: int = 0
    background_blur: int | None = None


def plan(ctx: Context, req: AddVideoRequest, notes: list[str]) -> Plan:
    """The change; what was clamped or cut goes to `notes`."""
    url = checked_media_url(req.video_url, "video_url")
    folder = check_draft_folder(req.draft_folder)
    req = clip_numbers(req, notes)
    source = source_range(req.start, req.end or None)
    target = timeline_target(req.target_start, source, req.speed)

    def _plan(draft: Draft):
        track = operations.placement(draft, req.track_name or "video_main", "video", req.relative_index,
                                     "video clip")
        material, is_new = material_for(draft, "video", url, folder, to_us(req.duration) if req.duration else None)
        segment = Segment(
            id=new_id(), material_id=material.id, source=source, target=target, speed=req.speed,
            volume=req.volume,
            transform=ImageTransform(transform_x=req.transform_x, transform_y=req.transform_y, scale_x=req.scale_x,
                                     scale_y=req.scale_y),
            transition=transition_for(draft, req, target.duration_us, notes),
            mask=mask_for(draft, req, center=0.5, size=1.0, notes=notes),
            background_blur=blur_for(req.background_blur), filter=clip_filter(draft, req))
        return operations.place(track, segment, material if is_new else None), None

    return per_run(notes, _plan)

