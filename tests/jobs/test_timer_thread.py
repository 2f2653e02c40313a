"""The timer thread (jobs/timers.py) on a real SQLite store and thread runner: due timers run their
job, a key claimed by a process that died runs again once its lease is over, a timer another
process sets is seen within the poll, and the thread only lives while timers exist."""
from __future__ import annotations

import threading
import time

import pytest
from helpers import wait_until

from capcut_drafts.jobs.thread import ThreadRunner
from capcut_drafts.jobs.timers import Timers
from capcut_drafts.store.sqlite import SqliteStore


@pytest.fixture
def rig(tmp_path):
    """(store, timers, runs): `probe:<n>` timers run a job that records (key, when) and clears its timer."""
    store = SqliteStore(str(tmp_path / "drafts.sqlite3"))
    runs: list[tuple[str, float]] = []
    lock = threading.Lock()

    def probe(context, key: str) -> None:
        with lock:
            runs.append((key, time.monotonic()))
        store.clear_timer(key)

    runner = ThreadRunner({"probe": probe}, context=None)
    timers = Timers(store, runner, lease=0.5, poll=0.1)
    yield store, timers, runs
    timers.stop()
    runner.shutdown(wait=True)
    store.close()


def test_a_due_timer_runs_its_job_once_and_the_thread_ends_with_the_last_timer(rig):
    store, timers, runs = rig
    store.set_timer("probe:1", time.time())
    timers.poke()
    wait_until(lambda: runs, 5, "the job of probe:1")
    wait_until(lambda: not timers.running, 5, "the timer thread to end")
    assert [key for key, _ in runs] == ["probe:1"] and store.next_timer() is None


def test_a_key_claimed_by_a_dead_process_runs_once_its_lease_is_over(rig):
    store, timers, runs = rig
    now = time.time()
    store.set_timer("probe:orphan", now)
    assert store.claim_timers(now, now + 0.6, 10) == ["probe:orphan"]      # claimed, then the claimer died
    started = time.monotonic()
    timers.poke()                                                       # a new process starting up
    wait_until(lambda: runs, 5, "the orphaned timer's job")
    assert runs[0][1] - started >= 0.4


def test_a_timer_another_process_sets_is_seen_within_the_poll(rig, tmp_path):
    store, timers, runs = rig
    store.set_timer("probe:later", time.time() + 60)
    timers.poke()                                                       # the thread runs: a timer waits
    SqliteStore(str(tmp_path / "drafts.sqlite3")).set_timer("probe:other", time.time())
    set_at = time.monotonic()
    wait_until(lambda: runs, 5, "the other process's timer")
    assert runs[0][0] == "probe:other" and runs[0][1] - set_at < 1.0


def test_after_stop_nothing_runs(rig):
    store, timers, runs = rig
    timers.stop()
    store.set_timer("probe:1", time.time())
    timers.poke()
    time.sleep(0.3)
    assert runs == [] and not timers.running
