"""In-process store: for tests and throwaway runs (nothing survives the process)."""
from __future__ import annotations

import threading

from capcut_drafts.store.base import DraftExists, DraftLog, DraftNotFound, DraftStore


class MemoryStore(DraftStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[int, str]] = {}
        self._ops: dict[str, dict[int, str]] = {}
        self._tasks: dict[str, str] = {}

    def create(self, draft_id: str, snapshot: str) -> None:
        with self._lock:
            if draft_id in self._snapshots:
                raise DraftExists(draft_id)
            self._snapshots[draft_id] = (0, snapshot)
            self._ops[draft_id] = {}

    def load(self, draft_id: str, after_seq: int = -1) -> DraftLog | None:
        with self._lock:
            if draft_id not in self._snapshots:
                return None
            snap_seq, snapshot = self._snapshots[draft_id]
            ops = self._ops[draft_id]
            if after_seq >= 0:
                return DraftLog(None, after_seq, [(s, ops[s]) for s in sorted(ops) if s > after_seq])
            return DraftLog(snapshot, snap_seq, [(s, ops[s]) for s in sorted(ops) if s > snap_seq])

    def append(self, draft_id: str, seq: int, op: str) -> bool:
        with self._lock:
            ops = self._ops.get(draft_id)
            if ops is None:
                raise DraftNotFound(draft_id)
            head = max(ops, default=self._snapshots[draft_id][0])
            if seq != head + 1:
                return False
            ops[seq] = op
            return True

    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        with self._lock:
            if seq <= self._snapshots[draft_id][0]:
                return
            self._snapshots[draft_id] = (seq, snapshot)

    def put_task(self, task_id: str, record: str) -> None:
        with self._lock:
            self._tasks[task_id] = record

    def get_task(self, task_id: str) -> str | None:
        with self._lock:
            return self._tasks.get(task_id)
