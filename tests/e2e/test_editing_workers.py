"""The editing routes with real gunicorn processes: segment ids, update/move/remove, undo/redo and
the timeline, served by several workers (and several gunicorn masters) over one store. No mocks.

1. Undo across processes: two gunicorn instances (2 workers each) on one store; an edit on one,
   its undo on the other, the redo back on the first; both serve the same timeline (SQLite and
   Redis). Two masters make sure two different processes answered: which worker of one master
   takes a connection is not visible from outside.
2. Concurrency: 8 client threads against 2 workers on one draft, each adding texts on its own
   track, updating its own segments (once each) and undoing. Every acknowledged reply is kept; the
   final timeline is exactly the acknowledged adds minus what the acknowledged undos say they
   undid, with the text of the acknowledged updates not undone. A fresh DraftCache in this process
   replays the whole log serially to the same timeline (SQLite and Redis).
3. A draft edited through every kind of change (add video and text, update, move, remove, undo)
   is saved with media from a loopback server and passes `capcut-cli lint`.

Redis: the test Redis (helpers.redis, database 13) under a key prefix of this test's own, whose
keys are deleted afterwards (fixtures `redis_url`, `redis_prefix` in tests/conftest.py). Without
Redis the Redis cases skip, except under CI=true where they fail. `gunicorns` is in
tests/e2e/conftest.py.
"""
from __future__ import annotations

import json
import random
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests
from helpers import make_settings
from helpers.lint import lint
from helpers.media import MediaServer, make_video
from helpers.processes import HTTP_TIMEOUT, Api, send
from helpers.save import CONTENT_NAMES

from capcut_drafts.context import build_context
from capcut_drafts.editing.timeline import document

CLIENTS, STEPS = 8, 20


# --- talking to the service ----------------------------------------------------------------------

def call(base: str, path: str, body: dict) -> dict:
    """POST on a new connection (so any worker of the master may take it); the decoded envelope."""
    resp = requests.post(base + path, json=body, timeout=HTTP_TIMEOUT, headers={"Connection": "close"})
    assert resp.status_code == 200, f"{path}: HTTP {resp.status_code} {resp.text[:300]}"
    return resp.json()


def ok(base: str, path: str, body: dict) -> dict:
    """`call` that must succeed; its output."""
    reply = call(base, path, body)
    assert reply["success"], f"{path} {body}: {reply}"
    return reply["output"]


def timeline(base: str, draft_id: str) -> dict:
    """POST /get_timeline."""
    return ok(base, "/get_timeline", {"draft_id": draft_id})


def texts(doc: dict) -> dict[str, str]:
    """segment id -> text of every text segment of a timeline."""
    return {s["id"]: s["text"] for t in doc["tracks"] for s in t["segments"] if "text" in s}


def store_settings(store: str, request) -> dict[str, str]:
    """The CAPCUT_* settings of a service on `store`: SQLite in the data_dir, or the test Redis
    under this test's own key prefix."""
    if store == "redis":
        return {"store": "redis", "redis_url": request.getfixturevalue("redis_url"),
                "redis_key_prefix": request.getfixturevalue("redis_prefix")}
    return {"store": "sqlite"}


def mkdir(path: Path) -> Path:
    """`path`, created."""
    path.mkdir()
    return path


def rebuilt_timeline(data_dir: Path, settings: dict[str, str], draft_id: str) -> dict:
    """The timeline a new DraftCache in this process builds from the store (snapshot + log replay),
    as JSON decodes it (the shape the service answers)."""
    ctx = build_context(make_settings(data_dir, **settings), worker=True)
    try:
        return json.loads(json.dumps(ctx.cache.read(draft_id, document)))
    finally:
        ctx.media.close(wait=True)
        ctx.cache.store.close()


# === 1. undo on another process ==================================================================

