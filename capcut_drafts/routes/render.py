"""POST /generate_video and /task_status: a local MP4 render of a draft, in the shapes the hosted
CapCutAPI's clients read (`output.task_id`, then `output.status` and `output.result`).

The route checks the request, names the render (draft version + output size + rate: the cache
key) and queues capcut_drafts/render/job.py on the job runner; it never waits. An unchanged draft
asked for at the same settings answers the finished render at once. With `callback_url` the
render's final record is also POSTed there when it ends, or at once when it already has
(capcut_drafts/save/callbacks.py).
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pydantic import Field, StrictStr, field_validator

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.render.engine import MAX_STILL_WIDTH, output_size
from capcut_drafts.render.job import TASK_PREFIX, RenderTask, expire_if_stale, render_task_id, video_path, view
from capcut_drafts.routes.drafts import unknown_draft
from capcut_drafts.routes.schema import Identifier, Number, Reply, RequestModel
from capcut_drafts.save import callbacks
from capcut_drafts.save.tasks import TaskBook
from capcut_drafts.store import DraftNotFound

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the jobs
    from capcut_drafts.context import Context

# The hosted API's resolution names -> pixels on the short side.
RESOLUTIONS = {"480P": 480, "720P": 720, "1080P": 1080, "2K": 1440, "4K": 2160}
FRAME_RATES = ("24", "25", "30", "50", "60")
MAX_FPS = 120
VISIBLE = ("video", "text")       # track kinds a render draws (audio alone is a black video)


class GenerateVideoRequest(RequestModel):
    REQUIRED = ("draft_id",)
    MISSING = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
    draft_id: Identifier = ""
    resolution: StrictStr = "720P"
    framerate: StrictStr | Number | None = None
    license_key: Any = None           # the hosted service's; accepted and not used
    callback_url: StrictStr | None = None

    @field_validator("resolution")
    @classmethod
    def _known_resolution(cls, value: str) -> str:
        name = value.strip().upper()
        if name not in RESOLUTIONS:
            raise ValueError(f"use one of {', '.join(RESOLUTIONS)}")
        return name

    def fps(self) -> float | None:
        """The frame rate asked for (None: the draft's); ApiError for one outside the lists."""
        if self.framerate is None:
            return None
        if isinstance(self.framerate, str):
            if self.framerate.strip() not in FRAME_RATES:
                raise ApiError(f"Invalid parameter 'framerate': {self.framerate!r}; use one of "
                               f"{', '.join(FRAME_RATES)} or a number from 1 to {MAX_FPS}.",
                               code=ErrorCode.INVALID_PARAMETER)
            return float(self.framerate)
        if not 1 <= self.framerate <= MAX_FPS:
            raise ApiError(f"Invalid parameter 'framerate': {self.framerate:g}; use a number from 1 to {MAX_FPS} "
                           f"(or one of {', '.join(FRAME_RATES)}).", code=ErrorCode.INVALID_PARAMETER)
        return float(self.framerate)


class FrameRequest(RequestModel):
    """GET /drafts/<id>/frame.png and the MCP get_frame tool: one frame of the draft as it is now."""
    REQUIRED = ("draft_id",)
    MISSING = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
    draft_id: Identifier = ""
    t: Number = Field(0.0, ge=0, le=86_400)
    width: int = Field(640, ge=16, le=MAX_STILL_WIDTH)


class TaskStatusRequest(RequestModel):
    REQUIRED = ("task_id",)
    MISSING = "Hi, the required parameter 'task_id' is missing. Please add it and try again."
    task_id: Identifier = ""


def generate_video(ctx: Context, req: GenerateVideoRequest) -> Reply:
    fps = req.fps()
    callback_url = callbacks.checked_url(req.callback_url)
    try:
        seq, draft = ctx.cache.versioned_copy(req.draft_id)
    except DraftNotFound:
        raise unknown_draft(req.draft_id) from None
    if not any(t.segments for t in draft.tracks if t.kind in VISIBLE):
        raise ApiError(f"Draft {req.draft_id} has nothing to show: add a clip, image or text, then render.",
                       code=ErrorCode.EMPTY_DRAFT)
    size = output_size(draft.canvas, RESOLUTIONS[req.resolution], fps)
    task_id = render_task_id(draft.id, seq, size)
    book = TaskBook(ctx.cache.store, RenderTask)
    task = _reusable(ctx, book.get(task_id))
    notes = _notes(req)
    fresh = task is None
    if task is None:
        task = book.put(RenderTask(task_id=task_id, draft_id=draft.id, seq=seq, width=size.width,
                                   height=size.height, fps=size.fps, resolution=req.resolution,
                                   message="Queued: waiting for a render worker", job_id=uuid.uuid4().hex))
    elif task.status == "SUCCESS":
        notes.append("This draft version was rendered at these settings before: the result is ready.")
    output = {"task_id": task.task_id, "status": task.status, "progress": task.progress}
    if callback_url:
        output["callback_id"] = callbacks.request(ctx, "render", task.task_id, task.job_id, draft.id, callback_url)
        notes.extend(callbacks.unsigned_note(ctx))
    if fresh:
        if ctx.runner is None:
            raise RuntimeError("/generate_video needs a job runner; this context was built for a job worker")
        ctx.runner.submit("render", task_id=task_id)
    return Reply(output, notes)


def task_status(ctx: Context, req: TaskStatusRequest) -> Reply:
    if not req.task_id.startswith(TASK_PREFIX):        # a save's task id is its draft id
        raise ApiError(f"Task with ID {req.task_id} not found: render task ids start with '{TASK_PREFIX}' "
                       "(poll a save with POST /query_draft_status).", code=ErrorCode.TASK_NOT_FOUND)
    task = TaskBook(ctx.cache.store, RenderTask).get(req.task_id)
    if task is None:
        raise ApiError(f"Task with ID {req.task_id} not found. Please check if the task ID is correct.",
                       code=ErrorCode.TASK_NOT_FOUND)
    task = expire_if_stale(TaskBook(ctx.cache.store, RenderTask), task, ctx.settings)
    shown = {**view(task, ctx.base_url(), ctx.settings.api_keys),
             **callbacks.fields(ctx.cache.store, task.task_id, task.job_id)}
    return Reply(shown, list(task.warnings))


def _reusable(ctx: Context, task: RenderTask | None) -> RenderTask | None:
    """The earlier task of the same render if it is running or succeeded with its file still here."""
    if task is None:
        return None
    task = expire_if_stale(TaskBook(ctx.cache.store, RenderTask), task, ctx.settings)
    if task.status in ("PENDING", "PROCESSING"):
        return task
    if task.status == "SUCCESS" and (not task.result.startswith("/")
                                     or video_path(ctx.settings.data_dir, task.draft_id, task.task_id).exists()):
        return task
    return None                       # failed, or its file was cleaned up: render again


def _notes(req: GenerateVideoRequest) -> list[str]:
    notes = []
    if req.license_key is not None:
        notes.append("license_key is not needed: this service renders locally; it was ignored.")
    return notes
