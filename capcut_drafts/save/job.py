"""The save job: what /save_draft hands to the job runner (thread or Huey worker).

It downloads every media file through the media cache, probes it, records what it learned in
the draft, builds the app JSON with paths for the client's drafts folder, writes the folder for
the draft's profile, zips and publishes it, and reports exactly what happened in the task record.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capcut_drafts import metrics
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.export.document import build
from capcut_drafts.model import profiles
from capcut_drafts.model.timeline import Draft
from capcut_drafts.net.fetcher import FetchError
from capcut_drafts.save import delivery
from capcut_drafts.save.folder_writer import write_folder
from capcut_drafts.save.install import install_into
from capcut_drafts.save.locks import save_lock
from capcut_drafts.save.materials import UsableFiles, learn, usable_files
from capcut_drafts.save.media_cache import CachedFile, MediaCache
from capcut_drafts.save.tasks import Heartbeat, Task, TaskBook, Ticker
from capcut_drafts.storage import PublishError, open_publisher

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports this job
    from capcut_drafts.context import Context

log = logging.getLogger("capcut.save")
KIND_DIRS = {"video": "video", "audio": "audio", "image": "image"}


def run_save_job(ctx: Context, task_id: str, draft_id: str, draft_folder: str | None, base_url: str = "",
                 job_id: str = "") -> None:
    book = TaskBook(ctx.cache.store, Task)
    task = Task(task_id=task_id, job_id=job_id, draft_folder=draft_folder)
    started = time.monotonic()
    metrics.JOBS.labels("queued").dec()
    metrics.JOBS.labels("running").inc()
    try:
        with save_lock(ctx, draft_id):
            book.update(task, status="processing", progress=0, message="Preparing draft files",
                        started_at=time.time())
            with Heartbeat(book, task, interval=ctx.settings.job_lease_seconds / 4):
                _save(ctx, book, task, draft_id, draft_folder, base_url)
    except UnusableMedia as exc:  # the client's URLs, not a fault here: which ones and why, no traceback
        log.warning("save of %s failed: %s", draft_id,
                    "; ".join(f"{e.url} ({e.code.value}: {e.message})"
                              for e in {e.url: e for e in task.errors}.values()))   # once per URL
        _fail(book, task, exc.message)
    except Exception as exc:      # noqa: BLE001 — every failure ends the task, with its reason
        log.exception("save of %s failed", draft_id)
        _fail(book, task, exc.message if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}")
    finally:
        metrics.JOBS.labels("running").dec()
        metrics.SAVES.labels(task.status).inc()
        metrics.SAVE_SECONDS.labels(task.status).observe(time.monotonic() - started)
        if ctx.timers is not None:    # the end woke the callbacks waiting for it (TaskBook.update)
            ctx.timers.nudge()


class UnusableMedia(ApiError):
    """Some media URLs of the draft could not be used (fetch_*, probe_failed, wrong_media_kind):
    the task's `errors` lists each."""


def _fail(book: TaskBook, task: Task, reason: str) -> None:
    book.update(task, status="failed", message=f"Failed to save draft: {reason}", finished_at=time.time())


