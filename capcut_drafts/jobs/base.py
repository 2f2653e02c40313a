"""The job-runner contract: run a named job with JSON-serialisable arguments somewhere.

The save job is one function (capcut_drafts/save/job.run_save_job); runners only decide where it runs:
`thread` (an in-process pool, the default) or a distributed queue. Every runner calls the job
as `JOBS[name](context, **kwargs)` with a context built from the same settings."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Concatenate

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the runners
    from capcut_drafts.context import Context

Job = Callable[Concatenate["Context", ...], None]
"""A job: called as `job(context, **kwargs)`; it records its own progress and outcome."""

_JOB_REQUEST_ID: ContextVar[str | None] = ContextVar("job_request_id", default=None)


def submitting_request_id() -> str:
    """The request id the installed log-record factory gives a record made now: the id of the
    request this thread serves (web/guards.py reads it from flask.g), or "-" outside one."""
    record = logging.getLogRecordFactory()("capcut.jobs", logging.DEBUG, __file__, 0, "", None, None)
    return str(getattr(record, "request_id", "-"))


def job_request_id() -> str | None:
    """The id of the request that queued the job this thread runs (None outside a job)."""
    return _JOB_REQUEST_ID.get()


@contextmanager
def running_for(request_id: str) -> Iterator[None]:
    """Within the block, `job_request_id()` in this thread answers `request_id`."""
    token = _JOB_REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _JOB_REQUEST_ID.reset(token)


class JobRunner(ABC):
    @abstractmethod
    def submit(self, name: str, order_key: str | None = None, **kwargs: Any) -> None:
        """Queue job `name`; returns at once. Progress and results go to the task store. The job
        runs within `running_for(submitting_request_id())` as it was when `submit` was called. Jobs with
        the same `order_key` run in submission order where the runner can promise it (the thread
        runner does; across Huey workers the per-draft lock only keeps them apart)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise when the runner cannot take jobs now (readiness check, `/readyz`); the exception's
        text says why."""

    def shutdown(self, wait: bool = True) -> None:  # noqa: B027 — optional: a queue client holds no jobs
        """Stop accepting jobs; with `wait`, let running ones finish."""
