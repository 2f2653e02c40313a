"""POST /export_otio, GET /drafts/<id>.otio and POST /import_otio: request models and handlers.

The export reads the document (interchange/otio.py). The import reads the OTIO text (`otio`, or the
file at `otio_url`, fetched like an SRT URL: public hosts only unless `fetch_allow_hosts` allows
them, at most otio_checks.MAX_BYTES), checks it (otio_checks.py), turns its timeline into add_*
operations (otio_import.py) and plans them as /batch does: every operation is parsed and planned by
its route, in order, on the new draft as the earlier ones leave it (`whole`), and only when all
succeed is the draft stored, filled by one `batch` operation (one /undo empties it). A refused
import leaves no draft.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from capcut_drafts.editing.manage import DraftName
from capcut_drafts.editing.pipeline import committed, stamped
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.interchange import otio_checks
from capcut_drafts.interchange.otio import export_text
from capcut_drafts.interchange.otio_import import Facts, Operation, draft_facts, plan_timeline
from capcut_drafts.model import operations, profiles
from capcut_drafts.model.operations import Op
from capcut_drafts.model.timeline import Draft
from capcut_drafts.net.fetcher import FetchError, fetch_bytes, policy_from
from capcut_drafts.routes.drafts import draft_url, new_draft, read_existing
from capcut_drafts.routes.media import app_of, checked_media_url
from capcut_drafts.routes.schema import Identifier, Plan, Reply, RequestModel

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

FETCH_SECONDS = 30.0              # deadline of the otio_url download
DEFAULT_FPS = 30
_NAME: TypeAdapter[str] = TypeAdapter(DraftName)


class ExportOtioRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("draft_id",)
    MISSING = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
    draft_id: Identifier


class ImportOtioRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("otio",)
    ALTERNATIVES: ClassVar[dict[str, tuple[str, ...]]] = {"otio": ("otio_url",)}
    MISSING = ("Hi, the required parameter 'otio' is missing. Send the .otio file's JSON text as 'otio', or its "
               "http(s) URL as 'otio_url'.")
    otio: str | None = None
    otio_url: str | None = None
    name: DraftName | None = None
    width: int | None = Field(None, gt=0, le=16384)
    height: int | None = Field(None, gt=0, le=16384)
    profile: str | None = None

    @field_validator("otio", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError("send the .otio file's JSON text as a string (the timeline serialised), not a JSON value")
        return value

    @field_validator("width", "height", mode="before")
    @classmethod
    def _whole_pixels(cls, value: Any) -> Any:
        return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass
class Item:
    """One planned operation of the import: how messages name it, its plan, its route's notes."""
    where: str
    plan: Plan
    notes: list[str] = field(default_factory=list)


# -- export -----------------------------------------------------------------------------------

def export_otio(ctx: Context, req: ExportOtioRequest) -> Reply:
    text, warnings = read_existing(ctx, req.draft_id, export_text)
    return Reply({"draft_id": req.draft_id, "otio": text}, warnings)


def otio_file(ctx: Context, draft_id: str) -> str:
    """GET /drafts/<id>.otio: the .otio text (ApiError for a malformed or unknown id)."""
    req = ExportOtioRequest.parse({"draft_id": draft_id})
    text, _ = read_existing(ctx, req.draft_id, export_text)
    return str(text)


# -- import -----------------------------------------------------------------------------------

def import_otio(ctx: Context, req: ImportOtioRequest) -> Reply:
    text, notes = otio_text(ctx, req)
    timeline = otio_checks.read_timeline(text)
    draft = target_draft(ctx, req, draft_facts(timeline), notes)
    planned, warnings = plan_timeline(timeline, app_of(draft))
    notes.extend(warnings)
    items = [item(ctx, draft.id, operation) for operation in planned]
    store(ctx, draft, items)
    for entry in items:
        notes.extend(f"{entry.where}: {note}" for note in entry.notes)
    tracks, segments = ctx.cache.read(draft.id, lambda d: (len(d.tracks), d.segment_count()))
    output = {"draft_id": draft.id, "draft_url": draft_url(ctx, draft), "name": draft.name,
              "profile": draft.profile, "tracks": tracks, "segments": segments, "warnings": notes}
    return Reply(output, notes)


