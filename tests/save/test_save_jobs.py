"""The save job around the folder: answering before the job ends and polling, the media cache,
concurrent saves, client path styles, retention of outputs and installing into a local drafts folder.

Same setup as test_save.py (real media over MediaServer on 127.0.0.1, SQLite, the thread job
runner; no mocks): the fixtures of tests/save/conftest.py and the Service of helpers.save.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from helpers.lint import lint
from helpers.save import WIN, WIN_APP, Service, files_of, media_materials, saved_track

from capcut_drafts.save import delivery, paths
from capcut_drafts.save.tasks import Task, TaskBook

SLOW_SHORT = "slow/short.mp4?chunk=2048&interval=0.05"      # ~23 kB in ~0.6 s
SLOW_V1 = "slow/v1.mp4?chunk=4096&interval=0.05"            # ~58 kB in ~0.7 s


def open_clip_draft(svc: Service, url: str, **add) -> str:
    d = svc.draft()
    svc.add("video", d, video_url=url, end=1, **add)
    return d


# --- 5. answering before the job ends, and polling ---------------------------------------------------

def test_async_answers_at_once_and_polling_reaches_completed(service, media_server):
    svc = service(prefetch_on_add=False)
    d = open_clip_draft(svc, media_server.url(SLOW_SHORT))
    started = time.monotonic()
    reply = svc.save(d, **{"async": True})
    assert time.monotonic() - started < 1.0            # the slow download alone takes ~0.6 s
    out = reply["output"]
    assert reply["success"] and out["success"] is True and out["status"] in ("initialized", "processing")
    assert out["draft_url"] == "" and out["task_id"] == d
    [note] = [w for w in reply["warnings"] if "poll" in w]
    assert "POST /query_draft_status" in note and d in note
    final = svc.wait(d)
    assert final["status"] == "completed" and final["progress"] == 100
    assert final["draft_url"] == f"http://127.0.0.1:9001/drafts/{d}.zip"
    assert svc.client.get(f"/drafts/{d}.zip").status_code == 200


def test_save_wait_seconds_zero_answers_like_async(service, media_server):
    svc = service(prefetch_on_add=False, save_wait_seconds=0)
    d = open_clip_draft(svc, media_server.url(SLOW_SHORT))
    reply = svc.save(d)
    assert reply["success"] and reply["output"]["status"] in ("initialized", "processing")
    assert any("poll" in w for w in reply["warnings"])
    assert svc.wait(d)["status"] == "completed"
    again = svc.save(d)          # nothing to download any more, but the answer still does not wait
    assert again["output"]["status"] in ("initialized", "processing", "completed")


def test_a_poll_during_a_slow_download_shows_the_progress(service, media_server):
    svc = service(prefetch_on_add=False)
    d = svc.draft()
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=1)
    svc.add("video", d, video_url=media_server.url(SLOW_V1), end=1)
    svc.save(d, **{"async": True})
    seen = []
    deadline = time.monotonic() + 20
    while not seen or seen[-1]["status"] in ("initialized", "processing"):
        assert time.monotonic() < deadline, seen[-1]
        seen.append(svc.status(d))
        time.sleep(0.02)
    assert seen[-1]["status"] == "completed"
    during = [s for s in seen if s["status"] == "processing" and s["message"] == "Downloaded 1/2 files"]
    assert during, [(s["status"], s["progress"], s["message"]) for s in seen]
    assert all(10 < s["progress"] < 70 and (s["completed_files"], s["total_files"]) == (1, 2) for s in during)
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress)


# --- 6. the media cache ---------------------------------------------------------------------------

def test_a_url_is_downloaded_once_for_two_drafts_and_a_resave_downloads_nothing(service, media_server):
    svc = service()
    url = media_server.url("v1.mp4")
    d1, d2 = open_clip_draft(svc, url), open_clip_draft(svc, url, track_name="other")
    svc.add("audio", d2, audio_url=url, end=1)          # the same file as a video and as an audio material
    svc.saved(d1)
    svc.saved(d2)
    assert media_server.hits("/v1.mp4") == 1
    assert sorted(f.split("/")[1] for f in files_of(svc.folder(d2)) if f.startswith("assets/")) == ["audio", "video"]
    folder = svc.folder(d1)
    before = files_of(folder)
    (folder / "stale.txt").write_text("left over")
    old_inode = folder.stat().st_ino
    svc.saved(d1)
    assert media_server.hits("/v1.mp4") == 1
    assert files_of(folder) == before and folder.stat().st_ino != old_inode     # a new folder replaced it
    assert svc.status(d1)["completed_files"] == 1


@pytest.mark.parametrize("prefetch", [True, False])
def test_prefetch_on_add_fills_the_cache_before_any_save(service, media_server, prefetch):
    svc = service(prefetch_on_add=prefetch)
    url = media_server.url("short.mp4")
    d = open_clip_draft(svc, url)
    deadline = time.monotonic() + (5 if prefetch else 0.5)
    while svc.ctx.media.peek(url) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (svc.ctx.media.peek(url) is not None) is prefetch
    assert media_server.hits("/short.mp4") == int(prefetch)
    assert svc.post("/query_draft_status", {"task_id": d})["code"] == "task_not_found"    # no save yet
    svc.saved(d)
    assert media_server.hits("/short.mp4") == 1


# --- 7. concurrency ----------------------------------------------------------------------------------

class Watcher(threading.Thread):
    """Looks at a draft's folder, staging area and task record as often as it can while saves run."""

    def __init__(self, svc: Service, draft_id: str, complete: set[str]):
        super().__init__(daemon=True)
        self.svc, self.d, self.complete = svc, draft_id, complete
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.looks = self.max_staged = 0
        self.starts: list[float] = []

    def run(self) -> None:
        folder = self.svc.folder(self.d)
        staging = folder.parent / ".staging"
        book = TaskBook(self.svc.ctx.cache.store, Task)
        while not self.stop.is_set():
            self.looks += 1
            try:
                names = set(os.listdir(folder))
            except FileNotFoundError:
                names = None          # between the two renames of a publish
            if names is not None and names != self.complete:
                self.problems.append(f"folder had {sorted(names ^ self.complete)} differing")
            try:
                json.loads((folder / "draft_content.json").read_bytes())
            except FileNotFoundError:
                pass
            except ValueError as exc:
                self.problems.append(f"draft_content.json did not parse: {exc}")
            if staging.is_dir():
                self.max_staged = max(self.max_staged, sum(n.startswith(self.d) for n in os.listdir(staging)))
            task = book.get(self.d)
            if task and task.started_at and (not self.starts or self.starts[-1] != task.started_at):
                self.starts.append(task.started_at)


