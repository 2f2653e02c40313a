"""Webhooks for saves and renders: `callback_url` on /save_draft and /generate_video.

At the edge (`checked_url`) a callback URL must be an http(s) URL with a host, a valid port, no
credentials, no spaces or control characters and at most MAX_URL_LENGTH characters (invalid_url).
Whether its host may be contacted is decided at each attempt by the fetcher's address rules, since
DNS answers change; a refused address fails the callback, never the save or render.

A request with a callback URL gets a `Callback` record (key `callback:<id>`, stored beside the task
records and deleted with the draft; the id is the `X-Webhook-Id` of every attempt), a pointer from the
task run to it (the task views show the latest callback of the run they show) and a store timer of the
same key, tagged with the run it waits for (`job_key(task_id, job_id)`). The runner's timer thread
(capcut_drafts/jobs/timers.py) runs `run_callback_job` whenever the timer is due:

1. while the run goes on, the job looks again when it ends (TaskBook.update wakes the tag) and at
   least every `job_lease_seconds`, so a run whose worker died is failed by the lease check and that
   failure is reported; a save job never started (lost with its process) fails the callback after
   `job_queue_seconds`;
2. once the run ended, its final record as /query_draft_status (or /task_status) shows it, plus
   `task_id` and `draft_id`, is kept as the body: every attempt sends the same bytes;
3. each attempt is one POST (capcut_drafts/net/webhooks.py), counted before it is sent; network
   errors, timeouts, 408, 429 and 5xx are tried again `webhook_retries` times, after
   `webhook_retry_seconds`, doubled each time; any other answer, or the last retry, fails the callback.

Everything lives in the store, so a restarted process or a Huey worker on another host carries on:
delivery is at least once (a process that dies during an attempt makes it run again after the lease).
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.net import webhooks
from capcut_drafts.net.fetcher import policy_from
from capcut_drafts.render.job import RenderTask, expire_if_stale, view
from capcut_drafts.save.tasks import Task, TaskBook, TaskRecord, job_key
from capcut_drafts.store import DraftStore

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports this job
    from capcut_drafts.context import Context

log = logging.getLogger("capcut.callbacks")
MAX_URL_LENGTH = 2048
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
R = TypeVar("R", bound=TaskRecord)


class Callback(BaseModel):
    """One delivery: the final record of run `job_key(task_id, job_id)` POSTed to `url`."""
    id: str
    kind: Literal["save", "render"]
    task_id: str
    job_id: str
    draft_id: str
    url: str
    base_url: str = ""            # the requester's link base: the body's links are made absolute with it
    status: str = PENDING
    attempts: int = 0             # attempts started
    error: str = ""               # why the last attempt failed ("<code>: <reason>")
    body: str = ""                # the JSON sent, fixed once the run ended ("" before)
    created_at: float = Field(default_factory=time.time)

    @property
    def key(self) -> str:
        return f"callback:{self.id}"

    @property
    def tag(self) -> str:
        return job_key(self.task_id, self.job_id)


def _invalid(reason: str) -> ApiError:
    return ApiError(f"Invalid parameter 'callback_url': {reason}.", code=ErrorCode.INVALID_URL)


def checked_url(url: str | None) -> str | None:
    """The callback URL a request sent, stripped; None for none (null or ""). invalid_url when it is
    not an http(s) URL this service could ever call (see the module doc)."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"it is {len(url)} characters long; use a URL of at most {MAX_URL_LENGTH}")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise _invalid("it holds spaces or control characters; percent-encode them")
    try:
        parts = urlsplit(url)
        parts.port                                  # noqa: B018 — raises ValueError for a bad port
    except ValueError:
        raise _invalid(f"'{url[:80]}' has a malformed host or port") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _invalid(f"use an http:// or https:// URL with a host (got '{url[:80]}')")
    if parts.username is not None or parts.password is not None:
        raise _invalid("credentials in the URL are not sent; put a secret token in the path or query, "
                       "or check the X-Signature header")
    return url


def request(ctx: Context, kind: Literal["save", "render"], task_id: str, job_id: str, draft_id: str,
            url: str) -> str:
    """Record a callback of run (task_id, job_id) to `url` and time it now; its id."""
    store = ctx.cache.store
    callback = Callback(id=uuid.uuid4().hex, kind=kind, task_id=task_id, job_id=job_id, draft_id=draft_id,
                        url=url, base_url=ctx.base_url())
    _put(store, callback)
    store.put_task(_pointer(task_id, job_id), callback.id, draft_id)
    store.set_timer(callback.key, time.time(), callback.tag)
    if ctx.timers is not None:
        ctx.timers.poke()
    return callback.id


def fields(store: DraftStore, task_id: str, job_id: str) -> dict[str, Any]:
    """The callback keys a task view shows for run (task_id, job_id): {} when it has no callback."""
    callback_id = store.get_task(_pointer(task_id, job_id))
    callback = _load(store, f"callback:{callback_id}") if callback_id else None
    if callback is None:
        return {}
    return {"callback_id": callback.id, "callback_status": callback.status,
            "callback_attempts": callback.attempts, "callback_error": callback.error}


def unsigned_note(ctx: Context) -> list[str]:
    """The warning of a request with a callback when the service has no webhook_secret."""
    if ctx.settings.webhook_secret:
        return []
    return ["webhook_secret is not set on this service: the callback is sent without an X-Signature header."]


