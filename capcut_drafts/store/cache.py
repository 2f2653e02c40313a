"""DraftCache: an in-process LRU of parsed draft documents in front of a DraftStore.

Reads catch up by sequence number: a cached document only fetches the operations appended
after the sequence it holds (by this or any other process). Writes are *plan, append, apply*:
the plan validates a request against the current document and returns an operation without
touching the document; the operation is appended at the next sequence number; only then is it
applied. When another writer took that number first, the cache catches up and plans again,
so concurrent requests on one draft never lose an update and a failed request changes nothing.

This is where stored JSON meets the model: operations are written with the current schema
version and snapshots carry it in the document; both are upgraded from older versions when read
(capcut_drafts/model/migrations.py), before pydantic validates them.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from capcut_drafts.model import migrations, operations
from capcut_drafts.model.timeline import Draft
from capcut_drafts.store import DraftNotFound, DraftStore

T = TypeVar("T")
Plan = Callable[[Draft], tuple[dict[str, Any] | None, T]]

MAX_ATTEMPTS = 50
BIG_DRAFT = 1000       # segments from which a snapshot is written less often (`_maybe_snapshot`)
MAX_BYTES = 256 * 1024 ** 2


def footprint(draft: Draft) -> int:
    """The bytes `draft` takes in memory, estimated from its parts in O(tracks). The weights are
    tracemalloc's measurements (bench/memory.py): an empty draft takes 2.8-3.1 KB, 1 000 mixed
    segments 0.97 MB, 300 more materials 70 KB, a full undo stack about 45 KB; an imported draft
    also keeps the app's JSON."""
    return (3584 + 900 * draft.segment_count() + 250 * (len(draft.materials) + len(draft.keyframes))
            + 450 * (len(draft.undo) + len(draft.redo)) + (len(draft.base.content) if draft.base else 0))


@dataclass
class _Entry:
    draft: Draft
    seq: int
    snapshot_seq: int
    size: int = 0          # footprint(draft) when it was last changed
    lock: threading.Lock = field(default_factory=threading.Lock)