def watched(svc: Service, d: str, run) -> Watcher:
    top = set(os.listdir(svc.folder(d)))
    watcher = Watcher(svc, d, top)
    watcher.start()
    try:
        run()
    finally:
        watcher.stop.set()
        watcher.join(10)
    return watcher


def test_two_saves_of_one_draft_at_once_both_complete_one_after_the_other(service, media_server):
    svc = service()
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("v1.mp4"), end=2)
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=2)
    svc.add("text", d, text="t", start=0, end=2)
    svc.saved(d, draft_folder=WIN)
    replies: list[dict] = []
    barrier = threading.Barrier(2)

    def one_save():
        client = svc.app.test_client()
        barrier.wait()
        replies.append(client.post("/save_draft", json={"draft_id": d, "draft_folder": WIN}).get_json())

    def run():
        threads = [threading.Thread(target=one_save) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    watcher = watched(svc, d, run)
    assert [r["output"]["status"] for r in replies] == ["completed", "completed"], replies
    assert watcher.looks > 5 and not watcher.problems, watcher.problems[:5]
    assert watcher.max_staged <= 1
    assert watcher.starts == sorted(watcher.starts)     # the task record never went back to an older job
    for rel in files_of(svc.folder(d)):
        data = (svc.folder(d) / rel).read_bytes()
        if rel.endswith((".json", ".tmp", ".bak")) and data:      # draft_biz_config.json is empty (as the apps)
            json.loads(data)
    assert svc.status(d)["status"] == "completed"


def test_two_save_jobs_of_one_draft_take_turns(service, media_server):
    """The job function itself, twice at once on one draft (as two workers would): the per-draft
    lock makes the second start only after the first finished."""
    from capcut_drafts.save.job import run_save_job
    svc = service(prefetch_on_add=False)
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url(SLOW_SHORT), end=1)
    svc.saved(d)
    svc.ctx.media.discard(media_server.url(SLOW_SHORT))     # so the first job is slow again
    finished = []

    def job():
        run_save_job(svc.ctx, task_id=d, draft_id=d, draft_folder=None, base_url="http://localhost")
        finished.append(time.time())

    def run():
        threads = [threading.Thread(target=job) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join(60)

    before = time.time()
    watcher = watched(svc, d, run)
    assert len(finished) == 2 and not watcher.problems, watcher.problems[:5]
    starts = [s for s in watcher.starts if s >= before]
    assert len(starts) == 2, watcher.starts                 # two jobs, and their records never interleaved
    # the first job spent >= 0.5 s on the slow download; the second began only once it had finished
    assert starts[1] - starts[0] >= 0.4 and starts[1] >= min(finished) - 0.05, (starts, finished)
    assert watcher.max_staged <= 1
    assert svc.status(d)["status"] == "completed"


def test_a_save_waits_for_the_draft_lock(service, media_server):
    svc = service()
    d = open_clip_draft(svc, media_server.url("short.mp4"))
    with delivery.draft_lock(svc.settings, d):
        reply = svc.save(d, **{"async": True})
        assert reply["output"]["status"] == "initialized"
        time.sleep(0.5)
        assert svc.status(d)["status"] == "initialized" and not svc.folder(d).exists()
    assert svc.wait(d)["status"] == "completed"


def test_saves_of_three_drafts_in_parallel_all_complete(service, media_server):
    svc = service()
    drafts = [open_clip_draft(svc, media_server.url(name)) for name in ("v1.mp4", "v2.mp4", "short.mp4")]
    replies = {}

    def one_save(d):
        replies[d] = svc.app.test_client().post("/save_draft", json={"draft_id": d}).get_json()

    threads = [threading.Thread(target=one_save, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {d: r["output"]["status"] for d, r in replies.items()} == {d: "completed" for d in drafts}
    for d in drafts:
        assert svc.status(d)["completed_files"] == 1
        assert len([f for f in files_of(svc.folder(d)) if f.startswith("assets/video/")]) == 1


@pytest.mark.parametrize("state, says", [("processing", "stopped responding"), ("initialized", "no worker started it")])
def test_a_task_abandoned_by_a_dead_worker_ends_failed_and_does_not_block_saves(service, media_server, state, says):
    svc = service(save_wait_seconds=10)
    d = open_clip_draft(svc, media_server.url("short.mp4"))
    day_ago = time.time() - 86400
    stale = Task(task_id=d, status=state, message="Downloaded 0/1 files", progress=10, started_at=day_ago,
                 heartbeat_at=day_ago).model_dump_json()
    svc.ctx.cache.store.put_task(d, stale)          # what a killed worker leaves behind
    status = svc.status(d)
    assert status["status"] == "failed" and says in status["message"], status
    svc.ctx.cache.store.put_task(d, stale)
    reply = svc.save(d)
    assert reply["output"]["status"] == "completed", reply


def test_a_clip_added_while_the_save_downloads_does_not_break_it(service, media_server):
    svc = service(prefetch_on_add=False)
    d = open_clip_draft(svc, media_server.url(SLOW_SHORT))
    svc.save(d, **{"async": True})
    time.sleep(0.2)
    assert svc.status(d)["status"] == "processing"
    svc.add("video", d, video_url=media_server.url("v2.mp4"), end=1, target_start=1)
    first = svc.wait(d)
    assert first["status"] == "completed", first["message"]
    svc.saved(d)                                        # the next save has both clips
    assert len(svc.content(d)["materials"]["videos"]) == 2


def test_a_save_sent_during_another_save_gets_its_own_draft_folder(service, media_server):
    svc = service(prefetch_on_add=False)
    d = open_clip_draft(svc, media_server.url(SLOW_SHORT))
    mac = "/Users/me/Movies/CapCut/User Data/Projects/com.lveditor.draft"
    svc.save(d, draft_folder=WIN, **{"async": True})
    reply = svc.saved(d, draft_folder=mac)
    assert reply["output"]["status"] == "completed"
    [video] = svc.content(d)["materials"]["videos"]
    assert video["path"].startswith(f"{mac}/{d}/assets/video/"), video["path"]


# --- 8. client path styles -------------------------------------------------------------------------------

@pytest.mark.parametrize("folder, written, sep", [
    (WIN, WIN_APP, "/"),                          # a Windows drive: forward slashes, as the apps write it
    ("/Users/me/Movies/CapCut/User Data/Projects/com.lveditor.draft",) * 2 + ("/",),
    ("/home/me/capcut drafts", "/home/me/capcut drafts", "/"),
    (r"\\nas\share\drafts", r"\\nas\share\drafts", "\\"),
    ("C:/CapCut Drafts", "C:/CapCut Drafts", "/"),
])
def test_material_paths_follow_the_draft_folder_form(service, media_server, folder, written, sep):
    svc = service()
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("v1.mp4"), end=1)
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=1)
    svc.add("image", d, image_url=media_server.url("i.png"), start=1, end=2, track_name="img")
    svc.saved(d, draft_folder=folder)
    content = svc.content(d)
    for material in media_materials(content):
        kind = {"photo": "image", "video": "video"}.get(material.get("type"), "audio")
        assert material["path"] == sep.join([written, d, "assets", kind, paths.base_name(material["path"])])
        assert (svc.folder(d) / "assets" / kind / paths.base_name(material["path"])).is_file()
    other = "\\" if sep == "/" else "/"
    assert all(other not in m["path"].replace(written, "") for m in media_materials(content))


def test_the_folder_sent_with_an_add_is_used_when_the_save_sends_none(service, media_server):
    svc = service()
    mac = "/Users/me/Movies/CapCut/User Data/Projects/com.lveditor.draft"
    d = open_clip_draft(svc, media_server.url("v1.mp4"), draft_folder=mac)
    svc.saved(d)
    [video] = svc.content(d)["materials"]["videos"]
    assert video["path"].startswith(f"{mac}/{d}/assets/video/")


def test_without_any_draft_folder_paths_use_the_apps_draft_folder_token(service, media_server):
    svc = service()
    d = open_clip_draft(svc, media_server.url("v1.mp4"))
    svc.saved(d)
    [video] = svc.content(d)["materials"]["videos"]
    assert video["path"] == f"{paths.DRAFT_PATH_PLACEHOLDER}/assets/video/{paths.base_name(video['path'])}"
    assert (svc.folder(d) / "assets" / "video" / paths.base_name(video["path"])).is_file()


@pytest.mark.parametrize("folder", ["../drafts", "drafts/mine", r"C:\drafts\..\other", "/srv/../etc", "~/Movies"])
def test_an_invalid_draft_folder_is_refused_at_save_and_at_add(service, media_server, folder):
    svc = service()
    d = open_clip_draft(svc, media_server.url("v1.mp4"))
    reply = svc.save(d, draft_folder=folder)
    assert reply["success"] is False and reply["code"] == "invalid_parameter"
    assert reply["error"].startswith("Invalid parameter 'draft_folder'")
    assert svc.post("/query_draft_status", {"task_id": d})["code"] == "task_not_found"   # nothing started
    reply = svc.post("/add_video", {"draft_id": d, "video_url": media_server.url("v2.mp4"), "end": 1,
                                    "target_start": 2, "draft_folder": folder})
    assert reply["success"] is False and reply["code"] == "invalid_parameter" and "draft_folder" in reply["error"]
    doc, _ = svc.script(d)
    assert len(saved_track(doc, "video_main")["segments"]) == 1


# --- 9. retention ------------------------------------------------------------------------------------

def test_outputs_older_than_the_retention_are_removed_by_the_next_save(service, media_server):
    svc = service(output_retention_hours=2)
    old_draft = open_clip_draft(svc, media_server.url("v1.mp4"))
    kept_draft = open_clip_draft(svc, media_server.url("v2.mp4"))
    svc.saved(old_draft)
    svc.saved(kept_draft)
    drafts = svc.data_dir / "drafts"
    now = time.time()
    (drafts / "stray_old").mkdir()
    (drafts / "stray_old.zip").write_bytes(b"zip")
    for name in (old_draft, "stray_old", "stray_old.zip"):      # zips of older versions, too
        os.utime(drafts / name, (now - 3 * 3600, now - 3 * 3600))
    os.utime(drafts / kept_draft, (now - 3600, now - 3600))
    os.utime(drafts / ".locks", (now - 9 * 3600, now - 9 * 3600))

    new_draft = open_clip_draft(svc, media_server.url("short.mp4"))
    svc.saved(new_draft)
    left = set(os.listdir(drafts))
    assert not left & {old_draft, "stray_old", "stray_old.zip"}
    assert {kept_draft, new_draft, ".locks"} <= left
    assert svc.client.get(f"/drafts/{old_draft}.zip").status_code == 404
    assert svc.client.get(f"/drafts/{kept_draft}.zip").status_code == 200


def test_retention_cleanup_ignores_entries_other_saves_move_away_while_it_runs(service):
    """Saves publish by renaming their staging folder: one listed by cleanup may be gone a moment later."""
    svc = service(output_retention_hours=2)
    staging = delivery.drafts_dir(svc.settings) / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def churn():
        n = 0
        while not stop.is_set():
            entry = staging / f"entry_{n % 50}"
            entry.mkdir(exist_ok=True)
            delivery.remove(entry)
            n += 1

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(300):
            delivery.cleanup(svc.settings, now=time.time() + 3 * 3600)   # everything listed is old enough
    finally:
        stop.set()
        worker.join(10)


def test_cached_media_unused_for_longer_than_the_retention_is_evicted_by_the_next_save(service, media_server):
    svc = service(output_retention_hours=2)
    svc.saved(open_clip_draft(svc, media_server.url("v1.mp4")))
    media = svc.app.extensions["capcut"].media
    old = media.peek(media_server.url("v1.mp4"))
    now = time.time()
    os.utime(old.path, (now - 3 * 3600, now - 3 * 3600))
    svc.saved(open_clip_draft(svc, media_server.url("v2.mp4")))
    assert media.peek(media_server.url("v1.mp4")) is None and media.peek(media_server.url("v2.mp4")) is not None


# --- 10. installing into a drafts folder on this machine ---------------------------------------------------

def test_install_copies_and_registers_the_draft_in_an_allowed_drafts_folder(service, media_server, tmp_path):
    root = tmp_path / "CapCut Drafts"
    root.mkdir()
    svc = service(draft_install_dirs=[str(root)])
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("v1.mp4"), end=2)
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=2)
    reply = svc.saved(d, draft_folder=str(root))
    installed = root / d
    assert any(w.startswith("Installed into") and str(installed) in w for w in reply["warnings"]), reply
    assert files_of(installed) == files_of(svc.folder(d))
    registry = json.loads((root / "root_meta_info.json").read_text(encoding="utf-8"))
    [entry] = registry["all_draft_store"]
    assert entry["draft_name"] == d and entry["draft_fold_path"] == installed.resolve().as_posix()
    meta = json.loads((installed / "draft_meta_info.json").read_bytes())
    assert entry["draft_id"] == meta["draft_id"]
    content = json.loads((installed / "draft_content.json").read_bytes())
    for material in media_materials(content):
        assert Path(material["path"]).is_file() and material["path"].startswith(str(installed))
    code, report = lint(installed)
    assert code == 0 and report["summary"]["errors"] == 0, report


