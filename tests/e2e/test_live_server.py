"""`python app.py` as a real process: a client talks to it over HTTP with `requests`."""
from __future__ import annotations

import json
import re

import requests


def call(base: str, path: str, body: dict) -> dict:
    resp = requests.post(base + path, json=body, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    reply = resp.json()
    assert reply["success"], reply["error"]
    return reply["output"]


def test_create_add_and_query_over_http(live_server):
    created = call(live_server, "/create_draft", {"width": 1080, "height": 1920})
    d = created["draft_id"]
    assert re.match(r"^dfd_cat_\d+_[0-9a-f]{8}$", d)
    added = call(live_server, "/add_video", {"draft_id": d, "video_url": "http://127.0.0.1:1/clip.mp4",
                                             "start": 0, "end": 4, "target_start": 1, "track_name": "video_main"})
    assert added.items() >= created.items()             # same draft, same link, plus what was created
    assert added["track_name"] == "video_main" and added["segment_id"]
    output = call(live_server, "/query_script", {"draft_id": d, "force_update": False})
    assert isinstance(output, str)
    doc = json.loads(output)
    assert (doc["canvas_config"]["width"], doc["canvas_config"]["height"]) == (1080, 1920)
    [track] = doc["tracks"]
    [segment] = track["segments"]
    assert (track["name"], track["type"]) == ("video_main", "video")
    assert segment["target_timerange"] == {"start": 1_000_000, "duration": 4_000_000}


def test_errors_over_http_keep_the_envelope(live_server):
    resp = requests.post(live_server + "/add_video", data="{oops", headers={"Content-Type": "application/json"},
                         timeout=10)
    assert resp.status_code == 200
    reply = resp.json()
    assert (reply["success"], reply["output"], reply["code"]) == (False, "", "malformed_json") and reply["error"]
    resp = requests.get(live_server + "/add_video", timeout=10)
    assert resp.status_code == 405 and resp.json()["code"] == "method_not_allowed"


def test_drafts_persist_in_the_configured_data_dir(live_server, tmp_path):
    call(live_server, "/create_draft", {})
    assert (tmp_path / "data" / "drafts.sqlite3").exists()
