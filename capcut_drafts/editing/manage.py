"""Draft management: POST /list_drafts (and GET /drafts), /delete_draft, /duplicate_draft,
/rename_draft, and the deletion of drafts left unchanged for `draft_retention_days`.

Listing reads the store's index (name, creation and last-change time) and never every document:
only the drafts of the page are read, through the cache, for their name, duration and segment
count. The name filter uses the indexed name, which `/rename_draft` sets and `sync_name` refreshes
after any other change that can rename a draft (/undo, /redo); a listed draft whose document name
differs from the index gets its entry corrected as well.

Deleting a draft removes its snapshot, log, index entry and task records from the store, this
process's cached copy (other processes drop theirs when their next read finds the draft gone),
and its outputs on this host: the saved folder and zip, and the renders. A save or render running
at that moment records nothing more (the store drops task writes of a deleted draft), but files it
writes afterwards stay until output clean-up.
"""
from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from filelock import FileLock, Timeout
from pydantic import AfterValidator, Field

from capcut_drafts.errors import ApiError, not_found
from capcut_drafts.model import operations
from capcut_drafts.model.ids import new_draft_id
from capcut_drafts.model.timeline import Draft
from capcut_drafts.model.timing import track_timings
from capcut_drafts.render.job import renders_folder
from capcut_drafts.routes.drafts import draft_url
from capcut_drafts.routes.schema import DraftTarget, Identifier, Plan, RequestModel
from capcut_drafts.save import delivery
from capcut_drafts.store import DraftInfo, DraftNotFound

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context
    from capcut_drafts.settings import Settings

T = TypeVar("T")

log = logging.getLogger("capcut.manage")

MAX_NAME_LENGTH = 200
MAX_PAGE = 500
SWEEP_INTERVAL_SECONDS = 3600.0
SWEEP_BATCH = 200                 # drafts looked up per round of a retention sweep
_NOT_IN_NAMES = ("Cc", "Zl", "Zp")      # control characters, line and paragraph separators


def _draft_name(value: str) -> str:
    """A draft name the apps can use as a folder name: stripped, 1-200 characters, no control
    characters or path separators."""
    name = value.strip()
    if not name:
        raise ValueError("a name needs at least one character other than spaces")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a name is at most {MAX_NAME_LENGTH} characters, this one has {len(name)}")
    if any(unicodedata.category(c) in _NOT_IN_NAMES for c in name):
        raise ValueError("a name cannot hold control characters or line breaks")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError("the app uses the name as a folder name: no '/' or '\\', and not '.' or '..'")
    return name


DraftName = Annotated[str, AfterValidator(_draft_name)]


class ListDraftsRequest(RequestModel):
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    name: str | None = Field(None, max_length=MAX_NAME_LENGTH)


class DraftRequest(RequestModel):
    REQUIRED = ("draft_id",)
    MISSING = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
    draft_id: Identifier


class DuplicateDraftRequest(DraftRequest):
    name: DraftName | None = None


class RenameDraftRequest(DraftTarget):
    REQUIRED = ("draft_id", "name")
    MISSING = "Hi, the required parameters 'draft_id' and 'name' are missing or empty. Please add them and try again."
    draft_id: Identifier
    name: DraftName


def unknown(draft_id: str) -> ApiError:
    return not_found(f"Draft {draft_id} does not exist (never created, or deleted). POST /list_drafts lists "
                     "the drafts there are.")


# -- the routes ------------------------------------------------------------------------------

def list_drafts(ctx: Context, req: ListDraftsRequest) -> dict[str, Any]:
    infos, total = ctx.cache.store.list_drafts(req.offset, req.limit, req.name)
    drafts = [entry for entry in (_entry(ctx, info) for info in infos) if entry is not None]
    return {"drafts": drafts, "total": total, "offset": req.offset, "limit": req.limit}


def _entry(ctx: Context, info: DraftInfo) -> dict[str, Any] | None:
    """The listing of one draft, read through the cache (None: deleted since the index was read)."""
    try:
        name, duration, segments = ctx.cache.read(info.draft_id, _summary)
    except DraftNotFound:
        return None
    if name != info.name:             # renamed by an undo/redo nobody synced
        ctx.cache.store.set_name(info.draft_id, name)
    return {"draft_id": info.draft_id, "name": name, "created": info.created_at, "updated": info.updated_at,
            "duration": duration, "segments": segments}


def _summary(draft: Draft) -> tuple[str, float, int]:
    """Name, duration in seconds (the end of the last segment, as the saved draft has it; an open clip
    whose media is not probed yet counts as starting there) and number of segments."""
    ends = [cut.target.end_us for track in draft.tracks for cut in track_timings(draft, track, [])]
    return draft.name, max(ends, default=0) / 1e6, draft.segment_count()


def delete_draft(ctx: Context, req: DraftRequest) -> dict[str, Any]:
    if not remove_draft(ctx, req.draft_id):
        raise unknown(req.draft_id)
    return {"draft_id": req.draft_id, "deleted": True}


def duplicate_draft(ctx: Context, req: DuplicateDraftRequest) -> dict[str, Any]:
    duplicate = copy_of(ctx, req.draft_id, req.name)
    ctx.cache.create(duplicate)
    return {"draft_id": duplicate.id, "draft_url": draft_url(ctx, duplicate), "name": duplicate.name}


