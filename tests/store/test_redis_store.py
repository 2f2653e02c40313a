"""RedisStore against a real Redis (db 13, a key prefix per test): the key layout, several caches =
processes on one Redis, restarts, the app on store="redis", TTL, and outages (a closed port, a
silent server, and a TCP proxy that is stopped and started again) that must surface as
`store_unavailable` within seconds and heal by themselves. Skipped without Redis, except under
CI=true where that is a failure. The store and DraftCache contract that memory and SQLite keep
too runs on Redis in test_store.py."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from helpers import fail, make_settings, ok, post
from helpers.redis import TcpProxy, delete_prefix
from helpers.store import S, add_clip, build_draft, dump, hammer, new_doc, query, starts

from capcut_drafts.store import DraftExists, DraftNotFound, StoreUnavailable
from capcut_drafts.store import open_store as open_configured_store
from capcut_drafts.store.cache import DraftCache
from capcut_drafts.store.redis import RedisStore

OUTAGE_LIMIT_S = 10.0


@pytest.fixture
def redis_settings(tmp_path, redis_url, redis_prefix):
    """App settings on store="redis" with this test's key prefix."""
    return make_settings(tmp_path / "data", store="redis", redis_url=redis_url, redis_key_prefix=redis_prefix)


def raw(store: RedisStore):
    return store._client


# --- Redis specifics ------------------------------------------------------------------------

def test_key_layout(open_redis_store, redis_prefix):
    store = open_redis_store()
    store.create("d1", "snap0")
    store.append("d1", 1, "op1")
    store.append("d1", 2, "op2")
    store.save_snapshot("d1", 1, "snap1")
    store.put_task("t1", "rec")
    r = raw(store)
    assert sorted(r.keys(redis_prefix + "*")) == sorted(
        [f"{redis_prefix}draft:d1", f"{redis_prefix}ops:d1", f"{redis_prefix}task:t1",
         f"{redis_prefix}drafts:updated", f"{redis_prefix}drafts:names"])
    draft = r.hgetall(f"{redis_prefix}draft:d1")
    assert (draft["snapshot_seq"], draft["snapshot"]) == ("1", "snap1")
    assert float(draft["created_at"]) <= float(draft["updated_at"]) <= time.time()
    assert r.lrange(f"{redis_prefix}ops:d1", 0, -1) == ["op1", "op2"]
    assert r.get(f"{redis_prefix}task:t1") == "rec"
    assert r.ttl(f"{redis_prefix}draft:d1") == -1          # no TTL unless asked for


def test_unicode_and_large_payloads_round_trip(open_redis_store):
    store = open_redis_store()
    big = json.dumps({"text": "思源中宋 ✓ " * 20_000}, ensure_ascii=False)
    store.create("d1", big)
    assert store.append("d1", 1, "字幕")
    log = store.load("d1")
    assert log.snapshot == big and log.ops == [(1, "字幕")]


def test_save_snapshot_of_an_unknown_draft_creates_nothing(open_redis_store):
    store = open_redis_store()
    store.save_snapshot("nope", 3, "snap")                # as SqliteStore: a no-op
    assert store.load("nope") is None


