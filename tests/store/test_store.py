"""Draft stores and the DraftCache in front of them: the log contract, run against every store
(memory, SQLite, and Redis through the parametrised `open_store` fixture of tests/store/conftest.py),
restarts, several workers on one SQLite file, and concurrent writers that must not lose an update.
Redis's own behaviour (key layout, TTL, outages) is in test_redis_store.py."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from helpers import post
from helpers.store import HOST, S, add_clip, build_draft, dump, hammer, new_doc, query, starts

from capcut_drafts.model.timeline import Draft
from capcut_drafts.store import DraftExists, DraftNotFound, StoreUnavailable
from capcut_drafts.store import sqlite as sqlite_store
from capcut_drafts.store.cache import DraftCache
from capcut_drafts.store.sqlite import SqliteStore

# --- the store contract -----------------------------------------------------------------------

def test_create_then_load_gives_the_snapshot_at_seq_0(open_store):
    store = open_store()
    store.create("d1", "snap0")
    log = store.load("d1")
    assert (log.snapshot, log.snapshot_seq, log.ops, log.head_seq) == ("snap0", 0, [], 0)


def test_create_twice_is_refused(open_store):
    store = open_store()
    store.create("d1", "snap0")
    with pytest.raises(DraftExists):
        store.create("d1", "other")
    assert store.load("d1").snapshot == "snap0"


def test_load_unknown_draft_is_none(open_store):
    assert open_store().load("nope") is None


def test_append_at_a_taken_seq_returns_false(open_store):
    store = open_store()
    store.create("d1", "snap0")
    assert store.append("d1", 1, "op1") is True
    assert store.append("d1", 2, "op2") is True
    assert store.append("d1", 2, "late") is False
    assert store.append("d1", 1, "late") is False
    assert store.load("d1").ops == [(1, "op1"), (2, "op2")]


def test_append_that_skips_a_seq_returns_false(open_store):
    store = open_store()
    store.create("d1", "snap0")
    assert store.append("d1", 2, "gap") is False
    assert store.load("d1").ops == []


def test_append_to_an_unknown_draft_never_reports_success(open_store):
    store = open_store()
    try:
        appended = store.append("nope", 1, "op1")
    except DraftNotFound:
        appended = False
    assert appended is False
    assert store.load("nope") is None


def test_load_after_a_snapshot_returns_the_snapshot_and_later_ops(open_store):
    store = open_store()
    store.create("d1", "snap0")
    for seq in range(1, 6):
        assert store.append("d1", seq, f"op{seq}")
    store.save_snapshot("d1", 3, "snap3")
    log = store.load("d1")
    assert (log.snapshot, log.snapshot_seq) == ("snap3", 3)
    assert log.ops == [(4, "op4"), (5, "op5")] and log.head_seq == 5


def test_catching_up_returns_only_newer_ops(open_store):
    store = open_store()
    store.create("d1", "snap0")
    for seq in range(1, 6):
        store.append("d1", seq, f"op{seq}")
    store.save_snapshot("d1", 3, "snap3")
    log = store.load("d1", after_seq=4)
    assert (log.snapshot, log.ops) == (None, [(5, "op5")])
    assert store.load("d1", after_seq=5).ops == []
    behind = store.load("d1", after_seq=1)          # older than the snapshot: the log still has every op
    assert (behind.snapshot, behind.ops) == (None, [(2, "op2"), (3, "op3"), (4, "op4"), (5, "op5")])
    assert store.load("nope", after_seq=0) is None


def test_an_older_snapshot_never_replaces_a_newer_one(open_store):
    store = open_store()
    store.create("d1", "snap0")
    for seq in range(1, 5):
        store.append("d1", seq, f"op{seq}")
    store.save_snapshot("d1", 4, "snap4")
    store.save_snapshot("d1", 2, "snap2")
    assert (store.load("d1").snapshot, store.load("d1").snapshot_seq) == ("snap4", 4)


def test_a_second_store_on_the_same_data_sees_appends(open_store):
    first, second = open_store(), open_store()
    first.create("d1", "snap0")
    assert first.append("d1", 1, "op1")
    assert second.append("d1", 1, "other") is False
    assert second.append("d1", 2, "op2")
    assert first.load("d1", after_seq=1).ops == [(2, "op2")]


def test_task_records(open_store):
    store = open_store()
    assert store.get_task("t1") is None
    store.put_task("t1", '{"status": "pending"}')
    store.put_task("t1", '{"status": "completed"}')
    assert open_store().get_task("t1") == '{"status": "completed"}'


# --- DraftCache --------------------------------------------------------------------------------

def test_cache_create_update_read(open_store):
    cache = DraftCache(open_store())
    cache.create(new_doc())
    assert cache.update("d1", add_clip(0)) == 0
    cache.update("d1", add_clip(2))
    assert starts(cache) == [0, 2]
    assert cache.exists("d1") and not cache.exists("nope")
    with pytest.raises(DraftNotFound):
        cache.read("nope", lambda d: d)


def test_a_draft_created_with_its_first_change_is_one_snapshot_without_ops(open_store):
    store = open_store()
    draft = new_doc()
    op, _ = add_clip(3)(draft)
    DraftCache(store).create(draft, op)
    assert store.load("d1").ops == []
    fresh = DraftCache(open_store())              # another process: loads the stored snapshot
    assert starts(fresh) == [3] and fresh.read("d1", lambda d: len(d.undo)) == 1
    fresh.update("d1", add_clip(5))
    assert [seq for seq, _ in store.load("d1").ops] == [1]


def test_a_plan_that_raises_leaves_the_document_and_log_untouched(open_store):
    store = open_store()
    cache = DraftCache(store)
    cache.create(new_doc())
    cache.update("d1", add_clip(0))
    before, ops_before = dump(cache), store.load("d1").ops

    def broken(draft: Draft):
        raise RuntimeError("plan failed")

    with pytest.raises(Exception, match="overlaps"):
        cache.update("d1", add_clip(0))            # overlap: a real rejected plan
    assert dump(cache) == before and store.load("d1").ops == ops_before
    with pytest.raises(RuntimeError):
        cache.update("d1", broken)
    assert store.load("d1").ops == ops_before
    assert dump(DraftCache(store)) == before        # the stored draft is what it was


def test_a_plan_without_an_operation_changes_nothing(open_store):
    store = open_store()
    cache = DraftCache(store)
    cache.create(new_doc())
    assert cache.update("d1", lambda draft: (None, "nothing")) == "nothing"
    assert store.load("d1").ops == []


def test_snapshot_every_5_with_23_ops_loads_identically(open_store):
    store = open_store()
    cache = DraftCache(store, snapshot_every=5)
    cache.create(new_doc())
    for k in range(23):
        cache.update("d1", add_clip(k))
    log = store.load("d1")
    assert log.snapshot_seq == 20 and [seq for seq, _ in log.ops] == [21, 22, 23]
    fresh = DraftCache(open_store(), snapshot_every=5)
    assert dump(fresh) == dump(cache)
    assert starts(fresh) == list(range(23))


def test_two_caches_on_one_store_see_each_others_appends(open_store):
    a, b = DraftCache(open_store()), DraftCache(open_store())
    a.create(new_doc())
    a.update("d1", add_clip(0))
    assert starts(b) == [0]                         # b loads the draft
    a.update("d1", add_clip(1))
    b.update("d1", add_clip(2))                     # b catches up before planning
    a.update("d1", add_clip(3))
    assert starts(a) == starts(b) == [0, 1, 2, 3]
    assert dump(a) == dump(b)


def test_a_lost_race_replans_on_the_caught_up_document(open_store):
    a, b = DraftCache(open_store()), DraftCache(open_store())
    a.create(new_doc())
    assert starts(b) == []
    calls = []

    def plan_in_b(draft: Draft):
        calls.append(len(draft.tracks[0].segments) if draft.tracks else 0)
        if len(calls) == 1:
            a.update("d1", add_clip(0))             # another worker wins the next sequence number
        return add_clip(5)(draft)

    b.update("d1", plan_in_b)
    assert calls == [0, 1]                          # planned again after catching up
    assert starts(a) == starts(b) == [0, 5]


def test_a_lost_race_that_now_overlaps_is_rejected(open_store):
    a, b = DraftCache(open_store()), DraftCache(open_store())
    a.create(new_doc())
    assert starts(b) == []

    def plan_in_b(draft: Draft):
        if not draft.tracks:
            a.update("d1", add_clip(0))             # takes the same time range first
        return add_clip(0)(draft)

    with pytest.raises(Exception, match="overlaps"):
        b.update("d1", plan_in_b)
    assert starts(a) == starts(b) == [0]


def test_evicted_drafts_reload_from_the_store(open_store):
    lookups: list[bool] = []
    cache = DraftCache(open_store(), capacity=2, on_lookup=lookups.append)
    for name in ("d1", "d2", "d3"):
        cache.create(new_doc(name))
        cache.update(name, add_clip(1))
    lookups.clear()
    assert starts(cache, "d3") == [1] and lookups == [True]          # still cached
    assert starts(cache, "d1") == [1] and lookups[-1] is False       # evicted: reloaded from the store
    assert [starts(cache, name) for name in ("d1", "d2", "d3")] == [[1], [1], [1]]


# --- through the app: restarts and workers ----------------------------------------------------

@pytest.mark.parametrize("snapshot_every", [200, 2])
def test_a_draft_survives_a_restart(sqlite_settings, snapshot_every):
    from capcut_drafts.web.app import create_app
    settings = sqlite_settings.replace(snapshot_every=snapshot_every)
    first = create_app(settings).test_client()
    d = build_draft(first)
    before = query(first, d)
    second = create_app(settings).test_client()      # a new process on the same data_dir
    assert query(second, d) == before
    assert post(second, "/add_text", {"draft_id": d, "text": "more", "start": 3, "end": 4})["success"]
    assert query(second, d) != before


def test_two_workers_share_drafts(sqlite_settings):
    from capcut_drafts.web.app import create_app
    a = create_app(sqlite_settings).test_client()
    b = create_app(sqlite_settings).test_client()
    d = post(a, "/create_draft", {})["output"]["draft_id"]
    assert post(b, "/add_video", {"draft_id": d, "video_url": f"{HOST}/v.mp4", "end": 2})["output"]["draft_id"] == d
    assert post(a, "/add_text", {"draft_id": d, "text": "x", "start": 0, "end": 1})["success"]
    assert query(a, d) == query(b, d)
    tracks = json.loads(query(a, d))["tracks"]
    assert sorted(t["name"] for t in tracks) == ["text_main", "video_main"]


def test_concurrent_adds_through_two_workers_lose_nothing(sqlite_settings):
    from capcut_drafts.web.app import create_app
    apps = [create_app(sqlite_settings), create_app(sqlite_settings)]
    clients = [app.test_client() for app in apps]
    d = post(clients[0], "/create_draft", {})["output"]["draft_id"]
    assert hammer(clients, d) == []
    for client in clients:
        [text_track] = json.loads(query(client, d))["tracks"]
        assert len(text_track["segments"]) == 200
        assert sorted(s["target_timerange"]["start"] for s in text_track["segments"]) == [k * S for k in range(200)]
    with sqlite3.connect(f"{sqlite_settings.data_dir}/drafts.sqlite3") as db:
        seqs = [row[0] for row in db.execute("SELECT seq FROM ops WHERE draft_id = ? ORDER BY seq", (d,))]
    assert seqs == list(range(1, 201))


def test_a_sqlite_write_waits_while_another_process_writes_and_goes_when_it_is_done(tmp_path):
    """Another process holds SQLite's write lock: a write tries again (no error) and goes through
    within milliseconds once the lock is free, not after SQLite's own sleep of up to 100 ms."""
    path = tmp_path / "drafts.sqlite3"
    store = SqliteStore(str(path))
    store.create("d1", new_doc("d1").model_dump_json())
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert holder.stdout.readline() == b"held\n"
    appended: list[tuple[bool, float]] = []

    def append() -> None:
        ok = store.append("d1", 1, '{"op": "batch", "ops": []}')
        appended.append((ok, time.monotonic()))

    writer = threading.Thread(target=append)
    writer.start()
    writer.join(0.5)
    assert writer.is_alive() and appended == []            # waiting, not failed
    holder.stdin.write(b"\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == b"released\n"
    released = time.monotonic()
    writer.join(10)
    holder.wait(10)
    [(ok, done)] = appended
    assert ok and [seq for seq, _ in store.load("d1").ops] == [1]
    assert done - released < 0.05                          # the next try is at most 2 ms away


def test_a_sqlite_write_that_never_gets_the_lock_makes_the_store_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_SECONDS", 0.3)
    path = tmp_path / "drafts.sqlite3"
    store = SqliteStore(str(path))
    store.create("d1", new_doc("d1").model_dump_json())
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(StoreUnavailable, match="locked"):
            store.append("d1", 1, '{"op": "batch", "ops": []}')
        with pytest.raises(StoreUnavailable, match="locked"):
            store.create("d2", new_doc("d2").model_dump_json())
    finally:
        holder.communicate(b"\n", timeout=10)
    assert store.append("d1", 1, '{"op": "batch", "ops": []}')   # the connection is usable again
    assert store.load("d2") is None


def _open_files(path) -> int:
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == str(path) for fd in os.listdir("/proc/self/fd"))


