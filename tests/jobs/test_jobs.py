"""Job runners (jobs/): the thread runner's ordering and readiness, the Huey runner's readiness."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from capcut_drafts.jobs import JobRunner, open_runner
from capcut_drafts.jobs.thread import ThreadRunner


def test_every_runner_implements_the_whole_interface():
    from capcut_drafts.jobs.huey_queue import HueyRunner
    for runner in (ThreadRunner, HueyRunner):
        assert not getattr(runner, "__abstractmethods__", None), runner


def test_a_runner_without_ping_cannot_be_made():
    class Partial(JobRunner):
        def submit(self, name, order_key=None, **kwargs):
            pass

    with pytest.raises(TypeError, match="ping"):
        Partial()


def test_thread_runner_runs_jobs_of_one_key_in_order_and_is_ready_until_shut_down():
    seen, lock = [], threading.Lock()

    def job(context, n):
        time.sleep(0.02 * (3 - n))          # later jobs are quicker: only the key keeps the order
        with lock:
            seen.append((context, n))

    runner = open_runner(SimpleNamespace(job_runner="thread"), {"job": job}, "ctx")
    runner.ping()
    for n in range(3):
        runner.submit("job", order_key="draft-1", n=n)
    runner.shutdown(wait=True)
    assert seen == [("ctx", 0), ("ctx", 1), ("ctx", 2)]
    with pytest.raises(RuntimeError, match="shut down"):
        runner.ping()


def test_huey_runner_ping_reports_an_unreachable_redis():
    settings = SimpleNamespace(job_runner="huey", redis_url="redis://127.0.0.1:1/0")
    runner = open_runner(settings, {"job": lambda context: None}, None, context_factory=lambda: None)
    with pytest.raises(RedisConnectionError, match="127.0.0.1:1"):
        runner.ping()