@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_an_edit_on_one_master_is_undone_and_redone_on_another(store, tmp_path, request, gunicorns):
    shared = {**store_settings(store, request), "data_dir": str(tmp_path / "data")}
    a, b = (gunicorns(mkdir(tmp_path / name), **shared).base for name in "ab")
    d = ok(a, "/create_draft", {"width": 1080, "height": 1920})["draft_id"]
    one = ok(a, "/add_text", {"draft_id": d, "text": "one", "start": 0, "end": 1})
    two = ok(a, "/add_text", {"draft_id": d, "text": "two", "start": 1, "end": 2})
    assert texts(timeline(b, d)) == {one["segment_id"]: "one", two["segment_id"]: "two"}   # b holds it now

    ok(a, "/update_segment", {"draft_id": d, "segment_id": one["segment_id"], "text": "uno"})
    undone = ok(b, "/undo", {"draft_id": d})
    assert undone["undone"] == {"operation": "/update_segment", "segment_id": one["segment_id"],
                                "track_name": "text_main"}
    assert (undone["undo_left"], undone["redo_available"]) == (2, 1)
    assert texts(timeline(a, d))[one["segment_id"]] == "one"                     # a caught up with b's undo

    assert ok(a, "/undo", {"draft_id": d})["undone"]["segment_id"] == two["segment_id"]
    page = requests.get(f"{b}/drafts/{d}/timeline.json", timeout=HTTP_TIMEOUT).json()["output"]
    assert texts(page) == {one["segment_id"]: "one"}
    assert [w["operation"] for w in page["redo"]] == ["/add_text", "/update_segment"]

    assert ok(b, "/redo", {"draft_id": d})["redone"]["segment_id"] == two["segment_id"]
    assert ok(a, "/redo", {"draft_id": d})["redone"]["operation"] == "/update_segment"
    final = timeline(b, d)
    assert texts(final) == {one["segment_id"]: "uno", two["segment_id"]: "two"} and final["redo"] == []
    assert timeline(a, d) == final

    ok(b, "/undo", {"draft_id": d})
    ok(b, "/add_text", {"draft_id": d, "text": "three", "start": 2, "end": 3})   # a new edit clears redo ...
    assert call(a, "/redo", {"draft_id": d})["code"] == "nothing_to_redo"        # ... for every process
    assert timeline(a, d) == timeline(b, d)


# === 2. many clients, two workers, one draft =====================================================

class Record:
    """Every acknowledged reply of the clients, by kind; refusals by code; requests without a reply."""

    def __init__(self) -> None:
        self.adds: dict[str, tuple[str, str]] = {}      # segment id -> (text, track)
        self.updates: dict[str, str] = {}               # segment id -> its new text
        self.undone: list[dict] = []                    # what each acknowledged undo undid
        self.foreign = 0                                # undos that undid another client's change
        self.refused: Counter = Counter()
        self.unanswered: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def keep(self, path: str, body: dict, reply: dict | None, track: str) -> dict | None:
        """Record the reply to `body` on `path`, sent by the client of `track`; its output when it
        succeeded."""
        with self.lock:
            if reply is None:
                self.unanswered.append((path, body))
                return None
            if not reply["success"]:
                self.refused[f"{path} {reply['code']}"] += 1
                return None
            out = reply["output"]
            if path == "/add_text":
                self.adds[out["segment_id"]] = (body["text"], out["track_name"])
            elif path == "/update_segment":
                self.updates[out["segment_id"]] = body["text"]
            else:
                self.undone.append(out["undone"])
                self.foreign += out["undone"]["track_name"] != track
            return out

    def expected(self) -> dict[str, str]:
        """segment id -> text the draft must hold: the adds not undone, with their update unless the
        update was undone (each segment is updated at most once, so an undone update means the
        added text)."""
        undone = {(u["operation"], u["segment_id"]) for u in self.undone}
        return {sid: (self.updates[sid] if sid in self.updates and ("/update_segment", sid) not in undone else text)
                for sid, (text, _) in self.adds.items() if ("/add_text", sid) not in undone}


def client(base: str, draft_id: str, lane: int, record: Record, barrier: threading.Barrier) -> None:
    """STEPS adds of unique texts on track lane<lane>, one second each; every third step an update
    of this client's previous segment (each segment at most once); an undo every fourth step and
    at random one step in ten."""
    api = Api(base)
    rng = random.Random(lane)
    barrier.wait(timeout=30)
    track, previous = f"lane{lane}", None
    for step in range(STEPS):
        body = {"draft_id": draft_id, "text": f"c{lane}s{step}", "start": step, "end": step + 1, "track_name": track}
        out = record.keep("/add_text", body, send(api, "/add_text", body), track)
        if step % 3 == 2 and previous is not None:
            body = {"draft_id": draft_id, "segment_id": previous, "text": f"c{lane}s{step - 1}u"}
            record.keep("/update_segment", body, send(api, "/update_segment", body), track)
        if step % 4 == 3 or rng.random() < 0.1:
            body = {"draft_id": draft_id}
            record.keep("/undo", body, send(api, "/undo", body), track)
        previous = out["segment_id"] if out else None


