"""SQLite store: the embedded default. One WAL-mode file under the data directory, shared
safely by every gunicorn worker on the host; the primary key (draft_id, seq) turns a
concurrent append with a stale sequence number into a clean failure.

Every statement runs in autocommit mode or inside `_transaction`, which ends the transaction on
every path (an exception of any type rolls back), so no request can leave a connection holding
a lock or an uncommitted write that later requests would pile onto.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock

from capcut_drafts.store.base import DraftExists, DraftLog, DraftNotFound, DraftStore, StoreUnavailable

log = logging.getLogger("capcut.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    draft_id TEXT PRIMARY KEY, snapshot_seq INTEGER NOT NULL, snapshot TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ops (
    draft_id TEXT NOT NULL, seq INTEGER NOT NULL, op TEXT NOT NULL,
    PRIMARY KEY (draft_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated_at REAL NOT NULL);
"""
BUSY_TIMEOUT_SECONDS = 30


class _ThreadConnection(threading.local):
    """Each thread's connection and the process that opened it (class values: a new thread's)."""
    conn: sqlite3.Connection | None = None
    pid: int = 0


class SqliteStore(DraftStore):
    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._local = _ThreadConnection()
        self._initialise()

    def _initialise(self) -> None:
        """Switch the file to WAL and create the tables, one process at a time: workers that start
        together on an empty data dir would otherwise race for the exclusive lock WAL needs."""
        try:
            with FileLock(self.path + ".init.lock", timeout=BUSY_TIMEOUT_SECONDS):
                conn = self._connect()
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
        except (sqlite3.Error, TimeoutError) as exc:
            raise StoreUnavailable(f"cannot prepare the draft database {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        """One connection per thread and process (a forked gunicorn worker opens its own)."""
        conn = self._local.conn
        if conn is None or self._local.pid != os.getpid():
            try:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot open the draft database {self.path}: {exc}") from exc
            self._local.conn, self._local.pid = conn, os.getpid()
        elif conn.in_transaction:         # cannot happen through _transaction; never build on one
            log.error("draft database connection was left inside a transaction; rolling it back")
            conn.rollback()
        return conn

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN … COMMIT, rolled back on any exception. A write takes the write lock up front
        (IMMEDIATE), so it waits for other writers instead of failing when it upgrades."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.rollback()
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise StoreUnavailable(f"draft database error ({self.path}): {exc}") from exc
            raise

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        """One statement in autocommit mode: SQLite ends its implicit transaction itself."""
        try:
            return self._connect().execute(sql, args)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"draft database error ({self.path}): {exc}") from exc

    def create(self, draft_id: str, snapshot: str) -> None:
        now = time.time()
        try:
            self._run("INSERT INTO drafts VALUES (?, 0, ?, ?, ?)", (draft_id, snapshot, now, now))
        except sqlite3.IntegrityError as exc:
            raise DraftExists(draft_id) from exc

    def load(self, draft_id: str, after_seq: int = -1) -> DraftLog | None:
        if after_seq >= 0:      # catching up: operations are never deleted, one query suffices
            ops = self._run("SELECT seq, op FROM ops WHERE draft_id = ? AND seq > ? ORDER BY seq",
                            (draft_id, after_seq)).fetchall()
            if ops or self._exists(draft_id):
                return DraftLog(None, after_seq, ops)
            return None
        with self._transaction() as conn:       # snapshot and ops read consistently
            row = conn.execute("SELECT snapshot_seq, snapshot FROM drafts WHERE draft_id = ?",
                               (draft_id,)).fetchone()
            ops = [] if row is None else conn.execute(
                "SELECT seq, op FROM ops WHERE draft_id = ? AND seq > ? ORDER BY seq", (draft_id, row[0])).fetchall()
        return None if row is None else DraftLog(row[1], row[0], ops)

    def _exists(self, draft_id: str) -> bool:
        return self._run("SELECT 1 FROM drafts WHERE draft_id = ?", (draft_id,)).fetchone() is not None

    def append(self, draft_id: str, seq: int, op: str) -> bool:
        try:   # only the next sequence number of an existing draft: a stale or skipping writer gets False
            cursor = self._run(
                "INSERT INTO ops (draft_id, seq, op) SELECT ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM drafts WHERE draft_id = ?) AND ? = "
                "(SELECT COALESCE(MAX(seq), 0) + 1 FROM ops WHERE draft_id = ?)",
                (draft_id, seq, op, draft_id, seq, draft_id))
        except sqlite3.IntegrityError:
            return False
        if cursor.rowcount == 1:
            return True
        if not self._exists(draft_id):
            raise DraftNotFound(draft_id)
        return False

    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        self._run("UPDATE drafts SET snapshot_seq = ?, snapshot = ?, updated_at = ? "
                  "WHERE draft_id = ? AND snapshot_seq < ?", (seq, snapshot, time.time(), draft_id, seq))

    def put_task(self, task_id: str, record: str) -> None:
        self._run("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?)", (task_id, record, time.time()))

    def get_task(self, task_id: str) -> str | None:
        row = self._run("SELECT record FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return row[0] if row else None

    def ping(self) -> None:
        self._run("SELECT 1")

    def close(self) -> None:
        conn = self._local.conn
        if conn is not None:
            conn.close()
            self._local.conn = None
