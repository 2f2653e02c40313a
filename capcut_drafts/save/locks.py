"""At most one save per draft at a time: a file lock on this host, plus a Redis lock with an
expiry when drafts live in Redis (saves may then run on several hosts). The Redis lock is
renewed while the save runs, so it outlives a slow save but not a dead worker."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from redis.exceptions import LockError

from capcut_drafts.save import delivery
from capcut_drafts.store.redis import RedisStore

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

log = logging.getLogger("capcut.save")


@contextmanager
def save_lock(ctx: Context, draft_id: str) -> Iterator[None]:
    with delivery.draft_lock(ctx.settings, draft_id):
        store = ctx.cache.store
        if not isinstance(store, RedisStore):     # one host: the file lock is enough
            yield
            return
        client = store.client
        lease = ctx.settings.job_lease_seconds
        # thread_local=False: the renewer thread must see the token the save thread acquired.
        lock = client.lock(f"capcut:lock:save:{draft_id}", timeout=lease, blocking_timeout=30 * 60,
                           thread_local=False)
        if not lock.acquire():
            raise TimeoutError(f"another save of {draft_id} has held its lock for 30 minutes")
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(lease / 3):
                lock.reacquire()

        renewer = threading.Thread(target=renew, name=f"lock-{draft_id}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            try:
                lock.release()
            except LockError:     # expired meanwhile (Redis unreachable for a lease): nothing to free
                log.warning("the save lock of %s had expired before its release", draft_id)
