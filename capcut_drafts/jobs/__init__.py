"""Job runners behind one interface (base.JobRunner), chosen by the `job_runner` setting."""
from capcut_drafts.jobs.base import JobRunner


def open_runner(settings, jobs: dict, context, context_factory=None) -> JobRunner:
    """`context` serves in-process runners; `context_factory` builds one in a worker process."""
    if settings.job_runner == "thread":
        from capcut_drafts.jobs.thread import ThreadRunner
        return ThreadRunner(jobs, context)
    if settings.job_runner == "huey":
        from capcut_drafts.jobs.huey_queue import HueyRunner
        return HueyRunner(settings, jobs, context_factory)
    raise ValueError(f"job_runner '{settings.job_runner}' is not available in this build")


__all__ = ["JobRunner", "open_runner"]
