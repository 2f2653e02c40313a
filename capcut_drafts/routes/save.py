"""POST /save_draft and /query_draft_status.

The route records a task (id = draft id, as upstream), hands the save job (capcut_drafts/save/job.py)
to the runner and waits up to `save_wait_seconds` so upstream clients still get `draft_url` in the
reply; `"async": true` answers at once. With `callback_url` the save's final record is also POSTed
there when it ends (capcut_drafts/save/callbacks.py); the reply then names the `callback_id`.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from pydantic import Field, StrictStr

from capcut_drafts import metrics
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.routes.drafts import DraftIdRequest, unknown_draft
from capcut_drafts.routes.media import check_draft_folder
from capcut_drafts.routes.schema import Identifier, Reply, RequestModel
from capcut_drafts.save import callbacks
from capcut_drafts.save.tasks import Task, TaskBook
from capcut_drafts.save.tasks import absolute as on_base

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

log = logging.getLogger("capcut.save")
QUEUED = "Queued: waiting for a save worker"      # the message of a task no worker has started yet


class SaveDraftRequest(DraftIdRequest):
    async_: bool = Field(False, alias="async")     # answer at once; poll /query_draft_status
    callback_url: StrictStr | None = None          # POSTed the final task record (save/callbacks.py)


class QueryStatusRequest(RequestModel):
    """`draft_id` is an alias of `task_id` (a save's task id is its draft id); `task_id` wins."""
    REQUIRED = ("task_id",)
    MISSING = "Hi, the required parameter 'task_id' is missing. Please add it and try again."
    ALTERNATIVES = {"task_id": ("draft_id",)}
    task_id: Identifier | None = None
    draft_id: Identifier | None = None

    @property
    def id(self) -> str:
        return self.task_id or self.draft_id or ""

    def notes(self) -> list[str]:
        if self.task_id and self.draft_id and self.task_id != self.draft_id:
            return [f"Both 'task_id' and 'draft_id' were sent: 'task_id' ({self.task_id}) was used and "
                    "'draft_id' ignored."]
        return []


def save_draft(ctx: Context, req: SaveDraftRequest) -> Reply:
    folder = check_draft_folder(req.draft_folder)
    callback_url = callbacks.checked_url(req.callback_url)
    book = TaskBook(ctx.cache.store, Task)
    if not ctx.cache.exists(req.draft_id):      # nothing is stored for a draft that does not exist
        if ctx.settings.upstream_save_success:
            return Reply({"success": True, "draft_url": None})
        raise unknown_draft(req.draft_id)
    task = _current(ctx, book, req.draft_id)
    joining = task is not None and not task.finished and task.draft_folder == folder
    job_id = task.job_id if task is not None and joining else uuid.uuid4().hex   # the same save runs: wait for it
    if task is None or task.finished:             # otherwise a new job, after any running one
        task = book.put(Task(task_id=req.draft_id, job_id=job_id, draft_folder=folder, message=QUEUED))
    callback_id = callbacks.request(ctx, "save", req.draft_id, job_id, req.draft_id, callback_url) \
        if callback_url else ""
    if not joining:
        if ctx.runner is None:     # only a job worker's context has none, and a job worker serves no routes
            raise RuntimeError("/save_draft needs a job runner, and this context has none: it was built for a "
                               "job worker (build_context(..., worker=True)), which runs jobs but cannot queue them")
        ctx.runner.submit("save", order_key=req.draft_id, task_id=req.draft_id, draft_id=req.draft_id,
                          draft_folder=folder, job_id=job_id)      # no base: links are stored base-free
        metrics.JOBS.labels("queued").inc()
    if not req.async_:    # the record can vanish only past a store TTL shorter than the wait: keep what we know
        task = wait_for(book, req.draft_id, job_id, ctx.settings.save_wait_seconds) or task
    reply = answer(ctx, task, job_id)
    if callback_id:
        reply.output["callback_id"] = callback_id
        reply.warnings.extend(callbacks.unsigned_note(ctx))
    return reply


def _current(ctx: Context, book: TaskBook, task_id: str) -> Task | None:
    task = book.get(task_id)
    if task is None:
        return None
    return book.expire_if_stale(task, ctx.settings.job_lease_seconds, ctx.settings.job_queue_seconds)


def wait_for(book: TaskBook, task_id: str, job_id: str, seconds: float) -> Task | None:
    """The task once job `job_id` finished, or as it stands when `seconds` ran out (None if the
    record is gone by then)."""
    deadline = time.monotonic() + seconds
    delay = 0.02
    while True:
        done = book.outcome(task_id, job_id)
        if done is not None:
            return done
        task = book.get(task_id)
        if time.monotonic() >= deadline:
            return task
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def answer(ctx: Context, task: Task, job_id: str) -> Reply:
    ours = task.job_id == job_id
    if ours and task.status == "failed" and not ctx.settings.upstream_save_success:
        raise ApiError(task.message, code=ErrorCode.SAVE_FAILED, http_status=502)
    done = ours and task.finished
    output = {"success": True, "draft_url": absolute(ctx, task.draft_url) if done else "",
              "task_id": task.task_id, "status": task.status if ours else "initialized"}
    if done and task.download_page:
        output["download_page"] = absolute(ctx, task.download_page)
    notes = list(task.warnings) if done else []
    if not ours:
        notes.append(f"Another save of this draft (for another draft_folder) is running; this one starts after "
                     f"it. Poll POST /query_draft_status with task_id {task.task_id}.")
    elif not done:
        notes.append(f"The save is still running ({task.progress}%: {task.message or task.status}); poll "
                     f"POST /query_draft_status with task_id {task.task_id}.")
    return Reply(output, notes)


def query_draft_status(ctx: Context, req: QueryStatusRequest) -> Reply:
    task_id = req.id
    task = _current(ctx, TaskBook(ctx.cache.store, Task), task_id)
    if task is None and ctx.settings.upstream_save_success and not ctx.cache.exists(task_id):
        # upstream answers a save of an unknown draft with success and this failed record
        return Reply(Task(task_id=task_id, status="failed",
                          message=f"Draft {task_id} does not exist in cache").public(), req.notes())
    if task is None:
        raise ApiError(f"Task with ID {task_id} not found. Please check if the task ID is correct.",
                       code=ErrorCode.TASK_NOT_FOUND, http_status=404)
    return Reply({**task.view(ctx.base_url()), **callbacks.fields(ctx.cache.store, task.task_id, task.job_id)},
                 req.notes())


def absolute(ctx: Context, link: str) -> str:
    """A stored link as this reply gives it: the base of this request's links (`ctx.base_url`) added
    to a root-relative one (save.tasks.absolute)."""
    return on_base(ctx.base_url(), link)
