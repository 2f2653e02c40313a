"""The draft store contract: a snapshot plus an append-only log of operations per draft.

Every backend (memory, sqlite, redis) implements this one interface; `capcut_drafts.store.cache.DraftCache`
is the only caller. Payloads are opaque JSON text. The sequence number is the version: an
`append` at a sequence number that is already taken fails (returns False) instead of
overwriting, which is what makes concurrent writers from any process safe.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class StoreUnavailable(Exception):
    """The backend cannot be reached (disk, database or network); callers answer with an error."""


class DraftNotFound(Exception):
    """No draft with this id exists (never created, or gone from a store that forgets)."""

    def __init__(self, draft_id: str) -> None:
        super().__init__(draft_id)
        self.draft_id = draft_id


class DraftExists(Exception):
    """`create` was given an id that is already taken."""


@dataclass
class DraftLog:
    """What `load` returns: a snapshot at `snapshot_seq` (None when the caller is already past it)
    and the operations after it, in order, as (seq, payload) pairs."""
    snapshot: str | None
    snapshot_seq: int
    ops: list[tuple[int, str]] = field(default_factory=list)

    @property
    def head_seq(self) -> int:
        return self.ops[-1][0] if self.ops else self.snapshot_seq


class DraftStore(ABC):
    @abstractmethod
    def create(self, draft_id: str, snapshot: str) -> None:
        """Store a new draft with its initial snapshot at sequence 0. DraftExists if it exists."""

    @abstractmethod
    def load(self, draft_id: str, after_seq: int = -1) -> DraftLog | None:
        """None if the draft does not exist. With `after_seq` >= 0 the caller is catching up:
        return only the operations after it (snapshot None). Otherwise return the latest
        snapshot and every operation after it."""

    @abstractmethod
    def append(self, draft_id: str, seq: int, op: str) -> bool:
        """Append `op` as sequence `seq`; False if `seq` is already taken (a concurrent writer won).
        DraftNotFound if the draft does not exist."""

    @abstractmethod
    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        """Replace the snapshot with the document as of `seq` unless a newer one is stored.
        Operations are kept (they are the draft's history)."""

    @abstractmethod
    def put_task(self, task_id: str, record: str) -> None:
        """Create or replace a save-task record."""

    @abstractmethod
    def get_task(self, task_id: str) -> str | None:
        """The task record, or None."""

    def ping(self) -> None:  # noqa: B027 — optional: a store with no connection has nothing to check
        """Raise StoreUnavailable when the backend cannot be reached."""

    def close(self) -> None:  # noqa: B027 — optional: a store with no connection holds nothing
        """Release connections (tests and shutdown)."""
