"""Helpers for tests that talk to a real Redis.

* `redis_url_for_tests()`: `redis://127.0.0.1:6379/13` (override with `CAPCUT_TEST_REDIS_URL`);
  tests use their own database number and never flush it.
* `require_redis()`: the URL when Redis answers; otherwise the test is skipped on a developer
  laptop, but fails when `CI=true` (CI must never pass Redis tests silently).
* `new_prefix()`: a key prefix unique to a test ("capcut-test:<hex>:"); `delete_prefix(url, prefix)`
  deletes every key under it, and nothing else. (The fixtures `redis_url` and `redis_prefix` in
  tests/conftest.py are built from these.)
* `TcpProxy`: a TCP forwarder to Redis that a test can stop and start again, a real network
  outage between a client and Redis (and it can swallow one reply after Redis executed the command).
"""
from __future__ import annotations

import os
import socket
import threading
import uuid
from urllib.parse import urlsplit

import pytest

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/13"


def redis_url_for_tests() -> str:
    return os.environ.get("CAPCUT_TEST_REDIS_URL") or DEFAULT_TEST_REDIS_URL


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason}. CI=true: the Redis tests must run in CI; start a Redis server "
                    f"(or set CAPCUT_TEST_REDIS_URL) instead of skipping them.", pytrace=False)
    pytest.skip(f"{reason} (set CI=true to make this a failure)")


def _client(url: str):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0))


def require_redis(url: str | None = None) -> str:
    """The Redis URL for tests when Redis answers PING; skip (or fail under CI=true) otherwise."""
    url = url or redis_url_for_tests()
    try:
        import redis
    except ImportError:
        _unavailable("the redis package is not installed (pip install -r requirements.txt)")
    client = _client(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable at {url}: {str(exc).rstrip('.')}")
    finally:
        client.close()
    return url


def new_prefix() -> str:
    return f"capcut-test:{uuid.uuid4().hex[:12]}:"


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key starting with `prefix` (SCAN + UNLINK, never FLUSH); returns how many."""
    assert prefix.startswith("capcut-test:") and len(prefix) > len("capcut-test:"), prefix
    client = _client(url)
    deleted = 0
    try:
        batch = []
        for key in client.scan_iter(match=prefix + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                deleted += client.unlink(*batch)
                batch = []
        if batch:
            deleted += client.unlink(*batch)
    finally:
        client.close()
    return deleted


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the Redis of `target_url`. `stop()` closes the listener and
    every open connection (clients see the connection drop, new connects are refused); `start()`
    listens again on the same port. `drop_next_reply()` makes the proxy swallow the next reply
    coming from Redis and cut that connection: the command ran, the client never hears so."""

    def __init__(self, target_url: str | None = None) -> None:
        parts = urlsplit(target_url or redis_url_for_tests())
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.db = (parts.path or "/0").strip("/") or "0"
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._drop_reply = threading.Event()
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stopping.clear()
        self._spawn(self._accept_loop, listener)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            self._kill(sock)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def drop_next_reply(self) -> None:
        self._drop_reply.set()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    @staticmethod
    def _kill(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                self._kill(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._stopping.is_set():
                    self._kill(client)
                    self._kill(upstream)
                    return
                self._sockets.update((client, upstream))
                self.accepted += 1
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _pump(self, src: socket.socket, dst: socket.socket, from_redis: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_redis and self._drop_reply.is_set():
                    self._drop_reply.clear()
                    break
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._sockets.discard(src)
            self._sockets.discard(dst)
        self._kill(src)
        self._kill(dst)
