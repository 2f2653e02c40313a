"""Prometheus metrics (prometheus-client). Under gunicorn set PROMETHEUS_MULTIPROC_DIR (the
shipped gunicorn.conf.py does) and /metrics sums every worker's values."""
from __future__ import annotations

import functools
import os

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):       # a worker started outside gunicorn may lack it
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE_LATEST", "exposition", "draft_cache_lookup", "request_done"]

REQUESTS = Counter("capcut_requests_total", "HTTP requests by route and outcome", ["route", "outcome"])
LATENCY = Histogram("capcut_request_seconds", "HTTP request latency by route", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120))
SAVES = Counter("capcut_saves_total", "Finished saves by outcome", ["outcome"])
SAVE_SECONDS = Histogram("capcut_save_seconds", "Save duration by outcome", ["outcome"],
                         buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800))
BYTES_DOWNLOADED = Counter("capcut_bytes_downloaded_total", "Media bytes downloaded")
MEDIA_CACHE = Counter("capcut_media_cache_lookups_total", "Media files a save found cached (hit) or fetched (miss)",
                      ["result"])
DRAFT_CACHE = Counter("capcut_draft_cache_lookups_total", "Draft documents found in the in-process LRU", ["result"])
JOBS = Gauge("capcut_jobs", "Save jobs by state", ["state"], multiprocess_mode="livesum")


# Each labelled series looked up once per process: `labels()` validates and locks on every call.
_request_count = functools.cache(REQUESTS.labels)
_request_seconds = functools.cache(LATENCY.labels)
_draft_cache = functools.cache(lambda hit: DRAFT_CACHE.labels("hit" if hit else "miss"))


def request_done(route: str, outcome: str, seconds: float) -> None:
    """One finished HTTP request: `route` is its URL rule, `outcome` success, error or the status."""
    _request_count(route, outcome).inc()
    _request_seconds(route).observe(seconds)


def draft_cache_lookup(hit: bool) -> None:
    _draft_cache(hit).inc()


def exposition() -> bytes:
    """The text format of all metrics; every worker's when running under gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
