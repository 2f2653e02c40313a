"""What every request passes before a route runs: a request id, the API key, the rate limit.

Keys come from the `api_keys` setting (`Authorization: Bearer <key>` or `X-API-Key`), compared
in constant time and never logged. The rate limit is a fixed window per key (or per client
address when no keys are set): shared through Redis when the Redis store is used, per worker
process otherwise.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import threading
import time
import uuid
from typing import Optional

from flask import g, request

from storage.local import link_signature

OPEN_PATHS = ("/healthz", "/readyz", "/openapi.json")     # and /docs/…: documentation is public
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def install_request_id_logging() -> None:
    """Every log record gets `request_id` ("-" outside a request), whoever configured logging."""
    base = logging.getLogRecordFactory()
    if getattr(base, "adds_request_id", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:          # outside an application context
            record.request_id = "-"
        return record

    factory.adds_request_id = True
    logging.setLogRecordFactory(factory)


def assign_request_id() -> str:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    return g.request_id


def is_open_path(path: str) -> bool:
    return path in OPEN_PATHS or path == "/docs" or path.startswith("/docs/")


def signed_link_ok(keys: list[str]) -> bool:
    """A /drafts/ download link carrying a valid, unexpired signature (storage/local.py signs them)."""
    if not request.path.startswith("/drafts/"):
        return False
    expires, sig = request.args.get("expires", ""), request.args.get("sig", "")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    path = request.path if request.path.endswith(".zip") else request.path + ".zip"
    return hmac.compare_digest(sig, link_signature(keys, path, int(expires)))


def presented_key() -> Optional[str]:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("X-API-Key") or None


def check_key(keys: list[str]) -> Optional[str]:
    """The matching key's fingerprint (for rate limiting), or None when the key is missing/wrong."""
    given = presented_key()
    if given is None:
        return None
    match = None
    for key in keys:                       # compare with every key: no early exit to time
        if hmac.compare_digest(given.encode(), key.encode()):
            match = key
    return hashlib.sha256(match.encode()).hexdigest()[:16] if match else None


def listens_beyond_loopback(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host not in ("localhost",)


class RateLimiter:
    """`limit` requests per `window` seconds per identity; returns seconds to wait or 0."""

    def __init__(self, limit: int, window: int = 60, redis_client=None, prefix: str = "capcut:rate:"):
        self.limit, self.window, self.redis, self.prefix = limit, window, redis_client, prefix
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, identity: str) -> int:
        if self.limit <= 0:
            return 0
        now = time.time()
        slot = int(now // self.window)
        retry = int(self.window - now % self.window) + 1
        count = self._redis_hit(identity, slot) if self.redis is not None else self._local_hit(identity, slot)
        return retry if count > self.limit else 0

    def _local_hit(self, identity: str, slot: int) -> int:
        with self._lock:
            for old in [k for k in self._counts if k[1] < slot]:
                del self._counts[old]
            self._counts[identity, slot] = self._counts.get((identity, slot), 0) + 1
            return self._counts[identity, slot]

    def _redis_hit(self, identity: str, slot: int) -> int:
        key = f"{self.prefix}{identity}:{slot}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, self.window * 2)
        return int(pipe.execute()[0])
