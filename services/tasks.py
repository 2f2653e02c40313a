"""Save-task records, kept in the draft store so any worker or host can answer
/query_draft_status. The task id is the draft id, as upstream."""
from __future__ import annotations

import time
from typing import Any, Optional

from pydantic import BaseModel, Field

from draft_store import DraftStore

ACTIVE = ("initialized", "processing")


class FileError(BaseModel):
    url: str
    code: str
    message: str


class Task(BaseModel):
    """Upstream's fields first (status, message, progress, completed_files, total_files, draft_url),
    then what we add: warnings, per-file errors, timestamps, the zip's download page."""
    task_id: str
    status: str = "initialized"
    message: str = ""
    progress: int = 0
    completed_files: int = 0
    total_files: int = 0
    draft_url: str = ""
    download_page: str = ""
    warnings: list[str] = Field(default_factory=list)
    errors: list[FileError] = Field(default_factory=list)
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    heartbeat_at: Optional[float] = None
    bytes_downloaded: int = 0

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude={"task_id", "heartbeat_at"})


class TaskBook:
    """Reads and writes task records through the store."""

    def __init__(self, store: DraftStore):
        self.store = store

    def get(self, task_id: str) -> Optional[Task]:
        raw = self.store.get_task(task_id)
        return Task.model_validate_json(raw) if raw else None

    def put(self, task: Task) -> Task:
        task.heartbeat_at = time.time()
        self.store.put_task(task.task_id, task.model_dump_json())
        return task

    def update(self, task: Task, **changes: Any) -> Task:
        for name, value in changes.items():
            setattr(task, name, value)
        return self.put(task)
