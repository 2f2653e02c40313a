"""Redis store: drafts shared by workers on many hosts.

Key layout (`prefix` defaults to "capcut:"):

* `<prefix>draft:<id>`  hash {snapshot_seq, snapshot, created_at, updated_at}
* `<prefix>ops:<id>`    list of operation payloads; the op with sequence number `seq` sits at
                        index `seq - 1` (ops are never deleted), so catching up after `after_seq`
                        is one `LRANGE ops after_seq -1`: O(k) for k new ops near the tail
* `<prefix>task:<id>`   string: the save-task record

Every write that must be atomic is one short Lua script run with EVALSHA (redis-py's registered
scripts load themselves again after a Redis restart): `create` (refuses an existing draft),
`append` (the compare-and-set: only `seq == LLEN(ops) + 1` of an existing draft), `save_snapshot`
(only replaces an older snapshot) and `load` (snapshot and ops read consistently, one round trip).
The scripts touch two keys of one draft, so a Redis Cluster is not supported (one server,
optionally behind Sentinel or a managed failover endpoint).

TTL: with `ttl_seconds`, every write (create, append, save_snapshot, put_task) sets the expiry of
the keys it belongs to, so a draft nobody has changed for `ttl_seconds` disappears with its log,
and a task record `ttl_seconds` after its last update. Reads do not extend it. Without a TTL (the
default) nothing expires.

Outages: connections time out after `connect_timeout` / `socket_timeout` seconds; every redis-py
connection or timeout error becomes `StoreUnavailable("Redis at host:port is unreachable: ...")`.
A connection error (a dropped or stale pooled connection, e.g. after Redis restarted) is retried
once on a fresh connection; a timeout is not (it already cost seconds). The pool reconnects by
itself, so requests succeed again as soon as Redis answers. When a reply is lost after Redis
executed a write, the retry recognises the write as its own (same payload at that sequence
number; same snapshot and creation time for `create`) instead of reporting a conflict.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from capcut_drafts.store.base import DraftExists, DraftLog, DraftNotFound, DraftStore, StoreUnavailable

T = TypeVar("T")

# KEYS: draft, ops. ARGV: snapshot, now, ttl, is_retry.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[4] == '1' and redis.call('HGET', KEYS[1], 'created_at') == ARGV[2]
     and redis.call('HGET', KEYS[1], 'snapshot') == ARGV[1] then
    return 1
  end
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'snapshot_seq', 0, 'snapshot', ARGV[1], 'created_at', ARGV[2], 'updated_at', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""

# KEYS: draft, ops. ARGV: seq, op, now, ttl, is_retry. Returns 1 appended, 0 seq taken/skipping, -1 no draft.
_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local seq = tonumber(ARGV[1])
local n = redis.call('LLEN', KEYS[2])
if seq ~= n + 1 then
  if ARGV[5] == '1' and seq >= 1 and seq <= n and redis.call('LINDEX', KEYS[2], seq - 1) == ARGV[2] then
    return 1
  end
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
if tonumber(ARGV[4]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return 1
"""

# KEYS: draft, ops. ARGV: seq, snapshot, now, ttl.
_SNAPSHOT = """
local current = redis.call('HGET', KEYS[1], 'snapshot_seq')
if not current or tonumber(ARGV[1]) <= tonumber(current) then return 0 end
redis.call('HSET', KEYS[1], 'snapshot_seq', ARGV[1], 'snapshot', ARGV[2], 'updated_at', ARGV[3])
if tonumber(ARGV[4]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return 1
"""

# KEYS: draft, ops. ARGV: after_seq. Returns false (no draft) or {first_seq, snapshot|false, ops}.
_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local after = tonumber(ARGV[1])
if after >= 0 then
  return {after, false, redis.call('LRANGE', KEYS[2], after, -1)}
