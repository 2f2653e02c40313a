"""Draft store backends behind one interface (base.DraftStore), chosen by the `store` setting."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from capcut_drafts.store.base import DraftExists, DraftInfo, DraftLog, DraftNotFound, DraftStore, StoreUnavailable

if TYPE_CHECKING:                 # annotations only
    from capcut_drafts.settings import Settings


def open_store(settings: Settings) -> DraftStore:
    if settings.store == "memory":
        from capcut_drafts.store.memory import MemoryStore
        return MemoryStore()
    if settings.store == "sqlite":
        from capcut_drafts.store.sqlite import SqliteStore
        return SqliteStore(os.path.join(settings.data_dir, "drafts.sqlite3"))
    if settings.store == "redis":
        from capcut_drafts.store.redis import RedisStore  # imported here: redis-py is only needed for this backend
        return RedisStore(settings.redis_url, prefix=settings.redis_key_prefix)
    raise ValueError(f"store '{settings.store}' is not available in this build")


__all__ = ["DraftExists", "DraftInfo", "DraftLog", "DraftNotFound", "DraftStore", "StoreUnavailable", "open_store"]
