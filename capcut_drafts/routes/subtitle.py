"""POST /add_subtitle: every cue of an SRT file as a text segment on a subtitle track.

`srt` is raw SRT text or an http(s) URL (fetched with the safe fetcher); `srt_url` (the key of
other clients of the family) is an http(s) URL fetched the same way, used when `srt` is empty
(when both are sent, `srt` wins and the reply warns). A path on the server is refused, never
read. The parser is tolerant (BOM, CRLF, '.' or ',' before milliseconds, missing index lines,
runs of blank lines, the two characters backslash-n as a line break); a malformed cue is
reported by cue number and line, never by echoing the file's content.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import Field

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, operations
from capcut_drafts.model.ids import new_id
from capcut_drafts.model.time import US_PER_SECOND, TimeRange, seconds_range, to_us
from capcut_drafts.model.timeline import MAX_SUBTITLE_CUES, Draft, ImageTransform, Segment, packed
from capcut_drafts.net.fetcher import FetchError, fetch_bytes, policy_from
from capcut_drafts.routes.media import app_of
from capcut_drafts.routes.schema import DraftTarget, Plan, clamped, per_run
from capcut_drafts.routes.text import (
    TextBoxParams,
    background_spec,
    border_spec,
    check_color,
    make_spec,
    pick_text_animations,
    timed_text_animations,
)

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

SRT_MAX_BYTES = 5 * 1024 * 1024
_TIME = r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")


@dataclass
class Cue:
    number: int
    start_us: int
    end_us: int
    text: str


def _us(h: str, m: str, s: str, ms: str | None) -> int:
    millis = int((ms or "0").ljust(3, "0"))
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1_000_000 + millis * 1000


def parse_srt(source: str) -> list[Cue]:
    """Cues in file order. ApiError names the cue number and line of the first malformed cue."""
    text = source.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\\n", "\n")
    lines = text.split("\n")
    cues: list[Cue] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        number, line_no = len(cues) + 1, i + 1
        if lines[i].strip().isdigit() and i + 1 < len(lines) and lines[i + 1].strip():
            i += 1                          # optional index line; the timing line follows
        match = _TIMING.match(lines[i])
        if not match:
            raise ApiError(f"SRT cue {number} (line {i + 1}): expected a timing line such as "
                           "'00:00:01,000 --> 00:00:02,500'.", code=ErrorCode.INVALID_SRT)
        g = match.groups()
        start, end = _us(*g[:4]), _us(*g[4:])
        if end <= start:
            raise ApiError(f"SRT cue {number} (line {i + 1}): the end time is not after the start time.",
                           code=ErrorCode.INVALID_SRT)
        i += 1
        body = []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        if not body:
            raise ApiError(f"SRT cue {number} (line {line_no}): the cue has no text.", code=ErrorCode.INVALID_SRT)
        cues.append(Cue(number, start, end, "\n".join(body)))
    if not cues:
        raise ApiError("The SRT contains no cues; send SRT text or an http(s) URL of an .srt file.",
                       code=ErrorCode.INVALID_SRT)
    return cues


class AddSubtitleRequest(DraftTarget, TextBoxParams):
    REQUIRED = ("srt",)
    ALTERNATIVES = {"srt": ("srt_url",)}
    MISSING = "Hi, the required parameters 'srt' are missing."
    MERGE_NUMBERS = True
    FIXED_NUMBERS = frozenset({"width", "height", "time_offset"})     # the shift is spent on the cues
    srt: str = ""
    srt_url: str | None = Field(None, description="An http(s) URL of an .srt file, fetched like a URL in srt; used "
                                "when srt is empty (srt wins, with a warning, when both are sent).")
    time_offset: float = 0.0
    track_name: str | None = None
    font: str | None = "思源粗宋"
    font_size: float = Field(5.0, gt=0)
    bold: bool = False
    italic: bool = False
    underline: bool = False
    font_color: str = "#FFFFFF"
    alpha: float = 1.0
    transform_x: float = 0.0
    transform_y: float = -0.8
    scale_x: float = 1.0
    scale_y: float = 1.0
    rotation: float = 0.0
    intro_animation: str | None = None
    intro_duration: float = Field(0.5, ge=0)
    outro_animation: str | None = None
    outro_duration: float = Field(0.5, ge=0)


# The app's range of the numbers upstream's /add_subtitle passes through unchecked (unlike /add_text,
# it checks no opacity); a value outside is clamped to it with a warning.
APP_RANGES = {"alpha": (0.0, 1.0), "border_width": (0.0, 100.0), "border_alpha": (0.0, 1.0),
              "background_alpha": (0.0, 1.0)}


def subtitle_source(ctx: Context, req: AddSubtitleRequest) -> tuple[str, list[str]]:
    """The SRT text of the request and the warnings about where it came from."""
    if not req.srt:
        return fetch_srt(ctx, (req.srt_url or "").strip()), []
    notes = ["Both 'srt' and 'srt_url' were sent: 'srt' was used and 'srt_url' ignored."] if req.srt_url else []
    return load_srt(ctx, req.srt), notes


def fetch_srt(ctx: Context, url: str) -> str:
    try:
        raw = fetch_bytes(url, policy_from(ctx.settings, max_bytes=SRT_MAX_BYTES, deadline=30.0))
    except FetchError as exc:
        raise ApiError(f"Could not download the SRT file: {exc}.", code=exc.code) from None
    return raw.decode("utf-8-sig", errors="replace")


def load_srt(ctx: Context, srt: str) -> str:
    stripped = srt.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", stripped):
        return fetch_srt(ctx, stripped)
    if "-->" not in stripped and (stripped.startswith(("/", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", stripped)):
        raise ApiError("'srt' looks like a file path; files on the server are never read. Send the SRT text "
                       "itself or an http(s) URL.", code=ErrorCode.INVALID_SRT)
    return srt


def check_cue_count(cues: list[Cue]) -> None:
    if len(cues) > MAX_SUBTITLE_CUES:
        raise ApiError(f"The SRT has {len(cues)} cues; one /add_subtitle request takes at most "
                       f"{MAX_SUBTITLE_CUES}. Split the file into parts of at most {MAX_SUBTITLE_CUES} cues and "
                       "send each part in its own request to the same draft_id (cue times stay as they are).",
                       code=ErrorCode.INVALID_PARAMETER)


class SubtitleCueRequest(AddSubtitleRequest):
    """One cue of an /add_subtitle, as /update_segment changes it: its `text` and timeline
    `start`/`end` in seconds, with the style of the request that added it."""
    REQUIRED = ("text",)
    ALTERNATIVES = {}
    NOT_EDITABLE = frozenset({"srt", "srt_url", "time_offset"})
    MISSING = "Hi, the required parameter 'text' is missing."
    text: str
    start: float = Field(0.0, ge=0)
    end: float = 5.0


# What a cue keeps of its request besides the style: the file and its shift are spent once parsed.
NOT_STYLE = {"srt", "srt_url", "time_offset", "text", "start", "end", "draft_id", "width", "height", "dry_run"}


def plan(ctx: Context, req: AddSubtitleRequest, notes: list[str]) -> Plan:
    """Every cue as a text; unknown animation names are left out with a warning unless
    `strict_names`, numbers outside APP_RANGES are clamped with one."""
    source, source_notes = subtitle_source(ctx, req)
    notes.extend(source_notes)
    cues = parse_srt(source)
    check_cue_count(cues)
    return _cues_plan(ctx, req, cues, to_us(req.time_offset), notes)


def plan_cue(ctx: Context, req: SubtitleCueRequest, notes: list[str]) -> Plan:
    target = seconds_range(req.start, req.end)
    return _cues_plan(ctx, req, [Cue(1, target.start_us, target.end_us, req.text)], 0, notes)


def _cues_plan(ctx: Context, req: AddSubtitleRequest, cues: list[Cue], offset: int, notes: list[str]) -> Plan:
    color = check_color(req.font_color, "font_color")
    style = req.given(NOT_STYLE)
    held = req.merge_numbers          # a cue's start/end sent as merge fields stay fields
    req = clamped(req, APP_RANGES, notes)
    name_notes = None if ctx.settings.strict_names else notes

    def _plan(draft: Draft):
        app = app_of(draft)
        if req.font:
            catalog.lookup(app, "font", req.font)
        picked = pick_text_animations(app, name_notes, intro=req.intro_animation, outro=req.outro_animation)
        track = operations.placement(draft, req.track_name or "subtitle", "text", 999, "subtitle")
        portrait = draft.canvas.height >= draft.canvas.width
        batch: list[Segment] = []
        for cue in cues:
            start = cue.start_us + offset
            if start < 0:
                raise ApiError(f"SRT cue {cue.number}: with time_offset {req.time_offset}s it would start "
                               "before 0.", code=ErrorCode.INVALID_PARAMETER)
            length = cue.end_us - cue.start_us
            ranges = [{"start": 0, "end": len(cue.text), "size": req.font_size, "bold": req.bold,
                       "italic": req.italic, "underline": req.underline, "color": color, "alpha": req.alpha,
                       "font": req.font or None,
                       "border": border_spec(req.border_width, req.border_color, req.border_alpha)}]
            spec = make_spec(cue.text, ranges, font=req.font or None, vertical=req.vertical, align=1,
                             fixed_width=648 if portrait else 1344,
                             background=background_spec(req.background_color, req.background_style,
                                                        req.background_alpha))
            params = {**style, "text": cue.text, "start": start / US_PER_SECOND,
                      "end": (start + length) / US_PER_SECOND, **held}
            segment = Segment(id=new_id(), target=TimeRange(start_us=start, duration_us=length), text=packed(spec),
                              transform=ImageTransform(transform_x=req.transform_x, transform_y=req.transform_y,
                                                       scale_x=req.scale_x, scale_y=req.scale_y,
                                                       rotation=req.rotation),
                              animations=timed_text_animations(picked, length, req.intro_duration,
                                                               req.outro_duration),
                              made_by="/add_subtitle", params=json.dumps(params, ensure_ascii=False))
            batch.append(segment)
        operations.check_all_free(track, batch)
        return operations.add_segments(track, batch), {"segment_ids": [s.id for s in batch]}

    return per_run(notes, _plan)
