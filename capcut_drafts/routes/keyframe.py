"""POST /add_video_keyframe: keyframes at absolute timeline times, single or batch.

Keyframes are stored by time and attached to the clip under that time when the draft is built
(after open-ended clips are resolved); any that match no clip are reported as warnings then.
Values may be plain numbers or upstream's strings: "50%", "45deg", "+0.2".
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import StrictStr

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import operations
from capcut_drafts.model.time import to_us
from capcut_drafts.model.timeline import MAX_KEYFRAMES_PER_TRACK, Draft, PendingKeyframe
from capcut_drafts.routes.schema import DraftTarget, Number, Plan, clamp

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

Value = StrictStr | Number
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number(raw: Value, suffix: str = "") -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw) if math.isfinite(raw) else None
    text = str(raw).strip()
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)].strip()
    return float(text) if _NUMBER.match(text) else None


def _percent_or_number(raw: Value) -> float | None:
    if isinstance(raw, str) and raw.strip().endswith("%"):
        value = _number(raw, "%")
        return None if value is None else value / 100
    return _number(raw)


# property -> (parse, lowest, highest, hint for the error message): the app's range of each
# property. Upstream refuses positions outside it and writes every other value as sent, so those
# are clamped into it with a warning.
PROPERTIES: dict[str, tuple[Callable[[Value], float | None], float, float, str]] = {
    "position_x": (_number, -10, 10, "a number from -10 to 10 (1.0 = half the canvas width)"),
    "position_y": (_number, -10, 10, "a number from -10 to 10 (1.0 = half the canvas height)"),
    "rotation": (lambda raw: _number(raw, "deg"), -3600, 3600, "degrees such as 45 or '45deg'"),
    "scale_x": (_number, 0, 100, "a factor such as 1.2"),
    "scale_y": (_number, 0, 100, "a factor such as 1.2"),
    "uniform_scale": (_number, 0, 100, "a factor such as 1.2"),
    "alpha": (_percent_or_number, 0, 1, "0..1 or a percentage such as '50%'"),
    "saturation": (_number, -1, 1, "-1..1 such as '+0.5'"),
    "contrast": (_number, -1, 1, "-1..1 such as '-0.2'"),
    "brightness": (_number, -1, 1, "-1..1 such as '0.3'"),
    "volume": (_percent_or_number, 0, 10, "a factor such as 0.8 or a percentage such as '80%'"),
}
REFUSED_OUTSIDE = frozenset({"position_x", "position_y"})


def parse_value(prop: str, raw: Value, notes: list[str], where: str = "") -> float:
    """The keyframe value; outside the property's range it is refused (positions, as upstream)
    or clamped with a note in `notes`."""
    if prop not in PROPERTIES:
        raise ApiError(f"Unknown keyframe property '{prop}'; use one of: {', '.join(PROPERTIES)}.",
                       code=ErrorCode.UNKNOWN_NAME)
    parse, low, high, hint = PROPERTIES[prop]
    value = parse(raw)
    if value is None or (prop in REFUSED_OUTSIDE and not low <= value <= high):
        raise ApiError(f"Invalid value {raw!r}{where} for keyframe property '{prop}': use {hint}.",
                       code=ErrorCode.INVALID_PARAMETER)
    return clamp(value, f"{prop} keyframe value{where}", low, high, notes)


class AddKeyframeRequest(DraftTarget):
    REQUIRED = ("draft_id",)
    MISSING = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
    track_name: str = "video_main"
    property_type: str = "alpha"
    time: float = 0.0
    value: Value = "1.0"
    property_types: Any | None = None
    times: Any | None = None
    values: Any | None = None

    @property
    def batch(self) -> bool:
        return any(x is not None for x in (self.property_types, self.times, self.values))


def _batch_items(req: AddKeyframeRequest) -> list[tuple[Any, Any, Any]]:
    """(property, time, value) triples from the three batch lists; the items are checked one by
    one in `_keyframe`."""
    lists = {"property_types": req.property_types, "times": req.times, "values": req.values}
    absent = [name for name, value in lists.items() if value is None]
    if absent:
        raise ApiError(f"Batch mode needs property_types, times and values together; missing: "
                       f"{', '.join(absent)}.", code=ErrorCode.MISSING_PARAMETER)
    checked: list[list[Any]] = []
    for name, value in lists.items():
        if not isinstance(value, list):
            raise ApiError(f"{name} must be a list.", code=ErrorCode.INVALID_PARAMETER)
        if not value:
            raise ApiError(f"{name} cannot be empty.", code=ErrorCode.INVALID_PARAMETER)
        checked.append(value)
    property_types, times, values = checked
    lengths = [len(property_types), len(times), len(values)]
    if len(set(lengths)) != 1:
        raise ApiError("property_types, times, values must have equal lengths, current lengths are: "
                       f"{lengths[0]}, {lengths[1]}, {lengths[2]}.", code=ErrorCode.INVALID_PARAMETER)
    return list(zip(property_types, times, values, strict=True))   # equal lengths: checked just above


def _keyframe(track_name: str, prop: Any, time: Any, raw: Any, index: int | None,
              notes: list[str]) -> PendingKeyframe:
    where = f" (item {index})" if index is not None else ""
    if not isinstance(prop, str):
        raise ApiError(f"property_type{where} must be a string such as 'alpha'.", code=ErrorCode.INVALID_PARAMETER)
    seconds = _number(time) if not isinstance(time, str) else None
    if seconds is None or seconds < 0:
        raise ApiError(f"time{where} must be a number of seconds >= 0 (got {time!r}).",
                       code=ErrorCode.INVALID_PARAMETER)
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):  # batch lists are not typed
        raise ApiError(f"value{where} must be a number or a string such as '50%'.", code=ErrorCode.INVALID_PARAMETER)
    return PendingKeyframe(track_name=track_name, property=prop, time_us=to_us(seconds),
                           value=parse_value(prop, raw, notes, where))


def check_track_room(track_name: str, total: int) -> None:
    """Refuse keyframes that would take a track past MAX_KEYFRAMES_PER_TRACK."""
    if total > MAX_KEYFRAMES_PER_TRACK:
        raise ApiError(f"Track '{track_name}' would hold {total} keyframes; a track takes at most "
                       f"{MAX_KEYFRAMES_PER_TRACK} keyframes. Send fewer (the app interpolates between "
                       "keyframes) or put the clips that need more on another track.", code=ErrorCode.INVALID_PARAMETER)


def plan(ctx: Context, req: AddKeyframeRequest, notes: list[str]) -> Plan:
    items = _batch_items(req) if req.batch else [(req.property_type, req.time, req.value)]
    check_track_room(req.track_name, len(items))
    keyframes = [_keyframe(req.track_name, p, t, v, i if req.batch else None, notes)
                 for i, (p, t, v) in enumerate(items)]

    def _plan(draft: Draft):
        track = draft.track(req.track_name)
        if track is None:
            names = ", ".join(t.name for t in draft.tracks) or "none yet"
            raise ApiError(f"Failed to add keyframe: there is no track named '{req.track_name}' "
                           f"(tracks: {names}).", code=ErrorCode.TRACK_NOT_FOUND)
        if not track.segments:
            raise ApiError(f"No segments in track {req.track_name}", code=ErrorCode.INVALID_PARAMETER)
        allowed = {"volume"} if track.kind == "audio" else set(PROPERTIES) - (
            set() if track.kind == "video" else {"volume"})
        if track.kind in ("effect", "filter"):
            allowed = set()
        bad = sorted({k.property for k in keyframes} - allowed)
        if bad:
            raise ApiError(f"Track '{track.name}' is a {track.kind} track; it cannot take keyframes for "
                           f"{', '.join(bad)}.", code=ErrorCode.INVALID_PARAMETER)
        check_track_room(track.name, draft.keyframe_count(track.name) + len(keyframes))
        result: dict[str, Any] = {"added_keyframes_count": len(keyframes)} if req.batch else {}
        covered = (track.segment_at(k.time_us) for k in keyframes)    # the clips they will attach to
        result.update(track_name=track.name, segment_ids=list(dict.fromkeys(s.id for s in covered if s)))
        return operations.add_keyframes(keyframes), result

    return _plan
