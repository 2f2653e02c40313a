"""MediaCache against a real HTTP server on 127.0.0.1: once per URL, atomic, concurrent, shared."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT
from helpers.media import MediaServer, make_image, pattern_bytes

from capcut_drafts.net.fetcher import FetchError, FetchPolicy
from capcut_drafts.save import media_cache
from capcut_drafts.save.media_cache import CachedFile, MediaCache, url_key

POLICY = FetchPolicy(allow_hosts=("127.0.0.1",), connect_timeout=2, read_timeout=5, deadline=20, backoff=0.01)
BODY = pattern_bytes(200_000, seed=3)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "a.bin").write_bytes(BODY)
    for i in range(20):
        (root / f"f{i:02d}.bin").write_bytes(pattern_bytes(50_000 + i * 1000, seed=i))
    make_image(root / "photo.png", "png", (30, 20))
    return root


@pytest.fixture
def media_server(served):
    with MediaServer(served) as s:
        yield s


@pytest.fixture
def cache(tmp_path):
    with MediaCache(tmp_path / "cache", POLICY, workers=4) as c:
        yield c


def leftovers(cache: MediaCache) -> list[str]:
    """Temporary or lock files under the cache's objects directory."""
    return sorted(p.name for p in Path(cache.objects).rglob("*") if p.name.endswith((".part", ".lock")))


def test_same_url_is_downloaded_once(cache, media_server):
    url = media_server.url("count/a.bin")
    first = cache.get(url)
    second = cache.get(url)
    assert isinstance(first, CachedFile) and first.path == second.path == cache.path_for(url)
    assert Path(first.path).read_bytes() == BODY
    assert first.size == second.size == len(BODY)
    assert first.sha256 == second.sha256 == hashlib.sha256(BODY).hexdigest()
    assert first.content_type == "application/octet-stream"
    assert media_server.hits("/count/a.bin") == 1
    assert os.path.basename(first.path) == url_key(url) and leftovers(cache) == []


def test_two_caches_on_one_directory_share_downloads(tmp_path, media_server):
    url = media_server.url("count/a.bin")
    with MediaCache(tmp_path / "shared", POLICY) as one, MediaCache(tmp_path / "shared", POLICY) as two:
        assert one.get(url).sha256 == two.get(url).sha256
        assert two.peek(url) is not None
    assert media_server.hits("/count/a.bin") == 1


def test_concurrent_gets_in_one_process_share_one_download(cache, media_server):
    url = media_server.url("slow/a.bin?chunk=50000&interval=0.05")
    results, errors = [], []

    def work():
        try:
            results.append(cache.get(url))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 10
    assert {r.path for r in results} == {cache.path_for(url)}
    assert media_server.hits("/slow/a.bin") == 1


