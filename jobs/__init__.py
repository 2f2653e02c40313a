"""Job runners behind one interface (base.JobRunner), chosen by the `job_runner` setting."""
from .base import JobRunner


def open_runner(settings, jobs: dict, context) -> JobRunner:
    if settings.job_runner == "thread":
        from .thread import ThreadRunner
        return ThreadRunner(jobs, context)
    raise ValueError(f"job_runner '{settings.job_runner}' is not available in this build")


__all__ = ["JobRunner", "open_runner"]