def _save(ctx: Context, book: TaskBook, task: Task, draft_id: str, draft_folder: str | None,
          base_url: str) -> None:
    delivery.cleanup(ctx.settings)
    ctx.media.evict_older_than(ctx.settings.output_retention_hours * 3600)   # the cache must not grow forever
    publisher = open_publisher(ctx.settings, base_url=base_url)     # a bad config fails before downloads
    draft = ctx.cache.read(draft_id, lambda d: d.model_copy(deep=True))
    book.update(task, progress=5, message="Updating media file metadata")
    files = _download(ctx, book, task, draft)
    if task.errors:
        failed = len({e.url for e in task.errors})
        raise UnusableMedia(f"{failed} of {task.total_files} media files could not be used (see errors); "
                       "fix or replace those URLs and save again")
    learned = learn(draft, files)        # build what was there when the save started
    ctx.cache.update(draft_id, lambda d: (learned, None))       # later queries see the real lengths

    book.update(task, progress=70, message="Saving draft information")
    profile = profiles.resolve(draft.profile)
    folder_hint = draft_folder or _first_folder(draft)
    built = build(draft, draft_folder=folder_hint)
    assets = {f"assets/{KIND_DIRS[m.kind]}/{m.file_name}": Path(files[m.id][0]) for m in draft.materials.values()
              if not m.at_app_path}
    staged = delivery.staging_dir(ctx.settings, draft_id)
    now_us = int(time.time() * 1e6)
    write_folder(staged, built.content, profile, name=draft_id, draft_folder=folder_hint, assets=assets,
                 created_us=int(draft.created_at * 1e6), modified_us=now_us, seed=draft_id, title=draft.name,
                 subtitles=built.subtitles)
    final = delivery.folder_path(ctx.settings, draft_id)
    delivery.publish(staged, final)

    installed = _install(ctx, final, draft_id, folder_hint, built.content, profile)
    book.update(task, progress=80, message="Compressing draft files",
                warnings=built.warnings + ([f"Installed into {installed}"] if installed else []))
    published = _publish(book, task, publisher, final, delivery.zip_path(ctx.settings, draft_id), draft_id)
    book.update(task, status="completed", progress=100, message="Draft creation completed",
                draft_url=published.url, url_expires_at=published.expires_at, finished_at=time.time(),
                download_page=_page_link(published.url) if not publisher.uploads else "")
    log.info("saved %s: %d files", draft_id, task.total_files)


def _page_link(zip_url: str) -> str:
    """The download page: the local zip link without `.zip`, with the same base and signature (if
    any) so it opens without a key."""
    path, mark, query = zip_url.partition("?")
    return path.removesuffix(".zip") + mark + query


def _publish(book: TaskBook, task: Task, publisher, folder: Path, zip_file: Path, draft_id: str):
    """Upstream's 80 % (zip) and 90 % (upload) steps; the local backend streams the folder instead."""
    if publisher.uploads:
        size = delivery.make_zip(folder, zip_file)
        book.update(task, progress=90, message="Uploading to cloud storage", bytes_to_upload=size)

    def uploaded(done: int, total: int) -> None:
        book.update(task, bytes_uploaded=done, progress=90 + 9 * done // max(total, 1),
                    message=f"Uploading to cloud storage ({done}/{total} bytes)")

    try:
        return publisher.publish(zip_file, f"{draft_id}.zip", on_progress=uploaded)
    except PublishError as exc:      # the folder (and zip) stay, so a retry can publish again
        task.upload_error_code = exc.code
        raise ApiError(f"upload failed: {exc}", code=ErrorCode.UPLOAD_FAILED, http_status=502) from None


def _install(ctx: Context, folder, draft_id: str, draft_folder: str | None, content: dict, profile):
    """Copy the draft into `draft_folder` when it is a drafts folder on this machine that the
    operator listed in `draft_install_dirs` (off when the list is empty)."""
    if not draft_folder or not ctx.settings.draft_install_dirs:
        return None
    target = Path(draft_folder)
    allowed = {Path(d).resolve() for d in ctx.settings.draft_install_dirs}
    if not target.is_dir() or target.resolve() not in allowed:
        return None
    return str(install_into(target, folder, name=draft_id, content=content, profile=profile))


def _download(ctx: Context, book: TaskBook[Task], task: Task, draft: Draft) -> UsableFiles:
    """Fetch and probe every material: {material_id: (local path, MediaInfo)}; failures go to task.errors."""
    materials = [m for m in draft.materials.values() if not m.at_app_path]
    urls = sorted({m.url for m in materials})
    meter = _Meter(book, task, ctx.media, urls)
    for url in urls:
        metrics.MEDIA_CACHE.labels("hit" if url in meter.cached else "miss").inc()
    book.update(task, **{"progress": 10, "message": f"Collected {len(urls)} download tasks in total",
                         "total_files": len(urls), **meter.snapshot()})     # cached files: done at once
    with meter:
        fetched = ctx.media.fetch_many(urls, on_progress=meter.finished)
    files, errors = usable_files(draft, fetched)
    task.errors.extend(errors)
    unusable = len({e.url for e in task.errors})          # a URL failed once, however many clips use it
    book.update(task, completed_files=len(urls) - unusable, failed_files=unusable)
    return files


