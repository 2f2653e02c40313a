"""Draft lifecycle: create, find (or create, in compatibility mode), link URLs, query the JSON."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from capcut_drafts.errors import ApiError, ErrorCode, not_found
from capcut_drafts.model import profiles
from capcut_drafts.model.ids import new_draft_id
from capcut_drafts.model.timeline import Canvas, Draft
from capcut_drafts.routes.schema import DraftTarget, Identifier, RequestModel
from capcut_drafts.storage.local import page_signature
from capcut_drafts.store import DraftNotFound

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job, which imports this
    from capcut_drafts.context import Context


class CreateDraftRequest(DraftTarget):
    profile: str | None = None
    fps: int = Field(30, ge=1, le=240)


class DraftIdRequest(RequestModel):
    REQUIRED = ("draft_id",)
    MISSING = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
    draft_id: Identifier
    draft_folder: str | None = None


class QueryScriptRequest(DraftIdRequest):
    force_update: bool = True


def new_draft(ctx: Context, width: int, height: int, fps: int = 30, profile: str | None = None) -> Draft:
    try:
        name = profiles.resolve(profile).name if profile else ctx.default_profile
    except ValueError as exc:
        raise ApiError(f"Invalid parameter 'profile': {exc}.", code=ErrorCode.UNKNOWN_NAME) from None
    draft_id = new_draft_id()
    return Draft(id=draft_id, profile=name, name=draft_id, created_at=time.time(),
                 canvas=Canvas(width=width, height=height, fps=fps))


def draft_url(ctx: Context, draft: Draft) -> str:
    """The draft's page on this service, <link base>/drafts/<id> (base: `ctx.base_url()`, the rules
    of web/guards.py `link_base`), signed when the service has API keys so that a browser opens it.
    With `draft_domain` set, upstream's link instead: <draft_domain><preview_router>?draft_id=…&is_capcut=…"""
    if not ctx.settings.draft_domain:
        path = f"/drafts/{draft.id}"
        return f"{ctx.base_url()}{path}{page_signature(ctx.settings.api_keys, path)}"
    is_capcut = 1 if profiles.resolve(draft.profile).is_capcut else 0
    return f"{ctx.settings.draft_domain}{ctx.settings.preview_router}?draft_id={draft.id}&is_capcut={is_capcut}"


def create_draft(ctx: Context, req: CreateDraftRequest) -> dict:
    draft = new_draft(ctx, req.width, req.height, req.fps, req.profile)
    ctx.cache.create(draft)
    return {"draft_id": draft.id, "draft_url": draft_url(ctx, draft)}


def unknown_draft(draft_id: str) -> ApiError:
    return not_found(f"Draft {draft_id} does not exist. Use the draft_id returned by POST /create_draft "
                     "(or omit draft_id to start a new draft).")


def existing_draft(ctx: Context, draft_id: str | None) -> str | None:
    """`draft_id` when that draft exists; None when a change starts a new draft (no draft_id, or an
    unknown one with `unknown_draft_creates` on, as upstream); the draft_not_found error otherwise."""
    if draft_id and ctx.cache.exists(draft_id):
        return draft_id
    if draft_id and not ctx.settings.unknown_draft_creates:
        raise unknown_draft(draft_id)
    return None


def change(ctx: Context, target: DraftTarget, plan: Callable[[Draft], tuple[dict | None, Any]]) -> dict:
    """Apply one planned change to the draft named by `target` and answer the standard output.

    Without a draft_id (or with an unknown one when `unknown_draft_creates` is on, as upstream)
    a new draft is created — but only after the plan succeeded on it, so a rejected request
    never leaves an orphan draft behind."""
    def planned(draft: Draft):
        op, result = plan(draft)
        return op, {"draft_id": draft.id, "draft_url": draft_url(ctx, draft), **(result or {})}

    if target.draft_id:
        try:
            return ctx.cache.update(target.draft_id, planned)
        except DraftNotFound as exc:
            if exc.draft_id != target.draft_id:
                raise
            if not ctx.settings.unknown_draft_creates:
                raise unknown_draft(target.draft_id) from None
    fresh = new_draft(ctx, target.width, target.height)
    op, output = planned(fresh)             # raises before anything is stored
    ctx.cache.create(fresh, op)
    return output


def read_existing(ctx: Context, draft_id: str, fn: Callable[[Draft], Any]) -> Any:
    """`fn` of the draft; raises the `draft_not_found` ApiError (upstream's wording) if it does not exist."""
    try:
        return ctx.cache.read(draft_id, fn)
    except DraftNotFound:
        raise not_found(f"Draft {draft_id} does not exist in cache.") from None


def generate_draft_url(ctx: Context, req: DraftIdRequest) -> dict:
    # Upstream's URL lacks the key name ("?=<id>"); ours is the same link as every other route.
    return {"draft_url": read_existing(ctx, req.draft_id, lambda d: draft_url(ctx, d))}
