"""In-process runner: bounded thread pools in each worker process, one per lane (a job name with
a pool of its own, e.g. renders, so that long renders never hold up saves; the rest share the
default pool). Jobs that share an `order_key` (the draft id) run one after another in submission
order."""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from typing import TYPE_CHECKING, Any

from capcut_drafts.jobs.base import Job, JobRunner, running_for, submitting_request_id

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context builds the runner
    from capcut_drafts.context import Context

log = logging.getLogger("capcut.jobs")


class ThreadRunner(JobRunner):
    def __init__(self, jobs: dict[str, Job], context: Context, workers: int = 2, lanes: Mapping[str, int] = {}):
        self.jobs, self.context = jobs, context
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="save")
        self.lanes = {name: ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
                      for name, size in lanes.items()}
        self._last: dict[str, Future[None]] = {}     # order_key -> the latest job's future
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, name: str, order_key: str | None = None, **kwargs: Any) -> None:
        job = self.jobs[name]
        request_id = submitting_request_id()

        def run() -> None:
            with running_for(request_id):
                try:
                    job(self.context, **kwargs)
                except Exception:          # the job records its own failure; this is the last resort
                    log.exception("job %s failed", name)

        if order_key is None:
            self.lanes.get(name, self.pool).submit(run)      # RuntimeError once shut down
            return
        done: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new jobs after shutdown")
            previous = self._last.get(order_key)
            self._last[order_key] = done

        def start(_: Future[None] | None = None) -> None:
            self.pool.submit(run).add_done_callback(lambda _f: self._finish(order_key, done))

        if previous is None:
            start()
        else:
            previous.add_done_callback(start)     # after the earlier job of this key, not beside it

    def ping(self) -> None:
        """The pool takes jobs until `shutdown`."""
        if self._closed:
            raise RuntimeError("the save thread pool is shut down")

    def _finish(self, key: str, done: Future[None]) -> None:
        with self._lock:
            if self._last.get(key) is done:
                del self._last[key]
        done.set_result(None)

    def shutdown(self, wait: bool = True) -> None:
        """With `wait`, jobs queued behind a running job of their key run too: each key's chain
        ends before the pool stops, since a chained job enters the pool only when its turn comes."""
        with self._lock:
            self._closed = True
            chains = list(self._last.values())
        if wait:
            wait_all(chains)
        for pool in (self.pool, *self.lanes.values()):
            pool.shutdown(wait=wait)
