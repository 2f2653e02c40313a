"""Fault tests with real processes: gunicorn masters and workers, huey consumers, Redis, a TCP
proxy in front of Redis and media served from 127.0.0.1. No mocks.

1. Restart mid-edit: SIGKILL the whole gunicorn process group in the middle of a burst of adds,
   start it again on the same data: every acknowledged add is there, nothing appears twice, and
   the draft still takes adds (SQLite and Redis).
2. Two gunicorn workers, 8 client threads x 30 /add_text on one draft: acknowledged adds ==
   segments (SQLite and Redis).
3. `kill -9` the huey consumer that runs a save: the task ends `failed` within the lease, the
   draft is unchanged, and new saves complete on the surviving consumer.
4. Redis unreachable behind a TCP proxy: adds answer `store_unavailable` within seconds, the
   gunicorn workers stay alive, and adds succeed again once the proxy is back (no restart).

Redis: database `CAPCUT_FAULT_REDIS_DB` (default 12) of the test Redis server, emptied (FLUSHDB)
before and after each Redis test: that database belongs to these tests. Without Redis the Redis
cases skip, except under CI=true where they fail (helpers.redis.require_redis). The fixtures
`gunicorns` and `redis_db` are in tests/e2e/conftest.py; Gunicorn, Consumer, Api and Ledger in
helpers.processes.

Every child process is started in its own session (so a test can kill master and workers
together) and with PR_SET_PDEATHSIG, so nothing outlives a killed test run; every wait is bounded.
"""
from __future__ import annotations

import io
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from helpers import make_settings, post, wait_until
from helpers.media import MediaServer, make_video
from helpers.processes import (
    HTTP_TIMEOUT,
    Api,
    Consumer,
    Gunicorn,
    Ledger,
    alive,
    caption_texts,
    send,
    send_add,
    service_env,
    text_body,
)
from helpers.redis import TcpProxy

OUTAGE_LIMIT_S = 10.0


# --- processes ----------------------------------------------------------------------------------

def store_settings(store: str, request) -> dict:
    if store == "redis":
        return {"store": "redis", "redis_url": request.getfixturevalue("redis_db")}
    return {"store": "sqlite"}


def run_threads(targets: list, seconds: float) -> None:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"client threads still running after {seconds} s"


# === 1. restart mid-edit ===================================================================

def burst_and_kill(svc: Gunicorn, d: str, ledger: Ledger, first_index: int) -> tuple[list[str], list[str]]:
    """4 clients add to draft `d` as fast as they can while a fifth starts new drafts (one add each);
    once 30 more adds are acknowledged the whole gunicorn group gets SIGKILL. Returns the drafts
    whose creation was acknowledged and those whose add was acknowledged too."""
    clients, per_client = 4, 80
    stop = threading.Event()
    created: list[str] = []
    filled: list[str] = []

    def client(c: int) -> None:
        own = Api(svc.base)
        for k in range(per_client):
            if stop.is_set() or send_add(own, d, first_index + c * per_client + k, ledger) is None:
                return                                       # the service is gone

    def creator() -> None:
        own = Api(svc.base)
        for _ in range(per_client):
            reply = None if stop.is_set() else send(own, "/create_draft", {"width": 1080, "height": 1920})
            if not (reply and reply["success"]):
                return
            created.append(reply["output"]["draft_id"])
            reply = send(own, "/add_text", text_body(created[-1], 0))
            if not (reply and reply["success"]):
                return
            filled.append(created[-1])

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    threads.append(threading.Thread(target=creator, daemon=True))
    target = ledger.count() + 30
    for t in threads:
        t.start()
    wait_until(lambda: ledger.count() >= target, 30, "30 acknowledged adds in the burst", interval=0.005)
    svc.kill9()
    killed_at = time.monotonic()
    stop.set()
    for t in threads:
        t.join(max(0.0, killed_at + 15 - time.monotonic()))
    assert not any(t.is_alive() for t in threads)
    return created, filled


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_sigkill_of_gunicorn_mid_burst_loses_no_acknowledged_add(store, tmp_path, request, gunicorns):
    svc = gunicorns(tmp_path, **store_settings(store, request))
    api = Api(svc.base)
    d = api.create()
    ledger = Ledger()
    for i in range(20):                                      # the edit so far, one add at a time
        assert send_add(api, d, i, ledger)["success"]

    for round_ in (1, 2):                                    # kill and restart twice
        unknown_before = set(ledger.unknown)
        created, filled = burst_and_kill(svc, d, ledger, 1000 * round_)
        acked, unknown = set(ledger.acked), set(ledger.unknown)
        assert not ledger.refused, ledger.refused
        assert unknown - unknown_before, "no add was cut off: the kill did not land mid-burst"
        assert created

        svc.start()                                          # same port, same data
        restarted = Api(svc.base)
        texts = restarted.texts(d)
        present = set(texts)
        print(f"\n[{store}, kill {round_}] so far: acknowledged {len(acked)} adds, {len(unknown)} without a reply; "
              f"after the restart {len(present)} present ({len(present & unknown)} of those without a reply); "
              f"{len(created)} drafts created during the burst, all found")
        assert len(texts) == len(present), "an add appears twice"
        assert acked <= present, f"acknowledged adds lost: {sorted(acked - present)[:10]}"
        assert present <= acked | unknown, f"adds nobody sent: {sorted(present - acked - unknown)[:10]}"
        for other in created:                                # no acknowledged draft was lost either
            found = restarted.texts(other)                   # (ok() asserts the draft exists)
            assert found == ["t0"] if other in filled else found in ([], ["t0"]), (other, found)
        ledger.acked |= present & unknown                    # they are in: later rounds expect them

    for i in range(5):                                       # the draft still takes adds
        assert restarted.add_text(d, 5000 + i)["success"]
    after = restarted.texts(d)
    assert len(after) == len(texts) + 5 and set(after) == present | {f"t{5000 + i}" for i in range(5)}


