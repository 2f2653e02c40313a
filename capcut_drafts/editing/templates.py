"""Templates: drafts whose texts and media URLs hold merge fields, `{{name}}`.

POST /template_fields (and GET /templates/<id>/fields) lists the fields of a draft and where
they occur. POST /render_template copies the template into a new draft (model/operations.py
`fresh_copy`: new id, no history) and fills every field: each segment whose parameters hold one
is planned again by the route that made it with the filled parameters (editing/segments.py
`replan`), so every check of adding applies (URL scheme, overlaps, names). All of it is planned
on the copy before anything is stored; the copy is then stored and filled by one `batch`
operation, so a failing request leaves no draft behind.

Only text parameters and media URLs hold fields (`FIELD_PARAMS`); numbers do not.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from capcut_drafts.editing import manage, segments
from capcut_drafts.editing.pipeline import committed
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import operations
from capcut_drafts.model.operations import Op
from capcut_drafts.model.timeline import Draft
from capcut_drafts.routes.drafts import draft_url
from capcut_drafts.routes.media import PLACEHOLDER
from capcut_drafts.routes.schema import Identifier, Reply, RequestModel

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

# The segment parameters that may hold merge fields.
FIELD_PARAMS = ("text", "video_url", "audio_url", "image_url")
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

    @classmethod
    def has_required(cls, body: dict[str, Any]) -> bool:
        """`template_draft_id` set and `merge` present (an empty object is a valid `merge`)."""
        return bool(body.get("template_draft_id")) and body.get("merge") is not None


@dataclass(frozen=True)
class Occurrence:
    """One merge field in one parameter of one segment."""
    name: str
    segment_id: str
    track_name: str
    parameter: str


# -- finding fields ------------------------------------------------------------------------------

def segment_fields(params: str | None) -> dict[str, list[str]]:
    """parameter -> the field names it holds, for a segment's stored parameters (JSON)."""
    stored = json.loads(params or "{}")
    found: dict[str, list[str]] = {}
    for key in FIELD_PARAMS:
        value = stored.get(key)
        names = PLACEHOLDER.findall(value) if isinstance(value, str) else []
        if names:
            found[key] = list(dict.fromkeys(names))
    return found


def occurrences(draft: Draft) -> Iterator[Occurrence]:
    """Every merge field of `draft`, in track and segment order."""
    for track in draft.tracks:
        for segment in track.segments:
            for parameter, names in segment_fields(segment.params).items():
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


# -- filling --------------------------------------------------------------------------------------

def fill(ctx: Context, draft: Draft, values: Mapping[str, str], notes: list[str]) -> Op | None:
    """The operation that fills every field of `draft` (None when it has none): each segment
    with a field planned again by its route on the draft as the earlier ones leave it (on trial)."""
    ops: list[Op] = []
    targets = list(dict.fromkeys(item.segment_id for item in occurrences(draft)))
    with operations.trial(draft) as take:
        for segment_id in targets:
            op = fill_segment(ctx, draft, segment_id, values, notes)
            if op is not None:
                take(op)
                ops.append(op)
    if not ops:
        return None
    return {**operations.batch(ops), "what": {"operation": "/render_template", "segments": len(targets)}}


def fill_segment(ctx: Context, draft: Draft, segment_id: str, values: Mapping[str, str],
                 notes: list[str]) -> Op | None:
    """The operation that replaces one segment by its filled version; a refusal names the segment."""
    track, segment = segments.find(draft, segment_id)
    stored = json.loads(segment.params or "{}")
    changes = {key: filled(stored[key], values) for key in segment_fields(segment.params)}
    try:
        op, _ = segments.replan(ctx, draft, track, segment, changes, notes, "/render_template")
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
    notes: list[str] = []
    unknown = [name for name in values if name not in chosen]
    if unknown:
        notes.append(f"merge: not fields of the template, ignored: {listed(unknown)}.")
    fill(ctx, copy, chosen, [])                # every segment checked before the draft is stored
    output = stored(ctx, copy, chosen, notes) | {"fields_used": names, "warnings": notes}
    return Reply(output, notes)


def stored(ctx: Context, copy: Draft, values: Mapping[str, str], notes: list[str]) -> dict[str, Any]:
    """Store `copy`, then fill it with one operation; the draft is deleted again if that fails."""
    ctx.cache.create(copy)
    kept: list[Op] = []

    def plan(draft: Draft) -> tuple[Op | None, dict[str, Any]]:
        op = fill(ctx, draft, values, notes)
        kept[:] = [op] if op is not None else []
        return op, {"draft_id": draft.id, "draft_url": draft_url(ctx, draft)}

    try:
        output = ctx.cache.update(copy.id, plan)
    except BaseException:
        manage.remove_draft(ctx, copy.id)
        raise
    if kept:
        committed(ctx, copy.id, kept[0])
    return output
