"""Gunicorn defaults for this service: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""
import multiprocessing
import os
import shutil
import tempfile

from capcut_drafts.settings import load_settings

_settings = load_settings()

bind = os.environ.get("GUNICORN_BIND", f"{_settings.host}:{_settings.port}")
# Requests mostly wait on SQLite/Redis and on saves: two workers per core, at least two.
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count() * 2)))
# gthread whose event loop reads each whole request (headers, then the body up to max_body_bytes)
# before a thread handles it: a client that stalls mid-request holds a socket, never a thread.
# Headers must arrive within request_read_timeout_seconds, body pauses may not be longer (408).
# Parse errors below are answered with the JSON envelope. See capcut_drafts/web/server.py.
worker_class = "capcut_drafts.web.server.BufferedThreadWorker"
# Threads only run the app (the loop does the reading); a /save_draft waits save_wait_seconds in one.
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Connections per worker, reading ones included; more wait in the listen backlog.
worker_connections = 1000
# Request limits, answered 414 request_line_too_long / 431 headers_too_large. The request line
# carries a path and a short query (GET listings take ?profile=): 8 190 is gunicorn's maximum and
# nginx's large_client_header_buffers size, so a request a proxy passes is not refused here.
limit_request_line = 8190
# Header fields per request: clients send ~10-20, proxies add a few X-Forwarded-* (default 100).
limit_request_fields = 50
# Bytes of one header line, name included (gunicorn's default; nginx's 8k buffer).
limit_request_field_size = 8190
# A /save_draft request may wait `save_wait_seconds` for its job: never kill a worker before that.
timeout = _settings.save_wait_seconds + 60
# On shutdown or reload, let in-flight saves finish (the thread runner waits for its jobs).
graceful_timeout = _settings.save_wait_seconds + 60
keepalive = 5
accesslog = None          # the app logs one line per request, with its request id
# Workers are not recycled after N requests: their memory stays flat under load (a worker's RSS held
# at 120 MB from 6 000 to 60 000 adds, bench/worker_memory.py; the draft cache is bounded by
# draft_cache_mb), while a restart costs about a second of CPU to load the app and starts with an
# empty draft cache (with 5 000, a worker serving 500 adds/s restarted every 10 s).
# `--max-requests N` on the command line brings recycling back.
max_requests = 0

# Prometheus multiprocess mode: every worker writes its metrics here and /metrics sums them.
_metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="capcut-metrics-"))


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)
    if not _settings.api_keys and not bind.startswith(("127.", "localhost", "[::1]", "unix:")):
        server.log.warning("listening on %s without api_keys: anyone who can reach it can use the API", bind)


def post_worker_init(worker):
    """One line per worker once it has loaded the app (gunicorn logs 'Booting worker' before that,
    and a worker takes about a second to load it): tests and benchmarks wait for every worker's."""
    from capcut_drafts.web.server import LOADED
    worker.log.info(LOADED, worker.pid)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Graceful stop: in-flight saves run to the end instead of being cut off."""
    app = getattr(worker, "wsgi", None)
    ctx = getattr(app, "extensions", {}).get("capcut") if app is not None else None
    if ctx is not None:
        ctx.shutdown(wait=True)
