"""Draft management (capcut_drafts/routes/manage.py) over the Flask test client: /list_drafts and
GET /drafts, /rename_draft, /duplicate_draft, /delete_draft, and retention (`draft_retention_days`:
the clean-up, the sweeper of the web workers, `python3 dev.py cleanup`).

Deletion is shown to leave nothing behind on a real SQLite store after a real save (media from a
MediaServer on 127.0.0.1, the zip uploaded to the OSS test server so that it exists on disk) and
a real render: no row in any table, no folder, zip or render, no cached copy, in this worker or
another one. Listing is shown to read only the drafts of the page, with 2 000 drafts.
"""
from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock
from helpers import REPO_ROOT, fail, make_settings, new_draft, ok, post, wait_until
from helpers.media import make_video
from helpers.oss_server import TEST_KEY_ID, TEST_REGION, TEST_SECRET, OssTestServer
from helpers.processes import service_env

from capcut_drafts.editing import manage
from capcut_drafts.model import operations
from capcut_drafts.store.sqlite import SqliteStore

DRAFT_ID = re.compile(r"^dfd_cat_\d+_[0-9a-f]{8}$")
SURROGATE = "\ud800"


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("manage-media")
    make_video(folder / "v.mp4", seconds=1, size=(32, 32))
    return folder


def listing(client, **body) -> dict:
    return ok(client, "/list_drafts", body)


def listed(client, **body) -> list[str]:
    return [entry["draft_id"] for entry in listing(client, **body)["drafts"]]


def tick() -> None:
    time.sleep(0.005)          # the stores stamp changes with millisecond resolution


def ctx_of(client):
    return client.application.extensions["capcut"]


def raw_post(client, path: str, body: dict) -> dict:
    """POST `body` as JSON with escapes (lone surrogates as \\ud800, NaN as NaN), as clients send them."""
    resp = client.post(path, data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 200
    return resp.get_json()


# --- listing ----------------------------------------------------------------------------------

def test_the_most_recently_changed_draft_is_listed_first_with_its_summary(client):
    first = new_draft(client)
    tick()
    second = new_draft(client)
    tick()
    third = new_draft(client)
    tick()
    ok(client, "/add_text", {"draft_id": first, "text": "a", "start": 0, "end": 2})
    ok(client, "/add_text", {"draft_id": first, "text": "b", "start": 2, "end": 3.5, "track_name": "two"})
    out = listing(client)
    assert (out["total"], out["offset"], out["limit"]) == (3, 0, 50)
    assert [entry["draft_id"] for entry in out["drafts"]] == [first, third, second]
    top = out["drafts"][0]
    assert set(top) == {"draft_id", "name", "created", "updated", "duration", "segments"}
    assert (top["name"], top["duration"], top["segments"]) == (first, 3.5, 2)
    assert isinstance(top["created"], float) and top["created"] < top["updated"] <= time.time()
    assert out["drafts"][1]["duration"] == 0.0 and out["drafts"][1]["segments"] == 0


def test_an_open_clip_not_probed_yet_counts_from_where_it_starts(client):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "t", "start": 0, "end": 2})
    ok(client, "/add_video", {"draft_id": draft, "video_url": "http://127.0.0.1:9/v.mp4", "target_start": 4})
    [entry] = listing(client)["drafts"]
    assert (entry["duration"], entry["segments"]) == (4.0, 2)


def test_pages_and_get_drafts_answer_the_same_envelope(client):
    made = []
    for _ in range(5):
        made.append(new_draft(client))
        tick()
    newest_first = made[::-1]
    assert listed(client, limit=2) == newest_first[:2]
    assert listed(client, offset=2, limit=2) == newest_first[2:4]
    assert listed(client, offset=4, limit=2) == newest_first[4:]
    assert listing(client, offset=10**9)["drafts"] == [] and listing(client, offset=10**9)["total"] == 5
    post_reply = post(client, "/list_drafts", {"offset": 1, "limit": 3})
    get = client.get("/drafts?offset=1&limit=3")
    assert get.status_code == 200 and get.get_json() == post_reply
    assert client.get("/drafts").get_json() == post(client, "/list_drafts", {})


