"""Helpers the test modules import (`from helpers import post, ok, new_draft`); fixtures live in
the conftest.py files and are never imported.

* `check_envelope(reply)`: the success/output/error reply shape, with a `code` on failures.
* `post(client, path, body)`: POST a JSON body through a Flask test client, check HTTP 200 and the
  envelope, return the decoded reply; `ok(...)` also checks success and returns `output`;
  `fail(..., code)` checks the failure code and returns the message; `new_draft(client)`.
* `make_settings(data_dir, **overrides)`: default Settings that never read config.json.
* `track`/`segments`/`only_segment`: read a built draft document by track name.
* `free_port()`, `wait_until(predicate, seconds, what)`, `stop_process(proc)`: for tests that
  start processes and servers.

The other modules, one per kind: `helpers.media` (generated media and the loopback MediaServer),
`helpers.oss_server` (an OSS-compatible server), `helpers.redis` (the test Redis, a TCP proxy in
front of it), `helpers.storage` (draft zips, publishing, fetching), `helpers.processes` (gunicorn,
huey consumers and HTTP clients of real processes), `helpers.store` (drafts, plans and reads for
the store tests), `helpers.save` (the save tests' service wrapper), `helpers.lint` (capcut-cli lint).
"""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from capcut_drafts.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def _reference_dir() -> Path:
    """The app-written reference drafts: $CAPCUT_REFERENCE_DIR, else ../shared/reference beside the
    checkout, else /work/shared/reference (where a clone elsewhere on this machine finds them)."""
    candidates = [os.environ.get("CAPCUT_REFERENCE_DIR"), REPO_ROOT.parent / "shared" / "reference",
                  "/work/shared/reference"]
    found = [Path(c) for c in candidates if c and Path(c, "drafts").is_dir()]
    return found[0] if found else Path(candidates[1])


REFERENCE = _reference_dir()


def require_reference() -> Path:
    """REFERENCE, or skip the test where the references are absent (fail instead under CI=true)."""
    if not (REFERENCE / "drafts").is_dir():
        message = f"the app-written reference drafts are not at {REFERENCE} (set CAPCUT_REFERENCE_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return REFERENCE
ENVELOPE_KEYS = {"success", "output", "error"}
PROFILES = ("capcut", "jianying")      # the two catalogue families


def check_envelope(data) -> dict:
    """The reply shape every route keeps: success/output/error, plus a stable `code` on failure."""
    assert isinstance(data, dict), f"reply is not a JSON object: {data!r}"
    assert set(data) >= ENVELOPE_KEYS, f"envelope keys missing: {sorted(data)}"
    assert isinstance(data["success"], bool) and isinstance(data["error"], str)
    if data["success"]:
        assert data["error"] == ""
    else:
        assert data["output"] == "" and data["error"], data
        assert isinstance(data.get("code"), str) and data["code"], f"failure without a code: {data}"
    return data


def post(client, path: str, body) -> dict:
    """POST `body` as JSON (Python's json, so NaN and Infinity go out as the literals hostile clients
    send; the app's own encoder would write null); asserts HTTP 200 and the envelope, returns the
    decoded reply."""
    resp = client.post(path, data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 200, f"{path} answered HTTP {resp.status_code}: {resp.get_data(as_text=True)[:500]}"
    return check_envelope(resp.get_json())


def ok(client, path: str, body: dict):
    """POST that must succeed; returns `output`."""
    reply = post(client, path, body)
    assert reply["success"], f"{path} failed: {reply['error']}"
    return reply["output"]


def fail(client, path: str, body, code: str) -> str:
    """POST that must fail with `code`; returns the error message."""
    reply = post(client, path, body)
    assert reply["success"] is False, f"{path} unexpectedly succeeded: {reply['output']}"
    assert reply["code"] == code, reply
    return reply["error"]


def new_draft(client, **body) -> str:
    return ok(client, "/create_draft", body)["draft_id"]


def make_settings(data_dir, **overrides) -> Settings:
    """Default settings with the given data_dir and overrides (never reads config.json)."""
    return Settings().replace(data_dir=str(data_dir), **overrides)


# -- reading the built draft JSON ------------------------------------------------------------

def track(doc: dict, name: str) -> dict:
    """The one track called `name` in a built draft."""
    found = [t for t in doc["tracks"] if t["name"] == name]
    assert len(found) == 1, f"track {name!r}: {[t['name'] for t in doc['tracks']]}"
    return found[0]


def segments(doc: dict, track_name: str) -> list[dict]:
    return track(doc, track_name)["segments"]


def only_segment(doc: dict, track_name: str) -> dict:
    found = segments(doc, track_name)
    assert len(found) == 1, found
    return found[0]


# -- processes and servers started by tests --------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, seconds: float, what: str, interval: float = 0.05):
    """Call `predicate` every `interval` seconds until it returns something true, and return that;
    fail the test with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def import_reference(client, name: str) -> str:
    """Import reference draft `name` (../shared/reference/drafts) as the app keeps it, its JSON files
    zipped under one folder, through POST /import_draft; the new draft's id."""
    folder = require_reference() / "drafts" / name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.json")):
            archive.write(path, f"{name}/{path.relative_to(folder)}")
    reply = client.post("/import_draft", data={"file": (io.BytesIO(buffer.getvalue()), "draft.zip")},
                        content_type="multipart/form-data").get_json()
    assert reply["success"], reply
    return reply["output"]["draft_id"]
