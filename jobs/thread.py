"""In-process runner: a bounded thread pool in each worker process."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from .base import JobRunner

log = logging.getLogger("capcut.jobs")


class ThreadRunner(JobRunner):
    def __init__(self, jobs: dict[str, Callable[..., None]], context: Any, workers: int = 2):
        self.jobs, self.context = jobs, context
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="save")

    def submit(self, name: str, **kwargs: Any) -> None:
        job = self.jobs[name]

        def run() -> None:
            try:
                job(self.context, **kwargs)
            except Exception:          # the job records its own failure; this is the last resort
                log.exception("job %s failed", name)

        self.pool.submit(run)

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)
