"""POST /add_sticker: a library sticker (by CapCut/JianYing resource id) on a sticker track."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from capcut_drafts.model import operations
from capcut_drafts.model.ids import new_id
from capcut_drafts.model.time import seconds_range
from capcut_drafts.model.timeline import Draft, ImageTransform, Segment
from capcut_drafts.routes.schema import DraftTarget, Plan, Transform, clamp

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context


class AddStickerRequest(DraftTarget, Transform):
    REQUIRED = ("sticker_id",)
    MISSING = "Hi, the required parameter 'sticker_id' is missing. Please add it and try again. "
    MERGE_NUMBERS = True
    sticker_id: str
    start: float = Field(0.0, ge=0)
    end: float = 5.0
    alpha: float = 1.0
    rotation: float = 0.0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    track_name: str | None = None
    relative_index: int = 0


def plan(ctx: Context, req: AddStickerRequest, notes: list[str]) -> Plan:
    """Upstream writes `alpha` as sent; outside 0..1 it is clamped, with a warning."""
    target = seconds_range(req.start, req.end)
    transform = ImageTransform(transform_x=req.transform_x, transform_y=req.transform_y, scale_x=req.scale_x,
                               scale_y=req.scale_y, rotation=req.rotation, alpha=clamp(req.alpha, "alpha", 0, 1, notes),
                               flip_horizontal=req.flip_horizontal, flip_vertical=req.flip_vertical)

    def _plan(draft: Draft):
        track = operations.placement(draft, req.track_name or "sticker_main", "sticker", req.relative_index,
                                     "sticker")
        segment = Segment(id=new_id(), target=target, transform=transform, sticker_id=req.sticker_id)
        return operations.place(track, segment), None

    return _plan
