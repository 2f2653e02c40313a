"""Redis store: drafts shared by workers on many hosts.

Key layout (`prefix` defaults to "capcut:"):

* `<prefix>draft:<id>`  hash {snapshot_seq, snapshot, created_at, updated_at}
* `<prefix>ops:<id>`    list of operation payloads; the op with sequence number `seq` sits at
                        index `seq - 1` (ops are never deleted), so catching up after `after_seq`
                        is one `LRANGE ops after_seq -1`: O(k) for k new ops near the tail
* `<prefix>task:<id>`   string: a task record (save tasks are named by their draft id)
* `<prefix>draft_tasks:<id>`  set of the ids of the task records that belong to draft `<id>`
* `<prefix>drafts:updated`    sorted set of every draft id, scored by its last change (unix seconds)
* `<prefix>drafts:names`      hash: draft id -> the name it is listed and filtered by
* `<prefix>drafts:indexed`    set once the drafts stored before the index existed were entered in it
* `<prefix>timers`            sorted set of timer keys, scored by their due time
* `<prefix>timers:claimed`    set of the claimed timer keys
* `<prefix>timers:tags`       hash: timer key -> its tag; `<prefix>timers:tag:<tag>` the set of a tag's keys

Every write that must be atomic is one short Lua script run with EVALSHA (redis-py's registered
scripts load themselves again after a Redis restart): `create` (refuses an existing draft),
`append` (the compare-and-set: only `seq == LLEN(ops) + 1` of an existing draft), `save_snapshot`
(only replaces an older snapshot), `load` (snapshot and ops read consistently, one round trip),
`set_name`, `delete` (the draft, its log, index entries and task records) and a linked
`put_task` (only while the draft exists), and the timer writes (`set_timer`, `clear_timer`,
`claim_timers`, `wake_timers`). `create` and `append` keep the two index keys current.
The scripts touch the keys of one draft and the index keys (`delete` also the task keys it finds),
so a Redis Cluster is not supported (one server, optionally behind Sentinel or a managed failover
endpoint).

TTL: with `ttl_seconds`, every write (create, append, save_snapshot, put_task) sets the expiry of
the keys it belongs to, so a draft nobody has changed for `ttl_seconds` disappears with its log,
and a task record `ttl_seconds` after its last update. Reads do not extend it. The index keys are
shared and never expire: listing first drops the entries of drafts that expired. Without a TTL
(the default) nothing expires.

Outages: connections time out after `connect_timeout` / `socket_timeout` seconds; every redis-py
connection or timeout error becomes `StoreUnavailable("Redis at host:port is unreachable: ...")`.
A connection error (a dropped or stale pooled connection, e.g. after Redis restarted) is retried
once on a fresh connection; a timeout is not (it already cost seconds). The pool reconnects by
itself, so requests succeed again as soon as Redis answers. When a reply is lost after Redis
executed a write, the retry recognises the write as its own (same payload at that sequence
number; same snapshot and creation time for `create`) instead of reporting a conflict.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.retry import Retry

from capcut_drafts.store.base import DraftExists, DraftInfo, DraftLog, DraftNotFound, DraftStore, StoreUnavailable

T = TypeVar("T")

# KEYS: draft, ops, drafts:updated, drafts:names. ARGV: snapshot, now, ttl, is_retry, id, name.
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
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
redis.call('HSET', KEYS[4], ARGV[5], ARGV[6])
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""

# KEYS: draft, ops, drafts:updated. ARGV: seq, op, now, ttl, is_retry, id.
# Returns 1 appended, 0 seq taken/skipping, -1 no draft.
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
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[6])
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

# KEYS: draft, drafts:names. ARGV: id, name.
_SET_NAME = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
"""

# KEYS: draft, ops, drafts:updated, drafts:names, draft_tasks. ARGV: id, task key prefix. Returns 1 if
# the draft existed. `task:<id>` too: the save record of a writer that did not link it (older versions).
_DELETE = """
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
for _, task in ipairs(redis.call('SMEMBERS', KEYS[5])) do redis.call('DEL', ARGV[2] .. task) end
redis.call('DEL', KEYS[5], ARGV[2] .. ARGV[1])
return existed
"""

