"""POST /add_image: a still image on a video track, with animations, transition, mask, blur."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, operations
from capcut_drafts.model.ids import new_id
from capcut_drafts.model.time import TimeRange, seconds_range, to_us
from capcut_drafts.model.timeline import Animation, Draft, ImageTransform, Segment
from capcut_drafts.routes.effect import ClipFilterParams, clip_filter
from capcut_drafts.routes.media import (
    app_of,
    blur_for,
    check_draft_folder,
    checked_media_url,
    mask_for,
    material_for,
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


class AddImageRequest(DraftTarget, MediaSource, Transform, TransitionParams, MaskParams, ClipFilterParams):
    REQUIRED = ("image_url",)
    MISSING = "Hi, the required parameters 'image_url' are missing."
    MERGE_NUMBERS = True
    image_url: str
    start: float = Field(0.0, ge=0)        # timeline start
    end: float = 3.0                       # timeline end
    relative_index: int = 0
    animation: str | None = None        # legacy alias of intro_animation
    animation_duration: float | None = Field(0.5, ge=0)
    intro_animation: str | None = None
    intro_animation_duration: float | None = Field(0.5, ge=0)
    outro_animation: str | None = None
    outro_animation_duration: float = Field(0.5, ge=0)
    combo_animation: str | None = None
    combo_animation_duration: float = Field(0.5, ge=0)
    background_blur: int | None = None


def animations_for(draft: Draft, req: AddImageRequest, length_us: int) -> dict[str, Animation]:
    intro = req.intro_animation or req.animation
    intro_seconds = req.intro_animation_duration if req.intro_animation_duration is not None \
        else req.animation_duration
    specs = {"intro": (intro, intro_seconds), "outro": (req.outro_animation, req.outro_animation_duration),
             "combo": (req.combo_animation, req.combo_animation_duration)}
    wanted = {slot: (name, seconds) for slot, (name, seconds) in specs.items() if name}
    if "combo" in wanted and len(wanted) > 1:
        raise ApiError("A combo_animation cannot be combined with intro_animation/outro_animation; "
                       "send either the combo or the intro/outro pair.", code=ErrorCode.INVALID_PARAMETER)
    result = {}
    for slot, (name, seconds) in wanted.items():
        entry = catalog.lookup(app_of(draft), slot, name)
        duration = min(to_us(seconds or 0) or (entry.duration_us or 0), length_us)
        result[slot] = Animation(name=entry.name, duration_us=duration)
    return result


def plan(ctx: Context, req: AddImageRequest, notes: list[str]) -> Plan:
    """The change; what was clamped or cut goes to `notes`."""
    url = checked_media_url(req.image_url, "image_url")
    folder = check_draft_folder(req.draft_folder)
    target = seconds_range(req.start, req.end)
    length = target.length_us

    def _plan(draft: Draft):
        track = operations.placement(draft, req.track_name or "image_main", "video", req.relative_index, "image")
        material, is_new = material_for(draft, "image", url, folder)
        segment = Segment(
            id=new_id(), material_id=material.id, source=TimeRange(start_us=0, duration_us=length), target=target,
            transform=ImageTransform(transform_x=req.transform_x, transform_y=req.transform_y, scale_x=req.scale_x,
                                     scale_y=req.scale_y),
            animations=animations_for(draft, req, length), transition=transition_for(draft, req, length, notes),
            mask=mask_for(draft, req, center=0.0, size=0.5, notes=notes), background_blur=blur_for(req.background_blur),
            filter=clip_filter(draft, req))
        return operations.place(track, segment, material if is_new else None), None

    return per_run(notes, _plan)

