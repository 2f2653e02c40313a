"""The draft index and deletion, on every store (memory, SQLite, Redis through the parametrised
`open_store` fixture of tests/store/conftest.py): names and times, the case-insensitive name
filter, paging, idle drafts, deletion of a draft with its log and task records, and task records
that arrive after their draft is gone. Then what only one backend has: SQLite's migration of a
file written before the index existed and its rows after a delete, Redis's keys after a delete
and the index of drafts that expired."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest
from helpers.store import add_clip, new_doc

from capcut_drafts.store import DraftNotFound
from capcut_drafts.store.cache import DraftCache
from capcut_drafts.store.sqlite import SqliteStore


def ids(page) -> list[str]:
    return [info.draft_id for info in page[0]]


def tick() -> None:
    """Let the clock move on: SQLite stamps appends with millisecond resolution."""
    time.sleep(0.005)


# --- the index ------------------------------------------------------------------------------

def test_create_indexes_the_name_and_both_times(open_store):
    store = open_store()
    before = time.time()
    store.create("d1", "snap0")
    store.create("d2", "snap0", "Summer promo")
    infos = {info.draft_id: info for info in store.list_drafts(0, 10)[0]}
    assert (infos["d1"].name, infos["d2"].name) == ("d1", "Summer promo")
    for info in infos.values():
        assert before - 0.01 <= info.created_at <= info.updated_at <= time.time() + 0.01


def test_the_most_recently_changed_draft_comes_first(open_store):
    store = open_store()
    for draft_id in ("a", "b", "c"):
        store.create(draft_id, "snap0")
        tick()
    assert ids(store.list_drafts(0, 10)) == ["c", "b", "a"]
    created = {info.draft_id: info.created_at for info in store.list_drafts(0, 10)[0]}
    assert open_store().append("a", 1, "op1")            # another process changes the oldest
    page, total = store.list_drafts(0, 10)
    assert [info.draft_id for info in page] == ["a", "c", "b"] and total == 3
    assert page[0].updated_at > page[1].updated_at and page[0].created_at == created["a"]


def test_paging_gives_every_draft_once_and_counts_them_all(open_store):
    store = open_store()
    for n in range(23):
        store.create(f"d{n:02}", "snap0")
    seen = []
    for offset in range(0, 30, 5):
        page, total = store.list_drafts(offset, 5)
        assert total == 23
        seen += [info.draft_id for info in page]
    assert sorted(seen) == [f"d{n:02}" for n in range(23)]
    assert store.list_drafts(10**9, 5) == ([], 23)


def test_the_name_filter_ignores_case_in_every_script(open_store):
    store = open_store()
    for draft_id, name in [("d1", "Summer PROMO"), ("d2", "ÉTÉ à Paris"), ("d3", "Straße 5"), ("d4", "剪映 草稿"),
                           ("d5", "100% done_[x]")]:
        store.create(draft_id, "snap0", name)
    assert ids(store.list_drafts(0, 10, "promo")) == ["d1"]
    assert ids(store.list_drafts(0, 10, "été")) == ["d2"]
    assert ids(store.list_drafts(0, 10, "STRASSE")) == ["d3"]            # casefold: ß = ss
    assert ids(store.list_drafts(0, 10, "草稿")) == ["d4"]
    assert ids(store.list_drafts(0, 10, "% done_[")) == ["d5"]           # no wildcards: plain text
    assert store.list_drafts(0, 10, "%")[1] == 1 and store.list_drafts(0, 10, "_")[1] == 1
    assert store.list_drafts(0, 10, "nothing") == ([], 0)
    assert store.list_drafts(0, 10, "")[1] == 5


def test_set_name_changes_what_the_filter_finds(open_store):
    store = open_store()
    store.create("d1", "snap0")
    store.set_name("d1", "Renamed")
    assert ids(open_store().list_drafts(0, 10, "renamed")) == ["d1"]
    assert open_store().list_drafts(0, 10, "d1") == ([], 0)
    store.set_name("nope", "ghost")                       # an unknown draft is left alone
    assert store.list_drafts(0, 10)[1] == 1 and store.load("nope") is None


def test_idle_drafts_are_the_oldest_changes_before_the_cutoff(open_store):
    store = open_store()
    for draft_id in ("a", "b", "c"):
        store.create(draft_id, "snap0")
        tick()
    cutoff = time.time()
    tick()
    assert store.append("a", 1, "op1")                    # a is busy again
    assert store.idle_drafts(cutoff, 10) == ["b", "c"]
    assert store.idle_drafts(cutoff, 1) == ["b"]
    assert store.idle_drafts(time.time() + 1, 10) == ["b", "c", "a"]
    assert store.idle_drafts(0, 10) == []


# --- deleting -------------------------------------------------------------------------------

def test_delete_removes_the_draft_its_log_index_entry_and_task_records(open_store):
    store = open_store()
    store.create("d1", "snap0", "mine")
    store.create("d2", "snap0")
    assert store.append("d1", 1, "op1")
    store.save_snapshot("d1", 1, "snap1")
    store.put_task("d1", "save record", "d1")
    store.put_task("d1#job:x", "job record", "d1")
    store.put_task("render-1", "render record", "d1")
    store.put_task("render-2", "other draft's", "d2")
    store.put_task("loose", "no draft")
    assert store.delete("d1") is True
    for reader in (store, open_store()):
        assert reader.load("d1") is None and reader.load("d1", after_seq=0) is None
        assert [reader.get_task(t) for t in ("d1", "d1#job:x", "render-1")] == [None, None, None]
        assert (reader.get_task("render-2"), reader.get_task("loose")) == ("other draft's", "no draft")
        assert ids(reader.list_drafts(0, 10)) == ["d2"] and reader.idle_drafts(time.time() + 1, 10) == ["d2"]
    with pytest.raises(DraftNotFound):
        store.append("d1", 2, "op2")
    assert store.delete("d1") is False and store.delete("never") is False


def test_a_deleted_id_starts_afresh(open_store):
    store = open_store()
    store.create("d1", "snap0", "old")
    assert store.append("d1", 1, "op1")
    store.delete("d1")
    store.create("d1", "new0")
    log = store.load("d1")
    assert (log.snapshot, log.ops) == ("new0", [])
    assert [(i.draft_id, i.name) for i in store.list_drafts(0, 10)[0]] == [("d1", "d1")]


def test_task_records_of_a_draft_that_is_gone_are_not_stored(open_store):
    store = open_store()
    store.put_task("t1", "record", "never-created")
    assert store.get_task("t1") is None
    store.create("d1", "snap0")
    store.delete("d1")
    store.put_task("d1", "a save finishing after the delete", "d1")
    assert store.get_task("d1") is None


def test_the_cache_deletes_and_forgets_and_other_caches_find_the_draft_gone(open_store):
    ours, theirs = DraftCache(open_store()), DraftCache(open_store())
    ours.create(new_doc())
    ours.update("d1", add_clip(0))
    assert theirs.read("d1", lambda d: d.segment_count()) == 1      # the other process holds a copy
    assert ours.delete("d1") is True
    assert not ours.exists("d1")
    with pytest.raises(DraftNotFound):
        theirs.read("d1", lambda d: d)                               # its catch-up finds it gone
    with pytest.raises(DraftNotFound):
        theirs.update("d1", add_clip(1))
    assert ours.delete("d1") is False


def test_forget_drops_only_this_processs_copy(open_store):
    cache = DraftCache(open_store())
    cache.create(new_doc())
    cache.forget("d1")
    assert cache.read("d1", lambda d: d.id) == "d1"                  # loaded again from the store


# --- SQLite ---------------------------------------------------------------------------------

OLD_SCHEMA = """
CREATE TABLE drafts (draft_id TEXT PRIMARY KEY, snapshot_seq INTEGER NOT NULL, snapshot TEXT NOT NULL,
                     created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE ops (draft_id TEXT NOT NULL, seq INTEGER NOT NULL, op TEXT NOT NULL,
                  PRIMARY KEY (draft_id, seq)) WITHOUT ROWID;
CREATE TABLE tasks (task_id TEXT PRIMARY KEY, record TEXT NOT NULL, updated_at REAL NOT NULL);
"""


def test_a_database_from_before_the_index_is_migrated_when_opened(tmp_path):
    path = str(tmp_path / "drafts.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.executemany("INSERT INTO drafts VALUES (?, 0, ?, ?, ?)", [
            ("old1", json.dumps({"id": "old1", "name": "Ünïcode NAME"}), 100.0, 150.0),
            ("old2", "not json", 200.0, 250.0)])
        conn.executemany("INSERT INTO tasks VALUES (?, ?, 1.0)", [
            ("old1", json.dumps({"task_id": "old1", "status": "completed"})),
            ("old1#job:a", json.dumps({"task_id": "old1", "status": "completed"})),
            ("render-9", json.dumps({"task_id": "render-9", "draft_id": "old1"})),
            ("render-8", json.dumps({"task_id": "render-8", "draft_id": "old2"}))])
    store = SqliteStore(path)
    page, total = store.list_drafts(0, 10)
    assert total == 2
    assert [(i.draft_id, i.name, i.created_at, i.updated_at) for i in page] == [
        ("old2", "old2", 200.0, 250.0), ("old1", "Ünïcode NAME", 100.0, 150.0)]
    assert ids(store.list_drafts(0, 10, "ünïcode name")) == ["old1"]
    assert store.idle_drafts(200.0, 10) == ["old1"]
    assert store.append("old1", 1, "op1") and ids(store.list_drafts(0, 10))[0] == "old1"
    assert store.delete("old1")
    assert [store.get_task(t) for t in ("old1", "old1#job:a", "render-9")] == [None, None, None]
    assert store.get_task("render-8") is not None
    SqliteStore(path)                                      # opening it again changes nothing
    assert store.list_drafts(0, 10)[1] == 1


def test_after_a_delete_no_row_of_the_draft_is_left(tmp_path):
    path = str(tmp_path / "drafts.sqlite3")
    store = SqliteStore(path)
    store.create("d1", "snap0")
    store.create("d2", "snap0")
    for seq in (1, 2):
        store.append("d1", seq, f"op{seq}")
    store.put_task("d1", "rec", "d1")
    store.put_task("render-x", "rec", "d1")
    store.delete("d1")
    with sqlite3.connect(path) as conn:
        for table, column in [("drafts", "draft_id"), ("ops", "draft_id"), ("draft_index", "draft_id"),
                              ("tasks", "draft_id"), ("tasks", "task_id")]:
            assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE 'd1%'").fetchone()[0] == 0, table
        assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0
        assert conn.execute("SELECT draft_id FROM drafts").fetchall() == [("d2",)]


def test_an_append_updates_one_small_index_row_not_the_snapshot(tmp_path):
    """The trigger stamps draft_index, so the drafts row (snapshot included) is not rewritten."""
    path = str(tmp_path / "drafts.sqlite3")
    store = SqliteStore(path)
    store.create("d1", "x" * 1000)
    with sqlite3.connect(path) as conn:
        before = conn.execute("SELECT updated_at FROM drafts").fetchone()[0]
        tick()
        store.append("d1", 1, "op1")
        assert conn.execute("SELECT updated_at FROM drafts").fetchone()[0] == before
        stamped = conn.execute("SELECT updated_at FROM draft_index").fetchone()[0]
        assert before < stamped <= time.time() + 0.01
        plan = " ".join(row[3] for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT draft_id FROM draft_index ORDER BY updated_at DESC, draft_id DESC LIMIT 5"))
        assert "draft_index_by_updated" in plan and "TEMP B-TREE" not in plan


# --- Redis ----------------------------------------------------------------------------------

def test_after_a_delete_no_redis_key_names_the_draft(open_redis_store, redis_prefix):
    store = open_redis_store()
    store.create("d1", "snap0", "mine")
    store.create("d2", "snap0")
    store.append("d1", 1, "op1")
    store.put_task("d1", "rec", "d1")
    store.put_task("render-x", "rec", "d1")
    store.delete("d1")
    r = store.client
    assert sorted(r.keys(redis_prefix + "*")) == sorted(
        f"{redis_prefix}{key}" for key in ("draft:d2", "drafts:updated", "drafts:names"))
    assert r.zrange(f"{redis_prefix}drafts:updated", 0, -1) == ["d2"]
    assert r.hkeys(f"{redis_prefix}drafts:names") == ["d2"]


def test_drafts_that_expired_leave_the_redis_index(open_redis_store):
    store = open_redis_store(ttl_seconds=1)
    store.create("gone", "snap0")
    store.put_task("t", "rec", "gone")
    time.sleep(1.3)
    store.create("here", "snap0")
    page, total = store.list_drafts(0, 10)
    assert [info.draft_id for info in page] == ["here"] and total == 1
    assert store.idle_drafts(time.time() + 1, 10) == ["here"]


def test_drafts_stored_before_the_redis_index_are_entered_once(open_redis_store, redis_prefix):
    store = open_redis_store()
    r = store.client
    r.hset(f"{redis_prefix}draft:old1", mapping={"snapshot_seq": 0, "snapshot": json.dumps({"name": "Ünï OLD"}),
                                                  "created_at": "100.0", "updated_at": "150.0"})
    r.hset(f"{redis_prefix}draft:old2", mapping={"snapshot_seq": 0, "snapshot": "not json",
                                                  "created_at": "200.0", "updated_at": "250.0"})
    store.create("new", "snap0", "New")
    page, total = store.list_drafts(0, 10)
    assert [(i.draft_id, i.name, i.created_at) for i in page] == [
        ("new", "New", page[0].created_at), ("old2", "old2", 200.0), ("old1", "Ünï OLD", 100.0)] and total == 3
    assert store.idle_drafts(200.0, 10) == ["old1"] and ids(store.list_drafts(0, 10, "ünï old")) == ["old1"]
    assert r.exists(f"{redis_prefix}drafts:indexed")
    r.hset(f"{redis_prefix}draft:old3", mapping={"snapshot_seq": 0, "snapshot": "{}", "created_at": "1.0",
                                                  "updated_at": "1.0"})
    assert open_redis_store().list_drafts(0, 10)[1] == 3          # entered once: later drafts come by create
    assert store.delete("old1") and store.list_drafts(0, 10)[1] == 2
