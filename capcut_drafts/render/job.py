"""The render job: what /generate_video hands to the job runner (thread or Huey worker).

It takes the version of the draft the request saw, fetches and probes its media through the media
cache (as a save does), renders the MP4 with the engine and publishes it: served by this service
under the draft's path, and uploaded too when `is_upload_draft` is on. Progress, warnings and the
outcome go to the task record, which any worker or host can read (/task_status).

A task id names one render: the draft, its sequence number and the output settings. Asking again
for an unchanged draft at the same settings finds the finished task and its file (the cache).
Renders are CPU-bound: at most `render_workers` run at once on a host (lock files in the data
directory), the others wait PENDING; `render_timeout_seconds` stops a render that runs too long.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from pydantic import BaseModel, Field

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model.timeline import Draft
from capcut_drafts.render.engine import NOTHING_TO_SHOW, RenderError, RenderSize, render_still, render_video
from capcut_drafts.save.materials import learn, usable_files
from capcut_drafts.save.tasks import FileError, Heartbeat, TaskBook
from capcut_drafts.storage import PublishError, open_publisher
from capcut_drafts.storage.local import page_signature
from capcut_drafts.store import DraftNotFound

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports this job
    from capcut_drafts.context import Context
    from capcut_drafts.settings import Settings

log = logging.getLogger("capcut.render")
ACTIVE = ("PENDING", "PROCESSING")
TASK_PREFIX = "render-"           # save tasks are named by their draft id; renders never clash with them
SLOT_POLL_SECONDS = 0.5


class RenderTask(BaseModel):
    """The record /task_status answers from; `status`, `progress` and `result` are the hosted
    API's words (PENDING, PROCESSING, SUCCESS, FAILED; result = the MP4's URL)."""
    task_id: str
    draft_id: str
    seq: int
    width: int
    height: int
    fps: float
    resolution: str = ""
    status: str = "PENDING"
    progress: int = 0
    message: str = ""
    result: str = ""              # root-relative path on this service, or the cloud URL
    error: str = ""
    warnings: list[str] = Field(default_factory=list)
    errors: list[FileError] = Field(default_factory=list)
    duration: float = 0.0         # seconds of video
    render_seconds: float = 0.0
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    job_id: str = ""

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE


def render_task_id(draft_id: str, seq: int, size: RenderSize) -> str:
    """The id of the render of this draft version at this size and rate (the cache key)."""
    key = f"{draft_id}|{seq}|{size.width}x{size.height}|{size.fps:g}"
    return TASK_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:24]


def renders_folder(data_dir: str, draft_id: str) -> Path:
    """Where the renders of a draft are kept on this host."""
    return Path(data_dir) / "renders" / draft_id


def video_path(data_dir: str, draft_id: str, task_id: str) -> Path:
    return renders_folder(data_dir, draft_id) / f"{task_id}.mp4"


def video_link(draft_id: str, task_id: str) -> str:
    """Where this service serves a render (root-relative)."""
    return f"/drafts/{draft_id}/renders/{task_id}.mp4"


def run_render_job(ctx: Context, task_id: str, base_url: str = "") -> None:
    book = TaskBook(ctx.cache.store, RenderTask)
    task = book.get(task_id)
    if task is None or task.finished:
        return                                  # answered already (a duplicate submission)
    interval = ctx.settings.job_lease_seconds / 4
    try:
        with Heartbeat(book, task, interval=interval), _render_slot(ctx, book, task):
            _render(ctx, book, task, base_url)
    except (RenderError, _Unusable) as exc:     # the draft's media or content: no traceback
        log.warning("render %s of %s failed: %s", task_id, task.draft_id, exc)
        _fail(book, task, str(exc))
    except Exception as exc:      # noqa: BLE001 — every failure ends the task, with its reason
        log.exception("render %s of %s failed", task_id, task.draft_id)
        _fail(book, task, f"{type(exc).__name__}: {exc}")
    if ctx.timers is not None:        # the end woke the callbacks waiting for it (TaskBook.update)
        ctx.timers.nudge()


class _Unusable(Exception):
    """Media files of the draft could not be used; the task's `errors` lists each."""


def _fail(book: TaskBook[RenderTask], task: RenderTask, reason: str) -> None:
    book.update(task, status="FAILED", error=reason, message=f"Render failed: {reason}", finished_at=time.time())


@contextmanager
def _render_slot(ctx: Context, book: TaskBook[RenderTask], task: RenderTask) -> Iterator[None]:
    """Hold one of the host's `render_workers` slots (lock files), waiting PENDING for one."""
    folder = Path(ctx.settings.data_dir) / "renders"
    folder.mkdir(parents=True, exist_ok=True)
    locks = [FileLock(str(folder / f"slot-{i}.lock")) for i in range(ctx.settings.render_workers)]
    said = False
    while True:
        for lock in locks:
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                yield
            finally:
                lock.release()
            return
        if not said:
            book.update(task, message="Waiting for a render slot (render_workers renders run at once)")
            said = True
        time.sleep(SLOT_POLL_SECONDS)


