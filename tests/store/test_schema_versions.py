"""Stored drafts carry a schema version, and drafts stored by older code still read the same.

tests/data/drafts_v1/capcut_full.json holds the rows of a SQLite store written by the code before
schema versions (version 1, commit 8068a68), parsed: a draft with every kind of clip, text styles, subtitles,
effects, a filter track, a sticker, keyframes, two open-ended clips and the probed metadata of
one of them, saved with snapshot_every=5 (a snapshot at seq 15, ops 1–19). Its `requests` list
what was sent. capcut_full.query.json is what /query_script answers for it; it was recorded then and
re-recorded only when the draft format changed on purpose (issue 15: layering as the apps write
it, app-owned values, style ranges without their defaults; the diff of that re-recording changed
nothing but those values). Nothing in that reply depends on the time it was made (ids derive from
the draft id), so it is compared whole.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from capcut_drafts.model import migrations
from capcut_drafts.model.migrations import SCHEMA_VERSION, NewerSchema
from capcut_drafts.model.timeline import Draft
from capcut_drafts.settings import Settings
from capcut_drafts.store import cache as cache_module
from capcut_drafts.store.cache import DraftCache
from capcut_drafts.store.memory import MemoryStore
from capcut_drafts.store.sqlite import SqliteStore
from capcut_drafts.web.app import create_app

DATA = Path(__file__).resolve().parent.parent / "data" / "drafts_v1"
V1 = json.loads((DATA / "capcut_full.json").read_text(encoding="utf-8"))
V1_QUERY = json.loads((DATA / "capcut_full.query.json").read_text(encoding="utf-8"))
DRAFT_ID = V1["draft_id"]


def stored(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_v1_store(path: Path, with_snapshot: bool = True) -> None:
    """The v1 rows into a fresh SQLite store: the draft's first snapshot, every op, and (as the old
    code left it) the snapshot at seq 15 in place of the first."""
    store = SqliteStore(str(path))
    try:
        store.create(DRAFT_ID, stored(V1["initial_snapshot"]))
        for seq, op in V1["ops"]:
            assert store.append(DRAFT_ID, seq, stored(op))
        if with_snapshot:
            store.save_snapshot(DRAFT_ID, V1["snapshot_seq"], stored(V1["snapshot"]))
    finally:
        store.close()


def app_on(data_dir: Path):
    """A new app (its own draft cache, as another process) on the SQLite store under `data_dir`, with
    the settings the v1 data was made with."""
    settings = Settings().replace(data_dir=str(data_dir), store="sqlite", snapshot_every=5, prefetch_on_add=False)
    return create_app(settings).test_client()


def post(client, path: str, body: dict) -> dict:
    reply = client.post(path, json=body)
    assert reply.status_code == 200
    return reply.get_json()


def query(client) -> dict:
    return post(client, "/query_script", {"draft_id": DRAFT_ID})


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


# --- the stored v1 data ---------------------------------------------------------------------------

def test_the_test_data_is_version_1():
    """Guards the fixture: regenerating it with new code would make every test below pass vacuously."""
    assert "schema_version" not in V1["snapshot"] and "schema_version" not in V1["initial_snapshot"]
    assert all("v" not in op for _, op in V1["ops"])
    segment = V1["snapshot"]["tracks"][0]["segments"][0]
    assert {"source_start_us", "target_start_us", "clip"} <= set(segment)
    assert {op["op"] for _, op in V1["ops"]} == {"add_segment", "add_keyframes", "set_media"}   # every v1 kind
    assert V1["snapshot_seq"] == 15 and [seq for seq, _ in V1["ops"]] == list(range(1, 20))


@pytest.mark.parametrize("with_snapshot", [True, False], ids=["snapshot+ops", "whole-log"])
def test_a_v1_store_answers_query_script_exactly_as_it_did(data_dir, with_snapshot):
    write_v1_store(data_dir / "drafts.sqlite3", with_snapshot)
    assert query(app_on(data_dir)) == V1_QUERY


def test_new_ops_append_after_the_old_ones_and_a_v2_snapshot_follows(data_dir):
    path = data_dir / "drafts.sqlite3"
    write_v1_store(path)
    client = app_on(data_dir)
    reply = post(client, "/add_text", {"draft_id": DRAFT_ID, "text": "after the upgrade", "start": 40, "end": 42,
                                       "track_name": "title"})
    assert reply["success"], reply
    fresh = query(app_on(data_dir))                 # another process: v2 snapshot at 20, no ops after
    assert fresh == query(client)
    content = json.loads(fresh["output"])
    title = next(t for t in content["tracks"] if t["name"] == "title")
    assert [s["target_timerange"] for s in title["segments"]] == [
        {"start": 0, "duration": 3_000_000}, {"start": 40_000_000, "duration": 2_000_000}]

    store = SqliteStore(str(path))
    try:
        log = store.load(DRAFT_ID, after_seq=0)
        snapshot = store.load(DRAFT_ID)
    finally:
        store.close()
    ops = [json.loads(op) for _, op in log.ops]
    assert ops[:19] == [op for _, op in V1["ops"]]           # the old ops stay as they were written
    [segment] = ops[19]["segments"]
    assert ops[19]["v"] == SCHEMA_VERSION and segment["target"] == {"start_us": 40_000_000, "duration_us": 2_000_000}
    assert "target_start_us" not in segment and "transform" in segment
    assert snapshot.snapshot_seq == 20 and snapshot.ops == []
    assert json.loads(snapshot.snapshot)["schema_version"] == SCHEMA_VERSION


def test_a_v1_op_after_a_v2_snapshot_still_replays():
    """A rolling restart: an old process appends a v1 op after a new one wrote a v2 snapshot."""
    store = MemoryStore()
    v2 = migrations.upgrade_draft(V1["initial_snapshot"])
    store.create(DRAFT_ID, stored(v2))
    first_v1_op = V1["ops"][0][1]
    assert store.append(DRAFT_ID, 1, stored(first_v1_op))
    segments = DraftCache(store).read(DRAFT_ID, lambda d: d.tracks[0].segments)
    [segment] = segments
    assert (segment.source.start_us, segment.source.duration_us) == (1_000_000, 5_000_000)
    assert (segment.target.start_us, segment.target.duration_us) == (0, 5_000_000)
    assert segment.transform is not None and segment.transform.scale_x == 1.2


# --- the migrations ---------------------------------------------------------------------------------

V1_SEGMENT = {"id": "s", "material_id": "m", "source_start_us": 1, "source_duration_us": 2,
              "target_start_us": 3, "target_duration_us": None, "speed": 2.0,
              "clip": {"transform_x": 0.5}, "order": 4}


def test_segment_v1_to_v2_moves_each_field():
    assert migrations.segment_v1_to_v2(V1_SEGMENT) == {
        "id": "s", "material_id": "m", "speed": 2.0, "order": 4, "transform": {"transform_x": 0.5},
        "source": {"start_us": 1, "duration_us": 2}, "target": {"start_us": 3, "duration_us": None}}


def test_segment_v1_to_v2_fills_what_an_op_left_out_as_defaults():
    """Ops were written with exclude_defaults: a text segment has only its target start."""
    assert migrations.segment_v1_to_v2({"id": "t", "target_start_us": 5}) == {
        "id": "t", "source": {"start_us": 0, "duration_us": None}, "target": {"start_us": 5, "duration_us": None}}


def test_migrations_are_pure():
    before = copy.deepcopy(V1)
    migrations.upgrade_draft(V1["snapshot"])
    for _, op in V1["ops"]:
        migrations.upgrade_op(op)
    assert before == V1


def test_one_step_per_version():
    assert len(migrations.DRAFT_STEPS) == len(migrations.OP_STEPS) == SCHEMA_VERSION - 1


def test_a_v1_snapshot_needs_the_upgrade_and_validates_after_it():
    with pytest.raises(ValueError):
        Draft.model_validate(V1["snapshot"])
    draft = Draft.model_validate(migrations.upgrade_draft(V1["snapshot"]))
    assert draft.schema_version == SCHEMA_VERSION
    assert draft.segment_count() == sum(len(t["segments"]) for t in V1["snapshot"]["tracks"])


def test_the_current_version_passes_unchanged():
    current = json.loads(Draft.model_validate(migrations.upgrade_draft(V1["snapshot"])).model_dump_json())
    assert current["schema_version"] == SCHEMA_VERSION
    assert migrations.upgrade_draft(current) == current
    op = migrations.stamp_op({"op": "add_keyframes", "keyframes": []})
    assert op == {"op": "add_keyframes", "keyframes": [], "v": SCHEMA_VERSION}
    assert migrations.upgrade_op(op) == op


def test_snapshots_written_now_take_the_fast_path_and_others_the_upgrades(monkeypatch):
    draft = Draft.model_validate(migrations.upgrade_draft(V1["snapshot"]))
    text = draft.model_dump_json()
    assert text.startswith(f'{{"schema_version":{SCHEMA_VERSION},')
    upgraded = []

    def upgrade(doc: dict) -> dict:
        upgraded.append(doc)
        return doc
    monkeypatch.setattr(migrations, "upgrade_draft", upgrade)
    assert cache_module._load_draft(text) == draft and upgraded == []
    spaced = json.dumps(json.loads(text), indent=1)       # same document, another layout
    assert cache_module._load_draft(spaced) == draft and len(upgraded) == 1


def test_json_from_a_newer_release_is_refused_not_misread():
    with pytest.raises(NewerSchema, match="schema version 3"):
        migrations.upgrade_draft({**V1["snapshot"], "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(NewerSchema):
        migrations.upgrade_op({"op": "add_keyframes", "keyframes": [], "v": SCHEMA_VERSION + 1})


@pytest.mark.parametrize("version", [0, -1, "2", 1.0, True, None])
def test_an_invalid_version_is_refused(version):
    with pytest.raises(ValueError, match="invalid schema version"):
        migrations.upgrade_op({"op": "add_keyframes", "keyframes": [], "v": version})