def test_racing_appends_at_one_seq_have_exactly_one_winner(open_redis_store):
    store = open_redis_store()
    store.create("d1", "snap0")
    stores = [open_redis_store() for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    results = [None] * len(stores)

    def race(i):
        barrier.wait()
        results[i] = stores[i].append("d1", 1, f"op-from-{i}")

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    [(seq, op)] = store.load("d1").ops
    assert (seq, op) == (1, f"op-from-{results.index(True)}")


def test_catch_up_reads_only_the_new_tail(open_redis_store):
    store = open_redis_store()
    store.create("d1", "snap0")
    for seq in range(1, 1001):
        assert store.append("d1", seq, f"op{seq}")
    assert store.load("d1", after_seq=998).ops == [(999, "op999"), (1000, "op1000")]
    assert store.load("d1", after_seq=1000).ops == []
    assert store.load("d1", after_seq=5000).ops == []


def test_a_draft_survives_a_new_store_on_the_same_url_and_prefix(open_redis_store):
    first = open_redis_store()
    cache = DraftCache(first, snapshot_every=3)
    cache.create(new_doc())
    for k in range(7):
        cache.update("d1", add_clip(k))
    before = dump(cache)
    first.close()                                         # the "process" ends
    second = open_redis_store()
    assert second.load("d1").snapshot_seq == 6
    assert dump(DraftCache(second)) == before
    assert starts(DraftCache(second)) == list(range(7))


def test_other_prefixes_do_not_see_the_draft(open_redis_store, redis_url, redis_prefix):
    open_redis_store().create("d1", "snap0")
    other = RedisStore(redis_url, prefix=redis_prefix + "other:")
    try:
        assert other.load("d1") is None
        other.create("d1", "mine")                        # no clash
        assert open_redis_store().load("d1").snapshot == "snap0"
    finally:
        other.close()


def test_ttl_is_set_and_refreshed_by_every_write(open_redis_store, redis_prefix):
    store = open_redis_store(ttl_seconds=100)
    r = raw(store)
    draft_key, ops_key, task_key = (f"{redis_prefix}draft:d1", f"{redis_prefix}ops:d1", f"{redis_prefix}task:t1")
    store.create("d1", "snap0")
    assert 0 < r.ttl(draft_key) <= 100
    r.expire(draft_key, 50)
    store.append("d1", 1, "op1")
    assert 50 < r.ttl(draft_key) <= 100 and 0 < r.ttl(ops_key) <= 100
    r.expire(draft_key, 50)
    r.expire(ops_key, 50)
    store.save_snapshot("d1", 1, "snap1")
    assert 50 < r.ttl(draft_key) <= 100 and 50 < r.ttl(ops_key) <= 100
    r.expire(draft_key, 50)
    store.load("d1")                                      # reads do not extend it
    assert r.ttl(draft_key) <= 50
    store.put_task("t1", "rec")
    assert 0 < r.ttl(task_key) <= 100


def test_an_expired_draft_is_gone_and_its_id_starts_fresh(open_redis_store):
    store = open_redis_store(ttl_seconds=1)
    store.create("d1", "snap0")
    assert store.append("d1", 1, "op1")
    time.sleep(1.3)
    assert store.load("d1") is None
    with pytest.raises(DraftNotFound):
        store.append("d1", 2, "op2")
    store.create("d1", "again")
    log = store.load("d1")
    assert (log.snapshot, log.ops) == ("again", [])


def test_invalid_ttl_is_refused(redis_url):
    for bad in (0, -5, 1.5):
        with pytest.raises(ValueError):
            RedisStore(redis_url, ttl_seconds=bad)


def test_open_store_builds_a_redis_store_from_settings(tmp_path, redis_url):
    store = open_configured_store(make_settings(tmp_path, store="redis", redis_url=redis_url))
    try:
        assert isinstance(store, RedisStore) and store.prefix == "capcut:" and store.ttl_seconds is None
        assert store.where == "127.0.0.1:6379"
        store.ping()
    finally:
        store.close()


# --- DraftCache: two caches = two processes or hosts on one Redis -----------------------------

@pytest.mark.parametrize("snapshot_every", [200, 7])
def test_8_threads_x_25_appends_through_two_caches_lose_nothing(open_redis_store, snapshot_every):
    caches = [DraftCache(open_redis_store(), snapshot_every=snapshot_every),
              DraftCache(open_redis_store(), snapshot_every=snapshot_every)]
    caches[0].create(new_doc())
    assert starts(caches[1]) == []
    threads, calls = 8, 25
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(t: int):
        cache = caches[t % 2]
        barrier.wait()
        try:
            for k in range(calls):
                assert cache.update("d1", add_clip(t * calls + k)) == t * calls + k
        except BaseException as exc:   # noqa: BLE001 — reported below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    store = open_redis_store()
    assert [seq for seq, _ in store.load("d1", after_seq=0).ops] == list(range(1, 201))
    assert starts(caches[0]) == starts(caches[1]) == list(range(200))
    fresh = DraftCache(open_redis_store())
    assert dump(fresh) == dump(caches[0]) == dump(caches[1])
    if snapshot_every == 7:     # whoever appended seq 200 had snapshotted within its last 7 ops
        log = store.load("d1")
        assert log.snapshot_seq > 200 - 7 and log.head_seq == 200


# --- the app on store="redis" ---------------------------------------------------------------

def test_app_end_to_end_on_redis(redis_settings, redis_url, redis_prefix):
    from capcut_drafts.web.app import create_app
    first = create_app(redis_settings).test_client()
    d = build_draft(first)
    before = query(first, d)
    assert {t["type"] for t in json.loads(before)["tracks"]} >= {"video", "audio", "text"}
    check = RedisStore(redis_url, prefix=redis_prefix)
    try:
        assert [seq for seq, _ in check.load(d).ops] == [1, 2, 3, 4]   # one op per add, in Redis
    finally:
        check.close()
    second = create_app(redis_settings).test_client()      # a restart, or another host
    assert query(second, d) == before
    assert post(second, "/add_text", {"draft_id": d, "text": "more", "start": 3, "end": 4})["success"]
    assert query(first, d) == query(second, d) != before   # the first worker catches up


def test_app_save_task_record_lives_in_redis(redis_settings, redis_url, redis_prefix):
    from capcut_drafts.web.app import create_app
    client = create_app(redis_settings).test_client()
    d = post(client, "/create_draft", {})["output"]["draft_id"]
    assert post(client, "/add_text", {"draft_id": d, "text": "hi", "start": 0, "end": 1})["success"]
    reply = post(client, "/save_draft", {"draft_id": d})
    assert reply["success"], reply
    other = create_app(redis_settings).test_client()       # any worker can answer the status
    status = post(other, "/query_draft_status", {"task_id": d})
    assert status["success"] and status["output"]["status"] == "completed", status
    check = RedisStore(redis_url, prefix=redis_prefix)
    try:
        assert json.loads(check.get_task(d))["status"] == "completed"
    finally:
        check.close()


def test_concurrent_adds_through_two_app_workers_on_redis(redis_settings, redis_url, redis_prefix):
    from capcut_drafts.web.app import create_app
    apps = [create_app(redis_settings), create_app(redis_settings)]
    clients = [a.test_client() for a in apps]
    d = post(clients[0], "/create_draft", {})["output"]["draft_id"]
    assert hammer(clients, d) == []
    for client in clients:
        [text_track] = json.loads(query(client, d))["tracks"]
        assert sorted(s["target_timerange"]["start"] for s in text_track["segments"]) == [k * S for k in range(200)]
    check = RedisStore(redis_url, prefix=redis_prefix)
    try:
        assert [seq for seq, _ in check.load(d, after_seq=0).ops] == list(range(1, 201))
    finally:
        check.close()


# --- outages --------------------------------------------------------------------------------

def timed(fn):
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


def unavailable_within(fn, limit: float = OUTAGE_LIMIT_S, match: str = "is unreachable") -> float:
    """Assert `fn()` raises StoreUnavailable (message matching `match`) in under `limit` seconds."""
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=match):
        fn()
    elapsed = time.monotonic() - started
    assert elapsed < limit, f"the outage took {elapsed:.1f} s to surface"
    return elapsed