class _Meter:
    """The download phase of a save as its task shows it: files done, bytes, time left.

    Finished files count whole (cached ones from the start); a download running in this process
    counts the bytes received so far and, when its response announced a size, that size. A file
    queued, without a Content-Length, or downloaded by another process adds nothing to
    `bytes_total` until it ends, and makes `eta_seconds` None meanwhile. The task is written at
    most every `interval` seconds: by a ticker thread, and by `finished` when a tick is due."""

    def __init__(self, book: TaskBook, task: Task, media: MediaCache, urls: list[str], interval: float = 0.5):
        self.book, self.task, self.media, self.urls, self.interval = book, task, media, urls, interval
        hits = {url: media.peek(url) for url in urls}
        self.sizes = {url: hit.size for url, hit in hits.items() if hit is not None}   # usable files: size
        self.cached = set(self.sizes)
        self.failed: set[str] = set()
        self.cached_bytes = sum(self.sizes.values())
        self.started = time.monotonic()
        self.last_write = self.started
        self._lock = threading.Lock()
        self._ticker = Ticker(interval, self.write, name=f"meter-{task.task_id}")

    def finished(self, done: int, total: int, url: str, result: CachedFile | FetchError) -> None:
        """`MediaCache.fetch_many`'s on_progress: `url` is done (downloaded, cached or failed)."""
        with self._lock:
            if isinstance(result, FetchError):
                self.failed.add(url)
            else:
                self.sizes[url] = result.size
            if time.monotonic() - self.last_write >= self.interval:
                self._write()

    def snapshot(self) -> dict[str, Any]:
        """The task's download fields as of now."""
        running = [self.media.transfer(url) for url in self.urls if url not in self.sizes and url not in self.failed]
        done_bytes = sum(self.sizes.values())
        arrived = done_bytes + sum(live[0] for live in running if live is not None)
        total = done_bytes + sum(live[1] for live in running if live is not None and live[1] is not None)
        sized = all(live is not None and live[1] is not None for live in running)
        whole = len(self.sizes) + len(self.failed)
        share = whole + sum(min(live[0] / live[1], 1.0) for live in running if live is not None and live[1])
        fields: dict[str, Any] = {
            "completed_files": len(self.sizes), "failed_files": len(self.failed), "bytes_total": total,
            "bytes_downloaded": arrived, "eta_seconds": self._eta(arrived, total) if sized else None,
            "progress": max(self.task.progress, 10 + int(share / max(len(self.urls), 1) * 60))}
        if whole:
            fields["message"] = f"Downloaded {whole}/{len(self.urls)} files"
        return fields

    def _eta(self, arrived: int, total: int) -> float | None:
        """Seconds until `total` at the rate this save's downloads reached (None before any byte)."""
        if arrived >= total:
            return 0.0
        fresh = arrived - self.cached_bytes
        elapsed = time.monotonic() - self.started
        if fresh <= 0 or elapsed <= 0:
            return None
        return round((total - arrived) * elapsed / fresh, 1)

    def write(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        """Write the snapshot; the lock is held, so an older snapshot never lands after a newer one."""
        self.book.update(self.task, **self.snapshot())
        self.last_write = time.monotonic()

    def __enter__(self) -> _Meter:
        self._ticker.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ticker.__exit__(*exc)
        self.write()


def _first_folder(draft: Draft) -> str | None:
    return next((m.draft_folder for m in draft.materials.values() if m.draft_folder), None)