# === 2. two workers, many clients, one draft ===============================================

@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_two_workers_and_8_clients_on_one_draft_keep_every_acknowledged_add(store, tmp_path, request, gunicorns):
    svc = gunicorns(tmp_path, **store_settings(store, request))
    d = Api(svc.base).create()
    ledger = Ledger()
    clients, calls = 8, 30
    barrier = threading.Barrier(clients)

    def client(c: int) -> None:
        api = Api(svc.base)
        barrier.wait(timeout=30)
        for k in range(calls):
            send_add(api, d, c * calls + k, ledger)

    started = time.monotonic()
    run_threads([lambda c=c: client(c) for c in range(clients)], 120)
    elapsed = time.monotonic() - started
    texts = Api(svc.base).texts(d)
    print(f"\n[{store}] {clients}x{calls} adds in {elapsed:.1f} s: acknowledged {len(ledger.acked)}, "
          f"refused {len(ledger.refused)}, no reply {len(ledger.unknown)}; segments {len(texts)}")
    assert len(ledger.acked) == len(texts) and set(texts) == ledger.acked and len(set(texts)) == len(texts)
    assert not ledger.unknown and not ledger.refused, (sorted(ledger.unknown)[:5], list(ledger.refused.items())[:5])
    assert len(texts) == clients * calls
    starts = [s["target_timerange"]["start"] for t in Api(svc.base).script(d)["tracks"] for s in t["segments"]]
    assert sorted(starts) == [i * 1_000_000 for i in range(clients * calls)]


# === 3. kill -9 a huey consumer during a save ==============================================

