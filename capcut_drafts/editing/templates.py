"""Templates: drafts whose texts, media URLs and numbers hold merge fields, `{{name}}`.

POST /template_fields (and GET /templates/<id>/fields) lists the fields of a draft and where
they occur. POST /render_template copies the template into a new draft (model/operations.py
`fresh_copy`: new id, no history) and fills every field: each segment whose parameters hold one
is planned again by the route that made it with the filled parameters (editing/segments.py
`replan`), so every check of adding applies (URL scheme, overlaps, names). All of it is planned
on the copy before anything is stored; the copy is then stored and filled by one `batch`
operation, so a failing request leaves no draft behind.

Text parameters and media URLs hold fields anywhere in their text (`FIELD_PARAMS`); a number
parameter holds one as its whole value (routes/schema.py `held_numbers`), filled with a finite
number. A video or audio clip whose media URL is filled gets a `fit` (`Segment.fit`): how it meets
the media's length, which is known only once the media is probed at save (model/timing.py).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from pydantic import field_validator

from capcut_drafts.editing import manage, replace, segments
from capcut_drafts.editing.pipeline import committed
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import operations
from capcut_drafts.model.operations import Op
from capcut_drafts.model.timeline import Draft, Segment
from capcut_drafts.model.timing import FITS, Fit
from capcut_drafts.routes.drafts import draft_url
from capcut_drafts.routes.media import PLACEHOLDER
from capcut_drafts.routes.schema import Identifier, Reply, RequestModel, number_keys

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

# The segment parameters that may hold merge fields in their text.
FIELD_PARAMS = ("text", "video_url", "audio_url", "image_url")
# The media URL of the clips `fit` applies to, by the route that made them (images have no length).
MEDIA_PARAMS = {"/add_video": "video_url", "/add_audio": "audio_url"}
# A number as a merge value may write it: JSON's form, with an optional '+'.
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
MAX_MERGE_FIELDS = 10_000         # values in one `merge` (or `defaults`) object
MAX_LISTED = 20                   # names shown in one message or warning
MergeValue = str | int | float


class TemplateRequest(RequestModel):
    REQUIRED = ("template_draft_id",)
    MISSING = "Hi, the required parameter 'template_draft_id' is missing. Please add it and try again."
    template_draft_id: Identifier


class RenderTemplateRequest(TemplateRequest):
    MISSING = ("Hi, the required parameters 'template_draft_id' and 'merge' are missing. Send merge as an "
               "object {\"name\": \"value\"} ({} when the defaults fill every field).")
    merge: dict[str, Any]
    name: manage.DraftName | None = None
    defaults: dict[str, Any] | None = None
    replace: dict[str, Any] | None = None       # key (segment id, text, media file name) -> text or URL
    fit: str | dict[str, str] | None = None     # a Fit or field -> Fit (`_known_fit`); None: 'trim'

    @field_validator("fit", mode="before")
    @classmethod
    def _known_fit(cls, value: Any) -> Any:
        modes = value.items() if isinstance(value, dict) else [("", value)] if value is not None else []
        for name, mode in modes:
            if mode not in FITS:
                where = f" (fit.{name[:64]})" if name else ""
                raise ValueError(f"use 'trim' (the default), 'stretch' or 'extend', or an object {{field name: "
                                 f"one of them}}{where}")
        return value

    @classmethod
    def has_required(cls, body: dict[str, Any]) -> bool:
        """`template_draft_id` set and `merge` present (an empty object is a valid `merge`)."""
        return bool(body.get("template_draft_id")) and body.get("merge") is not None


@dataclass(frozen=True)
class Merge:
    """What fills a template: each field's text, where that came from (for messages), the fit."""
    values: Mapping[str, str]
    origins: Mapping[str, str]            # field -> "merge.<name>" or "defaults.<name>"
    fit: Fit | Mapping[str, Fit] = "trim"
    swaps: tuple[replace.Swap, ...] = ()  # `replace`: found on the template as designed

    def fit_of(self, names: list[str]) -> Fit:
        """The fit of a clip whose media URL holds `names`: the first one `fit` names, else 'trim'."""
        if isinstance(self.fit, str):
            return self.fit
        return next((self.fit[name] for name in names if name in self.fit), "trim")


@dataclass(frozen=True)
class Occurrence:
    """One merge field in one parameter of one segment."""
    name: str
    segment_id: str
    track_name: str
    parameter: str


# -- finding fields ------------------------------------------------------------------------------

