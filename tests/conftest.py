"""Fixtures shared by the whole suite (helpers that test modules import live in tests/helpers/;
fixtures used by one folder only are in that folder's conftest.py).

* `settings` / `app` / `client`: an app on the in-memory store (nothing touches the disk except
  the per-test tmp data_dir), driven through Flask's test client.
* `sqlite_settings`: the same settings on a real SQLite file under the test's tmp dir; build
  `create_app(sqlite_settings)` twice to get two "workers" sharing one database.
* `profile` (each catalogue family), `any_draft` (an empty draft of each profile), `draft` (an
  empty draft).
* `live_server`: `python app.py` as a real process on 127.0.0.1; yields its base URL.
* `media_server`: a MediaServer on 127.0.0.1 serving the folder's `media_dir` fixture;
  `service(**overrides)`: a `helpers.save.Service` (an app on a fresh SQLite data_dir that may
  fetch from 127.0.0.1), closed after the test.
* `redis_url`: the test Redis (skipped without Redis, failed under CI=true); `redis_prefix`: a key
  prefix unique to the test, every key under it deleted afterwards.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests
from helpers import PROFILES, REPO_ROOT, free_port, make_settings, new_draft, stop_process
from helpers.media import MediaServer
from helpers.redis import delete_prefix, new_prefix, require_redis
from helpers.save import Service

from capcut_drafts.settings import Settings


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


@pytest.fixture
def live_server(tmp_path):
    """`python app.py` in a subprocess on a free 127.0.0.1 port, data_dir `<tmp_path>/data` and an
    empty config file (a developer's config.json is not read). Yields the base URL; stops the process."""
    port = free_port()
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


# -- drafts for route tests ------------------------------------------------------------------

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


# -- Redis -----------------------------------------------------------------------------------

@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def redis_prefix(redis_url):
    prefix = new_prefix()
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
def media_server(media_dir):
    """A MediaServer on 127.0.0.1 serving `media_dir`."""
    with MediaServer(media_dir) as s:
        yield s


@pytest.fixture
def service(tmp_path):
    """service(**overrides) -> a Service on a fresh SQLite data_dir; 127.0.0.1 may be fetched unless
    the overrides say otherwise."""
    made = []

    def build(**overrides) -> Service:
        overrides.setdefault("fetch_allow_hosts", ["127.0.0.1"])
        svc = Service(make_settings(tmp_path / f"data{len(made)}", store="sqlite", **overrides))
        made.append(svc)
        return svc

    yield build
    for svc in made:
        svc.close()