def test_null_and_absent_mean_the_defaults(client):
    for _ in range(3):
        new_draft(client)
    assert listing(client, offset=None, limit=None, name=None) == listing(client)


def test_impossible_paging_values_are_refused(client):
    new_draft(client)
    for body in ({"offset": -1}, {"limit": 0}, {"limit": 501}, {"limit": 1.5}, {"offset": "many"},
                 {"offset": 1e12}, {"limit": [50]}, {"name": 5}, {"name": "x" * 201}, {"name": ["a"]}):
        assert list(body)[0] in fail(client, "/list_drafts", body, "invalid_parameter"), body
    for body in ({"offset": float("nan")}, {"limit": float("inf")}, {"name": SURROGATE}):
        assert raw_post(client, "/list_drafts", body)["code"] == "invalid_parameter", body
    for query in ("limit=abc", "offset=-3", "limit=100000", "offset=1e3"):
        resp = client.get(f"/drafts?{query}")
        assert resp.status_code == 200 and resp.get_json()["code"] == "invalid_parameter", query
    assert client.get("/drafts?name=%0A%00").get_json()["output"]["total"] == 0


def test_the_name_filter_ignores_case(client):
    promo, other, cjk = new_draft(client), new_draft(client), new_draft(client)
    ok(client, "/rename_draft", {"draft_id": promo, "name": "Summer PROMO 2026"})
    ok(client, "/rename_draft", {"draft_id": other, "name": "Été à Paris"})
    ok(client, "/rename_draft", {"draft_id": cjk, "name": "剪映 草稿"})
    assert listed(client, name="promo") == [promo]
    assert listed(client, name="ÉTÉ") == [other]
    assert listed(client, name="草稿") == [cjk]
    assert client.get("/drafts?name=summer%20promo").get_json()["output"]["drafts"][0]["draft_id"] == promo
    assert listing(client, name="absent") == {"drafts": [], "total": 0, "offset": 0, "limit": 50}


def test_2000_drafts_page_through_and_a_page_reads_only_its_drafts(sqlite_settings):
    from capcut_drafts.web.app import create_app
    writer = create_app(sqlite_settings).test_client()
    made = {new_draft(writer) for _ in range(2000)}
    named = sorted(made)[:3]
    for n, draft_id in enumerate(named):
        ok(writer, "/rename_draft", {"draft_id": draft_id, "name": f"Needle {n}"})
    reader = create_app(sqlite_settings).test_client()          # another worker: nothing cached
    lookups: list[bool] = []
    ctx_of(reader).cache.on_lookup = lookups.append
    started = time.monotonic()
    page = listing(reader, limit=50)
    assert time.monotonic() - started < 2
    assert page["total"] == 2000 and len(page["drafts"]) == 50 and len(lookups) == 50
    assert listed(reader, name="needle") == named[::-1] and len(lookups) == 53
    seen: list[str] = []
    for offset in range(0, 2000, 500):
        seen += listed(reader, offset=offset, limit=500)
    assert len(seen) == 2000 and set(seen) == made


# --- renaming ---------------------------------------------------------------------------------

def test_rename_sets_the_name_that_is_listed_and_is_undoable(client):
    draft = new_draft(client)
    renamed = ok(client, "/rename_draft", {"draft_id": draft, "name": "  Summer promo  "})
    assert (renamed["draft_id"], renamed["name"]) == (draft, "Summer promo")
    assert listing(client)["drafts"][0]["name"] == "Summer promo"
    cache = ctx_of(client).cache
    assert cache.read(draft, lambda d: (d.name, json.loads(d.undo[-1].what))) == \
        ("Summer promo", {"operation": "/rename_draft", "name": "Summer promo"})
    cache.update(draft, lambda d: (operations.UNDO, None))          # what /undo stores
    assert listed(client, name="summer") == [draft]                   # the index still has the new name
    manage.sync_name(ctx_of(client), draft)                           # what /undo and /redo call
    assert listed(client, name="summer") == [] and listed(client, name=draft) == [draft]
    assert cache.read(draft, lambda d: (d.name, len(d.undo), len(d.redo))) == (draft, 0, 1)


