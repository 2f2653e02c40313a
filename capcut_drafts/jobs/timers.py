"""Durable timers for the job runner: work due at a time, kept in the draft store so that it
survives a restart and any process of the service can do it (webhook deliveries and their retries).

A timer is a store key `<job name>:<id>` with a due time (DraftStore.set_timer). Each process that
queues jobs (the web app, the MCP server) runs one `Timers` thread while any timer exists: it claims
the due keys (DraftStore.claim_timers moves each to now + `lease` and marks it claimed, so no other
process takes it meanwhile) and submits job `<job name>` with `key=<key>` to the runner, which may
run it in this process or on a Huey worker. The job ends by setting the timer again (a retry, a
later look) or clearing it. A job lost with its process leaves its key claimed: the key is due again
once the lease has passed, and whichever process looks first runs it again (at-least-once).

The thread starts when this process sets a timer (`poke`) or, at start-up, finds timers left by
another; it ends when no timer is left, so a process without timers runs no thread.
"""
from __future__ import annotations

import logging
import threading
import time

from capcut_drafts.jobs.base import JobRunner
from capcut_drafts.store import DraftStore, StoreUnavailable

log = logging.getLogger("capcut.jobs")
POLL_SECONDS = 1.0      # how often the store is asked while timers wait (others may set or wake them)
OUTAGE_SECONDS = 30.0   # the longest wait between two tries while the store is unreachable
BATCH = 32              # keys claimed at once


class Timers:
    """Claims due timers of `store` and submits their jobs to `runner` (see the module doc)."""

    def __init__(self, store: DraftStore, runner: JobRunner, lease: float, poll: float = POLL_SECONDS):
        self.store, self.runner, self.lease, self.poll = store, runner, lease, poll
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._failures = 0      # store errors in a row: the wait doubles, only the first is logged

    @property
    def running(self) -> bool:
        """Whether the thread runs (it ends when no timer is left, or at `stop`)."""
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def poke(self) -> None:
        """Look at the timers now: call after setting one (starts the thread when it is not running)."""
        with self._lock:
            if self._stopped:
                return
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="timers", daemon=True)
                self._thread.start()

    def nudge(self) -> None:
        """Look now if the thread runs (a job ended and may have woken a timer); start nothing."""
        with self._lock:
            if self._thread is not None:
                self._wake.set()

    def stop(self) -> None:
        """End the thread; claimed keys it did not submit become due again after their lease."""
        with self._lock:
            self._stopped = True
            thread = self._thread
            self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.clear()          # a poke after this makes the next check see its timer
            wait = self._round()
            if wait is None:
                with self._lock:
                    if not self._wake.is_set():
                        self._thread = None
                        return
                continue
            self._wake.wait(wait if self._failures else min(wait, self.poll))

    def _round(self) -> float | None:
        """Submit the due timers; the seconds until the next one (0: look again at once), None when none is left."""
        try:
            now = time.time()
            due = self.store.next_timer()
            if due is None or due > now:
                self._failures = 0
                return None if due is None else due - now
            keys = self.store.claim_timers(now, now + self.lease, BATCH)
        except StoreUnavailable as exc:
            if not self._failures:
                log.warning("timers: the store is unreachable, trying again until it answers: %s", exc)
            self._failures += 1
            return min(self.poll * 2 ** self._failures, OUTAGE_SECONDS)
        self._failures = 0
        for key in keys:
            self._submit(key)
        return 0.0

    def _submit(self, key: str) -> None:
        name = key.partition(":")[0]
        try:
            self.runner.submit(name, key=key)
        except RuntimeError:            # the runner is shut down: the key waits out its lease
            self._stopped = True
        except Exception:               # noqa: BLE001 — e.g. the queue's Redis is down: due again after the lease
            log.exception("timers: could not queue job %s for %s", name, key)
