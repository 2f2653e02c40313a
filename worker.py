"""Save workers for `job_runner: huey`: run on any host that shares the Redis and settings.

    .venv/bin/huey_consumer worker.huey -k thread -w 2

Each worker builds its own context (store, media cache in `media_cache_dir`) from the same
settings as the web service, runs the save jobs the web service enqueues, and writes progress to
the shared task store.
"""
from capcut_drafts.context import JOBS, build_context
from capcut_drafts.jobs.huey_queue import make_huey
from capcut_drafts.settings import load_settings
from capcut_drafts.web import guards

guards.install_request_id_logging()     # log records escape control characters here too
settings = load_settings()
huey, _tasks = make_huey(settings, JOBS, lambda: build_context(settings, worker=True))