def copy_of(ctx: Context, draft_id: str, name: str | None) -> Draft:
    """A new, not yet stored draft copied from `draft_id` (new id, `name` or '<name> copy', no
    history); `draft_not_found` when there is no such draft."""
    new_id, now = new_draft_id(), time.time()
    return read_draft(ctx, draft_id, lambda draft: operations.fresh_copy(
        draft, new_id, name or copy_name(draft.name), now))


def read_draft(ctx: Context, draft_id: str, fn: Callable[[Draft], T]) -> T:
    """`fn` of the draft; the `draft_not_found` error of this module when there is none."""
    try:
        return ctx.cache.read(draft_id, fn)
    except DraftNotFound:
        raise unknown(draft_id) from None


def copy_name(name: str) -> str:
    """`<name> copy`, cut to fit the name limit."""
    suffix = " copy"
    return name[:MAX_NAME_LENGTH - len(suffix)] + suffix


def plan_rename(ctx: Context, req: RenameDraftRequest, notes: list[str]) -> Plan:
    """/rename_draft's planner (editing/pipeline.py runs it, /batch may hold it): an undoable
    operation, or none when the draft already has the name. Whoever commits it calls `sync_name`."""
    def plan(draft: Draft) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        result = {"draft_id": draft.id, "name": req.name}
        if draft.name == req.name:
            return None, result
        return {**operations.rename(req.name), "what": {"operation": "/rename_draft", "name": req.name}}, result
    return plan


def sync_name(ctx: Context, draft_id: str) -> None:
    """Index the draft under its document's current name. Call it after committing any change that
    can rename a draft (/rename_draft, /undo, /redo); an unknown draft is left alone."""
    try:
        name = ctx.cache.read(draft_id, lambda draft: draft.name)
    except DraftNotFound:
        return
    ctx.cache.store.set_name(draft_id, name)


# -- deleting ----------------------------------------------------------------------------------

def remove_draft(ctx: Context, draft_id: str) -> bool:
    """Delete the draft from the store and this process's cache, then its outputs on this host;
    whether it existed (nothing is touched when it did not)."""
    if not ctx.cache.delete(draft_id):
        return False
    for path in outputs(ctx.settings, draft_id):
        delivery.remove(path)
    return True


def outputs(settings: Settings, draft_id: str) -> list[Path]:
    """The draft's saved folder, zip and renders folder on this host (none for an id that is no
    plain file name)."""
    if draft_id in ("", ".", "..") or Path(draft_id).name != draft_id:
        return []
    return [delivery.folder_path(settings, draft_id), delivery.zip_path(settings, draft_id),
            renders_folder(settings.data_dir, draft_id)]


def cleanup_idle_drafts(ctx: Context) -> int:
    """Delete every draft unchanged for `draft_retention_days` as /delete_draft does; how many.
    Nothing when the setting is 0."""
    days = ctx.settings.draft_retention_days
    if days <= 0:
        return 0
    before = time.time() - days * 86400
    deleted = 0
    while idle := ctx.cache.store.idle_drafts(before, SWEEP_BATCH):     # delete() drops them from the index
        deleted += sum(remove_draft(ctx, draft_id) for draft_id in idle)
    return deleted


def sweep(ctx: Context, min_interval: float = 0.0) -> int | None:
    """`cleanup_idle_drafts` unless another process of this host is running it (a lock file in
    data_dir) or, with `min_interval`, one ended less than that many seconds ago: None then."""
    data_dir = Path(ctx.settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    lock, stamp = FileLock(str(data_dir / "retention.lock")), data_dir / "retention.last"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    try:
        if min_interval and stamp.exists() and time.time() - stamp.stat().st_mtime < min_interval:
            return None
        deleted = cleanup_idle_drafts(ctx)
        stamp.touch()
    finally:
        lock.release()
    if deleted:
        log.info("deleted %d drafts unchanged for %g days", deleted, ctx.settings.draft_retention_days)
    return deleted


def run_cleanup(settings: Settings) -> str:
    """`python3 dev.py cleanup`: one `sweep` with these settings, and what it did in a sentence."""
    if settings.draft_retention_days <= 0:
        return "draft_retention_days is 0: drafts are kept, there is nothing to clean up."
    from capcut_drafts.context import build_context  # here: route modules never import the context at load
    ctx = build_context(settings, worker=True)
    try:
        deleted = sweep(ctx)
    finally:
        ctx.media.close(wait=True)
    if deleted is None:
        return "Another clean-up is running on this host; nothing was done."
    return f"Deleted {deleted} drafts unchanged for {settings.draft_retention_days:g} days."


class RetentionSweeper:
    """A daemon thread that sweeps at start-up, then every `interval` seconds; with several worker
    processes on a host, one of them sweeps at a time and the others skip (`sweep`)."""

    def __init__(self, ctx: Context, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        self.ctx, self.interval = ctx, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="draft-retention", daemon=True)

    def start(self) -> RetentionSweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            try:
                sweep(self.ctx, min_interval=self.interval)
            except Exception:       # noqa: BLE001 — a failed sweep (store down) waits for the next
                log.exception("draft retention sweep failed")
            if self._stop.wait(self.interval):
                return