def segment_fields(segment: Segment) -> dict[str, list[str]]:
    """parameter -> the field names it holds, for a segment's stored parameters: the texts and
    URLs of FIELD_PARAMS, then the numbers of its route that are one whole field."""
    stored = json.loads(segment.params or "{}")
    editor = segments.EDITORS.get(segment.made_by or "")
    numbers = number_keys(editor.model) if editor is not None else frozenset()
    found: dict[str, list[str]] = {}
    for key in FIELD_PARAMS:
        value = stored.get(key)
        names = PLACEHOLDER.findall(value) if isinstance(value, str) else []
        if names:
            found[key] = list(dict.fromkeys(names))
    for key, value in stored.items():
        whole = PLACEHOLDER.fullmatch(value) if key in numbers and isinstance(value, str) else None
        if whole is not None:
            found[key] = [whole.group(1)]
    return found


def occurrences(draft: Draft) -> Iterator[Occurrence]:
    """Every merge field of `draft`, in track and segment order."""
    for track in draft.tracks:
        for segment in track.segments:
            for parameter, names in segment_fields(segment).items():
                yield from (Occurrence(name, segment.id, track.name, parameter) for name in names)


def fields_of(draft: Draft) -> list[dict[str, Any]]:
    """The fields of `draft`, by name, each with where it occurs."""
    by_name: dict[str, list[dict[str, str]]] = {}
    for item in occurrences(draft):
        by_name.setdefault(item.name, []).append(
            {"segment_id": item.segment_id, "track_name": item.track_name, "parameter": item.parameter})
    return [{"name": name, "occurrences": places} for name, places in by_name.items()]


def template_fields(ctx: Context, req: TemplateRequest) -> dict[str, Any]:
    """POST /template_fields: `{fields: [{name, occurrences: [{segment_id, track_name, parameter}]}]}`."""
    fields = manage.read_draft(ctx, req.template_draft_id, fields_of)
    return {"template_draft_id": req.template_draft_id, "fields": fields}


# -- merge values ---------------------------------------------------------------------------------

