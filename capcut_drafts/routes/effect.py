"""POST /add_effect and /add_filter: scene/character effects and filters on their own tracks,
and the filter that /add_video and /add_image can put on a single clip."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, operations
from capcut_drafts.model.ids import new_id
from capcut_drafts.model.time import TimeRange, seconds_range
from capcut_drafts.model.timeline import Draft, NamedEffect, Segment, TrackKind
from capcut_drafts.routes.media import app_of
from capcut_drafts.routes.schema import DraftTarget, Plan, RequestModel

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

EFFECT_CATEGORIES = {"scene": "scene_effect", "character": "character_effect"}


class AddEffectRequest(DraftTarget):
    REQUIRED = ("effect_type",)
    MISSING = "Hi, the required parameters 'effect_type' are missing. Please add them and try again."
    MERGE_NUMBERS = True
    effect_type: str
    effect_category: str = "scene"
    start: float = Field(0.0, ge=0)
    end: float = 3.0
    track_name: str | None = None
    relative_index: int = 0
    params: list[Any] | None = None          # checked per parameter by catalog.map_params


class AddFilterRequest(DraftTarget):
    REQUIRED = ("filter_type",)
    MISSING = "Hi, the required parameters 'filter_type' are missing. Please add them and try again."
    MERGE_NUMBERS = True
    filter_type: str
    filter_intensity: float = Field(100.0, ge=0, le=100)
    start: float = Field(0.0, ge=0)
    end: float = 3.0
    track_name: str | None = None
    relative_index: int = 0


class ClipFilterParams(RequestModel):
    """`filter_type` + `filter_intensity` on /add_video and /add_image (upstream has none)."""
    filter_type: str | None = None
    filter_intensity: float = Field(100.0, ge=0, le=100)


def named_filter(draft: Draft, filter_type: str, intensity: float) -> NamedEffect:
    entry = catalog.lookup(app_of(draft), "filter", filter_type)
    return NamedEffect(name=entry.name, category="filter", intensity=intensity)


def clip_filter(draft: Draft, req: ClipFilterParams) -> NamedEffect | None:
    if not req.filter_type:
        return None
    return named_filter(draft, req.filter_type, req.filter_intensity)


def _track_segment(draft: Draft, track_name: str, kind: TrackKind, relative_index: int, noun: str,
                   target: TimeRange, effect: NamedEffect) -> dict:
    track = operations.placement(draft, track_name, kind, relative_index, noun)
    return operations.place(track, Segment(id=new_id(), target=target, effect=effect))


def plan_effect(ctx: Context, req: AddEffectRequest, notes: list[str]) -> Plan:
    target = seconds_range(req.start, req.end)
    category = EFFECT_CATEGORIES.get(req.effect_category)
    if category is None:
        raise ApiError(f"Unknown {req.effect_category} effect type: {req.effect_type}. effect_category must be "
                       "'scene' or 'character'.", code=ErrorCode.UNKNOWN_NAME)

    def _plan(draft: Draft):
        entry = catalog.lookup(app_of(draft), category, req.effect_type)
        catalog.map_params(entry, req.params, reverse=True)          # validates the values
        effect = NamedEffect(name=entry.name, category=category, params=req.params or [])
        return _track_segment(draft, req.track_name or "effect_01", "effect", req.relative_index, "effect",
                              target, effect), None

    return _plan


def plan_filter(ctx: Context, req: AddFilterRequest, notes: list[str]) -> Plan:
    target = seconds_range(req.start, req.end)

    def _plan(draft: Draft):
        effect = named_filter(draft, req.filter_type, req.filter_intensity)
        return _track_segment(draft, req.track_name or "filter_01", "filter", req.relative_index, "filter",
                              target, effect), None

    return _plan

