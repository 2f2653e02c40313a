"""POST /batch: several edits applied atomically, as one stored operation.

`operations` is a list of `{route, body}` where `route` is an editing route (one with a planner in
the registry: add_*, update/remove/move_segment, rename_draft). The bodies are validated first;
then every plan runs, in order, on the draft as the earlier operations leave it (applied on trial
and reverted: model/operations.py `trial`), so later operations see earlier ones. Only when all
succeed is the whole list appended as one `batch` operation (one sequence number; one /undo
reverts it). Without `draft_id` the batch starts a new draft, from the first operation when that
is /create_draft; the draft is stored only if the batch succeeds. The reply has one envelope per operation.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capcut_drafts.editing.pipeline import Planner, committed, stamped
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import operations
from capcut_drafts.model.operations import Op
from capcut_drafts.model.timeline import Draft
from capcut_drafts.routes.drafts import CreateDraftRequest, draft_url, existing_draft, new_draft
from capcut_drafts.routes.schema import DraftTarget, Identifier, Plan, RequestModel

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context


class BatchRequest(RequestModel):
    REQUIRED = ("operations",)
    MISSING = "Hi, the required parameter 'operations' is missing: send a list of {\"route\": …, \"body\": {…}}."
    draft_id: Identifier | None = None
    operations: list[Any]
    dry_run: bool = False


@dataclass
class Item:
    """One operation of a batch, parsed: its route and request, its plan, and its notes."""
    path: str
    req: RequestModel
    plan: Plan | None = None          # None for /create_draft (the draft itself)
    notes: list[str] = field(default_factory=list)


# path -> (request model, planner) of the routes a batch may hold; given by the registry.
Editing = Mapping[str, tuple[type[RequestModel], Planner]]


def run_batch(ctx: Context, req: BatchRequest, editing: Editing) -> dict[str, Any]:
    limit = ctx.settings.batch_max_operations
    if len(req.operations) > limit:
        raise ApiError(f"The batch has {len(req.operations)} operations; one /batch takes at most {limit} "
                       "(setting batch_max_operations). Split it into several batches.",
                       code=ErrorCode.BATCH_TOO_LARGE)
    items: list[Item] = []
    for index, raw in enumerate(req.operations):
        with reported(index, raw):
            items.append(parse_item(index, raw, req, editing))
    for index, item in enumerate(items):
        if item.path in editing:
            with reported(index, item.path):
                item.plan = stamped(item.path, item.req, editing[item.path][1](ctx, item.req, item.notes), [])
    plan = whole(items)
    return dry(ctx, req, items, plan) if req.dry_run else commit(ctx, req, items, plan)


def parse_item(index: int, raw: Any, req: BatchRequest, editing: Editing) -> Item:
    """The operation at `index` parsed with its route's model; only the first may be /create_draft,
    and only in a batch without draft_id."""
    if not isinstance(raw, dict) or not isinstance(raw.get("route"), str):
        raise ApiError("each operation must be an object {\"route\": \"/add_text\", \"body\": {…}}.")
    path = route_of(raw)
    body = raw.get("body") if raw.get("body") is not None else {}
    if not isinstance(body, dict):
        raise ApiError("'body' must be a JSON object.")
    if path == "/create_draft" and index == 0 and not req.draft_id:
        return Item(path, CreateDraftRequest.parse(body))
    if path not in editing:
        raise ApiError(f"{path} cannot be part of a batch. A batch holds editing routes "
                       f"({', '.join(sorted(editing))}), and /create_draft as its first operation when the "
                       "batch has no draft_id.")
    if body.get("draft_id") not in (None, req.draft_id):
        raise ApiError("its draft_id differs from the batch's; leave draft_id out of the bodies (the batch's "
                       "draft is used).")
    return Item(path, editing[path][0].parse({**body, "draft_id": req.draft_id, "dry_run": False}))


def route_of(raw: Any) -> str:
    name = raw.get("route") if isinstance(raw, dict) else None
    return "/" + name.strip().lstrip("/") if isinstance(name, str) else "?"


@contextmanager
def reported(index: int, raw: Any) -> Iterator[None]:
    """An ApiError inside is reported as the failure of operation `index` (`raw`: its path or body)."""
    try:
        yield
    except ApiError as exc:
        path = raw if isinstance(raw, str) else route_of(raw)
        raise ApiError(f"Operation {index} ({path}) failed, so nothing in the batch was applied: {exc.message}",
                       code=exc.code, http_status=exc.http_status, details={"failed_operation": index}) from None


def whole(items: list[Item]) -> Callable[[Draft], tuple[Op, list[dict[str, Any]]]]:
    """The plan of the batch: each item's plan on the draft as the earlier items left it (taken on
    trial, reverted before the plan returns)."""
    def plan(draft: Draft) -> tuple[Op, list[dict[str, Any]]]:
        ops: list[Op] = []
        results: list[dict[str, Any]] = []
        with operations.trial(draft) as take:
            for index, item in enumerate(items):
                op, result = None, None
                if item.plan is not None:
                    with reported(index, item.path):
                        op, result = item.plan(draft)
                if op is not None:
                    take(op)
                    ops.append(op)
                results.append(result or {})
        what = {"operation": "/batch", "operations": [item.path for item in items]}
        return {**operations.batch(ops), "what": what}, results

    return plan


def envelopes(draft: Draft, ctx: Context, items: list[Item], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    url = draft_url(ctx, draft) if draft.id else ""
    out = []
    for item, result in zip(items, results, strict=True):
        envelope: dict[str, Any] = {"success": True, "output": {"draft_id": draft.id, "draft_url": url, **result},
                                    "error": ""}
        if item.notes:
            envelope["warnings"] = item.notes
        out.append(envelope)
    return out


def target(ctx: Context, req: BatchRequest, items: list[Item]) -> Draft | None:
    """The new draft a batch without draft_id starts (None when it names one)."""
    if existing_draft(ctx, req.draft_id) is not None:
        return None
    first = items[0].req if items[0].path == "/create_draft" else None
    if isinstance(first, CreateDraftRequest):
        return new_draft(ctx, first.width, first.height, first.fps, first.profile)
    return new_draft(ctx, DraftTarget().width, DraftTarget().height)


def dry(ctx: Context, req: BatchRequest, items: list[Item], plan: Callable[[Draft], Any]) -> dict[str, Any]:
    fresh = target(ctx, req, items)
    if fresh is None:
        return ctx.cache.read(req.draft_id or "", lambda d: {
            "draft_id": d.id, "results": envelopes(d, ctx, items, plan(d)[1]), "dry_run": True})
    return {"draft_id": None, "results": envelopes(fresh.model_copy(update={"id": ""}), ctx, items, plan(fresh)[1]),
            "dry_run": True}


def commit(ctx: Context, req: BatchRequest, items: list[Item], plan: Callable[[Draft], Any]) -> dict[str, Any]:
    kept: list[Op] = []

    def planned(draft: Draft):
        op, results = plan(draft)
        kept[:] = [op]
        return op, {"draft_id": draft.id, "draft_url": draft_url(ctx, draft),
                    "results": envelopes(draft, ctx, items, results)}

    fresh = target(ctx, req, items)
    if fresh is None:
        output = ctx.cache.update(req.draft_id or "", planned)
    else:
        op, output = planned(fresh)         # every operation checked before the draft is stored
        ctx.cache.create(fresh, op)
    if kept:
        committed(ctx, output["draft_id"], kept[0])
    return output
