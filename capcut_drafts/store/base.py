"""The draft store contract: a snapshot plus an append-only log of operations per draft, an index
of the drafts (name, creation and last-change times) for listing, and task records.

Every backend (memory, sqlite, redis) implements this one interface; `capcut_drafts.store.cache.DraftCache`
is the only caller of the log methods. Payloads are opaque JSON text. The sequence number is the
version: an `append` at a sequence number that is already taken fails (returns False) instead of
overwriting, which is what makes concurrent writers from any process safe.

The index is kept by the store itself: `create` enters a draft with its name, every `append`
moves its `updated_at` to now, `set_name` changes the name it is listed and filtered by, and
`delete` removes the draft with its log, index entry and task records.

Timers: a key due at a time (`set_timer`), durable work for the job runner's timer thread
(capcut_drafts/jobs/timers.py). `claim_timers` hands each due key to one caller at a time: it moves the
key to a later time (a lease) and marks it claimed, so a caller that dies with it leaves a key that
is due again once the lease has passed. A timer may carry a `tag`; `wake_timers(tag)` makes the
unclaimed timers of that tag due at once. Timers are not linked to drafts: the job that owns a key
clears it when its records are gone.
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


@dataclass(frozen=True)
class DraftInfo:
    """A draft as the index lists it: `name` is the indexed name (see `DraftStore.set_name`);
    times are unix seconds."""
    draft_id: str
    name: str
    created_at: float
    updated_at: float


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
    def create(self, draft_id: str, snapshot: str, name: str | None = None) -> None:
        """Store a new draft with its initial snapshot at sequence 0, indexed under `name` (default:
        the id) with both times now. DraftExists if it exists."""

    @abstractmethod
    def load(self, draft_id: str, after_seq: int = -1) -> DraftLog | None:
        """None if the draft does not exist. With `after_seq` >= 0 the caller is catching up:
        return only the operations after it (snapshot None). Otherwise return the latest
        snapshot and every operation after it."""

    @abstractmethod
    def append(self, draft_id: str, seq: int, op: str) -> bool:
        """Append `op` as sequence `seq` and set the draft's `updated_at` to now; False if `seq` is
        already taken (a concurrent writer won). DraftNotFound if the draft does not exist."""

    @abstractmethod
    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        """Replace the snapshot with the document as of `seq` unless a newer one is stored.
        Operations are kept (they are the draft's history)."""

    @abstractmethod
    def list_drafts(self, offset: int, limit: int, name_contains: str | None = None) -> tuple[list[DraftInfo], int]:
        """One page of the index, most recently changed first (ties: the larger id first), and
        how many drafts match in all. `name_contains` keeps the drafts whose indexed name holds it,
        ignoring case (`str.casefold`). Reads the index only, never a snapshot."""

    @abstractmethod
    def set_name(self, draft_id: str, name: str) -> None:
        """Index the draft under `name` (the document's name after a rename, undo or redo); an
        unknown draft is left alone."""

    @abstractmethod
    def idle_drafts(self, before: float, limit: int) -> list[str]:
        """Ids of at most `limit` drafts whose `updated_at` is older than `before`, oldest first."""

    @abstractmethod
    def delete(self, draft_id: str) -> bool:
        """Remove the draft: snapshot, log, index entry and every task record linked to it (see
        `put_task`). Whether the draft existed."""

    @abstractmethod
    def put_task(self, task_id: str, record: str, draft_id: str | None = None) -> None:
        """Create or replace a task record. With `draft_id` the record belongs to that draft
        (`delete` removes it), and is not stored at all when the draft does not exist (a job that
        finishes after its draft was deleted leaves nothing behind)."""

    @abstractmethod
    def get_task(self, task_id: str) -> str | None:
        """The task record, or None."""

    @abstractmethod
    def set_timer(self, key: str, due_at: float, tag: str = "") -> None:
        """Make `key` due at `due_at` (unix seconds) with `tag`, creating it or moving it; a claimed key
        is no longer claimed."""

    @abstractmethod
    def clear_timer(self, key: str) -> None:
        """Remove the timer `key` (nothing happens when there is none)."""

    @abstractmethod
    def claim_timers(self, now: float, until: float, limit: int) -> list[str]:
        """At most `limit` keys due at `now` or earlier, earliest first; in the same atomic step each is
        moved to `until` and marked claimed, so no other caller gets it before then."""

    @abstractmethod
    def wake_timers(self, tag: str, now: float) -> None:
        """Every unclaimed timer tagged `tag` that is due after `now` becomes due at `now` ("" wakes nothing)."""

    @abstractmethod
    def next_timer(self) -> float | None:
        """The earliest due time of any timer, claimed ones included; None when there is no timer."""

    def ping(self) -> None:  # noqa: B027 — optional: a store with no connection has nothing to check
        """Raise StoreUnavailable when the backend cannot be reached."""

    def close(self) -> None:  # noqa: B027 — optional: a store with no connection holds nothing
        """Release connections (tests and shutdown)."""