def test_the_listing_shows_the_document_name_and_repairs_a_stale_index(client):
    draft = new_draft(client)
    ok(client, "/rename_draft", {"draft_id": draft, "name": "Real name"})
    store = ctx_of(client).cache.store
    store.set_name(draft, "stale")                      # a rename undone by a route that did not sync
    assert listed(client, name="stale") == [draft]
    assert listing(client)["drafts"][0]["name"] == "Real name"
    assert listed(client, name="stale") == [] and listed(client, name="real") == [draft]


def test_renaming_to_the_current_name_stores_nothing(client):
    draft = new_draft(client)
    ok(client, "/rename_draft", {"draft_id": draft, "name": "Same"})
    store = ctx_of(client).cache.store
    head = store.load(draft).head_seq
    assert ok(client, "/rename_draft", {"draft_id": draft, "name": " Same "})["name"] == "Same"
    assert store.load(draft).head_seq == head


@pytest.mark.parametrize("name", ["   ", "x" * 201, "two\nlines", "tab\there", "nul\x00", "esc\x1b[31m", "del\x7f",
                                  "line\u2028sep", "a/b", "a\\b", "/", ".", "..", 7, ["a"], {"a": 1}, True])
def test_names_that_cannot_be_folder_names_are_refused(client, name):
    draft = new_draft(client)
    assert "'name'" in fail(client, "/rename_draft", {"draft_id": draft, "name": name}, "invalid_parameter")
    assert "'name'" in fail(client, "/duplicate_draft", {"draft_id": draft, "name": name}, "invalid_parameter")
    assert listing(client)["drafts"][0]["name"] == draft and listing(client)["total"] == 1


@pytest.mark.parametrize("name", ["x" * 200, "Été 2026 🎬", "剪映 草稿", "a.b", "..x", "100% [done]", "C:drafts"])
def test_ordinary_names_are_kept(client, name):
    draft = new_draft(client)
    assert ok(client, "/rename_draft", {"draft_id": draft, "name": name})["name"] == name


def test_a_rename_without_a_name_is_missing_it(client):
    draft = new_draft(client)
    for body in ({"draft_id": draft}, {"draft_id": draft, "name": ""}, {"draft_id": draft, "name": None},
                 {"name": "x"}):
        fail(client, "/rename_draft", body, "missing_parameter")
    assert raw_post(client, "/rename_draft", {"draft_id": draft, "name": "a" + SURROGATE})["code"] == \
        "invalid_parameter"


@pytest.mark.parametrize("path,extra", [("/delete_draft", {}), ("/duplicate_draft", {}),
                                        ("/rename_draft", {"name": "n"})])
def test_ids_are_checked_before_the_store_is_asked(client, path, extra):
    for bad in ("../etc/passwd", "a b", "ü", "d" * 129, ["x"], 5):
        assert "'draft_id'" in fail(client, path, {"draft_id": bad, **extra}, "invalid_parameter")
    assert raw_post(client, path, {"draft_id": "d" + SURROGATE, **extra})["code"] == "invalid_parameter"
    for unknown in ("dfd_cat_1_deadbeef", ".", ".."):
        assert "does not exist" in fail(client, path, {"draft_id": unknown, **extra}, "draft_not_found")
    fail(client, path, {**extra}, "missing_parameter")


# --- duplicating ------------------------------------------------------------------------------