def test_a_write_the_database_refuses_makes_the_store_unavailable_at_once(tmp_path):
    """A constraint other than the primary key's (here an operator's trigger) is a database error:
    an append is no lost race (no re-planning until the retries run out), a create no taken id."""
    store = SqliteStore(str(tmp_path / "drafts.sqlite3"))
    cache = DraftCache(store)
    cache.create(new_doc())
    with sqlite3.connect(store.path) as db:
        db.execute("CREATE TRIGGER audit BEFORE INSERT ON ops BEGIN SELECT RAISE(ABORT, 'read-only'); END")
    plans = []

    def counted(draft: Draft):
        plans.append(1)
        return add_clip(0)(draft)

    with pytest.raises(StoreUnavailable, match="read-only"):
        cache.update("d1", counted)
    assert len(plans) == 1 and store.load("d1").ops == []
    with sqlite3.connect(store.path) as db:
        db.execute("CREATE TRIGGER audit_drafts BEFORE INSERT ON drafts BEGIN SELECT RAISE(ABORT, 'read-only'); END")
    with pytest.raises(StoreUnavailable, match="read-only"):       # not DraftExists
        cache.create(new_doc("d2"))
    store.close()


def test_sqlite_writes_of_all_threads_share_one_connection_and_a_failed_one_leaves_it_clean(tmp_path):
    """One writing connection per process: its page cache survives the writes of the other threads
    (each thread's own connection would drop it after every write of another)."""
    path = tmp_path / "drafts.sqlite3"
    store = SqliteStore(str(path))
    before = _open_files(path)                      # the connection that prepared the file
    store.create("d1", new_doc("d1").model_dump_json())
    with pytest.raises(DraftExists):                # fails inside the write transaction
        store.create("d1", new_doc("d1").model_dump_json())
    errors: list[BaseException] = []
    written, counted = threading.Barrier(9), threading.Event()

    def write(n: int) -> None:
        try:
            for k in range(10):
                while not store.append("d1", store.load("d1").head_seq + 1, json.dumps({"n": n, "k": k})):
                    pass
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        written.wait(10)
        counted.wait(10)                # a finished thread's reading connection closes with it

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    written.wait(10)
    files = _open_files(path)
    counted.set()
    for thread in threads:
        thread.join()
    assert errors == [] and [seq for seq, _ in store.load("d1").ops] == list(range(1, 81))
    # each thread read through its own connection and all wrote through one more (a connection
    # per thread for both would leave 1 + 8)
    assert files == before + 8 + 1


HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
print("released", flush=True)
"""


def test_concurrent_adds_in_one_process_lose_nothing(app):
    client = app.test_client()
    d = post(client, "/create_draft", {})["output"]["draft_id"]
    assert hammer([app.test_client() for _ in range(8)], d) == []
    [text_track] = json.loads(query(client, d))["tracks"]
    assert len(text_track["segments"]) == 200
