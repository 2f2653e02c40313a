"""Odd and hostile input, route by route: every value the edge cannot take is refused there with a
precise code, and nothing a refused request sent reaches the store.

Each route's documented example (the OpenAPI examples) is sent with one field replaced by a lone
surrogate, NaN, a subnormal number, a deep nesting or a huge list; the reply must be the envelope
with a code other than `internal_error`, and the draft must be what it was before.
"""
from __future__ import annotations

import copy
import json
import multiprocessing
import os
import sqlite3
import threading
import time
import uuid

import pytest
from helpers import check_envelope, fail, make_settings, new_draft, ok, post

from capcut_drafts.api.registry import BY_PATH as ROUTES
from capcut_drafts.routes.schema import MAX_DEPTH
from capcut_drafts.store.sqlite import SqliteStore

POST_PATHS = sorted(ROUTES)
SURROGATE = "\ud800"


@pytest.fixture
def quiet_client(tmp_path):
    """The in-memory app without background prefetch (the examples name example.com media)."""
    from capcut_drafts.web.app import create_app
    return create_app(make_settings(tmp_path, store="memory", prefetch_on_add=False)).test_client()


def raw_post(client, path: str, text: str) -> dict:
    resp = client.post(path, data=text.encode("utf-8", "surrogatepass"), content_type="application/json")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return check_envelope(resp.get_json())


def example_for(client, path: str) -> dict:
    body = copy.deepcopy(dict(ROUTES[path].example))
    if "draft_id" in body:
        body["draft_id"] = new_draft(client)
    if "task_id" in body:
        body["task_id"] = new_draft(client)
    return body


def state(client, body: dict) -> str | None:
    """The draft's JSON as stored, to prove a refused request changed nothing."""
    draft_id = body.get("draft_id") or body.get("task_id")
    if not draft_id:
        return None
    return ok(client, "/query_script", {"draft_id": draft_id})


def top_fields(body: dict) -> list[str]:
    return [key for key in body if key not in ("draft_id", "task_id")] or list(body)