def test_duplicate_copies_the_document_under_a_new_id_without_history(client):
    original = new_draft(client, width=1280, height=720)
    ok(client, "/add_text", {"draft_id": original, "text": "hello", "start": 0, "end": 2})
    ok(client, "/rename_draft", {"draft_id": original, "name": "Promo"})
    tick()
    out = ok(client, "/duplicate_draft", {"draft_id": original})
    copy = out["draft_id"]
    assert DRAFT_ID.match(copy) and copy != original
    assert out == {"draft_id": copy, "draft_url": f"http://127.0.0.1:9001/drafts/{copy}", "name": "Promo copy"}
    cache = ctx_of(client).cache
    a, b = cache.read(original, lambda d: d.model_copy(deep=True)), cache.read(copy, lambda d: d.model_copy(deep=True))
    assert (b.tracks, b.materials, b.canvas, b.profile) == (a.tracks, a.materials, a.canvas, a.profile)
    assert (b.undo, b.redo, b.name) == ([], [], "Promo copy") and b.created_at > a.created_at and a.undo
    assert listed(client) == [copy, original] and listed(client, name="copy") == [copy]
    ok(client, "/add_text", {"draft_id": copy, "text": "only in the copy", "start": 2, "end": 3})
    assert "only in the copy" not in ok(client, "/query_script", {"draft_id": original})
    assert ok(client, "/duplicate_draft", {"draft_id": original, "name": " Take 2 "})["name"] == "Take 2"


def test_the_default_name_of_a_copy_stays_within_the_limit(client):
    draft = new_draft(client)
    ok(client, "/rename_draft", {"draft_id": draft, "name": "n" * 200})
    name = ok(client, "/duplicate_draft", {"draft_id": draft})["name"]
    assert name == "n" * 195 + " copy"
    ok(client, "/rename_draft", {"draft_id": ok(client, "/duplicate_draft", {"draft_id": draft})["draft_id"],
                                 "name": name})


# --- deleting ---------------------------------------------------------------------------------

@pytest.fixture
def oss():
    with OssTestServer() as server:
        yield server


def traces(db: Path, draft_id: str) -> dict[str, int]:
    """Rows that name the draft, per table."""
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", args).fetchone()[0]
                for table, where, args in [
                    ("drafts", "draft_id = ?", (draft_id,)), ("ops", "draft_id = ?", (draft_id,)),
                    ("draft_index", "draft_id = ?", (draft_id,)),
                    ("tasks", "draft_id = ? OR task_id LIKE ? OR record LIKE ?",
                     (draft_id, f"{draft_id}%", f"%{draft_id}%"))]}


def saved_and_rendered(svc, media_server) -> tuple[str, str]:
    """A draft with a clip and a text, saved (folder and uploaded zip) and rendered; (draft, render task)."""
    draft = svc.draft(width=320, height=180)
    svc.add("video", draft, video_url=media_server.url("v.mp4"), end=1)
    svc.add("text", draft, text="hi", start=0, end=1)
    svc.saved(draft)
    task = svc.ok("/generate_video", {"draft_id": draft, "resolution": "480P", "framerate": 5})["task_id"]
    wait_until(lambda: svc.ok("/task_status", {"task_id": task})["status"] in ("SUCCESS", "FAILED"), 90, "the render")
    assert svc.ok("/task_status", {"task_id": task})["status"] == "SUCCESS"
    return draft, task


