"""The one path every editing route takes: plan, stamp, then store (or only answer, on a dry run).

An editing route is a *planner* `plan(ctx, req, notes) -> Plan` (capcut_drafts/api/registry.py
`Route.plan`); `run_edit` does the rest the same way for all of them:

* stamps each segment the plan creates with the route and its parameters (what /update_segment
  merges changes into), and the operation with `what` (what /undo reports);
* adds what was created to the reply: `segment_id` (or the plan's `segment_ids`) and `track_name`;
* `dry_run`: runs the plan on the current draft (or a fresh one) without storing anything and
  answers what would be created, in the timeline's terms;
* otherwise appends the operation (routes/drafts.py `change`) and starts downloading new media.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from capcut_drafts.editing import manage, timeline
from capcut_drafts.model import operations
from capcut_drafts.model.operations import Op
from capcut_drafts.model.timeline import Draft, Segment
from capcut_drafts.routes.drafts import change, draft_url, existing_draft, new_draft
from capcut_drafts.routes.media import has_placeholder
from capcut_drafts.routes.schema import DraftTarget, Plan, Reply, RequestModel

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

# An editing route: (context, parsed request, list the plan adds warnings to) -> its plan. It may
# check and fetch what does not depend on the draft (e.g. an SRT URL); the plan only reads the draft.
Planner = Callable[["Context", Any, list[str]], Plan]

# Request fields that say where a change goes, not what it is: never part of a segment's parameters.
NOT_PARAMS = frozenset({"draft_id", "width", "height", "dry_run"})


def run_edit(ctx: Context, path: str, planner: Planner, req: DraftTarget) -> Reply:
    """Run the editing route `path` (its planner and parsed request) and answer its reply."""
    notes: list[str] = []
    planned: list[Op] = []
    plan = stamped(path, req, planner(ctx, req, notes), planned)
    if req.dry_run:
        return Reply(preview(ctx, req, plan), notes)
    output = change(ctx, req, plan)
    if planned:
        committed(ctx, output["draft_id"], planned[-1])
    return Reply(output, notes)


def committed(ctx: Context, draft_id: str, op: Op) -> None:
    """After `op` is stored: start downloading its new media; index a new name."""
    if ctx.media is not None and ctx.settings.prefetch_on_add:
        for url in new_media(op):
            if not has_placeholder(url):        # a template's merge field: nothing to fetch yet
                ctx.media.prefetch(url)
    if operations.renames(op):
        manage.sync_name(ctx, draft_id)


def params_json(req: RequestModel) -> str:
    """What a segment keeps of the request that made it: the parameters the client set, as JSON
    (numbers sent as merge fields as sent)."""
    if not req.merge_numbers:                    # the common case: straight to JSON text
        return req.model_dump_json(exclude_unset=True, exclude=set(NOT_PARAMS))
    return orjson.dumps(req.given(NOT_PARAMS)).decode()


def stamped(path: str, req: RequestModel, plan: Plan, planned: list[Op]) -> Plan:
    """`plan` whose new segments carry `made_by`/`params` and whose operation carries `what`;
    the last operation planned is kept in `planned`."""
    params = params_json(req)

    def run(draft: Draft) -> tuple[Op | None, dict[str, Any] | None]:
        op, result = plan(draft)
        result = dict(result or {})
        if op is None:
            return op, result
        if op["op"] == "add_segment":
            for segment in op["segments"]:
                segment.setdefault("made_by", path)
                segment.setdefault("params", params)
            if "segment_ids" not in result:
                result["segment_id"] = op["segments"][0]["id"]
            result.setdefault("track_name", op["track"]["name"])
        op.setdefault("what", {"operation": path, **{k: v for k, v in result.items()
                                                     if k in ("segment_id", "segment_ids", "track_name")}})
        planned[:] = [op]
        return op, result

    return run


def preview(ctx: Context, req: DraftTarget, plan: Plan) -> dict[str, Any]:
    """What `plan` would do to the request's draft (a fresh one without draft_id), stored nowhere."""
    def look(draft: Draft) -> dict[str, Any]:
        op, result = plan(draft)
        segments = [timeline.segment_entry(draft, track, Segment(**dump)) for track, dump in created(op)]
        return {"draft_id": req.draft_id, "draft_url": draft_url(ctx, draft) if req.draft_id else "",
                **(result or {}), "dry_run": True, "segments": segments}

    draft_id = existing_draft(ctx, req.draft_id)
    if draft_id is not None:
        return ctx.cache.read(draft_id, look)
    fresh = new_draft(ctx, req.width, req.height)
    return {**look(fresh), "draft_id": None}


def created(op: Op | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(track name, segment dump) of every segment `op` puts on the timeline."""
    if op is None:
        return
    if op["op"] == "add_segment":
        yield from ((op["track"]["name"], dump) for dump in op["segments"])
    elif op["op"] == "put_segments":
        yield from ((name, dump) for name, _, dump in op["segments"])
    elif op["op"] == "batch":
        for item in op["ops"]:
            yield from created(item)


def new_media(op: Op) -> Iterator[str]:
    """The URLs of the materials `op` brings into the draft."""
    if op["op"] == "add_segment" and op.get("material"):
        yield op["material"]["url"]
    elif op["op"] == "put_segments":
        yield from (material["url"] for _, material in op["materials"])
    elif op["op"] == "batch":
        for item in op["ops"]:
            yield from new_media(item)