def run_callback_job(ctx: Context, key: str) -> None:
    """The timer `key` is due: wait for the run, or make the next attempt (see the module doc)."""
    store = ctx.cache.store
    callback = _load(store, key)
    if callback is None or callback.status != PENDING:        # done, or its draft was deleted
        store.clear_timer(key)
        return
    if not callback.body:
        body = _final_body(ctx, callback)      # the timer is claimed: a wake meanwhile passes it by
        if body is None:
            _watch(ctx, callback)
            return
        callback.body = body
    _attempt(ctx, callback)


def _pointer(task_id: str, job_id: str) -> str:
    return f"{job_key(task_id, job_id)}#callback"


def _put(store: DraftStore, callback: Callback) -> None:
    store.put_task(callback.key, callback.model_dump_json(), callback.draft_id)


def _load(store: DraftStore, key: str) -> Callback | None:
    raw = store.get_task(key)
    return Callback.model_validate_json(raw) if raw else None


def _final_body(ctx: Context, callback: Callback) -> str | None:
    """The JSON of the run's final record as its status route shows it; None while it runs."""
    settings, store = ctx.settings, ctx.cache.store
    shown: dict[str, Any] | None = None
    if callback.kind == "save":
        saves = TaskBook(store, Task)
        save = _ended(saves, callback, lambda task: saves.expire_if_stale(task, settings.job_lease_seconds,
                                                                           settings.job_queue_seconds))
        shown = None if save is None else save.view(callback.base_url)
    else:
        renders = TaskBook(store, RenderTask)
        render = _ended(renders, callback, lambda task: expire_if_stale(renders, task, settings))
        shown = None if render is None else view(render, callback.base_url, settings.api_keys)
    if shown is None:
        return None
    return json.dumps({**shown, "task_id": callback.task_id, "draft_id": callback.draft_id}, ensure_ascii=False)


def _ended(book: TaskBook[R], callback: Callback, expire: Callable[[R], R]) -> R | None:
    """The final record of the callback's run, or None while it runs (or never started)."""
    done = book.outcome(callback.task_id, callback.job_id) if callback.job_id else None
    if done is not None:
        return done
    current = book.get(callback.task_id)
    if current is None or current.job_id != callback.job_id:
        return None
    current = expire(current)
    return current if current.finished else None


def _watch(ctx: Context, callback: Callback) -> None:
    """The run goes on: look again when it ends or after a lease; give up on a run that never started."""
    store, settings = ctx.cache.store, ctx.settings
    if _never_started(ctx, callback):
        _finish(ctx, callback, FAILED, f"the {callback.kind} never started (no worker ran it within "
                                       f"job_queue_seconds, {settings.job_queue_seconds} s); nothing was sent")
        return
    store.set_timer(callback.key, time.time() + settings.job_lease_seconds, callback.tag)
    if _final_body(ctx, callback) is not None:       # it ended before the timer was set: its wake missed it
        store.set_timer(callback.key, time.time(), callback.tag)
        if ctx.timers is not None:
            ctx.timers.poke()


def _never_started(ctx: Context, callback: Callback) -> bool:
    """No record of the run, and no other run of the task active, for longer than job_queue_seconds."""
    model: type[Task] | type[RenderTask] = Task if callback.kind == "save" else RenderTask
    raw = ctx.cache.store.get_task(callback.task_id)
    current = model.model_validate_json(raw) if raw else None
    if current is not None and (current.job_id == callback.job_id or not current.finished):
        return False
    since = max(callback.created_at, (current.finished_at or 0.0) if current is not None else 0.0)
    return time.time() - since > ctx.settings.job_queue_seconds


def _attempt(ctx: Context, callback: Callback) -> None:
    """One POST; then delivered, a retry timed, or failed."""
    settings, store = ctx.settings, ctx.cache.store
    callback.attempts += 1
    _put(store, callback)                      # counted before sending: a crash never repeats a number
    body = callback.body.encode()
    sent = webhooks.headers(callback.id, callback.attempts, body, settings.webhook_secret, int(time.time()))
    rules = webhooks.policy(policy_from(settings), settings.webhook_timeout_seconds)
    outcome = webhooks.send(callback.url, body, sent, rules)
    callback.error = outcome.error
    if outcome.delivered:
        _finish(ctx, callback, DELIVERED)
    elif outcome.retry and callback.attempts <= settings.webhook_retries:
        _put(store, callback)
        wait = settings.webhook_retry_seconds * 2 ** (callback.attempts - 1)
        store.set_timer(callback.key, time.time() + wait, callback.tag)
        if ctx.timers is not None:
            ctx.timers.poke()
    else:
        _finish(ctx, callback, FAILED)


def _finish(ctx: Context, callback: Callback, status: str, error: str = "") -> None:
    callback.status, callback.error = status, error or callback.error
    _put(ctx.cache.store, callback)
    ctx.cache.store.clear_timer(callback.key)
    if status == DELIVERED:
        log.info("callback %s of %s %s delivered (attempt %d)", callback.id, callback.kind, callback.task_id,
                 callback.attempts)
    else:
        log.warning("callback %s of %s %s failed after %d attempt(s): %s", callback.id, callback.kind,
                    callback.task_id, callback.attempts, callback.error)
