"""Distributed runner: save jobs on a Huey queue in Redis, run by separate worker processes
on any host (`huey_consumer worker.huey -k thread -w 2`, see worker.py).

The job function is the same one the thread runner calls; the worker builds its own context
(store, media cache) from the same settings, so progress lands in the shared task store.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from huey import RedisHuey

from capcut_drafts.jobs.base import Job, JobRunner, running_for, submitting_request_id

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context builds the runner
    from capcut_drafts.context import Context
    from capcut_drafts.settings import Settings

log = logging.getLogger("capcut.jobs")
QUEUE_NAME = "capcut-jobs"


def make_huey(settings: Settings, jobs: dict[str, Job],
              context_factory: Callable[[], Context]) -> tuple[RedisHuey, dict[str, Any]]:
    """A Huey instance and one Huey task per job name (calling a task enqueues it).
    `context_factory` runs once, lazily, in the process that runs the jobs (a worker), never in
    the web process that only enqueues."""
    huey = RedisHuey(QUEUE_NAME, url=settings.redis_url, results=False)
    built: list[Context] = []
    tasks: dict[str, Any] = {}          # huey's task wrappers (huey has no type hints)

    def context() -> Context:
        if not built:
            built.append(context_factory())
        return built[0]

    for name, job in jobs.items():
        # request_id has a default: messages queued before it was sent still run
        def run(kwargs: dict[str, Any], request_id: str = "-", _job: Job = job, _name: str = name) -> None:
            with running_for(request_id):
                try:
                    _job(context(), **kwargs)
                except Exception:            # the job records its own failure; this is the last resort
                    log.exception("job %s failed", _name)
        tasks[name] = huey.task(name=name)(run)
    return huey, tasks


class HueyRunner(JobRunner):
    def __init__(self, settings: Settings, jobs: dict[str, Job], context_factory: Callable[[], Context]):
        self.huey, self.tasks = make_huey(settings, jobs, context_factory)

    def submit(self, name: str, order_key: str | None = None, **kwargs: Any) -> None:
        self.tasks[name](kwargs, submitting_request_id())

    def ping(self) -> None:
        """The queue's Redis answers (redis-py raises ConnectionError, naming the address, if not)."""
        self.huey.storage.conn.ping()