class HueySetup:
    """The web app in this process with job_runner="huey" (it only enqueues) and `count` real
    consumers on the same Redis database and data_dir; `slow_url(seconds)` trickles a small clip
    for about that long, `fast_url` serves it at once."""

    def __init__(self, tmp_path: Path, redis_url: str, lease: int, count: int):
        from capcut_drafts.web.app import create_app
        self.lease = lease
        folder = tmp_path / "media"
        folder.mkdir()
        self.clip_size = make_video(folder / "clip.mp4", seconds=2, size=(32, 32)).stat().st_size
        self.server = MediaServer(folder).start()
        self.fast_url = self.server.url("clip.mp4")
        env = service_env(tmp_path, store="redis", redis_url=redis_url, job_runner="huey",
                          fetch_allow_hosts="127.0.0.1", job_lease_seconds=str(lease), log_level="INFO")
        self.consumers = [Consumer(tmp_path, name, env) for name in "ab"[:count]]
        self.app = create_app(make_settings(tmp_path / "data", store="redis", redis_url=redis_url,
                                            job_runner="huey", fetch_allow_hosts=["127.0.0.1"],
                                            job_lease_seconds=lease, prefetch_on_add=False))
        self.client = self.app.test_client()
        for consumer in self.consumers:
            consumer.wait_started()

    def slow_url(self, seconds: float) -> str:
        chunks = int(seconds / 0.2) + 1                     # no pause before the first chunk
        return self.server.url(f"slow/clip.mp4?chunk={-(-self.clip_size // chunks)}&interval=0.2")

    def ok(self, path: str, body: dict) -> dict:
        reply = post(self.client, path, body)
        assert reply["success"], (path, reply)
        return reply["output"]

    def draft(self, url: str) -> str:
        d = self.ok("/create_draft", {"width": 1080, "height": 1920})["draft_id"]
        self.ok("/add_video", {"draft_id": d, "video_url": url, "end": 1})
        self.ok("/add_text", {"draft_id": d, "text": "kept", "start": 0, "end": 1, "track_name": "captions"})
        return d

    def status(self, task_id: str) -> dict:
        return self.ok("/query_draft_status", {"task_id": task_id})

    def finished(self, task_id: str, seconds: float, watch=None) -> dict:
        def done():
            if watch is not None:
                watch()
            state = self.status(task_id)
            return state if state["status"] not in ("initialized", "processing") else None
        return wait_until(done, seconds, f"save of {task_id} to finish", interval=0.1)

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.stop()
        self.server.stop()
        ctx = self.app.extensions["capcut"]
        ctx.media.close(wait=True)
        ctx.cache.store.close()


@pytest.fixture
def huey_setup(tmp_path, redis_db):
    made = []

    def build(lease: int, count: int) -> HueySetup:
        made.append(HueySetup(tmp_path, redis_db, lease, count))
        return made[-1]
    yield build
    for setup in made:
        setup.close()


def test_kill_9_of_the_huey_worker_running_a_save(huey_setup):
    lease = 8
    hs = huey_setup(lease=lease, count=2)
    d = hs.draft(hs.slow_url(5.0))                           # a 5 s download: shorter than the lease
    before = hs.ok("/query_script", {"draft_id": d})

    reply = hs.ok("/save_draft", {"draft_id": d, "async": True})
    assert reply["status"] in ("initialized", "processing")
    wait_until(lambda: hs.status(d)["status"] == "processing", 15, "the save to start on a consumer")
    busy = wait_until(lambda: [c for c in hs.consumers if c.executed() == 1], 5, "a consumer log naming the save")
    assert len(busy) == 1, "both consumers claim the one save"
    [victim] = busy
    [survivor] = [c for c in hs.consumers if c is not victim]
    time.sleep(2.0)                                          # past the first heartbeat (every lease/4 s)
    running = hs.status(d)
    assert running["status"] == "processing" and running["completed_files"] == 0, running
    victim.kill9()
    killed_at = time.monotonic()
    assert survivor.proc.poll() is None

    final = hs.finished(d, lease + 6)
    detected = time.monotonic() - killed_at
    print(f"\n[huey] killed consumer {victim.name} (pid {victim.proc.pid}) mid-download; task "
          f"{final['status']} {detected:.1f} s later (lease {lease} s): {final['message']}")
    assert final["status"] in ("failed", "completed"), final      # completed only if another worker retried it
    if final["status"] == "failed":
        assert "stopped responding" in final["message"], final
    assert detected <= lease + 4
    after = hs.ok("/query_script", {"draft_id": d})
    assert after == before                                   # the draft is exactly as before the save
    doc = json.loads(after)
    assert caption_texts(doc) == ["kept"] and len(doc["materials"]["videos"]) == 1

    # a new save with fast media completes on the surviving consumer ...
    fast = hs.draft(hs.fast_url)
    ran_before = survivor.executed()
    started = time.monotonic()
    hs.ok("/save_draft", {"draft_id": fast, "async": True})
    done = hs.finished(fast, 30)
    fast_s = time.monotonic() - started
    assert done["status"] == "completed", done
    assert survivor.executed() == ran_before + 1
    assert hs.client.get(f"/drafts/{fast}.zip").status_code == 200

    # ... and so does saving again the draft whose save was killed (its locks died with the worker)
    started = time.monotonic()
    hs.ok("/save_draft", {"draft_id": d, "async": True})
    again = hs.finished(d, 40)
    resave_s = time.monotonic() - started
    print(f"[huey] new save (fast media) completed in {fast_s:.1f} s; re-save of the killed draft "
          f"(5 s download) {again['status']} in {resave_s:.1f} s, both on consumer {survivor.name}")
    assert again["status"] == "completed", again
    assert survivor.executed() == ran_before + 2 and survivor.proc.poll() is None
    assert hs.client.get(f"/drafts/{d}.zip").status_code == 200
    assert caption_texts(json.loads(hs.ok("/query_script", {"draft_id": d}))) == ["kept"]