@pytest.mark.parametrize("allowed", [[], ["other"]])
def test_without_an_allow_listed_folder_nothing_is_written_outside_data_dir(service, media_server, tmp_path, allowed):
    root = tmp_path / "CapCut Drafts"
    root.mkdir()
    svc = service(draft_install_dirs=[str(tmp_path / a) for a in allowed])
    for a in allowed:
        (tmp_path / a).mkdir()
    d = open_clip_draft(svc, media_server.url("v1.mp4"))
    reply = svc.saved(d, draft_folder=str(root))
    assert not any(w.startswith("Installed") for w in reply.get("warnings", []))
    assert list(root.iterdir()) == []
    assert all(not list((tmp_path / a).iterdir()) for a in allowed)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["CapCut Drafts", "data0", *allowed])
    assert svc.folder(d).is_dir()


def test_a_waiter_sees_its_own_job_finish_even_when_the_next_job_overwrites_the_record_at_once():
    """Two queued saves of one draft: job a completes and job b starts before a's waiter polls."""
    from capcut_drafts.routes.save import wait_for
    from capcut_drafts.save.tasks import Task, TaskBook
    from capcut_drafts.store.memory import MemoryStore

    store = MemoryStore()
    store.create("d", "{}")                   # a task record is stored only while its draft exists
    book = TaskBook(store, Task)
    first = book.put(Task(task_id="d", job_id="a", status="processing"))
    book.update(first, status="completed", draft_url="zip-a")
    book.put(Task(task_id="d", job_id="b", status="processing"))          # overwrites the main record
    done = wait_for(book, "d", "a", seconds=1)
    assert (done.job_id, done.status, done.draft_url) == ("a", "completed", "zip-a")
    assert wait_for(book, "d", "b", seconds=0.05).status == "processing"   # b still running
