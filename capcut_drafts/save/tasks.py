"""Save-task records, kept in the draft store so any worker or host can answer
/query_draft_status. The task id is the draft id, as upstream."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, Field

from capcut_drafts.errors import ErrorCode
from capcut_drafts.store import DraftStore

ACTIVE = ("initialized", "processing")


class FileError(BaseModel):
    url: str
    code: ErrorCode
    message: str


class Task(BaseModel):
    """Upstream's fields first (status, message, progress, completed_files, total_files, draft_url),
    then what we add: warnings, per-file errors, timestamps, the zip's download page, byte counts.

    completed_files counts the media files that downloaded (and, once probed, could be used),
    failed_files those that could not; bytes_total is the sum of the sizes known so far (cached
    files, finished downloads, Content-Length of running ones), bytes_downloaded what of it
    arrived, eta_seconds the download time left at the rate seen (None while unknown)."""
    task_id: str
    status: str = "initialized"
    message: str = ""
    progress: int = 0
    completed_files: int = 0
    total_files: int = 0
    draft_url: str = ""
    failed_files: int = 0
    download_page: str = ""
    warnings: list[str] = Field(default_factory=list)
    errors: list[FileError] = Field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    bytes_total: int = 0
    bytes_downloaded: int = 0
    eta_seconds: float | None = None
    bytes_to_upload: int = 0
    bytes_uploaded: int = 0
    url_expires_at: float | None = None
    upload_error_code: str = ""
    job_id: str = ""                     # which save request the record describes
    draft_folder: str | None = None   # the client drafts folder that save writes paths for

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE

    @property
    def draft_id(self) -> str:
        """The draft saved: a save's task id is its draft id."""
        return self.task_id

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude={"task_id", "heartbeat_at", "job_id"})

    def view(self, base: str) -> dict[str, Any]:
        """The record as /query_draft_status shows it, its links on `base` (see `absolute`)."""
        return {**self.public(), "draft_url": absolute(base, self.draft_url),
                "download_page": absolute(base, self.download_page)}


def absolute(base: str, link: str) -> str:
    """A stored link as a reader gets it. The local backend's links are stored root-relative
    (/drafts/…), so a record never holds the host of whoever saved; the reader's `base` is added.
    Cloud URLs and "" come back unchanged."""
    return f"{base}{link}" if link.startswith("/") else link


class TaskRecord(Protocol):
    """What a task book needs of a record: a pydantic model with these fields."""
    task_id: str
    job_id: str
    status: str
    heartbeat_at: float | None
    finished_at: float | None

    @property
    def draft_id(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    def model_dump_json(self) -> str: ...

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> Any: ...


R = TypeVar("R", bound=TaskRecord)


def job_key(task_id: str, job_id: str) -> str:
    return f"{task_id}#job:{job_id}"


class TaskBook(Generic[R]):
    """Reads and writes task records of type `model` (save `Task`s, render tasks) through the store.
    Writes through one book are serialised, so a heartbeat never writes an older state over a newer one.
    Every record is linked to its draft: deleting the draft deletes it, and once the draft is gone
    the store drops further writes (DraftStore.put_task). When a job's record ends, the store timers
    tagged with its `job_key` are woken (the webhooks waiting for it, save/callbacks.py)."""

    def __init__(self, store: DraftStore, model: type[R]):
        self.store, self.model = store, model
        self._lock = threading.Lock()

    def get(self, task_id: str) -> R | None:
        raw = self.store.get_task(task_id)
        return self.model.model_validate_json(raw) if raw else None

    def put(self, task: R) -> R:
        with self._lock:
            task.heartbeat_at = time.time()
            self.store.put_task(task.task_id, task.model_dump_json(), task.draft_id)
        return task

    def update(self, task: R, **changes: Any) -> R:
        with self._lock:
            for name, value in changes.items():
                setattr(task, name, value)
            task.heartbeat_at = time.time()
            record = task.model_dump_json()
            self.store.put_task(task.task_id, record, task.draft_id)
            if task.finished and task.job_id:      # a later job may overwrite the main record at once
                self.store.put_task(job_key(task.task_id, task.job_id), record, task.draft_id)
                self.store.wake_timers(job_key(task.task_id, task.job_id), time.time())
        return task

    def outcome(self, task_id: str, job_id: str) -> R | None:
        """The final record of one job (None while it runs)."""
        raw = self.store.get_task(job_key(task_id, job_id))
        return self.model.model_validate_json(raw) if raw else None

    def expire_if_stale(self, task: R, lease_seconds: float, queue_seconds: float) -> R:
        """A save task whose worker stopped beating (killed, host lost) is failed, never left active."""
        age = time.time() - (task.heartbeat_at or 0)
        if task.status == "processing" and age > lease_seconds:
            return self.update(task, status="failed", finished_at=time.time(),
                               message=f"Failed to save draft: the worker running it stopped responding "
                                       f"(no heartbeat for {age:.0f} s). Save again.")
        if task.status == "initialized" and age > queue_seconds:
            return self.update(task, status="failed", finished_at=time.time(),
                               message=f"Failed to save draft: no worker started it within {queue_seconds:.0f} s "
                                       "(is a save worker running?). Save again.")
        return task


class Ticker:
    """Calls `fn` every `interval` seconds on a thread of its own while the `with` block runs."""

    def __init__(self, interval: float, fn: Callable[[], object], name: str):
        self.interval, self.fn = interval, fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.fn()

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


class Heartbeat(Ticker):
    """Re-writes a running task every `interval` seconds so other processes can tell it is alive."""

    def __init__(self, book: TaskBook[Any], task: TaskRecord, interval: float):
        super().__init__(interval, lambda: book.put(task), name=f"heartbeat-{task.task_id}")