def _render(ctx: Context, book: TaskBook[RenderTask], task: RenderTask, base_url: str) -> None:
    started = time.monotonic()
    book.update(task, status="PROCESSING", progress=1, message="Fetching media", started_at=time.time())
    draft = ctx.cache.read(task.draft_id, lambda d: d.model_copy(deep=True))
    files = _media(ctx, book, task, draft)
    out = video_path(ctx.settings.data_dir, task.draft_id, task.task_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".part.mp4")
    deadline = started + ctx.settings.render_timeout_seconds
    book.update(task, progress=20, message="Rendering")

    def progress(fraction: float) -> None:
        book.update(task, progress=20 + int(fraction * 75))

    def too_long() -> bool:
        return time.monotonic() > deadline

    try:
        result = render_video(draft, files, str(partial),
                              RenderSize(task.width, task.height, task.fps), font_path=ctx.settings.render_font or None,
                              on_progress=progress, should_stop=too_long)
    except RenderError as exc:
        if str(exc) == "stopped":
            raise RenderError(f"the render took longer than render_timeout_seconds "
                              f"({ctx.settings.render_timeout_seconds} s)") from None
        raise
    os.replace(partial, out)
    link = _publish(ctx, task, out, base_url)
    book.update(task, status="SUCCESS", progress=100, message="Render completed", result=link,
                warnings=task.warnings + result.warnings, duration=result.duration_us / 1e6,
                render_seconds=round(time.monotonic() - started, 2), finished_at=time.time())
    log.info("rendered %s: %dx%d, %.1f s of video in %.1f s", task.draft_id, task.width, task.height,
             result.duration_us / 1e6, time.monotonic() - started)


def local_media(ctx: Context, draft: Draft) -> tuple[dict[str, str], list[FileError]]:
    """The draft's media as local files (material id -> path) through the media cache, and what
    could not be used; when all could, `draft` learns their lengths so open-ended clips resolve."""
    fetched = ctx.media.fetch_many(sorted({m.url for m in draft.materials.values() if not m.at_app_path}))
    files, errors = usable_files(draft, fetched)
    errors += [FileError(url=m.url, code=ErrorCode.MEDIA_NOT_IMPORTED,
                         message=f"{m.file_name} was not in the imported zip, so it cannot be shown here: replace "
                                 "it (render_template 'replace') or import a zip that holds it")
               for m in draft.materials.values() if m.at_app_path]
    if not errors:
        learn(draft, files)
    return {mid: path for mid, (path, _) in files.items()}, errors


def still(ctx: Context, draft_id: str, time_s: float, width: int) -> tuple[bytes, list[str]]:
    """The frame at `time_s` of the draft as it is now, as PNG, and the warnings (GET frame.png, the
    MCP get_frame tool). ApiError for an unknown or empty draft and for unusable media."""
    try:
        _, draft = ctx.cache.versioned_copy(draft_id)
    except DraftNotFound:
        raise ApiError(f"Draft {draft_id} does not exist in cache.", code=ErrorCode.DRAFT_NOT_FOUND,
                       http_status=404) from None
    files, errors = local_media(ctx, draft)
    if errors:
        raise ApiError(f"{len(errors)} media file(s) could not be used, e.g. {errors[0].url}: {errors[0].message}",
                       code=errors[0].code, http_status=502)
    try:
        return render_still(draft, files, round(time_s * 1e6), width, font_path=ctx.settings.render_font or None)
    except RenderError as exc:
        code = ErrorCode.EMPTY_DRAFT if str(exc) == NOTHING_TO_SHOW else ErrorCode.INVALID_PARAMETER
        raise ApiError(f"Draft {draft_id}: {exc}.", code=code, http_status=422) from None


def _media(ctx: Context, book: TaskBook[RenderTask], task: RenderTask, draft: Draft) -> dict[str, str]:
    files, errors = local_media(ctx, draft)
    if errors:
        book.update(task, errors=errors)
        failed = len({e.url for e in errors})
        raise _Unusable(f"{failed} of {len(draft.materials)} media files could not be used: "
                        + "; ".join(f"{e.url} ({e.code.value}: {e.message})" for e in errors[:5]))
    return files


def _publish(ctx: Context, task: RenderTask, out: Path, base_url: str) -> str:
    """The MP4's link: served here (root-relative), or the uploaded copy's URL with `is_upload_draft`."""
    if not ctx.settings.is_upload_draft:
        return video_link(task.draft_id, task.task_id)
    publisher = open_publisher(ctx.settings, base_url=base_url)
    if not publisher.uploads:
        return video_link(task.draft_id, task.task_id)
    try:
        return publisher.publish(out, f"renders/{task.draft_id}/{out.name}").url
    except PublishError as exc:
        raise RenderError(f"the video was rendered but its upload failed: {exc}") from None


def expire_if_stale(book: TaskBook[RenderTask], task: RenderTask, settings: Settings) -> RenderTask:
    """A task whose worker stopped beating, or that no worker started in time, is failed."""
    age = time.time() - (task.heartbeat_at or 0)
    if not task.finished and (age > settings.job_lease_seconds and task.status == "PROCESSING"
                              or age > settings.job_queue_seconds):
        task = book.update(task, status="FAILED", finished_at=time.time(),
                           error="the render worker stopped responding (or none started it); render again")
    return task


def view(task: RenderTask, base: str, keys: list[str]) -> dict[str, Any]:
    """The record as /task_status shows it: links on `base`, the service's own signed with `keys`."""
    return public(task, base, page_signature(keys, f"/drafts/{task.draft_id}"))


def public(task: RenderTask, base: str, signature: str) -> dict[str, Any]:
    """The record as /task_status answers it: links absolute, the service's own signed when keyed."""
    out = task.model_dump(exclude={"heartbeat_at", "job_id", "seq", "errors"})
    out["errors"] = [e.model_dump(mode="json") for e in task.errors]
    if task.result.startswith("/"):
        out["result"] = f"{base}{task.result}{signature}"
    return out