end
local head = redis.call('HMGET', KEYS[1], 'snapshot_seq', 'snapshot')
local seq = tonumber(head[1])
return {seq, head[2], redis.call('LRANGE', KEYS[2], seq, -1)}
"""


HUNG_COOLDOWN = 1.0     # seconds of failing fast after a Redis timeout


class RedisStore(DraftStore):
    def __init__(self, url: str, *, prefix: str = "capcut:", ttl_seconds: int | None = None,
                 connect_timeout: float = 2.0, socket_timeout: float = 3.0,
                 health_check_interval: int = 10) -> None:
        if ttl_seconds is not None and (not isinstance(ttl_seconds, int) or ttl_seconds < 1):
            raise ValueError(f"ttl_seconds must be a whole number of seconds >= 1 or None, got {ttl_seconds!r}")
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._ttl = str(ttl_seconds or 0)
        self._hung_until = 0.0          # see _call: fail fast for a moment after a timeout
        # No redis-py retries (its default is 10 with backoff, which turns an outage into a long
        # wait); `_call` retries a connection error once itself. Nothing connects until first use.
        self._client = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout, socket_keepalive=True,
            health_check_interval=health_check_interval, retry=Retry(NoBackoff(), 0))
        kwargs = self._client.connection_pool.connection_kwargs
        self.where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        self._create = self._client.register_script(_CREATE)
        self._append = self._client.register_script(_APPEND)
        self._snapshot = self._client.register_script(_SNAPSHOT)
        self._load = self._client.register_script(_LOAD)

    def _keys(self, draft_id: str) -> list[str]:
        return [f"{self.prefix}draft:{draft_id}", f"{self.prefix}ops:{draft_id}"]

    def _call(self, fn: Callable[[bool], T]) -> T:
        """Run `fn(is_retry)`; one retry after a connection error; redis errors -> StoreUnavailable.

        After a timeout (Redis hung, not refusing) calls fail at once for `HUNG_COOLDOWN` seconds, so
        requests queued behind the one that timed out do not each wait out their own timeout."""
        if time.monotonic() < self._hung_until:
            raise StoreUnavailable(f"Redis at {self.where} is unreachable: it stopped answering moments ago")
        try:
            try:
                return fn(False)
            except redis.ConnectionError:
                return fn(True)
        except redis.TimeoutError as exc:
            self._hung_until = time.monotonic() + HUNG_COOLDOWN
            raise StoreUnavailable(f"Redis at {self.where} is unreachable: {exc}") from exc
        except redis.ConnectionError as exc:
            raise StoreUnavailable(f"Redis at {self.where} is unreachable: {exc}") from exc
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.where} failed: {exc}") from exc

    def create(self, draft_id: str, snapshot: str) -> None:
        now = repr(time.time())
        created = self._call(lambda retry: self._create(
            self._keys(draft_id), [snapshot, now, self._ttl, "1" if retry else "0"]))
        if not created:
            raise DraftExists(draft_id)

    def load(self, draft_id: str, after_seq: int = -1) -> DraftLog | None:
        reply: Any = self._call(lambda retry: self._load(self._keys(draft_id), [int(after_seq)]))
        if reply is None:
            return None
        first, snapshot, ops = reply
        first = int(first)
        return DraftLog(snapshot if after_seq < 0 else None, first,
                        [(first + i, op) for i, op in enumerate(ops, start=1)])

    def append(self, draft_id: str, seq: int, op: str) -> bool:
        now = repr(time.time())
        result = int(self._call(lambda retry: self._append(
            self._keys(draft_id), [int(seq), op, now, self._ttl, "1" if retry else "0"])))
        if result == -1:
            raise DraftNotFound(draft_id)
        return result == 1

    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        now = repr(time.time())
        self._call(lambda retry: self._snapshot(self._keys(draft_id), [int(seq), snapshot, now, self._ttl]))

    def put_task(self, task_id: str, record: str) -> None:
        self._call(lambda retry: self._client.set(f"{self.prefix}task:{task_id}", record, ex=self.ttl_seconds))

    def get_task(self, task_id: str) -> str | None:
        record = self._call(lambda retry: self._client.get(f"{self.prefix}task:{task_id}"))
        return record.decode() if isinstance(record, bytes) else record    # str: decode_responses=True

    @property
    def client(self) -> redis.Redis:
        """The Redis connection, for features that share this server (locks, rate limits)."""
        return self._client

    def ping(self) -> None:
        self._call(lambda retry: self._client.ping())

    def close(self) -> None:
        self._client.close()
        self._client.connection_pool.disconnect()