def variants(body: dict, field: str):
    """(label, raw JSON text) for each hostile replacement of `field`."""
    def with_value(value) -> str:
        changed = dict(body, **{field: value})
        return json.dumps(changed, ensure_ascii=True, allow_nan=True)
    yield "surrogate", with_value(SURROGATE), "invalid_parameter"
    yield "surrogate in a list", with_value(["ok", "x" + SURROGATE]), None
    yield "NaN", with_value(float("nan")), None
    yield "subnormal", with_value(1e-320), None
    yield "negative subnormal", with_value(-1e-320), None
    yield "deep list", with_value(json.loads("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5))), "nesting_too_deep"
    yield "huge list", with_value(list(range(100_000))), None


@pytest.mark.parametrize("path", POST_PATHS)
def test_every_field_of_every_route_survives_hostile_values(quiet_client, path):
    body = example_for(quiet_client, path)
    before = state(quiet_client, body)
    for field in top_fields(body):
        for label, text, expected in variants(body, field):
            reply = raw_post(quiet_client, path, text)
            where = f"{path} {field} = {label}"
            assert reply.get("code") != "internal_error", f"{where}: {reply}"
            if expected is not None:
                assert reply["success"] is False and reply["code"] == expected, f"{where}: {reply}"
            after = state(quiet_client, body)
            if not reply["success"]:
                assert after == before, f"{where} was refused but changed the draft"
            before = after


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_nesting_beyond_the_parser_is_refused_with_its_own_code(quiet_client, path, depth):
    reply = raw_post(quiet_client, path, '{"draft_id": ' + "[" * depth + "]" * depth + "}")
    assert reply["code"] == "nesting_too_deep" and str(MAX_DEPTH) in reply["error"]


def refused(client, path: str, body: dict, code: str) -> str:
    """POST `body` with non-ASCII escaped (as most clients send it); must fail with `code`."""
    reply = raw_post(client, path, json.dumps(body))
    assert reply["success"] is False and reply["code"] == code, reply
    return reply["error"]


def test_surrogates_are_named_in_the_message_wherever_they_are(quiet_client):
    draft = new_draft(quiet_client)
    message = refused(quiet_client, "/add_text", {"draft_id": draft, "text": "ok", "text_styles": [
        {"start": 0, "end": 1, "font": "x" + SURROGATE}]}, "invalid_parameter")
    assert "text_styles[0].font" in message and "\\ud800" in message
    message = refused(quiet_client, "/add_text", {"draft_id": draft, "text": "ok", "style" + SURROGATE: 1},
                      "invalid_parameter")
    assert "style\\ud800" in message
    for field in ("text", "track_name", "font", "srt", "profile"):
        route = "/add_subtitle" if field == "srt" else "/create_draft" if field == "profile" else "/add_text"
        body = {"draft_id": draft, "text": "ok", field: "a" + SURROGATE + "b"}
        assert f"'{field}'" in refused(quiet_client, route, body, "invalid_parameter")


def test_surrogate_pairs_written_as_escapes_are_ordinary_text(quiet_client):
    draft = new_draft(quiet_client)
    reply = raw_post(quiet_client, "/add_text", json.dumps({"draft_id": draft, "text": "smile \U0001F600"}))
    assert reply["success"], reply
    assert "\U0001F600" in ok(quiet_client, "/query_script", {"draft_id": draft})


def test_nan_inside_lists_and_objects_is_refused(quiet_client):
    draft = new_draft(quiet_client)
    body = {"draft_id": draft, "effect_type": "Blur", "params": [float("nan")]}
    assert "params[0]" in fail(quiet_client, "/add_effect", body, "invalid_parameter")


def test_absurd_speeds_are_clamped_or_refused_not_overflowed(quiet_client):
    draft = new_draft(quiet_client)
    for speed in (0, -1, -1e-320):
        message = fail(quiet_client, "/add_video", {"draft_id": draft, "video_url": "https://example.com/a.mp4",
                                                     "end": 5, "speed": speed}, "invalid_parameter")
        assert "'speed'" in message and "above 0" in message
    for speed, used in ((1e-320, 0.1), (1e-9, 0.1), (1e9, 100)):
        reply = post(quiet_client, "/add_video", {"video_url": "https://example.com/a.mp4", "end": 5, "speed": speed})
        assert reply["success"] and f"outside the app's range 0.1 to 100; {used:g} was used." in reply["warnings"][0]
    ok(quiet_client, "/add_video", {"draft_id": draft, "video_url": "https://example.com/a.mp4", "end": 5,
                                     "speed": 100})


# -- ids are checked before the store is asked -------------------------------------------------

def test_malformed_ids_are_refused_before_the_store_is_touched(tmp_path, sqlite_settings):
    from capcut_drafts.web.app import create_app
    client = create_app(sqlite_settings).test_client()
    db = os.path.join(sqlite_settings.data_dir, "drafts.sqlite3")
    size_before = os.path.getsize(db)
    huge = "d" * 3_000_000
    for path, key in [("/save_draft", "draft_id"), ("/query_script", "draft_id"), ("/add_text", "draft_id"),
                      ("/query_draft_status", "task_id"), ("/generate_draft_url", "draft_id")]:
        for bad in (huge, "../etc/passwd", "a b", "ü"):
            message = fail(client, path, {key: bad, "text": "x"}, "invalid_parameter")
            assert f"'{key}'" in message and len(message) < 600
    assert os.path.getsize(db) - size_before < 64 * 1024
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0


def test_saving_an_unknown_draft_stores_nothing(tmp_path, sqlite_settings):
    from capcut_drafts.web.app import create_app
    client = create_app(sqlite_settings).test_client()
    for _ in range(5):
        fail(client, "/save_draft", {"draft_id": "dfd_cat_1_deadbeef"}, "draft_not_found")
    fail(client, "/query_draft_status", {"task_id": "dfd_cat_1_deadbeef"}, "task_not_found")
    db = os.path.join(sqlite_settings.data_dir, "drafts.sqlite3")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0


# -- the SQLite store: one bad call never poisons a connection -----------------------------------

def test_a_lone_surrogate_id_cannot_poison_the_sqlite_store(sqlite_settings):
    """The reproduction: /query_script with "\\ud800", then ordinary traffic from 8 threads, then a
    restart; every acknowledged draft and add must be there and nothing may wait on a lock."""
    from capcut_drafts.web.app import create_app
    client = create_app(sqlite_settings).test_client()
    reply = raw_post(client, "/query_script", json.dumps({"draft_id": SURROGATE}))
    assert reply["code"] == "invalid_parameter"
    acknowledged: list[tuple[str, str]] = []
    errors: list[dict] = []

    def edit(n: int) -> None:
        worker = client.application.test_client()
        for i in range(5):
            created = worker.post("/create_draft", json={}).get_json()
            added = worker.post("/add_text", json={"draft_id": created["output"]["draft_id"],
                                                   "text": f"t{n}-{i}"}).get_json()
            if added["success"]:
                acknowledged.append((created["output"]["draft_id"], f"t{n}-{i}"))
            else:
                errors.append(added)

    started = time.monotonic()
    threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(acknowledged) == 40
    assert time.monotonic() - started < 20
    restarted = create_app(sqlite_settings).test_client()
    for draft_id, text in acknowledged:
        assert text in ok(restarted, "/query_script", {"draft_id": draft_id})


def test_the_sqlite_store_ends_its_transaction_when_a_statement_raises(tmp_path):
    """Below the edge: a value SQLite cannot bind raises, and the connection is left clean."""
    store = SqliteStore(str(tmp_path / "drafts.sqlite3"))
    store.create("d1", "snap")
    with pytest.raises(UnicodeEncodeError):
        store.load(SURROGATE)
    assert not store._connect().in_transaction
    other = SqliteStore(str(tmp_path / "drafts.sqlite3"))
    other.create("d2", "snap")             # would wait 30 s on a lock left behind
    assert store.append("d1", 1, "op") is True
    assert other.load("d1").ops == [(1, "op")]


def _open_store(path: str, start: float) -> str:
    while time.time() < start:             # spin: every process opens the file in the same instant
        pass
    try:
        SqliteStore(path).create(f"d{uuid.uuid4().hex}", "snap")     # a pool worker may run twice
    except Exception as exc:  # noqa: BLE001 — reported to the parent
        return f"{type(exc).__name__}: {exc}"
    return ""


def test_workers_opening_an_empty_data_dir_together_all_start(tmp_path):
    """Before the fix about one round in six had a worker fail with "database is locked"."""
    with multiprocessing.get_context("fork").Pool(8) as pool:
        for round_ in range(30):
            path = str(tmp_path / f"r{round_}" / "drafts.sqlite3")
            failures = [f for f in pool.starmap(_open_store, [(path, time.time() + 0.05)] * 8) if f]
            assert not failures, f"round {round_}: {failures}"
            with sqlite3.connect(path) as conn:
                assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                assert conn.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 8