def test_delete_leaves_no_trace_of_a_saved_and_rendered_draft(service, media_server, oss):
    svc = service(is_upload_draft=True, storage="oss", upload_retries=0,
                  oss_config={"bucket_name": "drafts", "access_key_id": TEST_KEY_ID, "access_key_secret": TEST_SECRET,
                              "endpoint": oss.endpoint, "region": TEST_REGION})
    draft, task = saved_and_rendered(svc, media_server)
    kept = svc.draft()
    svc.add("text", kept, text="stays", start=0, end=1)
    other_worker = create_worker(svc.settings)
    assert "hi" in ok(other_worker, "/query_script", {"draft_id": draft})          # cached there too
    db = svc.data_dir / "drafts.sqlite3"
    files = [svc.folder(draft), svc.data_dir / "drafts" / f"{draft}.zip", svc.data_dir / "renders" / draft]
    assert all(path.exists() for path in files) and all(traces(db, draft).values())
    assert {row[0] for row in sqlite3.connect(db).execute("SELECT task_id FROM tasks WHERE draft_id = ?",
                                                           (draft,))} >= {draft, task}

    assert svc.ok("/delete_draft", {"draft_id": draft}) == {"draft_id": draft, "deleted": True}
    assert traces(db, draft) == {"drafts": 0, "ops": 0, "draft_index": 0, "tasks": 0}
    assert not any(path.exists() or path.is_symlink() for path in files)
    lookups: list[bool] = []
    svc.ctx.cache.on_lookup = lookups.append
    assert not svc.ctx.cache.exists(draft) and lookups == [False]           # no cached copy was left
    for client in (svc.client, other_worker):
        fail(client, "/query_script", {"draft_id": draft}, "draft_not_found")
        fail(client, "/add_text", {"draft_id": draft, "text": "late"}, "draft_not_found")
        fail(client, "/query_draft_status", {"task_id": draft}, "task_not_found")
        fail(client, "/task_status", {"task_id": task}, "task_not_found")
        assert client.get(f"/drafts/{draft}").status_code == 404
        assert client.get(f"/drafts/{draft}.zip").status_code == 404
        assert client.get(f"/drafts/{draft}/renders/{task}.mp4").status_code == 404
        assert listed(client) == [kept]
    assert traces(db, draft) == {"drafts": 0, "ops": 0, "draft_index": 0, "tasks": 0}
    assert "stays" in ok(svc.client, "/query_script", {"draft_id": kept})
    assert svc.saved(kept)["success"] and svc.folder(kept).is_dir()
    fail(svc.client, "/delete_draft", {"draft_id": draft}, "draft_not_found")


def create_worker(settings):
    from capcut_drafts.web.app import create_app
    return create_app(settings).test_client()


def test_outputs_are_never_looked_for_outside_the_data_dir(settings):
    for bad in ("", ".", "..", "a/b", "../x"):
        assert manage.outputs(settings, bad) == []
    data = Path(settings.data_dir)
    assert manage.outputs(settings, "d1") == [data / "drafts" / "d1", data / "drafts" / "d1.zip",
                                              data / "renders" / "d1"]


# --- retention --------------------------------------------------------------------------------

RETENTION_S = 0.3


def retained(ctx, seconds: float = RETENTION_S):
    """`ctx` with `draft_retention_days` set to `seconds`."""
    return dataclasses.replace(ctx, settings=ctx.settings.replace(draft_retention_days=seconds / 86400))


def test_cleanup_deletes_the_drafts_idle_longer_than_the_retention(service, media_server):
    svc = service()
    idle = svc.draft()
    svc.add("video", idle, video_url=media_server.url("v.mp4"), end=1)
    svc.saved(idle)
    busy = svc.draft()
    time.sleep(RETENTION_S + 0.1)
    svc.add("text", busy, text="recent", start=0, end=1)               # a change keeps it
    ctx = retained(svc.ctx)
    assert manage.cleanup_idle_drafts(ctx) == 1
    assert traces(svc.data_dir / "drafts.sqlite3", idle) == {"drafts": 0, "ops": 0, "draft_index": 0, "tasks": 0}
    assert not svc.folder(idle).exists()
    assert listed(svc.client) == [busy]
    assert manage.cleanup_idle_drafts(ctx) == 0
    assert manage.cleanup_idle_drafts(svc.ctx) == 0                   # retention 0: off
    time.sleep(RETENTION_S + 0.1)
    assert manage.cleanup_idle_drafts(ctx) == 1 and listed(svc.client) == []