def otio_text(ctx: Context, req: ImportOtioRequest) -> tuple[str, list[str]]:
    """The OTIO text: `otio`, else the file at `otio_url` (UTF-8); and the notes about it."""
    if req.otio:
        return req.otio, ["Both 'otio' and 'otio_url' were sent: 'otio' was used and 'otio_url' ignored."] \
            if req.otio_url else []
    url = checked_media_url(req.otio_url or "", "otio_url")
    try:
        raw = fetch_bytes(url, policy_from(ctx.settings, max_bytes=otio_checks.MAX_BYTES, deadline=FETCH_SECONDS))
    except FetchError as exc:
        if exc.code == ErrorCode.FETCH_TOO_LARGE:
            raise otio_checks.too_large(f"The file at otio_url is larger than {otio_checks.MAX_BYTES} bytes, the "
                                        "most an OTIO import reads: split the timeline.") from None
        raise ApiError(f"Could not download otio_url: {exc}", code=exc.code) from None
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        raise otio_checks.invalid("The file at otio_url is not UTF-8 text; an .otio file is JSON in UTF-8.") from None


def target_draft(ctx: Context, req: ImportOtioRequest, facts: Facts, notes: list[str]) -> Draft:
    """The new draft (not stored yet): the request's canvas and profile, else the timeline's, else
    the defaults; named `name`, else after the timeline."""
    profile = req.profile
    if profile is None and facts.profile is not None:
        try:
            profile = profiles.resolve(facts.profile).name
        except ValueError:
            notes.append(f"The timeline's profile '{facts.profile[:40]}' is unknown here; the default was used.")
    width = req.width or _pixels(facts.width, "width", notes) or 1080
    height = req.height or _pixels(facts.height, "height", notes) or 1920
    fps = facts.fps if facts.fps is not None and 1 <= facts.fps <= 240 else DEFAULT_FPS
    draft = new_draft(ctx, width, height, fps, profile)
    return draft.model_copy(update={"name": req.name or draft_name(facts.name, notes) or draft.id})


def _pixels(value: int | None, what: str, notes: list[str]) -> int | None:
    if value is None or 0 < value <= 16384:
        return value
    notes.append(f"The timeline's canvas {what} {value} is outside 1-16384; the default was used.")
    return None


def draft_name(name: str, notes: list[str]) -> str | None:
    """The timeline's name as a draft name; None (the draft id is used) when it cannot be one."""
    if not name.strip():
        return None
    try:
        return _NAME.validate_python(name)
    except ValidationError as exc:
        reason = exc.errors(include_url=False)[0]["msg"]
        notes.append(f"The timeline's name cannot be a draft name ({reason}); the draft is named by its id "
                     "(/rename_draft renames it).")
        return None


def item(ctx: Context, draft_id: str, operation: Operation) -> Item:
    """`operation` parsed and planned as its route would (every check of adding)."""
    notes: list[str] = []
    try:
        req = operation.editor.model.parse({**operation.body, "draft_id": draft_id, "dry_run": False})
        plan = stamped(operation.path, req, operation.editor.plan(ctx, req, notes), [])
    except ApiError as exc:
        raise failed(operation.where, exc) from None
    return Item(operation.where, with_fit(plan, operation.fit) if operation.fit else plan, notes)


def with_fit(plan: Plan, fit: str) -> Plan:
    """`plan` whose new segments keep the `fit` they were exported with (/render_template's)."""
    def run(draft: Draft) -> tuple[Op | None, dict[str, Any] | None]:
        op, result = plan(draft)
        if op is not None and op["op"] == "add_segment":
            for segment in op["segments"]:
                segment["fit"] = fit
        return op, result
    return run


def failed(where: str, exc: ApiError) -> ApiError:
    return ApiError(f"{where} could not be imported, so no draft was made: {exc.message}", code=exc.code,
                    http_status=exc.http_status, details=exc.details)


def whole(items: list[Item], draft: Draft) -> Op:
    """The import as one operation: each item planned on a copy of the new `draft` as the earlier
    items leave it (applied to the copy: the draft is new, so a copy costs nothing, where /batch's
    trial-and-revert would cost a scan of the materials per item)."""
    scratch = draft.model_copy(deep=True)
    ops: list[Op] = []
    for entry in items:
        try:
            op, _ = entry.plan(scratch)
        except ApiError as exc:
            raise failed(entry.where, exc) from None
        if op is not None:
            operations.apply(scratch, op)
            ops.append(op)
    return {**operations.batch(ops), "what": {"operation": "/import_otio", "imported_operations": len(ops)}}


def store(ctx: Context, draft: Draft, items: list[Item]) -> None:
    """Plan every item (raises before anything is stored), then store `draft` with the one
    operation as its first change, in one write."""
    op = whole(items, draft)
    ctx.cache.create(draft, op if op["ops"] else None)
    if op["ops"]:
        committed(ctx, draft.id, op)