def test_a_huey_save_longer_than_the_lease_keeps_its_lock_and_completes(huey_setup, redis_db):
    import redis
    lease = 5
    hs = huey_setup(lease=lease, count=1)
    d = hs.draft(hs.slow_url(lease + 3.0))
    key = f"capcut:lock:save:{d}"
    check = redis.Redis.from_url(redis_db, socket_connect_timeout=2, socket_timeout=5)
    lock_seen: list[bool] = []

    def watch() -> None:
        if hs.status(d)["status"] == "processing":
            lock_seen.append(bool(check.exists(key)))
    try:
        hs.ok("/save_draft", {"draft_id": d, "async": True})
        final = hs.finished(d, lease + 20, watch=watch)
    finally:
        check.close()
    print(f"\n[huey] save of {lease + 3} s with a {lease} s lease: {final['status']} ({final['message'][:120]}); "
          f"lock present in {sum(lock_seen)}/{len(lock_seen)} looks while processing")
    assert lock_seen and all(lock_seen), "the Redis save lock expired while the save was still running"
    assert final["status"] == "completed", final


def test_a_render_runs_on_a_huey_worker(huey_setup):
    """/generate_video with job_runner huey: a consumer process renders, the web app serves the MP4."""
    import av
    hs = huey_setup(lease=10, count=1)
    d = hs.draft(hs.fast_url)
    task_id = hs.ok("/generate_video", {"draft_id": d, "resolution": "480P"})["task_id"]

    def done():
        state = hs.ok("/task_status", {"task_id": task_id})
        return state if state["status"] in ("SUCCESS", "FAILED") else None
    final = wait_until(done, 90, f"render {task_id} to finish", interval=0.2)
    assert final["status"] == "SUCCESS", final
    video = hs.client.get(final["result"][final["result"].index("/drafts/"):])
    assert video.status_code == 200
    with av.open(io.BytesIO(video.data)) as container:
        assert container.streams.video and container.duration / 1e6 == pytest.approx(1.0, abs=0.1)


# === 4. Redis unreachable, then back ========================================================