# KEYS: task, draft, draft_tasks. ARGV: record, ttl, task id. Returns 0 (nothing stored) without the draft.
_PUT_LINKED_TASK = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
return 1
"""

# KEYS: drafts:updated, drafts:names. ARGV: cutoff, draft key prefix. Drops the index entries of
# drafts unchanged since `cutoff` whose keys expired.
_PRUNE = """
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
"""

# KEYS: timers, timers:claimed, timers:tags. ARGV: key, tag set prefix, due (or '' to clear), tag.
_SET_TIMER = """
local old = redis.call('HGET', KEYS[3], ARGV[1])
if old then redis.call('SREM', ARGV[2] .. old, ARGV[1]) end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
  redis.call('SADD', ARGV[2] .. ARGV[4], ARGV[1])
end
"""

# KEYS: timers, timers:claimed. ARGV: now, until, limit. Returns the claimed keys.
_CLAIM_TIMERS = """
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(keys) do
  redis.call('ZADD', KEYS[1], ARGV[2], key)
  redis.call('SADD', KEYS[2], key)
end
return keys
"""

# KEYS: timers, timers:claimed, timers:tag:<tag>. ARGV: now.
_WAKE_TIMERS = """
for _, key in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local due = redis.call('ZSCORE', KEYS[1], key)
  if due and tonumber(due) > tonumber(ARGV[1]) and redis.call('SISMEMBER', KEYS[2], key) == 0 then
    redis.call('ZADD', KEYS[1], ARGV[1], key)
  end
