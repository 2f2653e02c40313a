"""Save progress a person can follow: bytes and time left while files download, cached files done
at once, successes and failures counted apart, a queued save's message; and the WARNING a save
that fails on the client's URLs leaves in the log.

Real media over MediaServer on 127.0.0.1 (tests/save/conftest.py), plus a server of its own here
that streams a file slowly without a Content-Length."""
from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers.save import Service

SLOW_V1 = "slow/v1.mp4?chunk=4096&interval=0.15"            # ~58 kB in ~2 s


def polled(svc: Service, draft_id: str, timeout: float = 20) -> list[dict]:
    """Every status read from now until the save ends (the last one is final)."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1]["status"] in ("initialized", "processing"):
        assert time.monotonic() < deadline, seen[-1]
        seen.append(svc.status(draft_id))
        time.sleep(0.02)
    return seen


def downloading(seen: list[dict]) -> list[dict]:
    """The reads taken while the one file was partly downloaded."""
    return [s for s in seen if s["status"] == "processing" and s["total_files"] == 1
            and s["completed_files"] == 0 and s["bytes_downloaded"] > 0]


def test_a_slow_download_moves_bytes_progress_and_eta_before_the_file_ends(service, media_server, media_dir):
    svc = service(prefetch_on_add=False)
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url(SLOW_V1), end=1)
    size = (media_dir / "v1.mp4").stat().st_size
    svc.save(d, **{"async": True})
    seen = polled(svc, d)
    during = downloading(seen)
    assert len({s["bytes_downloaded"] for s in during}) >= 2, [s["bytes_downloaded"] for s in seen]
    assert all(s["bytes_total"] == size and s["bytes_downloaded"] < size for s in during)
    assert any(s["progress"] > 10 for s in during)
    assert any(s["eta_seconds"] is not None and s["eta_seconds"] > 0 for s in during)
    arrived = [s["bytes_downloaded"] for s in seen]
    assert arrived == sorted(arrived)
    final = seen[-1]
    assert final["status"] == "completed"
    assert (final["bytes_downloaded"], final["bytes_total"], final["eta_seconds"]) == (size, size, 0)
    assert (final["completed_files"], final["failed_files"]) == (1, 0)


class _NoLength(BaseHTTPRequestHandler):
    """GET / → the file `server.body` in 4 kB chunks 0.15 s apart, without a Content-Length."""
    protocol_version = "HTTP/1.0"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        body = self.server.body        # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.end_headers()
        for start in range(0, len(body), 4096):
            self.wfile.write(body[start:start + 4096])
            self.wfile.flush()
            time.sleep(0.15)


@pytest.fixture
def no_length_url(media_dir: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoLength)
    server.body = (media_dir / "v1.mp4").read_bytes()        # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1.mp4"
    server.shutdown()
    server.server_close()


def test_a_download_without_a_length_has_no_total_nor_eta_until_it_ends(service, no_length_url, media_dir):
    svc = service(prefetch_on_add=False)
    d = svc.draft()
    svc.add("video", d, video_url=no_length_url, end=1)
    svc.save(d, **{"async": True})
    seen = polled(svc, d)
    during = downloading(seen)
    assert during, [(s["status"], s["bytes_downloaded"]) for s in seen]
    assert all(s["bytes_total"] == 0 and s["eta_seconds"] is None for s in during)
    size = (media_dir / "v1.mp4").stat().st_size
    assert (seen[-1]["status"], seen[-1]["bytes_total"], seen[-1]["bytes_downloaded"]) == ("completed", size, size)


def test_cached_files_count_as_done_from_the_first_read(service, media_server, media_dir):
    svc = service(prefetch_on_add=False)
    d = svc.draft()
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=1)
    svc.saved(d)                                            # a.mp3 is in the cache now
    svc.add("video", d, video_url=media_server.url(SLOW_V1), end=1)
    svc.save(d, **{"async": True})
    counted = [s for s in polled(svc, d) if s["total_files"] == 2]
    audio = (media_dir / "a.mp3").stat().st_size
    assert counted and counted[0]["status"] == "processing", counted
    assert all(s["completed_files"] >= 1 and s["bytes_downloaded"] >= audio for s in counted)
    assert counted[0]["message"] == "Downloaded 1/2 files"


def test_completed_and_failed_files_are_counted_apart(service, media_server):
    svc = service()
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("missing.mp4"), end=1)
    svc.add("video", d, video_url=media_server.url("noise.mp4"), end=1, target_start=1)
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=1)
    svc.save(d)
    task = svc.status(d)
    assert task["status"] == "failed"
    assert (task["total_files"], task["completed_files"], task["failed_files"]) == (3, 1, 2)


def test_a_queued_save_says_so_in_its_reply(service, media_server):
    svc = service(prefetch_on_add=False)
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url(SLOW_V1), end=1)
    reply = svc.save(d, **{"async": True})
    [note] = [w for w in reply["warnings"] if "still running" in w]
    assert "(0%: Queued: waiting for a save worker)" in note, note
    svc.wait(d)


def test_a_save_failing_on_the_clients_urls_logs_them_as_a_warning_without_traceback(
        service, media_server, caplog):
    svc = service()
    d = svc.draft()
    missing, noise = media_server.url("missing.mp4"), media_server.url("noise.mp4")
    svc.add("video", d, video_url=missing, end=1)
    svc.add("video", d, video_url=noise, end=1, target_start=1)
    svc.add("video", d, video_url=noise, end=1, target_start=2)      # one URL, two clips: named once
    with caplog.at_level(logging.WARNING, logger="capcut.save"):
        assert svc.save(d)["code"] == "save_failed"
    records = [r for r in caplog.records if r.name == "capcut.save"]
    [warning] = records
    assert warning.levelno == logging.WARNING and warning.exc_info is None and not warning.exc_text
    message = warning.getMessage()
    assert f"{missing} (fetch_http_status: " in message and f"{noise} (probe_failed: " in message
    assert message.count(noise) == 1 and d in message


def test_many_quick_files_do_not_write_the_task_once_per_file(service, media_server):
    svc = service(prefetch_on_add=False)
    d = svc.draft()
    for n in range(20):
        svc.add("video", d, video_url=media_server.url(f"bytes/2000?seed={n}"), end=1, target_start=n)
    store, writes = svc.ctx.cache.store, []
    put_task = store.put_task

    def counted(task_id: str, record: str, draft_id: str | None = None) -> None:    # the real store, counted
        writes.append(task_id)
        put_task(task_id, record, draft_id)

    store.put_task = counted
    started = time.monotonic()
    svc.save(d)
    elapsed = time.monotonic() - started
    task = svc.status(d)
    assert (task["total_files"], task["failed_files"]) == (20, 20)          # downloaded, but not media
    # route, start, 5 %, collected, the meter's last write, the counts, failed; plus one per 0.5 s tick
    assert writes.count(d) <= 7 + int(elapsed / 0.5) + 1 < 20, (writes.count(d), elapsed)