def test_redis_on_a_closed_port_answers_store_unavailable_at_once(tmp_path):
    from capcut_drafts.web.app import create_app
    settings = make_settings(tmp_path, store="redis", redis_url="redis://127.0.0.1:1/13")
    client = create_app(settings).test_client()           # starting does not need Redis
    for path, body in [("/create_draft", {}),
                       ("/add_text", {"draft_id": "abc", "text": "x", "start": 0, "end": 1}),
                       ("/query_draft_status", {"task_id": "abc"})]:
        reply, elapsed = timed(lambda path=path, body=body: post(client, path, body))
        assert reply["success"] is False and reply["code"] == "store_unavailable", reply
        assert "Redis at 127.0.0.1:1 is unreachable" in reply["error"]
        assert elapsed < OUTAGE_LIMIT_S, f"{path} took {elapsed:.1f} s"


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/13"
    stop.set()
    thread.join()
    listener.close()
    for sock in held:
        sock.close()


def test_a_hung_redis_times_out_within_seconds(tmp_path, silent_server):
    from capcut_drafts.web.app import create_app
    store = RedisStore(silent_server)
    try:
        assert unavailable_within(store.ping) >= 2.5      # the socket timeout (3 s) cut it short
    finally:
        store.close()
    client = create_app(make_settings(tmp_path, store="redis", redis_url=silent_server)).test_client()
    reply, elapsed = timed(lambda: post(client, "/create_draft", {}))
    assert reply["code"] == "store_unavailable", reply
    assert elapsed < OUTAGE_LIMIT_S, f"a hung Redis took {elapsed:.1f} s to surface"