def run_clients(base: str, draft_id: str) -> Record:
    """CLIENTS `client` threads on draft `draft_id`, started together; what they were told."""
    record = Record()
    barrier = threading.Barrier(CLIENTS)
    threads = [threading.Thread(target=client, args=(base, draft_id, lane, record, barrier), daemon=True)
               for lane in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "client threads still running after 60 s"
    return record


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_8_clients_adding_updating_and_undoing_on_one_draft_lose_nothing(store, tmp_path, request, gunicorns):
    stored = store_settings(store, request)
    svc = gunicorns(tmp_path, **stored, snapshot_every="100000")          # the rebuild replays the whole log
    d = ok(svc.base, "/create_draft", {"width": 1080, "height": 1920})["draft_id"]
    record = run_clients(svc.base, d)
    served = timeline(svc.base, d)
    undone_ops = Counter(u["operation"] for u in record.undone)
    print(f"\n[{store}] acknowledged: {len(record.adds)} adds, {len(record.updates)} updates, {len(record.undone)} "
          f"undos ({dict(undone_ops)}; {record.foreign} of another client's change); refused "
          f"{dict(record.refused)}; segments {len(texts(served))}")

    assert not record.unanswered, record.unanswered[:5]
    assert set(record.refused) <= {"/update_segment segment_not_found", "/undo nothing_to_undo"}, record.refused
    assert len(record.adds) == CLIENTS * STEPS and undone_ops["/add_text"] and record.foreign
    assert set(undone_ops) <= {"/add_text", "/update_segment"}
    assert {u["segment_id"] for u in record.undone} <= set(record.adds)    # undos undid acknowledged changes only
    assert {sid for op, sid in ((u["operation"], u["segment_id"]) for u in record.undone)
            if op == "/update_segment"} <= set(record.updates)
    assert texts(served) == record.expected()
    lanes = {s["id"]: s["track_name"] for t in served["tracks"] for s in t["segments"]}
    assert all(lanes[sid] == record.adds[sid][1] for sid in lanes)

    for _ in range(6):                                       # any worker, on new connections, serves it alike
        assert timeline(svc.base, d) == served
    assert rebuilt_timeline(tmp_path / "data", stored, d) == served


# === 3. an edited draft, saved, passes capcut-cli lint ===========================================

def edit(base: str, d: str, video_url, other_url) -> dict[str, str]:
    """Add two clips and two texts, then update, move, remove and undo; the ids by role."""
    def add(path: str, **body) -> str:
        return ok(base, path, {"draft_id": d, **body})["segment_id"]

    ids = {"first": add("/add_video", video_url=video_url, end=2),
           "second": add("/add_video", video_url=other_url, end=2, target_start=2),
           "title": add("/add_text", text="Title", start=0, end=2),
           "gone": add("/add_text", text="Gone", start=2, end=3)}
    ok(base, "/update_segment", {"draft_id": d, "segment_id": ids["title"], "text": "Hello", "font_color": "#00FF00"})
    ok(base, "/move_segment", {"draft_id": d, "segment_id": ids["first"], "target_start": 4})
    ok(base, "/remove_segment", {"draft_id": d, "segment_id": ids["gone"]})
    ok(base, "/remove_segment", {"draft_id": d, "segment_id": ids["second"]})
    assert ok(base, "/undo", {"draft_id": d})["undone"]["segment_id"] == ids["second"]
    return ids


def test_an_edited_draft_saves_and_passes_capcut_lint(tmp_path, gunicorns):
    media = mkdir(tmp_path / "media")
    make_video(media / "v1.mp4", seconds=3, size=(64, 48))
    make_video(media / "v2.mp4", seconds=3, size=(48, 64))
    with MediaServer(media) as server:
        svc = gunicorns(tmp_path, fetch_allow_hosts="127.0.0.1")
        d = ok(svc.base, "/create_draft", {"width": 1080, "height": 1920})["draft_id"]
        ids = edit(svc.base, d, server.url("v1.mp4"), server.url("v2.mp4"))
        doc = timeline(svc.base, d)
        spans = {s["id"]: s["target"] for t in doc["tracks"] for s in t["segments"]}
        assert spans == {ids["first"]: {"start": 4.0, "end": 6.0}, ids["second"]: {"start": 2.0, "end": 4.0},
                         ids["title"]: {"start": 0.0, "end": 2.0}}
        assert texts(doc) == {ids["title"]: "Hello"} and len(doc["materials"]) == 2

        folder = tmp_path / "data" / "drafts" / d
        saved = ok(svc.base, "/save_draft", {"draft_id": d, "draft_folder": str(folder.parent)})
    assert saved["status"] == "completed", saved
    content = json.loads(next(folder / n for n in CONTENT_NAMES if (folder / n).is_file()).read_bytes())
    assert [json.loads(m["content"])["text"] for m in content["materials"]["texts"]] == ["Hello"]
    assert len(content["materials"]["videos"]) == 2
    code, report = lint(folder)
    assert code == 0 and report["summary"]["errors"] == 0, report
    print(f"\nlint of the edited draft: {report['summary']}")
