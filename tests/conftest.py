"""Shared fixtures for the service tests.

* `settings` / `app` / `client`: an app on the in-memory store (nothing touches the disk except
  the per-test tmp data_dir), driven through Flask's test client.
* `sqlite_settings`: the same settings on a real SQLite file under the test's tmp dir; build
  `create_app(sqlite_settings)` twice to get two "workers" sharing one database.
* `post(client, path, body)`: POST a JSON body, check HTTP 200 and the envelope, return the
  decoded reply. Import it in a test module with `from conftest import post`.
* `live_server`: `python app.py` as a real process on 127.0.0.1; yields its base URL.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from capcut_drafts.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVELOPE_KEYS = {"success", "output", "error"}


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
    """POST `body` as JSON; asserts HTTP 200 and the envelope, returns the decoded reply."""
    resp = client.post(path, json=body)
    assert resp.status_code == 200, f"{path} answered HTTP {resp.status_code}: {resp.get_data(as_text=True)[:500]}"
    return check_envelope(resp.get_json())


def make_settings(data_dir, **overrides) -> Settings:
    """Default settings with the given data_dir and overrides (never reads config.json)."""
    return Settings().replace(data_dir=str(data_dir), **overrides)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """In-memory store, data_dir in the test's tmp dir."""
    return make_settings(tmp_path, store="memory")


@pytest.fixture
def app(settings):
    from capcut_drafts.web.app import create_app  # imported here so a broken app never blocks unrelated test files
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    """SQLite store on `<tmp>/data/drafts.sqlite3`; every app built from it shares that file."""
    return make_settings(tmp_path / "data", store="sqlite")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(tmp_path):
    """`python app.py` in a subprocess on a free 127.0.0.1 port, data_dir `<tmp_path>/data` and an
    empty config file (a developer's config.json is not read). Yields the base URL; stops the process."""
    port = _free_port()
    config = tmp_path / "config.json"
    config.write_text("{}", encoding="utf-8")
    env = {**os.environ, "CAPCUT_PORT": str(port), "CAPCUT_HOST": "127.0.0.1",
           "CAPCUT_DATA_DIR": str(tmp_path / "data"), "CAPCUT_CONFIG": str(config)}
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                if requests.get(base + "/get_mask_types", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer on {base} within 30 s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield base
    finally:
        stop_process(proc)


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


# -- processes started by tests --------------------------------------------------------------

def stop_process(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- drafts for route tests ------------------------------------------------------------------

PROFILES = ("capcut", "jianying")      # the two catalogue families


@pytest.fixture(params=PROFILES)
def profile(request) -> str:
    return request.param


@pytest.fixture
def any_draft(client, profile) -> str:
    """An empty draft of each profile (for behaviour that depends on the catalogue family)."""
    return new_draft(client, profile=profile)


@pytest.fixture
def draft(client) -> str:
    return new_draft(client)