@pytest.fixture
def proxy(redis_url):
    with TcpProxy(redis_url) as running:
        yield running


def test_an_outage_surfaces_fast_and_the_store_recovers_by_itself(proxy, redis_prefix):
    store = RedisStore(proxy.url, prefix=redis_prefix)
    try:
        cache = DraftCache(store)
        cache.create(new_doc())
        cache.update("d1", add_clip(0))
        proxy.stop()                                      # the network path to Redis is gone
        for attempt in (lambda: cache.update("d1", add_clip(1)), store.ping, lambda: store.load("d1"),
                        lambda: store.get_task("t1"), lambda: store.put_task("t1", "x")):
            assert unavailable_within(attempt, 2.0, f"Redis at 127.0.0.1:{proxy.port} is unreachable") < 2.0
        proxy.start()                                     # the path is back: same store, no restart
        store.ping()
        assert cache.update("d1", add_clip(1)) == 1
        assert starts(cache) == [0, 1]
        assert [seq for seq, _ in store.load("d1").ops] == [1, 2]
    finally:
        store.close()


def test_outage_timing_through_the_app(proxy, redis_settings):
    from capcut_drafts.web.app import create_app
    settings = make_settings(redis_settings.data_dir, store="redis", redis_url=proxy.url)
    client = create_app(settings).test_client()
    d = post(client, "/create_draft", {})["output"]["draft_id"]
    proxy.stop()
    reply, elapsed = timed(lambda: post(client, "/add_text", {"draft_id": d, "text": "x", "start": 0, "end": 1}))
    assert reply["code"] == "store_unavailable" and elapsed < OUTAGE_LIMIT_S, (reply, elapsed)
    proxy.start()
    reply = post(client, "/add_text", {"draft_id": d, "text": "x", "start": 0, "end": 1})
    assert reply["success"], reply
    [track] = json.loads(query(client, d))["tracks"]
    assert len(track["segments"]) == 1                    # the failed request changed nothing


def test_idle_pooled_connections_that_died_are_replaced_without_an_error(proxy, redis_prefix):
    store = RedisStore(proxy.url, prefix=redis_prefix)
    try:
        store.create("d1", "snap0")
        assert proxy.accepted == 1
        proxy.stop()                                      # e.g. Redis restarted while nobody asked
        proxy.start()
        assert store.append("d1", 1, "op1")               # first request after: no error
        assert proxy.accepted == 2
    finally:
        store.close()


def test_a_lost_reply_after_a_write_is_recognised_on_retry(proxy, redis_prefix):
    store = RedisStore(proxy.url, prefix=redis_prefix)
    try:
        store.create("d1", "snap0")
        assert store.append("d1", 1, "op1")               # scripts are loaded now
        proxy.drop_next_reply()
        assert store.append("d1", 2, "op2") is True        # ran in Redis, reply lost, retried
        assert store.load("d1").ops == [(1, "op1"), (2, "op2")]
        assert store.append("d1", 2, "op2") is False       # a normal (non-retry) append still conflicts
        assert store.append("d1", 3, "op3")
        proxy.drop_next_reply()
        store.create("d2", "snap-d2")                      # no DraftExists for its own create
        assert store.load("d2").snapshot == "snap-d2"
        with pytest.raises(DraftExists):
            store.create("d2", "snap-d2")
    finally:
        store.close()


def test_edits_to_a_draft_that_vanished_from_redis_answer_draft_not_found(redis_settings, redis_url, redis_prefix):
    """A Redis without persistence restarts empty: cached drafts must read as gone, not crash."""
    from capcut_drafts.web.app import create_app
    client = create_app(redis_settings).test_client()
    draft_id = ok(client, "/create_draft", {})["draft_id"]
    ok(client, "/add_text", {"draft_id": draft_id, "text": "before"})
    assert delete_prefix(redis_url, redis_prefix) >= 2                 # what a restart without persistence does
    for path, body in [("/add_text", {"text": "after"}), ("/query_script", {}), ("/generate_draft_url", {}),
                       ("/add_video_keyframe", {"property_type": "alpha", "time": 0, "value": "1"})]:
        assert "does not exist" in fail(client, path, {"draft_id": draft_id, **body}, "draft_not_found")
    fresh = ok(client, "/create_draft", {})["draft_id"]                # the store itself still works
    ok(client, "/add_text", {"draft_id": fresh, "text": "new"})
