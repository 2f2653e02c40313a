"""SQLite store: the embedded default. One WAL-mode file under the data directory, shared
safely by every gunicorn worker on the host; the primary key (draft_id, seq) turns a
concurrent append with a stale sequence number into a clean failure.

Every statement runs in autocommit mode or inside `_transaction`, which ends the transaction on
every path (an exception of any type rolls back), so no request can leave a connection holding
a lock or an uncommitted write that later requests would pile onto.

The index that lists drafts is its own small table, `draft_index` (name, its case-folded form for
the name filter, creation and last-change time), kept current by a trigger on `ops`: updating a
column of `drafts` would rewrite the whole row, snapshot included (12 ms per append for a 10 MB
snapshot against 10 µs for the index row). Task records carry their draft's id (`tasks.draft_id`).
Timers are rows of `timers` (key, due time, tag, claimed); a claim is one write transaction.
A database written before these existed is brought up to date when it is opened (`_migrate`).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock

from capcut_drafts.store.base import DraftExists, DraftInfo, DraftLog, DraftNotFound, DraftStore, StoreUnavailable

log = logging.getLogger("capcut.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    draft_id TEXT PRIMARY KEY, snapshot_seq INTEGER NOT NULL, snapshot TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ops (
    draft_id TEXT NOT NULL, seq INTEGER NOT NULL, op TEXT NOT NULL,
    PRIMARY KEY (draft_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated_at REAL NOT NULL, draft_id TEXT);
CREATE TABLE IF NOT EXISTS draft_index (
    draft_id TEXT PRIMARY KEY, name TEXT NOT NULL, name_key TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    key TEXT PRIMARY KEY, due_at REAL NOT NULL, tag TEXT NOT NULL, claimed INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_by_due ON timers (due_at);
CREATE INDEX IF NOT EXISTS timers_by_tag ON timers (tag);
"""
# After `_migrate`: what refers to the columns that older files lack.
INDEXES = """
CREATE INDEX IF NOT EXISTS draft_index_by_updated ON draft_index (updated_at, draft_id);
CREATE INDEX IF NOT EXISTS tasks_by_draft ON tasks (draft_id);
CREATE TRIGGER IF NOT EXISTS ops_touch_draft AFTER INSERT ON ops BEGIN
    UPDATE draft_index SET updated_at = (julianday('now') - 2440587.5) * 86400.0 WHERE draft_id = NEW.draft_id;
END;
"""
# Drafts stored before the index existed: their name from the snapshot, their last known change.
BACKFILL_INDEX = """
INSERT INTO draft_index (draft_id, name, name_key, created_at, updated_at)
SELECT draft_id, name, casefold(name), created_at, updated_at FROM (
    SELECT draft_id, COALESCE(CASE WHEN json_valid(snapshot) THEN json_extract(snapshot, '$.name') END, draft_id)
           AS name, created_at, updated_at
    FROM drafts WHERE draft_id NOT IN (SELECT draft_id FROM draft_index))
"""
# Task records stored before tasks.draft_id existed: a render's record names its draft, a save's
# task id is its draft id.
BACKFILL_TASKS = """
UPDATE tasks SET draft_id = COALESCE(json_extract(record, '$.draft_id'), json_extract(record, '$.task_id'))
WHERE draft_id IS NULL AND json_valid(record)
"""
BUSY_TIMEOUT_SECONDS = 30


def _migrate(conn: sqlite3.Connection) -> None:
    """Create what is missing and fill it in; every step is idempotent, so a start-up that stopped
    half-way is completed by the next one."""
    conn.executescript(SCHEMA)
    if "draft_id" not in {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}:
        conn.execute("ALTER TABLE tasks ADD COLUMN draft_id TEXT")
    conn.executescript(INDEXES)
    conn.create_function("casefold", 1, lambda value: str(value).casefold(), deterministic=True)
    conn.execute(BACKFILL_INDEX)
    conn.execute(BACKFILL_TASKS)


def _outside_transaction(conn: sqlite3.Connection) -> sqlite3.Connection:
    """`conn`, never inside a transaction: `_transaction` always ends one, so one left open is a
    bug; it is rolled back rather than built on."""
    if conn.in_transaction:
        log.error("draft database connection was left inside a transaction; rolling it back")
        conn.rollback()
    return conn


