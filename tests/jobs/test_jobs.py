"""Job runners (jobs/): the thread runner's ordering and readiness, the Huey runner's readiness,
and the request id each runner gives its jobs' log lines."""
from __future__ import annotations

import logging
import threading
import time
from types import SimpleNamespace

import flask
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

    runner = open_runner(SimpleNamespace(job_runner="thread", render_workers=1), {"job": job}, "ctx")
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


# --- the id of the request that queued a job, in the job's log lines --------------------------------

@pytest.fixture
def job_log(caplog):
    """(a job that logs one line, the captured records of its logger)."""
    from capcut_drafts.web.guards import install_request_id_logging
    install_request_id_logging()
    caplog.set_level(logging.INFO, logger="capcut.test.job")

    def job(context, n):
        logging.getLogger("capcut.test.job").info("job %s runs", n)

    return job, lambda: [r for r in caplog.records if r.name == "capcut.test.job"]


def in_request(request_id: str):
    """A Flask request context whose request id is `request_id` (as web/guards.py sets it)."""
    app = flask.Flask(__name__)
    context = app.test_request_context()
    context.push()
    flask.g.request_id = request_id
    return context


def test_thread_runner_jobs_log_the_id_of_the_request_that_queued_them(job_log):
    job, records = job_log
    runner = open_runner(SimpleNamespace(job_runner="thread", render_workers=1), {"job": job}, "ctx")
    for n, request_id in enumerate(["req-one", "req-two"]):
        context = in_request(request_id)
        runner.submit("job", order_key="draft-1", n=n)
        context.pop()
    runner.submit("job", order_key="draft-1", n=2)          # outside any request
    runner.shutdown(wait=True)
    assert [(r.getMessage(), r.request_id) for r in records()] == [
        ("job 0 runs", "req-one"), ("job 1 runs", "req-two"), ("job 2 runs", "-")]
    assert all(r.threadName.startswith("save") for r in records())


def test_huey_runner_jobs_log_the_id_of_the_request_that_queued_them(job_log):
    from huey.storage import MemoryStorage

    from capcut_drafts.jobs.huey_queue import QUEUE_NAME, HueyRunner
    job, records = job_log
    settings = SimpleNamespace(job_runner="huey", redis_url="redis://127.0.0.1:1/0")
    runner = open_runner(settings, {"job": job}, None, context_factory=lambda: "ctx")
    assert isinstance(runner, HueyRunner)
    runner.huey.storage = MemoryStorage(QUEUE_NAME)          # the queue in memory; the messages as sent
    context = in_request("req-huey")
    runner.submit("job", n=1)
    context.pop()
    runner.tasks["job"]({"n": 2})                            # a message queued before request ids were sent

    def consume() -> None:                                   # a worker: another thread, no Flask context
        while (message := runner.huey.dequeue()) is not None:
            runner.huey.execute(message)

    worker = threading.Thread(target=consume)
    worker.start()
    worker.join(10)
    assert [(r.getMessage(), r.request_id) for r in records()] == [("job 1 runs", "req-huey"), ("job 2 runs", "-")]