class DraftCache:
    """At most `capacity` drafts and `max_bytes` of them (estimated, `footprint`) per process; the
    least recently used go first, but the draft in use stays even when it alone is larger."""

    def __init__(self, store: DraftStore, capacity: int = 10_000, snapshot_every: int = 200,
                 on_lookup: Callable[[bool], None] | None = None, max_bytes: int = MAX_BYTES):
        self.store = store
        self.on_lookup = on_lookup or (lambda hit: None)
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.snapshot_every = snapshot_every
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0                   # the sizes of the entries held
        self._lock = threading.Lock()

    @property
    def held_bytes(self) -> int:
        """The estimated size of the drafts this cache holds now."""
        return self._bytes

    def create(self, draft: Draft, first: operations.Op | None = None) -> None:
        """Store the new `draft`. `first`, an operation planned on it, is applied before the draft
        is stored: the draft and its first change are one write, so a failure leaves no draft
        behind, and /undo reverts the change as any other."""
        if first is not None:
            operations.apply(draft, first)
        self.store.create(draft.id, draft.model_dump_json(), draft.name)
        self._remember(draft.id, _Entry(draft, 0, 0))

    def delete(self, draft_id: str) -> bool:
        """Delete the draft from the store (log, index, task records) and from this cache; whether it
        existed. Other processes drop their copy when their next catch-up finds it gone."""
        existed = self.store.delete(draft_id)
        self.forget(draft_id)
        return existed

    def forget(self, draft_id: str) -> None:
        """Drop this process's copy of the draft (the next access loads it from the store)."""
        with self._lock:
            entry = self._entries.pop(draft_id, None)
            if entry is not None:
                self._bytes -= entry.size

    def exists(self, draft_id: str) -> bool:
        return self._entry(draft_id) is not None

    def read(self, draft_id: str, fn: Callable[[Draft], T]) -> T:
        """Run `fn` on the up-to-date document (under the draft's lock; `fn` must not mutate it).
        DraftNotFound if the draft does not exist."""
        entry = self._require(draft_id)
        with entry.lock:
            self._catch_up(draft_id, entry)
            return fn(entry.draft)

    def versioned_copy(self, draft_id: str) -> tuple[int, Draft]:
        """The up-to-date document (a deep copy the caller may change) and its sequence number: the
        pair names one version of the draft (render caches key on it). DraftNotFound as `read`."""
        entry = self._require(draft_id)
        with entry.lock:
            self._catch_up(draft_id, entry)
            return entry.seq, entry.draft.model_copy(deep=True)

    def update(self, draft_id: str, plan: Plan[T]) -> T:
        """Plan an operation on the current document, append it, apply it; returns the plan's result.
        A plan that returns no operation changes nothing. Exceptions from the plan propagate and
        leave the draft untouched. DraftNotFound if the draft does not exist (or vanished).

        The plan first runs on the cached copy without asking the store: the append is a
        compare-and-set on the next sequence number, so it succeeds only if that copy was current,
        and a typical change costs one store round trip. A failed append, and a plan that failed or
        changed nothing, are trusted only on a copy known to be current: the cache catches up and
        plans again when the store had more."""
        entry = self._require(draft_id)
        current = False
        for _ in range(MAX_ATTEMPTS):
            with entry.lock:
                try:
                    op, result = plan(entry.draft)
                except Exception:
                    if current or not self._caught_up(draft_id, entry):
                        raise
                    current = True
                    continue               # planned on an old copy: plan again on the current one
                if op is None:
                    if current or not self._caught_up(draft_id, entry):
                        return result
                    current = True
                    continue
                if not self._append(draft_id, entry.seq + 1, op):
                    self._catch_up(draft_id, entry)
                    current = True
                    continue               # another process appended first: plan again
                self._apply(draft_id, entry, op, entry.seq + 1)
                self._resized(draft_id, entry)
                self._maybe_snapshot(draft_id, entry)
                return result
        raise RuntimeError(f"draft {draft_id} is too busy: {MAX_ATTEMPTS} concurrent-write retries failed")

    # -- internals -------------------------------------------------------------------------

    def _require(self, draft_id: str) -> _Entry:
        entry = self._entry(draft_id)
        if entry is None:
            raise DraftNotFound(draft_id)
        return entry

    def _entry(self, draft_id: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(draft_id)
            if entry is not None:
                self._entries.move_to_end(draft_id)
                self.on_lookup(True)
                return entry
        self.on_lookup(False)
        log = self.store.load(draft_id)
        if log is None:
            return None
        if log.snapshot is None:     # a load without after_seq always returns one (DraftStore.load)
            raise RuntimeError(f"the store returned no snapshot for draft {draft_id}")
        entry = _Entry(_load_draft(log.snapshot), log.snapshot_seq, log.snapshot_seq)
        self._replay(draft_id, entry, log.ops)
        return self._remember(draft_id, entry)

    def _remember(self, draft_id: str, entry: _Entry) -> _Entry:
        entry.size = footprint(entry.draft)
        with self._lock:
            existing = self._entries.get(draft_id)
            if existing is not None:       # another thread loaded it meanwhile: keep one copy
                return existing
            self._entries[draft_id] = entry
            self._bytes += entry.size
            self._trim()
            return entry

    def _resized(self, draft_id: str, entry: _Entry) -> None:
        """Count the size of an entry that changed; drop older entries if the total is now over."""
        size = footprint(entry.draft)
        with self._lock:
            if self._entries.get(draft_id) is not entry:      # dropped meanwhile: not counted
                entry.size = size
                return
            self._bytes += size - entry.size
            entry.size = size
            self._entries.move_to_end(draft_id)
            self._trim()

    def _trim(self) -> None:
        """Drop least recently used entries while over a limit, never the last one (call holding `_lock`)."""
        while len(self._entries) > 1 and (len(self._entries) > self.capacity or self._bytes > self.max_bytes):
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size

    def _catch_up(self, draft_id: str, entry: _Entry) -> None:
        self._caught_up(draft_id, entry)

    def _caught_up(self, draft_id: str, entry: _Entry) -> bool:
        """Apply what the store has beyond the cached copy; whether there was anything."""
        log = self.store.load(draft_id, after_seq=entry.seq)
        if log is None:                      # gone from the store (e.g. a Redis without persistence)
            self.forget(draft_id)
            raise DraftNotFound(draft_id)
        self._replay(draft_id, entry, log.ops)
        if log.ops:
            self._resized(draft_id, entry)
        return bool(log.ops)

    def _replay(self, draft_id: str, entry: _Entry, ops: list[tuple[int, str]]) -> None:
        """Apply stored operations (any schema version) in order."""
        for seq, op in ops:
            self._apply(draft_id, entry, migrations.upgrade_op(orjson.loads(op)), seq)

    def _apply(self, draft_id: str, entry: _Entry, op: dict[str, Any], seq: int) -> None:
        try:
            operations.apply(entry.draft, op)
        except Exception:
            self.forget(draft_id)           # the cached copy may be half-changed: drop it
            raise
        entry.seq = seq

    def _append(self, draft_id: str, seq: int, op: dict[str, Any]) -> bool:
        try:
            return self.store.append(draft_id, seq, orjson.dumps(migrations.stamp_op(op)).decode())
        except DraftNotFound:
            self.forget(draft_id)
            raise

    def _maybe_snapshot(self, draft_id: str, entry: _Entry) -> None:
        """Snapshot every `snapshot_every` operations; a draft of BIG_DRAFT segments or more every as
        many operations as it has segments: a snapshot costs time in proportion to the draft (9 ms
        for 2 000 segments), replaying an operation does not, so the cost per operation stays flat."""
        segments = entry.draft.segment_count()
        every = max(self.snapshot_every, segments) if segments >= BIG_DRAFT else self.snapshot_every
        if entry.seq - entry.snapshot_seq >= every:
            self.store.save_snapshot(draft_id, entry.seq, entry.draft.model_dump_json())
            entry.snapshot_seq = entry.seq


# How the snapshots this code writes begin: `schema_version` is the document's first field.
_CURRENT_SNAPSHOT = f'{{"{migrations.DRAFT_VERSION_KEY}":{migrations.SCHEMA_VERSION},'


def _load_draft(snapshot: str) -> Draft:
    """A stored snapshot (any schema version) as the current document. A current one is validated
    straight from the text (for a 20 000-segment draft that takes about a quarter less time than
    parsing it first); any other goes through the upgrades."""
    if snapshot.startswith(_CURRENT_SNAPSHOT):
        return Draft.model_validate_json(snapshot)
    return Draft.model_validate(migrations.upgrade_draft(json.loads(snapshot)))
