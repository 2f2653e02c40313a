"""POST /add_text: a styled text segment on a text track.

The request is normalised into a plain dict stored on the segment (`Segment.text`): colours as
hex strings, every style range explicit. The builder turns it into the app's text material.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, model_validator

from capcut_drafts.errors import ApiError, ErrorCode, missing
from capcut_drafts.model import catalog, operations
from capcut_drafts.model.ids import new_id
from capcut_drafts.model.time import seconds_range, to_us
from capcut_drafts.model.timeline import MAX_TEXT_STYLES, Animation, Draft, ImageTransform, Segment, packed
from capcut_drafts.routes.media import app_of
from capcut_drafts.routes.schema import Bounded, DraftTarget, Plan, RequestModel, clamped, per_run

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MISSING_TEXT = "Hi, the required parameters 'text', 'start' or 'end' are missing. "


def check_color(value: str | None, name: str) -> str | None:
    """'#RGB' or '#RRGGBB' → '#RRGGBB' (upper case)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _HEX.match(value):
        raise ApiError(f"Color parameter error: Invalid hexadecimal color code: {value} "
                       f"(parameter '{name}'; use '#RRGGBB' or '#RGB').", code=ErrorCode.INVALID_COLOR)
    digits = value[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits.upper()


def check_unit(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ApiError(f"{name} value must be between 0.0 and 1.0 (got {value}).", code=ErrorCode.INVALID_PARAMETER)
    return value


class _Part(Bounded):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class RangeStyle(_Part):
    size: float | None = Field(None, gt=0)
    bold: bool = False
    italic: bool = False
    underline: bool = False
    color: str | None = None
    alpha: float | None = None
    align: int | None = None
    vertical: bool | None = None
    letter_spacing: float | None = None
    line_spacing: float | None = None


class RangeBorder(_Part):
    width: float = 0.0
    color: str = "#000000"
    alpha: float = 1.0


class TextStyleRange(_Part):
    start: int
    end: int
    style: RangeStyle = Field(default_factory=RangeStyle)
    border: RangeBorder | None = None
    font: str | None = None


class TextBoxParams(RequestModel):
    """Border and background, the same keys and defaults on /add_text and /add_subtitle."""
    vertical: bool = False
    border_width: float = 0.0               # upstream passes it through unchecked: clamped by the routes
    border_color: str = "#000000"
    border_alpha: float = 1.0
    background_color: str = "#000000"
    background_style: int = 0
    background_alpha: float = 0.0


class AddTextRequest(DraftTarget, TextBoxParams):
    MERGE_NUMBERS = True
    text: str
    start: float = Field(0.0, ge=0)
    end: float = 5.0
    track_name: str | None = None
    relative_index: int = 0
    font: str | None = "文轩体"
    font_color: str = "#FF0000"
    font_size: float = Field(8.0, gt=0)
    font_alpha: float = 1.0
    transform_x: float = 0.0
    transform_y: float = 0.0
    fixed_width: float = -1
    fixed_height: float = -1
    # Upstream passes these through unchecked; `lenient` moves them into APP_RANGES.
    background_round_radius: float = 0.0
    background_height: float = 0.14
    background_width: float = 0.14
    background_horizontal_offset: float = 0.5
    background_vertical_offset: float = 0.5
    shadow_enabled: bool = False
    shadow_alpha: float = 0.9
    shadow_angle: float = -45.0
    shadow_color: str = "#000000"
    shadow_distance: float = 5.0
    shadow_smoothing: float = 0.15
    bubble_effect_id: str | None = None
    bubble_resource_id: str | None = None
    effect_effect_id: str | None = None
    intro_animation: str | None = None
    intro_duration: float = Field(0.5, ge=0)
    outro_animation: str | None = None
    outro_duration: float = Field(0.5, ge=0)
    loop_animation: str | None = None
    text_styles: list[TextStyleRange] = Field(default_factory=list)

    KEY_ALIASES = {"color": "font_color", "size": "font_size", "alpha": "font_alpha"}

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        # `color`, `size`, `alpha` win over font_color/font_size/font_alpha, as upstream.
        if isinstance(data, dict):
            data = dict(data)
            for short, long in cls.KEY_ALIASES.items():
                if data.get(short) is not None:
                    data[long] = data[short]
        return data

    @classmethod
    def parse(cls, body: dict[str, Any]):
        if not body.get("text") or ("start" in body and body["start"] is None) \
                or ("end" in body and body["end"] is None):
            raise missing(MISSING_TEXT)
        check_style_count(body.get("text_styles"))
        return super().parse(body)


# The app's range of each /add_text number that upstream accepts unchecked (upstream's README sends
# background_round_radius 20); a value outside is clamped to it with a warning.
APP_RANGES = {"border_width": (0.0, 100.0), "background_round_radius": (0.0, 1.0),
              "background_height": (0.0, 1.0), "background_width": (0.0, 1.0),
              "background_horizontal_offset": (0.0, 1.0), "background_vertical_offset": (0.0, 1.0),
              "shadow_alpha": (0.0, 1.0)}
# The same for each text_styles range (upstream checks neither).
RANGE_STYLE_RANGES = {"alpha": (0.0, 1.0)}
RANGE_BORDER_RANGES = {"width": (0.0, 100.0), "alpha": (0.0, 1.0)}


def lenient(req: AddTextRequest, notes: list[str]) -> AddTextRequest:
    """`req` with its APP_RANGES numbers, and those of each text_styles range, moved into range;
    one note per number moved."""
    styles = [item.model_copy(update={
        "style": clamped(item.style, RANGE_STYLE_RANGES, notes, f"text_styles[{i}].style."),
        "border": item.border and clamped(item.border, RANGE_BORDER_RANGES, notes, f"text_styles[{i}].border.")})
        for i, item in enumerate(req.text_styles)]
    return clamped(req, APP_RANGES, notes).model_copy(update={"text_styles": styles})


def check_style_count(text_styles: Any) -> None:
    """Refuse more than MAX_TEXT_STYLES ranges before validating each of them."""
    if isinstance(text_styles, list) and len(text_styles) > MAX_TEXT_STYLES:
        raise ApiError(f"text_styles has {len(text_styles)} ranges; one text takes at most {MAX_TEXT_STYLES}. "
                       "Merge neighbouring ranges that share a style, or split the text over several /add_text "
                       "calls.", code=ErrorCode.INVALID_PARAMETER)


def _style_ranges(req: AddTextRequest, app: str) -> list[dict]:
    """Every character covered exactly once: the client's ranges, gaps filled with the segment style."""
    length = len(req.text)
    base = {"size": req.font_size, "bold": False, "italic": False, "underline": False,
            "color": check_color(req.font_color, "font_color"), "alpha": check_unit(req.font_alpha, "alpha"),
            "font": req.font, "border": border_spec(req.border_width, req.border_color, req.border_alpha)}
    ranges, cursor = [], 0
    for i, item in sorted(enumerate(req.text_styles), key=lambda pair: pair[1].start):
        if not 0 <= item.start < item.end <= length:
            raise ApiError(f"text_styles[{i}]: the range start={item.start}, end={item.end} must satisfy "
                           f"0 <= start < end <= {length} (the text length, in characters).",
                           code=ErrorCode.INVALID_PARAMETER)
        if item.start < cursor:
            raise ApiError(f"text_styles[{i}]: the range {item.start}..{item.end} overlaps the previous range.",
                           code=ErrorCode.INVALID_PARAMETER)
        if item.start > cursor:
            ranges.append({**base, "start": cursor, "end": item.start})
        style = item.style
        if item.font:
            catalog.lookup(app, "font", item.font)
        border = base["border"] if item.border is None else border_spec(item.border.width, item.border.color,
                                                                    item.border.alpha)
        ranges.append({**base, "start": item.start, "end": item.end,
                       "size": style.size if style.size is not None else base["size"],
                       "bold": style.bold, "italic": style.italic, "underline": style.underline,
                       "color": check_color(style.color, f"text_styles[{i}].style.color") or base["color"],
                       "alpha": style.alpha if style.alpha is not None else base["alpha"],
                       "font": item.font or base["font"], "border": border})
        cursor = item.end
    if cursor < length:
        ranges.append({**base, "start": cursor, "end": length})
    return ranges


def border_spec(width: float, color: str, alpha: float) -> dict | None:
    if width <= 0:
        return None
    return {"width": width, "color": check_color(color, "border_color"), "alpha": check_unit(alpha, "border_alpha")}


def background_spec(color: str, style: int, alpha: float, round_radius: float = 0.0, height: float = 0.14,
                    width: float = 0.14, horizontal_offset: float = 0.5, vertical_offset: float = 0.5) -> dict | None:
    """A text background, or None when invisible (alpha 0). Upstream maps style 1→1, 0 and 2→2."""
    if alpha <= 0:
        return None
    if style not in (0, 1, 2):
        raise ApiError(f"Invalid parameter 'background_style': use 1 or 2 (0 means 2), got {style}.")
    return {"color": check_color(color, "background_color"), "style": 1 if style == 1 else 2,
            "alpha": check_unit(alpha, "background_alpha"), "round_radius": round_radius, "height": height,
            "width": width, "horizontal_offset": horizontal_offset, "vertical_offset": vertical_offset}


def make_spec(text: str, ranges: list[dict], *, font: str | None, vertical: bool, align: int = 0,
              fixed_width: int = -1, fixed_height: int = -1, background: dict | None = None,
              shadow: dict | None = None, bubble: dict | None = None,
              flower_effect_id: str | None = None) -> dict:
    """The normalised text stored on a segment (shared by /add_text and /add_subtitle)."""
    return {"text": text, "font": font, "vertical": vertical, "align": align, "ranges": ranges,
            "fixed_width": fixed_width, "fixed_height": fixed_height, "background": background,
            "shadow": shadow, "bubble": bubble, "flower_effect_id": flower_effect_id}


def normalise(req: AddTextRequest, app: str, canvas_width: int, canvas_height: int) -> dict:
    """The segment's text spec (numbers upstream leaves unchecked already `lenient`)."""
    if req.font:
        catalog.lookup(app, "font", req.font)
    if bool(req.bubble_effect_id) != bool(req.bubble_resource_id):
        raise ApiError("A text bubble needs both bubble_effect_id and bubble_resource_id.")
    shadow = None
    if req.shadow_enabled:
        shadow = {"alpha": req.shadow_alpha, "angle": req.shadow_angle,
                  "color": check_color(req.shadow_color, "shadow_color"), "distance": req.shadow_distance,
                  "smoothing": req.shadow_smoothing}
    return make_spec(
        req.text, _style_ranges(req, app), font=req.font, vertical=req.vertical,
        fixed_width=round(req.fixed_width * canvas_width) if req.fixed_width > 0 else -1,
        fixed_height=round(req.fixed_height * canvas_height) if req.fixed_height > 0 else -1,
        background=background_spec(req.background_color, req.background_style, req.background_alpha,
                                   req.background_round_radius, req.background_height, req.background_width,
                                   req.background_horizontal_offset, req.background_vertical_offset),
        shadow=shadow,
        bubble={"effect_id": req.bubble_effect_id, "resource_id": req.bubble_resource_id}
        if req.bubble_effect_id else None,
        flower_effect_id=req.effect_effect_id or None)


def pick_text_animations(app: str, notes: list[str] | None, **names: str | None) -> dict[str, str]:
    """The catalogue name of each text animation asked for, by slot (`intro`, `outro`, `loop`).

    With `notes` a list, an unknown name is left out with a warning added to it (upstream ignores
    unknown text animations); with `notes` None it raises `unknown_name`."""
    picked = {}
    for slot, name in names.items():
        entry = catalog.lookup_or_note(app, f"text_{slot}", name, notes) if name else None
        if entry is not None:
            picked[slot] = entry.name
    return picked


def timed_text_animations(picked: dict[str, str], length_us: int, intro_seconds: float,
                          outro_seconds: float) -> dict[str, Animation]:
    """The picked animations on a text `length_us` long: intro/outro durations capped at the
    length, as upstream (a loop fills what they leave, decided when the draft is built)."""
    seconds = {"intro": intro_seconds, "outro": outro_seconds}
    return {slot: Animation(name=name, duration_us=min(to_us(seconds[slot]), length_us) if slot in seconds
                            else length_us)
            for slot, name in picked.items()}


def plan(ctx: Context, req: AddTextRequest, notes: list[str]) -> Plan:
    """The change; warnings go to `notes`. Without the `strict_names` setting unknown animation names
    are left out with a warning instead of failing the request."""
    strict_names = ctx.settings.strict_names
    target = seconds_range(req.start, req.end)
    req = lenient(req, notes)

    def _plan(draft: Draft):
        app = app_of(draft)
        track = operations.placement(draft, req.track_name or "text_main", "text", req.relative_index, "text")
        picked = pick_text_animations(app, None if strict_names else notes, intro=req.intro_animation,
                                      outro=req.outro_animation, loop=req.loop_animation)
        segment = Segment(id=new_id(), target=target,
                          transform=ImageTransform(transform_x=req.transform_x, transform_y=req.transform_y),
                          animations=timed_text_animations(picked, target.length_us, req.intro_duration,
                                                           req.outro_duration),
                          text=packed(normalise(req, app, draft.canvas.width, draft.canvas.height)))
        return operations.place(track, segment), None

    return per_run(notes, _plan)

