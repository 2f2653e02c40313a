"""Fixtures of the store tests: the same store on the same data, opened as often as a test asks."""
from __future__ import annotations

import pytest

from capcut_drafts.store.memory import MemoryStore
from capcut_drafts.store.sqlite import SqliteStore


@pytest.fixture
def open_redis_store(redis_url, redis_prefix):
    """open_redis_store(**kwargs) -> a new RedisStore (a new process) on this test's key prefix;
    every store it opened is closed after the test."""
    from capcut_drafts.store.redis import RedisStore
    opened = []

    def factory(**kwargs):
        store = RedisStore(redis_url, prefix=redis_prefix, **kwargs)
        opened.append(store)
        return store
    yield factory
    for store in opened:
        store.close()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def open_store(request, tmp_path):
    """Factory that opens the store again on the same data, as a second process would (memory: the
    one shared instance; SQLite: a new SqliteStore on the same file; Redis: a new RedisStore on the
    same server and key prefix, skipped without Redis except under CI=true)."""
    if request.param == "redis":
        yield request.getfixturevalue("open_redis_store")
        return
    opened = []
    if request.param == "memory":
        shared = MemoryStore()

        def factory():
            return shared
    else:
        path = str(tmp_path / "drafts.sqlite3")

        def factory():
            store = SqliteStore(path)
            opened.append(store)
            return store
    yield factory
    for store in opened:
        store.close()
