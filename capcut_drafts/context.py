"""What a route's service function works with, and how one process builds it.

`Context` is the single argument every service gets besides its request: the settings, the
draft cache over the store, the media cache, the job runner, its store timers and the base of the
links it hands out. `build_context(settings)` wires one for the web app or the MCP server (and
starts the timer thread when the store holds timers a stopped process left); `worker=True` builds
one for a process that runs jobs itself (`worker.py`, or a Huey consumer) and so needs no runner.

No Flask here: the HTTP app, the MCP server and the save workers all start from this module.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from capcut_drafts import metrics
from capcut_drafts.jobs import Job, JobRunner, open_runner
from capcut_drafts.jobs.timers import Timers
from capcut_drafts.net.fetcher import policy_from
from capcut_drafts.render.job import run_render_job
from capcut_drafts.save.callbacks import run_callback_job
from capcut_drafts.save.job import run_save_job
from capcut_drafts.save.media_cache import MediaCache
from capcut_drafts.settings import Settings
from capcut_drafts.storage import open_publisher
from capcut_drafts.store import open_store
from capcut_drafts.store.cache import DraftCache

__all__ = ["Context", "JOBS", "build_context"]


def _no_base() -> str:
    return ""


@dataclass
class Context:
    """What a service needs from the running app (or a job worker)."""
    cache: DraftCache
    settings: Settings
    media: MediaCache
    publisher_ping: Callable[[], None]         # raises when object storage is unreachable
    runner: JobRunner | None = None            # None in a job worker: it runs jobs, it does not queue them
    base_url: Callable[[], str] = _no_base     # public base of links this service hands out ("" = root-relative)
    timers: Timers | None = None               # runs due store timers on `runner` (None without a runner)

    @property
    def default_profile(self) -> str:
        return self.settings.profile

    def shutdown(self, wait: bool = True) -> None:
        """Stop the timer thread, then the runner (with `wait`, queued and running jobs finish first)."""
        if self.timers is not None:
            self.timers.stop()
        if self.runner is not None:
            self.runner.shutdown(wait=wait)


# The jobs a runner may run, by name: the web process queues them, workers look them up here.
JOBS: dict[str, Job] = {"save": run_save_job, "render": run_render_job, "callback": run_callback_job}


def build_context(settings: Settings, worker: bool = False) -> Context:
    """Store, cache, media cache and job runner for one process: the web app or the MCP server,
    or (`worker`) a process that runs jobs and so needs no runner of its own."""
    cache = DraftCache(open_store(settings), settings.draft_cache_size, settings.snapshot_every,
                       on_lookup=metrics.draft_cache_lookup, max_bytes=settings.draft_cache_mb * 1024 ** 2)
    media = MediaCache(settings.media_cache_path,
                       policy_from(settings, max_bytes=settings.max_download_bytes,
                                   deadline=float(settings.download_deadline_seconds)),
                       workers=settings.fetch_workers)
    ctx = Context(cache=cache, settings=settings, media=media,
                  publisher_ping=lambda: open_publisher(settings).ping())
    if not worker:
        ctx.runner = open_runner(settings, JOBS, ctx, lambda: build_context(settings, worker=True))
        lease = settings.job_lease_seconds + settings.webhook_timeout_seconds   # a claimed job's time to run
        ctx.timers = Timers(cache.store, ctx.runner, lease)
        ctx.timers.poke()           # timers a stopped process left: due ones run now, the thread ends if none
    return ctx
