"""Fixtures of the real-process tests: gunicorn services started on demand, and a Redis database
of their own.

* `gunicorns(tmp_path, workers=2, **settings)`: start a `helpers.processes.Gunicorn`; every one
  started is stopped after the test.
* `redis_db`: database `CAPCUT_FAULT_REDIS_DB` (default 12) of the test Redis server, emptied
  (FLUSHDB) before and after the test: that database belongs to these tests. Skipped without
  Redis, failed under CI=true.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from helpers.processes import Gunicorn
from helpers.redis import redis_url_for_tests, require_redis


def fault_redis_url() -> str:
    """The test Redis server (helpers.redis), database CAPCUT_FAULT_REDIS_DB (12)."""
    parts = urlsplit(redis_url_for_tests())
    db = os.environ.get("CAPCUT_FAULT_REDIS_DB", "12")
    return urlunsplit((parts.scheme, parts.netloc, f"/{int(db)}", "", ""))


def _flush(url: str) -> None:
    import redis
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def redis_db():
    """The URL of the fault tests' own Redis database, empty before and after the test."""
    url = require_redis(fault_redis_url())
    _flush(url)
    yield url
    _flush(url)


@pytest.fixture
def gunicorns():
    """gunicorns(tmp_path, **settings) -> a started Gunicorn; all are stopped after the test."""
    made: list[Gunicorn] = []

    def start(tmp_path: Path, workers: int = 2, **settings: str) -> Gunicorn:
        made.append(Gunicorn(tmp_path, workers, **settings).start())
        return made[-1]
    yield start
    for g in made:
        g.stop()