class _ThreadConnection(threading.local):
    """Each thread's reading connection and the process that opened it (class values: a new thread's)."""
    conn: sqlite3.Connection | None = None
    pid: int = 0


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (any extended form): another connection holds the lock the statement needs."""
    return exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


def _taken(exc: BaseException) -> bool:
    """The row's primary key exists already: the one error the store's callers are given as is
    (a taken id, a taken sequence number). Any other constraint (an operator's trigger, say) is a
    database error like the rest."""
    return isinstance(exc, sqlite3.IntegrityError) and exc.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY


class SqliteStore(DraftStore):
    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._local = _ThreadConnection()
        self._writing = threading.Lock()        # this process's turn on its writing connection
        self._writer: sqlite3.Connection | None = None      # used only while holding `_writing`
        self._writer_pid = 0
        self._initialise()

    def _initialise(self) -> None:
        """Switch the file to WAL and create the tables, one process at a time: workers that start
        together on an empty data dir would otherwise race for the exclusive lock WAL needs."""
        try:
            with FileLock(self.path + ".init.lock", timeout=BUSY_TIMEOUT_SECONDS):
                conn = self._connect()
                conn.execute("PRAGMA journal_mode=WAL")
                _migrate(conn)
        except (sqlite3.Error, TimeoutError) as exc:
            raise StoreUnavailable(f"cannot prepare the draft database {self.path}: {exc}") from exc

    def _open(self, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the draft database {self.path}: {exc}") from exc
        return conn

    def _connect(self) -> sqlite3.Connection:
        """This thread's reading connection (a forked gunicorn worker opens its own)."""
        conn = self._local.conn
        if conn is None or self._local.pid != os.getpid():
            conn = self._local.conn = self._open()
            self._local.pid = os.getpid()
        return _outside_transaction(conn)

    def _write_connection(self) -> sqlite3.Connection:
        """The process's one writing connection; use it only while holding `_writing`. One for all
        threads: SQLite drops a connection's page cache whenever another connection wrote since
        its last transaction, so a connection per thread would read the pages an append touches
        again on nearly every write, where this one does so only after another process wrote.
        It does not wait for SQLite's lock itself (`_when_free` does)."""
        if self._writer is None or self._writer_pid != os.getpid():
            self._writer, self._writer_pid = self._open(busy_timeout=0), os.getpid()
        return _outside_transaction(self._writer)

    def _when_free(self, conn: sqlite3.Connection, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        """Run a statement that needs SQLite's write lock, trying again while another process holds
        it: after 50 µs, doubling up to 2 ms, for at most BUSY_TIMEOUT_SECONDS. SQLite's own busy
        handler would sleep 1, 2, 5 … up to 100 ms between tries. The lock is only held inside
        SQLite's call, never while a thread waits for the GIL, so other workers wait no longer
        than the write itself takes."""
        pause, deadline = 0.00005, time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                return conn.execute(sql, args)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.002)

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN … COMMIT, rolled back on any exception. A write takes the process's writing
        connection and SQLite's write lock up front (IMMEDIATE), so it waits for other writers
        instead of failing when it upgrades."""
        with self._writing if write else contextlib.nullcontext():
            conn = self._write_connection() if write else self._connect()
            try:
                if write:
                    self._when_free(conn, "BEGIN IMMEDIATE")
                else:
                    conn.execute("BEGIN")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.rollback()
                if isinstance(exc, sqlite3.Error) and not _taken(exc):
                    raise StoreUnavailable(f"draft database error ({self.path}): {exc}") from exc
                raise

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        """One statement in autocommit mode: SQLite ends its implicit transaction itself. A write
        goes through the process's writing connection (`_when_free`)."""
        try:
            if sql.startswith("SELECT"):
                return self._connect().execute(sql, args)
            with self._writing:
                return self._when_free(self._write_connection(), sql, args)
        except sqlite3.Error as exc:
            if _taken(exc):
                raise
            raise StoreUnavailable(f"draft database error ({self.path}): {exc}") from exc

    def create(self, draft_id: str, snapshot: str, name: str | None = None) -> None:
        now = time.time()
        name = draft_id if name is None else name
        try:
            with self._transaction(write=True) as conn:
                conn.execute("INSERT INTO drafts VALUES (?, 0, ?, ?, ?)", (draft_id, snapshot, now, now))
                conn.execute("INSERT INTO draft_index VALUES (?, ?, ?, ?, ?)",
                             (draft_id, name, name.casefold(), now, now))
        except sqlite3.IntegrityError as exc:        # only a taken id reaches here (`_taken`)
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
        except sqlite3.IntegrityError:      # `seq` is taken (the WHERE clause normally says so first)
            return False
        if cursor.rowcount == 1:
            return True
        if not self._exists(draft_id):
            raise DraftNotFound(draft_id)
        return False

    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        self._run("UPDATE drafts SET snapshot_seq = ?, snapshot = ?, updated_at = ? "
                  "WHERE draft_id = ? AND snapshot_seq < ?", (seq, snapshot, time.time(), draft_id, seq))

    def list_drafts(self, offset: int, limit: int, name_contains: str | None = None) -> tuple[list[DraftInfo], int]:
        where, args = ("WHERE instr(name_key, ?) > 0", (name_contains.casefold(),)) if name_contains is not None \
            else ("", ())
        with self._transaction() as conn:       # the page and the count of one state
            total = conn.execute(f"SELECT COUNT(*) FROM draft_index {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT draft_id, name, created_at, updated_at FROM draft_index {where} "
                                "ORDER BY updated_at DESC, draft_id DESC LIMIT ? OFFSET ?",
                                (*args, limit, offset)).fetchall()
        return [DraftInfo(*row) for row in rows], total

    def set_name(self, draft_id: str, name: str) -> None:
        self._run("UPDATE draft_index SET name = ?, name_key = ? WHERE draft_id = ?", (name, name.casefold(), draft_id))

    def idle_drafts(self, before: float, limit: int) -> list[str]:
        rows = self._run("SELECT draft_id FROM draft_index WHERE updated_at < ? ORDER BY updated_at, draft_id LIMIT ?",
                         (before, limit)).fetchall()
        return [row[0] for row in rows]

    def delete(self, draft_id: str) -> bool:
        with self._transaction(write=True) as conn:
            existed = conn.execute("DELETE FROM drafts WHERE draft_id = ?", (draft_id,)).rowcount == 1
            conn.execute("DELETE FROM ops WHERE draft_id = ?", (draft_id,))
            conn.execute("DELETE FROM draft_index WHERE draft_id = ?", (draft_id,))
            # task_id = draft_id: the save record of a writer that did not link it (older versions)
            conn.execute("DELETE FROM tasks WHERE draft_id = ? OR task_id = ?", (draft_id, draft_id))
        return existed

    def put_task(self, task_id: str, record: str, draft_id: str | None = None) -> None:
        if draft_id is None:
            self._run("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, NULL)", (task_id, record, time.time()))
            return
        self._run("INSERT OR REPLACE INTO tasks SELECT ?, ?, ?, ? WHERE EXISTS "
                  "(SELECT 1 FROM drafts WHERE draft_id = ?)", (task_id, record, time.time(), draft_id, draft_id))

    def get_task(self, task_id: str) -> str | None:
        row = self._run("SELECT record FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return row[0] if row else None

    def set_timer(self, key: str, due_at: float, tag: str = "") -> None:
        self._run("INSERT OR REPLACE INTO timers VALUES (?, ?, ?, 0)", (key, due_at, tag))

    def clear_timer(self, key: str) -> None:
        self._run("DELETE FROM timers WHERE key = ?", (key,))

    def claim_timers(self, now: float, until: float, limit: int) -> list[str]:
        with self._transaction(write=True) as conn:
            keys = [row[0] for row in conn.execute(
                "SELECT key FROM timers WHERE due_at <= ? ORDER BY due_at, key LIMIT ?", (now, limit))]
            conn.executemany("UPDATE timers SET due_at = ?, claimed = 1 WHERE key = ?", [(until, k) for k in keys])
        return keys

    def wake_timers(self, tag: str, now: float) -> None:
        if tag:
            self._run("UPDATE timers SET due_at = ? WHERE tag = ? AND claimed = 0 AND due_at > ?", (now, tag, now))

    def next_timer(self) -> float | None:
        row = self._run("SELECT MIN(due_at) FROM timers").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def ping(self) -> None:
        self._run("SELECT 1")

    def close(self) -> None:
        """Close this thread's reading connection and the process's writing one (at shutdown, with
        no request running)."""
        for conn in (self._local.conn, self._writer if self._writer_pid == os.getpid() else None):
            if conn is not None:
                conn.close()
        self._local.conn = self._writer = None
