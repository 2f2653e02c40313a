"""The job-runner contract: run a named job with JSON-serialisable arguments somewhere.

The save job is one function (capcut_drafts/save/job.run_save_job); runners only decide where it runs:
`thread` (an in-process pool, the default) or a distributed queue. Every runner calls the job
as `JOBS[name](context, **kwargs)` with a context built from the same settings."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the runners
    from capcut_drafts.context import Context

Job = Callable[Concatenate["Context", ...], None]
"""A job: called as `job(context, **kwargs)`; it records its own progress and outcome."""


class JobRunner(ABC):
    @abstractmethod
    def submit(self, name: str, order_key: str | None = None, **kwargs: Any) -> None:
        """Queue job `name`; returns at once. Progress and results go to the task store. Jobs with
        the same `order_key` run in submission order where the runner can promise it (the thread
        runner does; across Huey workers the per-draft lock only keeps them apart)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise when the runner cannot take jobs now (readiness check, `/readyz`); the exception's
        text says why."""

    def shutdown(self, wait: bool = True) -> None:  # noqa: B027 — optional: a queue client holds no jobs
        """Stop accepting jobs; with `wait`, let running ones finish."""