class SilentListener:
    """Listens on `port` and accepts connections but never answers: a hung Redis, or a network
    path that swallows packets."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
        for conn in self.held:
            conn.close()


def outage_round(svc: Gunicorn, d: str, index, ledger: Ledger, clients: int = 4, calls: int = 3) -> list:
    """`clients` threads send `calls` adds each; returns [(seconds, reply)]."""
    seen: list[tuple[float, dict | None]] = []
    lock = threading.Lock()

    def client() -> None:
        own = Api(svc.base)
        for _ in range(calls):
            with lock:
                i = next(index)
            started = time.monotonic()
            reply = send_add(own, d, i, ledger)
            with lock:
                seen.append((time.monotonic() - started, reply))
    run_threads([client] * clients, 90)
    return seen


def describe(seen: list) -> str:
    times = sorted(t for t, _ in seen)
    codes = sorted({(r or {}).get("code", "no reply") for _, r in seen})
    return (f"{len(seen)} adds: codes {codes}, median {times[len(times) // 2]:.2f} s, slowest {times[-1]:.2f} s "
            f"(all: {', '.join(f'{t:.1f}' for t in times)})")


def test_redis_outage_answers_store_unavailable_fast_and_heals_without_restart(tmp_path, redis_db, gunicorns):
    with TcpProxy(redis_db) as proxy:
        svc = gunicorns(tmp_path, store="redis", redis_url=proxy.url)
        api = Api(svc.base)
        d = api.create()
        index = iter(range(10_000))
        ledger = Ledger()
        for _ in range(6):
            assert send_add(api, d, next(index), ledger)["success"]
        workers = svc.worker_pids()
        assert len(workers) == 2
        unreachable = f"Redis at 127.0.0.1:{proxy.port} is unreachable"

        # (a) Redis unreachable: connections refused
        proxy.stop()
        refused = outage_round(svc, d, index, ledger)
        ready = requests.get(svc.base + "/readyz", timeout=HTTP_TIMEOUT)
        print(f"\n[outage: refused] {describe(refused)}; /readyz {ready.status_code}")
        assert all(r and r["code"] == "store_unavailable" and unreachable in r["error"] for _, r in refused), \
            refused[:3]
        assert max(t for t, _ in refused) < OUTAGE_LIMIT_S
        assert ready.status_code == 503 and ready.json()["code"] == "not_ready"
        assert requests.get(svc.base + "/healthz", timeout=HTTP_TIMEOUT).status_code == 200
        assert svc.worker_pids() == workers and all(alive(p) for p in workers)

        # back: the very first add succeeds, then more on new connections (both workers)
        proxy.start()
        back = time.monotonic()
        first = send_add(api, d, next(index), ledger)
        recovered = time.monotonic() - back
        assert first["success"], first
        back_round = outage_round(svc, d, index, ledger)
        assert all(r and r["success"] for _, r in back_round), back_round[:3]

        # (b) Redis hung: connections accepted, nothing answered
        proxy.stop()
        silent = SilentListener(proxy.port)
        try:
            hung = outage_round(svc, d, index, ledger, clients=1, calls=3)
        finally:
            silent.close()
        print(f"[outage: hung] {describe(hung)}")
        assert all(r and r["code"] == "store_unavailable" and unreachable in r["error"] for _, r in hung), hung[:3]
        assert max(t for t, _ in hung) < OUTAGE_LIMIT_S
        assert svc.worker_pids() == workers and all(alive(p) for p in workers)

        # (c) Redis restarted between two requests: pooled connections are dead, nobody notices
        time.sleep(1.1)        # past the store's fail-fast moment after the hang (HUNG_COOLDOWN)
        proxy.start()
        assert all(r and r["success"] for _, r in outage_round(svc, d, index, ledger))
        proxy.stop()
        proxy.start()
        after_restart = outage_round(svc, d, index, ledger)
        assert all(r and r["success"] for _, r in after_restart), after_restart[:3]

        assert svc.worker_pids() == workers                  # no worker was replaced
        texts = api.texts(d)
        print(f"[outage] first add after the proxy came back answered in {recovered:.2f} s; acknowledged "
              f"{len(ledger.acked)}, refused {len(ledger.refused)}, no reply {len(ledger.unknown)}, "
              f"segments {len(texts)}")
        assert set(texts) == ledger.acked and len(texts) == len(ledger.acked) == 6 + 1 + 12 + 12 + 12
        assert not ledger.unknown and len(ledger.refused) == 12 + 3


def test_a_hung_redis_answers_concurrent_adds_on_one_draft_within_seconds(tmp_path, redis_db, gunicorns):
    with TcpProxy(redis_db) as proxy:
        svc = gunicorns(tmp_path, workers=1, store="redis", redis_url=proxy.url)   # the worker has the draft cached
        api = Api(svc.base)
        d = api.create()
        index = iter(range(10_000))
        ledger = Ledger()
        assert send_add(api, d, next(index), ledger)["success"]
        proxy.stop()
        silent = SilentListener(proxy.port)
        try:
            hung = outage_round(svc, d, index, ledger, clients=4, calls=1)
        finally:
            silent.close()
        print(f"\n[outage: hung, 4 clients on one draft, 1 worker] {describe(hung)}")
        assert all(r and r["code"] == "store_unavailable" for _, r in hung), hung[:3]
        assert max(t for t, _ in hung) < OUTAGE_LIMIT_S