def listed(names: list[str]) -> str:
    """Up to MAX_LISTED names for a message, each cut to 64 characters, and how many more."""
    shown = ", ".join(f"'{name[:64]}'" for name in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def merge_values(values: Mapping[str, Any], parameter: str) -> dict[str, str]:
    """`values` as the text each field is replaced by; invalid_parameter naming the field for a
    value that is not a string or a number."""
    if len(values) > MAX_MERGE_FIELDS:
        raise ApiError(f"Invalid parameter '{parameter}': at most {MAX_MERGE_FIELDS} fields (got {len(values)}).")
    return {name: merge_text(value, f"{parameter}.{name[:64]}") for name, value in values.items()}


def merge_text(value: Any, parameter: str) -> str:
    """A string as it is; a number as JSON writes it (2, 1.5)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    kind = {dict: "an object", list: "a list", bool: "true/false", type(None): "null"}.get(type(value), "another type")
    raise ApiError(f"Invalid parameter '{parameter}': a merge value must be a string or a number (got {kind}).")


def missing_fields(names: list[str]) -> ApiError:
    return ApiError(f"The template's merge fields {listed(names)} have no value: add them to 'merge' (or to "
                    "'defaults').", code=ErrorCode.MISSING_MERGE_FIELD, details={"missing_fields": names})


def filled(text: str, values: Mapping[str, str]) -> str:
    """`text` with every field of `values` replaced (one pass: a value is never filled again)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def filled_number(name: str, parameter: str, merge: Merge, segment: Segment) -> float:
    """The number field `name` of `parameter` is filled with: its value as a finite number
    (invalid_parameter naming where the value came from otherwise)."""
    text = merge.values[name]
    number = float(text) if NUMBER.fullmatch(text.strip()) else math.nan
    if not math.isfinite(number):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ApiError(f"Invalid parameter '{merge.origins[name]}': it fills the number '{parameter}' of segment "
                       f"{segment.id}, so it must be a finite number such as 2.5 (got '{shown}').",
                       code=ErrorCode.INVALID_PARAMETER)
    return number


def fits_used(draft: Draft, merge: Merge, notes: list[str]) -> dict[str, Fit]:
    """field -> fit, for the fields in the media URLs of video and audio clips; the fields a `fit`
    object names beyond them are ignored with a note."""
    used = {item.name: merge.fit_of([item.name]) for item in occurrences(draft)
            if item.parameter in MEDIA_PARAMS.values()}
    named = merge.fit if not isinstance(merge.fit, str) else {}
    stray = [name for name in named if name not in used and name not in {swap.key for swap in merge.swaps}]
    if stray:
        notes.append(f"fit: not fields of a video or audio URL of the template, ignored: {listed(stray)}.")
    return used


# -- filling --------------------------------------------------------------------------------------

def fill(ctx: Context, draft: Draft, merge: Merge, notes: list[str]) -> Op | None:
    """The operation that fills every field of `draft` and makes every `replace` swap (None when
    there is nothing to do): each segment planned again on the draft as the earlier ones leave it
    (on trial); a swap of a segment that also has fields comes after its filling."""
    ops: list[Op] = []
    targets = list(dict.fromkeys(item.segment_id for item in occurrences(draft)))
    with operations.trial(draft) as take:
        for op in planned(ctx, draft, merge, targets, notes):
            take(op)
            ops.append(op)
    if not ops:
        return None
    changed = len(set(targets) | {swap.segment_id for swap in merge.swaps})
    return {**operations.batch(ops), "what": {"operation": "/render_template", "segments": changed}}


def planned(ctx: Context, draft: Draft, merge: Merge, targets: list[str], notes: list[str]) -> Iterator[Op]:
    """The fillings, then the swaps, each planned when the one before was taken (lazily)."""
    for segment_id in targets:
        op = fill_segment(ctx, draft, segment_id, merge, notes)
        if op is not None:
            yield op
    for swap in merge.swaps:
        op = replace.swap_op(ctx, draft, swap, merge.fit_of([swap.key]), notes)
        if op is not None:
            yield op


def fill_segment(ctx: Context, draft: Draft, segment_id: str, merge: Merge, notes: list[str]) -> Op | None:
    """The operation that replaces one segment by its filled version (a clip whose media URL is
    filled with its fit); a refusal names the segment."""
    track, segment = segments.find(draft, segment_id)
    stored = json.loads(segment.params or "{}")
    found = segment_fields(segment)
    changes: dict[str, Any] = {key: filled(stored[key], merge.values) if key in FIELD_PARAMS
                               else filled_number(names[0], key, merge, segment) for key, names in found.items()}
    media = MEDIA_PARAMS.get(segment.made_by or "", "")
    fit = merge.fit_of(found[media]) if media in found else None
    try:
        op, _ = segments.replan(ctx, draft, track, segment, changes, notes, "/render_template", fit)
    except ApiError as exc:
        raise ApiError(f"Filling segment {segment.id} on track '{track.name}' failed, so no draft was created: "
                       f"{exc.message}", code=exc.code, http_status=exc.http_status,
                       details={**exc.details, "segment_id": segment.id}) from None
    return op


def render_template(ctx: Context, req: RenderTemplateRequest) -> Reply:
    """POST /render_template: a new draft, the template with its fields filled; `warnings` is in the
    output and in the envelope."""
    values = merge_values(req.merge, "merge")
    defaults = merge_values(req.defaults or {}, "defaults")
    copy = manage.copy_of(ctx, req.template_draft_id, req.name)
    names = list(dict.fromkeys(item.name for item in occurrences(copy)))
    absent = [name for name in names if name not in values and name not in defaults]
    if absent:
        raise missing_fields(absent)
    chosen = {name: values.get(name, defaults.get(name, "")) for name in names}
    origins = {name: f"{'merge' if name in values else 'defaults'}.{name[:64]}" for name in names}
    notes: list[str] = []
    swaps = tuple(replace.swaps(copy, req.replace or {}, notes))
    merge = Merge(chosen, origins, cast("Fit | dict[str, Fit]", req.fit or "trim"), swaps)   # `_known_fit` checked
    unknown = [name for name in values if name not in chosen]
    if unknown:
        notes.append(f"merge: not fields of the template, ignored: {listed(unknown)}.")
    fits = fits_used(copy, merge, notes)
    op = fill(ctx, copy, merge, notes)        # planned on trial: every segment checked, `copy` unchanged
    output = stored(ctx, copy, op) | {"fields_used": names, "fit": fits, "replaced": len(swaps), "warnings": notes}
    return Reply(output, notes)


def stored(ctx: Context, copy: Draft, op: Op | None) -> dict[str, Any]:
    """Store `copy` with `op` (planned on it) as its first change, in one write."""
    ctx.cache.create(copy, op)
    if op is not None:
        committed(ctx, copy.id, op)
    return {"draft_id": copy.id, "draft_url": draft_url(ctx, copy)}
