"""Job runners behind one interface (base.JobRunner), chosen by the `job_runner` setting."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capcut_drafts.jobs.base import Job, JobRunner

CALLBACK_THREADS = 4     # webhook attempts at once in one process (each at most webhook_timeout_seconds)

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context builds the runner
    from capcut_drafts.context import Context
    from capcut_drafts.settings import Settings


def open_runner(settings: Settings, jobs: dict[str, Job], context: Context,
                context_factory: Callable[[], Context] | None = None) -> JobRunner:
    """`context` serves in-process runners; `context_factory` builds one in a worker process."""
    if settings.job_runner == "thread":
        from capcut_drafts.jobs.thread import ThreadRunner
        return ThreadRunner(jobs, context, lanes={"render": settings.render_workers, "callback": CALLBACK_THREADS})
    if settings.job_runner == "huey":
        if context_factory is None:
            raise ValueError("job_runner 'huey' needs a context_factory for its worker processes")
        from capcut_drafts.jobs.huey_queue import HueyRunner
        return HueyRunner(settings, jobs, context_factory)
    raise ValueError(f"job_runner '{settings.job_runner}' is not available in this build")


__all__ = ["Job", "JobRunner", "open_runner"]
