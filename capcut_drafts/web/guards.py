"""What every request passes before a route runs: a request id, the API key, the rate limit.

Keys come from the `api_keys` setting (`Authorization: Bearer <key>` or `X-API-Key`), compared
in constant time and never logged. The rate limit is a fixed window per key (or per client
address when no keys are set): shared through Redis when the Redis store is used, per worker
process otherwise. Also what the client must not steer: the host of the links a reply hands out
(`link_base`) and the lines of the log (`escape_record`).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from flask import g, request

from capcut_drafts.jobs.base import job_request_id
from capcut_drafts.model.ids import random_uuid
from capcut_drafts.storage.local import link_ok

if TYPE_CHECKING:                 # annotations only
    from redis import Redis

    from capcut_drafts.settings import Settings

OPEN_PATHS = ("/", "/healthz", "/readyz", "/openapi.json")     # and /docs/…: documentation is public
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class _RecordFactory:
    """The log-record factory `install_request_id_logging` puts in front of the one it found."""

    def __init__(self, base: Callable[..., logging.LogRecord]) -> None:
        self.base = base

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.base(*args, **kwargs)
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:          # outside an application context: a job's thread, or none
            record.request_id = job_request_id() or "-"
        escape_record(record)
        return record


def install_request_id_logging() -> None:
    """Every log record gets `request_id` (in a job's thread: the id of the request that queued
    the job; "-" outside both) and has the control characters
    of its message and exception text escaped (see `escape_record`), whoever configured logging.
    Installing it again changes nothing."""
    base = logging.getLogRecordFactory()
    if not isinstance(base, _RecordFactory):
        logging.setLogRecordFactory(_RecordFactory(base))


# C0 and C1 controls, DEL, U+2028/U+2029: each can end a log line early or rewrite a terminal.
# Backslashes stay as they are, so Windows paths in messages remain readable.
_UNSAFE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_UNSAFE.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def escape_text(text: str) -> str:
    """`text` with every character that could break or rewrite a log line written as an escape."""
    return text if text.isprintable() else text.translate(_UNSAFE)


def escape_record(record: logging.LogRecord) -> None:
    """Fix the record's message with client text made harmless, so a request path, id or URL that
    holds a newline (or CR, U+2028, an ANSI sequence, ...) cannot start a forged log line. The
    exception text is formatted here too: its messages escaped, its traceback lines kept."""
    try:
        message = record.getMessage()
    except Exception:                 # noqa: BLE001 — a bad format string; the handler reports it
        return
    record.msg, record.args = escape_text(message), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = "\n".join(exception_lines(traceback.TracebackException(*record.exc_info)))


def exception_lines(exc: traceback.TracebackException) -> Iterator[str]:
    """The lines Python prints for an exception and its chain, every line escaped on its own."""
    if exc.__cause__ is not None:
        yield from exception_lines(exc.__cause__)
        yield from ("", "The above exception was the direct cause of the following exception:", "")
    elif exc.__context__ is not None and not exc.__suppress_context__:
        yield from exception_lines(exc.__context__)
        yield from ("", "During handling of the above exception, another exception occurred:", "")
    if exc.stack:
        yield "Traceback (most recent call last):"
        for frame in exc.stack.format():
            yield from (escape_text(line) for line in frame.rstrip("\n").split("\n"))
    for part in exc.format_exception_only():
        yield escape_text(part.rstrip("\n"))
    for member in exc.exceptions or ():       # the members of an ExceptionGroup
        yield from ("    " + line for line in exception_lines(member))


# A Host header value or a `trusted_hosts` rule: name or [IPv6 address], optional port.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::(\d{1,5}))?")


def host_trusted(host: str, rules: list[str]) -> bool:
    """Whether `host` (request.host: name[:port]) matches a `trusted_hosts` rule: `name[:port]`
    matches exactly that host; `.name[:port]` matches the name and every name below it. Names
    ignore case; the ports must be equal, and no port means the scheme's default (Werkzeug leaves
    :80 and :443 out of request.host)."""
    found = _HOST.fullmatch(host or "")
    if not found:
        return False
    name, port = found[1].lower(), found[2] and int(found[2])
    for rule in rules:
        below = rule.startswith(".")
        parsed = _HOST.fullmatch(rule[1:] if below else rule)
        if parsed is None or (parsed[2] and int(parsed[2])) != port:
            continue
        rule_name = parsed[1].lower()
        if name == rule_name or (below and name.endswith("." + rule_name)):
            return True
    return False


def listen_base(settings: Settings) -> str:
    """`http://host:port` of the address the settings say the service listens on, or "" (links
    are then root-relative) when that is every interface (0.0.0.0, ::): no client can use it."""
    return _listen_base(settings.host, settings.port)


@functools.cache
def _listen_base(host: str, port: int) -> str:
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if not host or (address is not None and address.is_unspecified):
        return ""
    return f"http://{f'[{host}]' if address is not None and address.version == 6 else host}:{port}"


def link_base(settings: Settings) -> str:
    """The base of the links in this request's reply (no trailing slash; "" = root-relative):
    `public_base_url`; else the request's host when `trusted_hosts` lists it; else the configured
    listen address. Never a Host header that the operator did not list."""
    if settings.public_base_url:
        return settings.public_base_url
    if settings.trusted_hosts and host_trusted(request.host, settings.trusted_hosts):
        return f"{request.scheme}://{request.host}"
    return listen_base(settings)


def assign_request_id() -> str:
    incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else random_uuid().hex
    return g.request_id


def is_open_path(path: str) -> bool:
    return path in OPEN_PATHS or path == "/docs" or path.startswith("/docs/")


def is_page(path: str) -> bool:
    """A draft's HTML page (/drafts/<id> or its preview, not the zip or .otio): a browser reads its answers."""
    page = path.count("/") == 2 and not path.endswith((".zip", ".otio")) or \
        path.count("/") == 3 and path.endswith("/preview")
    return path.startswith("/drafts/") and page


