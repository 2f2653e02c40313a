"""In-process store: for tests and throwaway runs (nothing survives the process)."""
from __future__ import annotations

import threading
import time

from capcut_drafts.store.base import DraftExists, DraftInfo, DraftLog, DraftNotFound, DraftStore


class MemoryStore(DraftStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[int, str]] = {}
        self._ops: dict[str, dict[int, str]] = {}
        self._index: dict[str, DraftInfo] = {}
        self._tasks: dict[str, str] = {}
        self._draft_tasks: dict[str, set[str]] = {}      # draft id -> ids of its task records
        self._timers: dict[str, tuple[float, str, bool]] = {}   # key -> (due at, tag, claimed)

    def create(self, draft_id: str, snapshot: str, name: str | None = None) -> None:
        with self._lock:
            if draft_id in self._snapshots:
                raise DraftExists(draft_id)
            now = time.time()
            self._snapshots[draft_id] = (0, snapshot)
            self._ops[draft_id] = {}
            self._index[draft_id] = DraftInfo(draft_id, draft_id if name is None else name, now, now)

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
            info = self._index[draft_id]
            self._index[draft_id] = DraftInfo(draft_id, info.name, info.created_at, time.time())
            return True

    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        with self._lock:
            if seq <= self._snapshots[draft_id][0]:
                return
            self._snapshots[draft_id] = (seq, snapshot)

    def list_drafts(self, offset: int, limit: int, name_contains: str | None = None) -> tuple[list[DraftInfo], int]:
        with self._lock:
            infos = list(self._index.values())
        if name_contains is not None:
            needle = name_contains.casefold()
            infos = [info for info in infos if needle in info.name.casefold()]
        infos.sort(key=lambda info: (info.updated_at, info.draft_id), reverse=True)
        return infos[offset:offset + limit], len(infos)

    def set_name(self, draft_id: str, name: str) -> None:
        with self._lock:
            info = self._index.get(draft_id)
            if info is not None:
                self._index[draft_id] = DraftInfo(draft_id, name, info.created_at, info.updated_at)

    def idle_drafts(self, before: float, limit: int) -> list[str]:
        with self._lock:
            idle = sorted((info.updated_at, info.draft_id) for info in self._index.values() if info.updated_at < before)
        return [draft_id for _, draft_id in idle[:limit]]

    def delete(self, draft_id: str) -> bool:
        with self._lock:
            for task_id in self._draft_tasks.pop(draft_id, set()):
                self._tasks.pop(task_id, None)
            self._ops.pop(draft_id, None)
            self._index.pop(draft_id, None)
            return self._snapshots.pop(draft_id, None) is not None

    def put_task(self, task_id: str, record: str, draft_id: str | None = None) -> None:
        with self._lock:
            if draft_id is not None:
                if draft_id not in self._snapshots:
                    return
                self._draft_tasks.setdefault(draft_id, set()).add(task_id)
            self._tasks[task_id] = record

    def get_task(self, task_id: str) -> str | None:
        with self._lock:
            return self._tasks.get(task_id)

    def set_timer(self, key: str, due_at: float, tag: str = "") -> None:
        with self._lock:
            self._timers[key] = (due_at, tag, False)

    def clear_timer(self, key: str) -> None:
        with self._lock:
            self._timers.pop(key, None)

    def claim_timers(self, now: float, until: float, limit: int) -> list[str]:
        with self._lock:
            due = sorted((at, key) for key, (at, _, _) in self._timers.items() if at <= now)[:limit]
            for _, key in due:
                self._timers[key] = (until, self._timers[key][1], True)
            return [key for _, key in due]

    def wake_timers(self, tag: str, now: float) -> None:
        if not tag:
            return
        with self._lock:
            for key, (at, own, claimed) in list(self._timers.items()):
                if own == tag and not claimed and at > now:
                    self._timers[key] = (now, own, False)

    def next_timer(self) -> float | None:
        with self._lock:
            return min((at for at, _, _ in self._timers.values()), default=None)
