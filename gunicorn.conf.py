"""Gunicorn defaults for this service: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""
import multiprocessing
import os
import shutil
import tempfile

from settings import load_settings

_settings = load_settings()

bind = os.environ.get("GUNICORN_BIND", f"{_settings.host}:{_settings.port}")
# Requests mostly wait on SQLite/Redis and on saves: two workers per core, at least two.
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count() * 2)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# A /save_draft request may wait `save_wait_seconds` for its job: never kill a worker before that.
timeout = _settings.save_wait_seconds + 60
# On shutdown or reload, let in-flight saves finish (the thread runner waits for its jobs).
graceful_timeout = _settings.save_wait_seconds + 60
keepalive = 5
accesslog = None          # the app logs one line per request, with its request id
max_requests = 5000
max_requests_jitter = 500

# Prometheus multiprocess mode: every worker writes its metrics here and /metrics sums them.
_metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="capcut-metrics-"))


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)
    if not _settings.api_keys and not bind.startswith(("127.", "localhost", "[::1]", "unix:")):
        server.log.warning("listening on %s without api_keys: anyone who can reach it can use the API", bind)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Graceful stop: in-flight saves run to the end instead of being cut off."""
    app = getattr(worker, "wsgi", None)
    ctx = getattr(app, "extensions", {}).get("capcut") if app is not None else None
    if ctx is not None and ctx.runner is not None:
        ctx.runner.shutdown(wait=True)