def test_concurrent_caches_on_one_directory_share_one_download(tmp_path, media_server):
    url = media_server.url("slow/a.bin?chunk=50000&interval=0.05")
    caches = [MediaCache(tmp_path / "shared", POLICY) for _ in range(3)]
    results = []
    threads = [threading.Thread(target=lambda c=c: results.append(c.get(url))) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in caches:
        c.close()
    assert len(results) == 3 and all(Path(r.path).read_bytes() == BODY for r in results)
    assert media_server.hits("/slow/a.bin") == 1


CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from capcut_drafts.net.fetcher import FetchPolicy
    from capcut_drafts.save.media_cache import MediaCache
    cache = MediaCache({cache_dir!r}, FetchPolicy(allow_hosts=("127.0.0.1",), deadline={deadline!r}))
    print(cache.get({url!r}).sha256, flush=True)
""")


def spawn(cache_dir, url, deadline: float = 60) -> subprocess.Popen:
    code = CHILD.format(root=str(REPO_ROOT), cache_dir=str(cache_dir), url=url, deadline=deadline)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_processes_sharing_a_cache_download_once(tmp_path, media_server):
    url = media_server.url("slow/a.bin?chunk=40000&interval=0.1")
    children = [spawn(tmp_path / "shared", url) for _ in range(3)]
    outputs = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0, 0, 0], outputs
    assert {out.strip() for out, _ in outputs} == {hashlib.sha256(BODY).hexdigest()}
    assert media_server.hits("/slow/a.bin") == 1


def test_download_failing_midway_leaves_nothing_cached(tmp_path, media_server):
    url = media_server.url("slow/a.bin?chunk=1000&interval=0.05")
    with MediaCache(tmp_path / "c", FetchPolicy(allow_hosts=("127.0.0.1",), deadline=0.5)) as cache:
        with pytest.raises(FetchError) as info:
            cache.get(url)
        assert info.value.code == "fetch_timeout"
        assert cache.peek(url) is None and not os.path.exists(cache.path_for(url))
        assert leftovers(cache) == []
        cut_short = media_server.url("lie/a.bin?length=300000")      # the body ends before its length
        assert cache.fetch_many([cut_short])[cut_short].code == "fetch_incomplete"
        assert cache.peek(cut_short) is None and leftovers(cache) == []


def test_killed_download_leaves_no_cached_file_and_is_cleaned_up(tmp_path, media_server):
    url = media_server.url("slow/a.bin?chunk=1000&interval=0.05")
    child = spawn(tmp_path / "c", url)
    try:
        deadline = time.monotonic() + 20
        parts: list[Path] = []
        while time.monotonic() < deadline:
            parts = [p for p in (tmp_path / "c").rglob("*.part") if p.stat().st_size > 0]
            if parts:
                break
            time.sleep(0.02)
        assert parts, "the child never started writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with MediaCache(tmp_path / "c", POLICY) as cache:
        assert cache.peek(url) is None
        assert any(p.exists() for p in parts)                 # the half file is there, but not as cached
        removed, _ = cache.evict_older_than(0)                # the dead process's part is stale
        assert removed >= 1 and not any(p.exists() for p in parts)
        assert leftovers(cache) == []                        # its lock file went too
        good = media_server.url("a.bin")
        assert Path(cache.get(good).path).read_bytes() == BODY


def test_fetch_many_twenty_files_with_four_workers(cache, media_server, served):
    urls = [media_server.url(f"slow/f{i:02d}.bin?chunk=20000&interval=0.02") for i in range(20)]
    calls, running, stop = [], [], threading.Event()

    def watch():  # a transfer is registered only while its download holds one of the `workers` slots
        while not stop.is_set():
            with media_cache._ACTIVE_LOCK:  # one atomic snapshot (a directory walk is not one)
                running.append(len(media_cache._TRANSFERS))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = cache.fetch_many(urls + urls[:3], on_progress=lambda *a: calls.append(a))
    finally:
        stop.set()
        watcher.join()
    assert list(results) == urls
    for i, url in enumerate(urls):
        assert isinstance(results[url], CachedFile), results[url]
        assert Path(results[url].path).read_bytes() == (served / f"f{i:02d}.bin").read_bytes()
    assert [c[0] for c in calls] == list(range(1, 21)) and {c[1] for c in calls} == {20}
    assert {c[2] for c in calls} == set(urls) and all(c[3] is results[c[2]] for c in calls)
    assert 2 <= max(running) <= 4
    assert media_server.hits("/slow/f00.bin") == 1
    again = cache.fetch_many(urls)
    assert all(again[u].path == results[u].path for u in urls) and len(media_server.requests) == 20


def test_fetch_many_reports_errors_per_url(cache, media_server):
    good, missing, forbidden = media_server.url("a.bin"), media_server.url("nope.bin"), "http://10.0.0.1/a.mp4"
    progress = []
    results = cache.fetch_many([good, missing, forbidden], on_progress=lambda d, t, u, r: progress.append(u))
    assert isinstance(results[good], CachedFile)
    assert isinstance(results[missing], FetchError) and results[missing].code == "fetch_http_status"
    assert isinstance(results[forbidden], FetchError) and results[forbidden].code == "fetch_forbidden"
    assert sorted(progress) == sorted([good, missing, forbidden])


def test_prefetch_then_get(cache, media_server):
    url = media_server.url("slow/a.bin?chunk=50000&interval=0.05")
    assert cache.prefetch(url) is True
    assert cache.prefetch(url) is False               # already downloading
    cached = cache.get(url)                           # joins the running download
    assert Path(cached.path).read_bytes() == BODY
    assert cache.prefetch(url) is False               # already cached
    assert media_server.hits("/slow/a.bin") == 1


# A byte every 0.5 s: only the deadline ends this download.
TRICKLE = "slow/a.bin?chunk=1&interval=0.5"
SHORT = dataclasses.replace(POLICY, deadline=2.0)


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_a_save_in_another_cache_of_the_process_joins_the_running_prefetch(tmp_path, media_server):
    """A prefetch by one cache and a save by another cache on the same directory, in one
    process: the save waits for that download and gets its error, one deadline in all, not two."""
    url = media_server.url(TRICKLE)
    with MediaCache(tmp_path / "c", SHORT) as adding, MediaCache(tmp_path / "c", SHORT) as saving:
        started = time.monotonic()
        assert adding.prefetch(url) is True
        wait_until(lambda: media_server.hits("/slow/a.bin") == 1)
        result = saving.fetch_many([url])[url]
        elapsed = time.monotonic() - started
    assert isinstance(result, FetchError) and result.code == "fetch_timeout"
    assert elapsed < 1.5 * SHORT.deadline
    assert media_server.hits("/slow/a.bin") == 1


def test_a_save_joins_a_download_running_in_another_process(tmp_path, media_server):
    """The download runs in another process (another web worker): the save waits on its lock and
    reports the error that process left there instead of downloading again."""
    url = media_server.url(TRICKLE)
    child = spawn(tmp_path / "c", url, deadline=SHORT.deadline)
    try:
        wait_until(lambda: media_server.hits("/slow/a.bin") == 1)
        started = time.monotonic()
        with MediaCache(tmp_path / "c", SHORT) as cache:
            result = cache.fetch_many([url])[url]
        elapsed = time.monotonic() - started
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert child.returncode != 0 and "took longer than 2s" in err
    assert isinstance(result, FetchError) and result.code == "fetch_timeout" and "took longer than 2s" in str(result)
    assert elapsed < 1.5 * SHORT.deadline
    assert media_server.hits("/slow/a.bin") == 1
    assert leftovers(cache) == []


def test_a_failure_left_for_waiters_is_not_taken_by_a_later_download(tmp_path, media_server):
    """The error a failed download leaves beside its lock serves only the processes that waited
    for that download: a download started afterwards asks the server again."""
    url = media_server.url("status/404")
    _, err = spawn(tmp_path / "c", url).communicate(timeout=30)
    assert "HTTP 404" in err
    notes = list((tmp_path / "c").rglob("*.error"))
    assert len(notes) == 1
    with MediaCache(tmp_path / "c", POLICY) as cache:
        with pytest.raises(FetchError) as info:
            cache.get(url)
        assert info.value.code == "fetch_http_status" and media_server.hits("/status/404") == 2
        assert leftovers(cache) == []
        past = time.time() - 3600
        os.utime(notes[0], (past, past))
        cache.evict_older_than(600)
        assert not notes[0].exists()


def test_prefetch_errors_are_quiet_until_get(cache, media_server):
    url = media_server.url("status/404")
    assert cache.prefetch(url) is True
    deadline = time.monotonic() + 5
    while url not in cache._prefetch_errors and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(FetchError) as info:
        cache.get(url)
    assert info.value.status == 404
    assert media_server.hits("/status/404") == 1            # the permanent failure was not fetched again


def test_transient_prefetch_failure_is_tried_again_by_get(cache, media_server):
    url = media_server.url("flaky/a.bin?fail=3&key=prefetch")       # fails all of the prefetch's 3 attempts
    assert cache.prefetch(url) is True
    deadline = time.monotonic() + 5
    while url not in cache._prefetch_errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get(url).size == len(BODY)
    assert media_server.hits("/flaky/a.bin") == 4


def test_prefetch_queue_is_bounded(tmp_path, media_server):
    with MediaCache(tmp_path / "c", POLICY, workers=1, prefetch_limit=2) as cache:
        urls = [media_server.url(f"slow/f{i:02d}.bin?chunk=60000&interval=0.1") for i in range(4)]
        assert [cache.prefetch(u) for u in urls] == [True, True, False, False]
        for u in urls[:2]:
            assert cache.get(u).size > 0


def test_evict_older_than(cache, media_server):
    old, fresh = media_server.url("f00.bin"), media_server.url("f01.bin")
    old_file = cache.get(old)
    cache.get(fresh)
    past = time.time() - 3600
    os.utime(old_file.path, (past, past))
    removed, freed = cache.evict_older_than(600)
    assert (removed, freed) == (1, old_file.size)
    assert cache.peek(old) is None and cache.peek(fresh) is not None
    assert not os.path.exists(old_file.path + ".json")
    cache.get(fresh)                                  # a hit refreshes the entry's age
    assert cache.evict_older_than(600) == (0, 0)


def test_closed_cache_still_serves_get(tmp_path, media_server):
    cache = MediaCache(tmp_path / "c", POLICY)
    cache.close()
    assert cache.prefetch(media_server.url("a.bin")) is False
    assert cache.get(media_server.url("a.bin")).size == len(BODY)
    assert isinstance(cache.fetch_many([media_server.url("f00.bin")])[media_server.url("f00.bin")], CachedFile)