def signed_link_ok(keys: list[str]) -> bool:
    """A /drafts/ download link carrying a valid, unexpired signature (capcut_drafts/storage/local.py signs them)."""
    return link_ok(keys, request.path, request.args.get("expires", ""), request.args.get("sig", ""))


def api_key_identity(authorization: bytes, x_api_key: bytes, keys: Sequence[str]) -> str | None:
    """The API-key check of every door (Flask here, the MCP server's HTTP transport): the
    fingerprint of the configured key the request presents, or None when it presents none or a
    wrong one. The key is `Authorization: Bearer <key>` (scheme in any case), else `X-API-Key`;
    header values are the bytes as sent, compared with each key's UTF-8 bytes in constant time."""
    given = authorization[7:].strip() if authorization[:7].lower() == b"bearer " else x_api_key
    if not given:
        return None
    match = None
    for key in keys:                       # compare with every key: no early exit to time
        if hmac.compare_digest(given, key.encode()):
            match = key
    return hashlib.sha256(match.encode()).hexdigest()[:16] if match else None


def _header_bytes(name: str) -> bytes:
    # WSGI hands header values over decoded as ISO-8859-1, so encoding back gives the bytes sent.
    return request.headers.get(name, "").encode("latin-1", "replace")


def check_key(keys: list[str]) -> str | None:
    """This request's key fingerprint (for rate limiting), or None when the key is missing/wrong."""
    return api_key_identity(_header_bytes("Authorization"), _header_bytes("X-API-Key"), keys)


def listens_beyond_loopback(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host not in ("localhost",)


class RateLimiter:
    """`limit` requests per `window` seconds per identity; returns seconds to wait or 0."""

    def __init__(self, limit: int, window: int = 60, redis_client: Redis | None = None,
                 prefix: str = "capcut:rate:"):
        self.limit, self.window, self.redis, self.prefix = limit, window, redis_client, prefix
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, identity: str) -> int:
        if self.limit <= 0:
            return 0
        now = time.time()
        slot = int(now // self.window)
        retry = int(self.window - now % self.window) + 1
        if self.redis is not None:
            count = self._redis_hit(self.redis, identity, slot)
        else:
            count = self._local_hit(identity, slot)
        return retry if count > self.limit else 0

    def _local_hit(self, identity: str, slot: int) -> int:
        with self._lock:
            for old in [k for k in self._counts if k[1] < slot]:
                del self._counts[old]
            self._counts[identity, slot] = self._counts.get((identity, slot), 0) + 1
            return self._counts[identity, slot]

    def _redis_hit(self, client: Redis, identity: str, slot: int) -> int:
        key = f"{self.prefix}{identity}:{slot}"
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, self.window * 2)
        return int(pipe.execute()[0])