end
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
        self._set_name = self._client.register_script(_SET_NAME)
        self._delete = self._client.register_script(_DELETE)
        self._put_linked_task = self._client.register_script(_PUT_LINKED_TASK)
        self._prune = self._client.register_script(_PRUNE)
        self._set_timer = self._client.register_script(_SET_TIMER)
        self._claim_timers = self._client.register_script(_CLAIM_TIMERS)
        self._wake_timers = self._client.register_script(_WAKE_TIMERS)
        self._timers = [f"{prefix}timers", f"{prefix}timers:claimed", f"{prefix}timers:tags"]
        self._updated, self._names = f"{prefix}drafts:updated", f"{prefix}drafts:names"
        self._indexed = False           # see _index_older_drafts

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

    def create(self, draft_id: str, snapshot: str, name: str | None = None) -> None:
        now = repr(time.time())
        keys = [*self._keys(draft_id), self._updated, self._names]
        name = draft_id if name is None else name
        created = self._call(lambda retry: self._create(
            keys, [snapshot, now, self._ttl, "1" if retry else "0", draft_id, name]))
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
            [*self._keys(draft_id), self._updated], [int(seq), op, now, self._ttl, "1" if retry else "0", draft_id])))
        if result == -1:
            raise DraftNotFound(draft_id)
        return result == 1

    def save_snapshot(self, draft_id: str, seq: int, snapshot: str) -> None:
        now = repr(time.time())
        self._call(lambda retry: self._snapshot(self._keys(draft_id), [int(seq), snapshot, now, self._ttl]))

    def list_drafts(self, offset: int, limit: int, name_contains: str | None = None) -> tuple[list[DraftInfo], int]:
        self._index_older_drafts()
        self._drop_expired()
        if name_contains is None:
            def page(pipe: Pipeline) -> None:
                pipe.zcard(self._updated)
                pipe.zrevrange(self._updated, offset, offset + limit - 1)

            total, ids = self._pipelined(page)
            return self._infos(ids), int(total)

        def everything(pipe: Pipeline) -> None:
            pipe.zrevrange(self._updated, 0, -1)
            pipe.hgetall(self._names)

        needle = name_contains.casefold()
        ranked, names = self._pipelined(everything)
        matching = [draft_id for draft_id in ranked if needle in names.get(draft_id, "").casefold()]
        return self._infos(matching[offset:offset + limit]), len(matching)

    def _infos(self, draft_ids: list[str]) -> list[DraftInfo]:
        """The index entries of `draft_ids`, in order; a draft deleted meanwhile is left out."""
        def queue(pipe: Pipeline) -> None:
            for draft_id in draft_ids:
                pipe.hget(self._names, draft_id)
                pipe.hget(f"{self.prefix}draft:{draft_id}", "created_at")
                pipe.zscore(self._updated, draft_id)

        replies = self._pipelined(queue)
        rows = zip(draft_ids, replies[0::3], replies[1::3], replies[2::3], strict=True)
        return [DraftInfo(draft_id, name if name is not None else draft_id, float(created), float(updated))
                for draft_id, name, created, updated in rows if created is not None and updated is not None]

    def _pipelined(self, queue: Callable[[Pipeline], None]) -> list[Any]:
        """The replies of the commands `queue` puts on a pipeline, run as one MULTI/EXEC transaction."""
        def run(retry: bool) -> list[Any]:
            pipe = self._client.pipeline()
            queue(pipe)
            return pipe.execute()
        return self._call(run)

    def _index_older_drafts(self) -> None:
        """Enter the drafts stored before the index existed (name from the snapshot, last known
        change), once per Redis database and prefix; concurrent runs only repeat each other."""
        if self._indexed:
            return
        done = f"{self.prefix}drafts:indexed"
        if not self._call(lambda retry: self._client.exists(done)):
            self._call(lambda retry: self._index_each_draft())
            self._call(lambda retry: self._client.set(done, "1"))
        self._indexed = True

    def _index_each_draft(self) -> None:
        start = len(f"{self.prefix}draft:")
        for key in self._client.scan_iter(match=f"{self.prefix}draft:*", count=500):
            fields: Any = self._client.hmget(key, ["created_at", "updated_at", "snapshot"])
            created, updated, snapshot = fields
            if created is None:
                continue                              # deleted or expired meanwhile
            try:
                name = json.loads(snapshot).get("name")
            except (TypeError, ValueError, AttributeError):
                name = None
            draft_id = key[start:]
            self._client.zadd(self._updated, {draft_id: float(updated or created)}, nx=True)
            self._client.hsetnx(self._names, draft_id, name if isinstance(name, str) else draft_id)

    def _drop_expired(self) -> None:
        """With a TTL: drop the index entries of drafts that expired (at least `ttl_seconds` unchanged)."""
        if self.ttl_seconds:
            cutoff = repr(time.time() - self.ttl_seconds)
            self._call(lambda retry: self._prune([self._updated, self._names], [cutoff, f"{self.prefix}draft:"]))

    def set_name(self, draft_id: str, name: str) -> None:
        self._call(lambda retry: self._set_name([self._keys(draft_id)[0], self._names], [draft_id, name]))

    def idle_drafts(self, before: float, limit: int) -> list[str]:
        self._index_older_drafts()
        self._drop_expired()
        ids: Any = self._call(lambda retry: self._client.zrangebyscore(
            self._updated, "-inf", f"({before!r}", start=0, num=limit))
        return list(ids)

    def delete(self, draft_id: str) -> bool:
        keys = [*self._keys(draft_id), self._updated, self._names, f"{self.prefix}draft_tasks:{draft_id}"]
        return bool(self._call(lambda retry: self._delete(keys, [draft_id, f"{self.prefix}task:"])))

    def put_task(self, task_id: str, record: str, draft_id: str | None = None) -> None:
        key = f"{self.prefix}task:{task_id}"
        if draft_id is None:
            self._call(lambda retry: self._client.set(key, record, ex=self.ttl_seconds))
            return
        keys = [key, self._keys(draft_id)[0], f"{self.prefix}draft_tasks:{draft_id}"]
        self._call(lambda retry: self._put_linked_task(keys, [record, self._ttl, task_id]))

    def get_task(self, task_id: str) -> str | None:
        record = self._call(lambda retry: self._client.get(f"{self.prefix}task:{task_id}"))
        return record.decode() if isinstance(record, bytes) else record    # str: decode_responses=True

    def set_timer(self, key: str, due_at: float, tag: str = "") -> None:
        self._call(lambda retry: self._set_timer(self._timers, [key, f"{self.prefix}timers:tag:", repr(due_at), tag]))

    def clear_timer(self, key: str) -> None:
        self._call(lambda retry: self._set_timer(self._timers, [key, f"{self.prefix}timers:tag:", "", ""]))

    def claim_timers(self, now: float, until: float, limit: int) -> list[str]:
        keys: Any = self._call(lambda retry: self._claim_timers(self._timers[:2], [repr(now), repr(until), int(limit)]))
        return list(keys)

    def wake_timers(self, tag: str, now: float) -> None:
        if tag:
            keys = [*self._timers[:2], f"{self.prefix}timers:tag:{tag}"]
            self._call(lambda retry: self._wake_timers(keys, [repr(now)]))

    def next_timer(self) -> float | None:
        first: Any = self._call(lambda retry: self._client.zrange(self._timers[0], 0, 0, withscores=True))
        return float(first[0][1]) if first else None

    @property
    def client(self) -> redis.Redis:
        """The Redis connection, for features that share this server (locks, rate limits)."""
        return self._client

    def ping(self) -> None:
        self._call(lambda retry: self._client.ping())

    def close(self) -> None:
        self._client.close()
        self._client.connection_pool.disconnect()