def test_one_sweep_per_host_at_a_time_and_not_again_within_the_interval(sqlite_settings):
    from capcut_drafts.web.app import create_app
    app = create_app(sqlite_settings)
    ctx = retained(app.extensions["capcut"])
    new_draft(app.test_client())
    time.sleep(RETENTION_S + 0.1)
    with FileLock(str(Path(sqlite_settings.data_dir) / "retention.lock")):       # another process sweeps
        assert manage.sweep(ctx) is None
    assert manage.sweep(ctx) == 1
    new_draft(app.test_client())
    time.sleep(RETENTION_S + 0.1)
    assert manage.sweep(ctx, min_interval=3600) is None                         # one ran moments ago
    assert manage.sweep(ctx) == 1


def test_the_web_app_sweeps_at_start_up_when_retention_is_on(sqlite_settings):
    from capcut_drafts.web.app import create_app
    first = create_app(sqlite_settings)
    assert "capcut_retention" not in first.extensions                           # off by default
    draft = new_draft(first.test_client())
    time.sleep(RETENTION_S + 0.1)
    app = create_app(sqlite_settings.replace(draft_retention_days=RETENTION_S / 86400))
    sweeper = app.extensions["capcut_retention"]
    try:
        wait_until(lambda: not SqliteStore(str(Path(sqlite_settings.data_dir) / "drafts.sqlite3")).load(draft) and
                   (Path(sqlite_settings.data_dir) / "retention.last").exists(), 10, "the start-up sweep")
    finally:
        sweeper.stop()
    assert listed(app.test_client()) == []


def test_dev_py_cleanup_deletes_idle_drafts_with_the_settings(tmp_path):
    env = service_env(tmp_path, store="sqlite")
    store = SqliteStore(str(tmp_path / "data" / "drafts.sqlite3"))
    store.create("dfd_cat_1_00000001", json.dumps({"id": "dfd_cat_1_00000001"}))
    time.sleep(RETENTION_S + 0.1)

    def cleanup(days: str) -> str:
        done = subprocess.run([sys.executable, "dev.py", "cleanup"], cwd=REPO_ROOT, capture_output=True, text=True,
                              env={**env, "CAPCUT_DRAFT_RETENTION_DAYS": days}, timeout=240)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert cleanup("0") == "draft_retention_days is 0: drafts are kept, there is nothing to clean up."
    assert store.list_drafts(0, 10)[1] == 1
    assert cleanup(str(RETENTION_S / 86400)) == f"Deleted 1 drafts unchanged for {RETENTION_S / 86400:g} days."
    assert store.list_drafts(0, 10) == ([], 0) and store.load("dfd_cat_1_00000001") is None


# --- access -----------------------------------------------------------------------------------

def test_get_drafts_needs_the_api_key_and_the_draft_page_still_opens(tmp_path):
    from capcut_drafts.web.app import create_app
    client = create_app(make_settings(tmp_path, store="memory", api_keys=["k" * 32])).test_client()
    key = {"X-API-Key": "k" * 32}
    created = client.post("/create_draft", json={}, headers=key).get_json()["output"]
    for resp in (client.get("/drafts"), client.post("/list_drafts", json={})):
        assert resp.status_code == 401 and resp.get_json()["code"] == "unauthorized"
    assert client.get("/drafts", headers=key).get_json()["output"]["total"] == 1
    assert client.get("/drafts", headers={"Authorization": "Bearer " + "k" * 32}).status_code == 200
    page_link = created["draft_url"].replace("http://127.0.0.1:9001", "")
    assert client.get(page_link).status_code == 200                          # the signed draft page
    signature = page_link.split("?", 1)[1]
    assert client.get(f"/drafts?{signature}").status_code == 401              # a draft's link lists nothing
    assert client.get(f"/drafts/{created['draft_id']}").status_code == 401    # unsigned page: locked
