"""The gunicorn worker of this service: gthread, but the event loop reads each request completely
before a thread sees it.

Stock gthread hands a connection to a thread as soon as its first byte arrives; the thread then
blocks in recv() until the request line, the headers and (inside the app) the body are in. A client
that stops half-way pins that thread, and 2 workers x 4 threads are pinned by 8 such clients.

`BufferedThreadWorker` instead registers every plain-HTTP connection with the worker's selector and
collects the request there (`RequestFrame` knows when it is complete: Content-Length or chunked).
Only a complete request goes to a thread (or one gunicorn's parser refuses from the bytes at hand,
or one whose body is over `max_body_bytes`, which the app answers 413 unread); the thread parses it
from memory and the app reads the body from memory (a chunked one de-chunked first, see `dechunk`).
So a thread never waits for a client, and a stalled client costs one socket and its buffered
bytes, not a thread.

Limits, all answered with the JSON envelope the app uses (`{success, output, error, code}`):

* `request_read_timeout_seconds` (settings): the headers must be complete that long after the
  connection (or its next request) started, and no gap between body reads may be longer: 408
  `request_timeout`. Idle connections that sent nothing are closed without a reply.
* A worker holds at most `buffer_budget` bytes of unfinished requests: beyond, the largest of
  them is answered 503 `server_busy` (Retry-After: 1).
* Requests gunicorn refuses to parse: 414 `request_line_too_long`, 431 `headers_too_large`,
  400 (501, 417) `bad_request` (`handle_error` below), instead of gunicorn's HTML pages.

A kept-alive connection is closed after `keepalive_requests` requests (settings; the reply says
`Connection: close`, as nginx's `keepalive_requests`). A connection stays with the worker that
accepted it, so without this, clients that connected while the other workers were still starting
(a worker takes about a second to load the app) would stay on one worker for good.

TLS and cleartext HTTP/2 connections keep gunicorn's own path (threads read them), with the read
timeout set on the socket. Graceful closes linger in the event loop instead of blocking it.
"""
from __future__ import annotations

import errno
import json
import re
import socket
import ssl
import time
from collections.abc import Callable
from functools import partial
from selectors import EVENT_READ
from typing import Any

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.http.unreader import IterUnreader, SocketUnreader
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from capcut_drafts.settings import load_settings

RECV_BYTES = 256 * 1024
LINGER_SECONDS = 2.0              # as gunicorn's util.close_graceful
LINGER_DRAIN_BYTES = 64 * 1024
SWEEP_SECONDS = 0.2               # how often read deadlines are checked: 408s go out <= 0.2 s late
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


LOADED = "Worker %s loaded the app"      # logged by gunicorn.conf.py's post_worker_init
_LOADED = re.compile(LOADED.replace("%s", r"(\d+)"))


def loaded_workers(log: str) -> set[int]:
    """The pids of the workers a gunicorn log says have loaded the app (`LOADED`). gunicorn logs
    'Booting worker' a second earlier, and a worker still loading accepts no connection."""
    return {int(pid) for pid in _LOADED.findall(log)}


def header_cap(cfg: Any) -> int:
    """Bytes of request line + headers past which gunicorn's parser refuses a request (414/431)
    without reading more: the limits as gunicorn's Message and Request normalise them, plus one."""
    line = cfg.limit_request_line
    line = MAX_REQUEST_LINE if line <= 0 or line > MAX_REQUEST_LINE else line
    fields = cfg.limit_request_fields
    fields = MAX_HEADERS if fields <= 0 or fields > MAX_HEADERS else fields
    field_size = cfg.limit_request_field_size if cfg.limit_request_field_size > 0 else DEFAULT_MAX_HEADERFIELD_SIZE
    return line + 2 + fields * (field_size + 2) + 4 + 1


class RequestFrame:
    """The bytes of one HTTP/1.x request as they arrive, and whether they are all there.

    Only framing is read here (Content-Length, Transfer-Encoding, Expect); gunicorn's parser still
    validates everything. `feed()` answers True once the request can go to a thread: it is
    complete (`complete` is then True), or gunicorn's parser refuses it from the bytes at hand
    (malformed framing, headers over `head_cap`), or its body is over `body_cap` (the app answers
    413 without reading it).
    """

    def __init__(self, head_cap: int, body_cap: int):
        self.head_cap = head_cap
        self.body_cap = body_cap
        self.buf = bytearray()
        self.head_end: int | None = None        # index just past the blank line ending the headers
        self.body_end: int | None = None        # index just past the body (Content-Length or none)
        self.chunk_at: int | None = None        # next chunk-size line (chunked)
        self.expects_continue = False
        self.complete = False
        self.dechunk = False                      # chunked, all here or broken: see BufferedThreadWorker
        self._searched = 0

    def feed(self, data: bytes) -> bool:
        self.buf += data
        head_end = self.head_end if self.head_end is not None else self._find_head_end()
        if head_end is None:
            return len(self.buf) > self.head_cap
        if self.chunk_at is not None:
            return self._scan_chunks(head_end, self.chunk_at)
        if self.body_end is None:                 # framing gunicorn or the app refuses as it is
            return True
        self.complete = len(self.buf) >= self.body_end
        return self.complete

    def _find_head_end(self) -> int | None:
        """`head_end` once the blank line that ends the headers is here (and the framing read)."""
        start = max(2 if self.buf.startswith(b"\r\n") else 0, self._searched - 3)  # one CRLF may lead
        idx = self.buf.find(b"\r\n\r\n", start)
        if idx < 0:
            self._searched = len(self.buf)
            return None
        self.head_end = idx + 4
        self._read_framing(bytes(self.buf[:idx]).lstrip(b"\r\n").split(b"\r\n"), self.head_end)
        return self.head_end

    def _read_framing(self, lines: list[bytes], head_end: int) -> None:
        values: dict[bytes, list[bytes]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            values.setdefault(name.strip().lower(), []).append(value.strip().lower())
        self.expects_continue = (lines[0].endswith(b"HTTP/1.1")
                                 and values.get(b"expect") == [b"100-continue"])
        codings, lengths = values.get(b"transfer-encoding"), values.get(b"content-length")
        if codings:
            if codings[-1].rsplit(b",", 1)[-1].strip() == b"chunked" and not lengths:
                self.chunk_at = head_end
        elif lengths:
            size = lengths[0]
            if len(set(lengths)) == 1 and size.isdigit() and int(size) <= self.body_cap:
                self.body_end = head_end + int(size)
        else:
            self.body_end = head_end

    def _scan_chunks(self, head_end: int, pos: int) -> bool:
        """Follow chunk-size lines from `pos`; True at the end of the trailers, at broken framing
        (gunicorn's reader refuses it from the bytes at hand) or past the cap (the app answers 413)."""
        while len(self.buf) - head_end <= self.body_cap:
            line_end = self.buf.find(b"\r\n", pos)
            if line_end < 0:
                return self._broken() if len(self.buf) - pos > DEFAULT_MAX_HEADERFIELD_SIZE else False
            size = bytes(self.buf[pos:line_end]).split(b";", 1)[0].strip(b" \t")
            if not _HEX.fullmatch(size):
                return self._broken()
            if int(size, 16) == 0:
                self.complete = self.buf.find(b"\r\n\r\n", line_end) >= 0
                if self.complete:
                    self.dechunk = True
                    return True
                return self._broken() if len(self.buf) - line_end > self.head_cap else False  # trailers
            pos = line_end + 2 + int(size, 16) + 2
            if pos > len(self.buf):
                return False
            if self.buf[pos - 2:pos] != b"\r\n":
                return self._broken()
            self.chunk_at = pos
        return True

    def _broken(self) -> bool:
        self.dechunk = True
        return True


def envelope_reply(status: int, reason: str, code: str, error: str, *extra_headers: str) -> bytes:
    """A complete HTTP/1.1 reply carrying the service's failure envelope; the connection closes."""
    body = json.dumps({"success": False, "output": "", "error": error, "code": code}).encode()
    head = [f"HTTP/1.1 {status} {reason}", "Connection: close", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *extra_headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


# gunicorn's parse errors -> (status, reason, code, message); `{exc}` is gunicorn's own detail.
# The first row holds the ParseExceptions that are not the client's fault (gunicorn answers 500).
_PARSE_ERRORS = (
    ((http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName,
      http_errors.ConfigurationProblem), None, "", "", ""),
    (http_errors.LimitRequestLine, 414, "URI Too Long", "request_line_too_long",
     "The request line (method, path and query string) is longer than {line} bytes; "
     "send long parameters in the JSON body instead."),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large",
     "The request headers are too large ({exc}): at most {fields} header fields of at most "
     "{field_size} bytes each."),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented", "bad_request",
     "Unknown Transfer-Encoding ({exc}); send the body with Content-Length or chunked."),
    (http_errors.ExpectationFailed, 417, "Expectation Failed", "bad_request",
     "Unsupported Expect header ({exc}); only 100-continue is understood."),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "bad_request",
     "PROXY protocol header from an address not in proxy_allow_ips ({exc})."),
    (http_errors.ParseException, 400, "Bad Request", "bad_request", "The request is not valid HTTP/1.1: {exc}."),
)


def parse_error_reply(cfg: Any, exc: BaseException) -> bytes | None:
    """The envelope reply for a request gunicorn refused to parse; None if `exc` is not the client's fault."""
    for kinds, status, reason, code, message in _PARSE_ERRORS:
        if isinstance(exc, kinds):
            if status is None:
                return None
            text = message.format(exc=exc, line=cfg.limit_request_line, fields=cfg.limit_request_fields,
                                  field_size=cfg.limit_request_field_size)
            return envelope_reply(status, reason, code, text)
    return None


def dechunk(req: Any) -> None:
    """Read a chunked body now, from memory, and give the app the plain bytes.

    gunicorn's chunk errors (a ParseException) would otherwise surface inside the app's body read
    and be answered as an internal error; raised here, they reach handle_error: 400 bad_request.
    """
    data = req.body.read()
    req.body = Body(LengthReader(IterUnreader([data]), len(data)))


class PrefetchedUnreader(SocketUnreader):
    """gunicorn's socket reader, serving the bytes the event loop already read before the socket.

    It hands them out in the pieces a socket would (8 KiB, up to 1 MiB for a body): putting a
    whole body back with unread() instead made every later read copy all that was left
    (15 MB bodies took 3x as long).
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.pending = memoryview(b"")

    def prefetch(self, data: bytearray) -> None:
        self.settle()
        self.pending = memoryview(data)

    def chunk(self, size_hint: int | None = None) -> bytes:
        if not self.pending:
            return super().chunk(size_hint)
        size = min(size_hint, self.max_body_chunk) if size_hint and size_hint > self.mxchunk else self.mxchunk
        piece, self.pending = bytes(self.pending[:size]), self.pending[size:]
        return piece

    def settle(self) -> None:
        """Move what is left into `buf`, where gthread looks for pipelined bytes after a reply."""
        if self.pending:
            self.buf.seek(0, 2)
            self.buf.write(self.pending)
            self.pending = memoryview(b"")

    def take_buffered(self) -> bytes:
        self.settle()
        return super().take_buffered()


class BufferedConn(TConn):
    """A gthread connection plus the request the event loop is collecting for it."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any, read_timeout: float,
                 buffered: bool):
        super().__init__(cfg, sock, client, server)
        self.read_timeout = read_timeout
        self.buffered = buffered                  # False: TLS or h2c, read by threads as in gthread
        self.frame: RequestFrame | None = None
        self.deadline = 0.0
        self.sent_continue = False
        self.served = 0                            # requests handled on this connection
        # set by the worker: closes without blocking the loop
        self.linger: Callable[[socket.socket], None] | None = None

    def init(self) -> None:
        """In the thread, before parsing: give the parser the buffered bytes, bound socket reads."""
        super().init()
        self.sock.settimeout(self.read_timeout)
        if self.frame is not None and self.frame.buf:
            if not isinstance(self.parser.unreader, PrefetchedUnreader):
                self.parser.unreader = PrefetchedUnreader(self.sock)
            self.parser.unreader.prefetch(self.frame.buf)
            self.frame.buf = bytearray()

    def close(self, graceful: bool = False) -> None:
        if graceful and self.linger is not None:
            self.linger(self.sock)
        else:
            super().close(graceful)


class BufferedThreadWorker(ThreadWorker):
    """gthread whose event loop collects each request before a thread handles it (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = load_settings()
        self.read_timeout = float(settings.request_read_timeout_seconds)
        self.keepalive_requests = settings.keepalive_requests
        self.body_cap = settings.max_body_bytes
        self.head_cap = header_cap(self.cfg)
        # Room for four largest requests at once (~66 MB by default); see _refuse_largest.
        self.buffer_budget = 4 * (self.body_cap + self.head_cap)
        self.buffered_bytes = 0
        self.reading: set[BufferedConn] = set()
        self.lingering: dict[socket.socket, list[float]] = {}     # socket -> [deadline, bytes drained]
        self.next_sweep = 0.0

    # --- connections in, requests out ------------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        plain = not self.cfg.is_ssl and not negotiation.prior_knowledge_allowed(self.cfg, addr)
        conn = BufferedConn(self.cfg, sock, addr, listener.getsockname(), self.read_timeout, plain)
        conn.linger = self.linger
        self.enqueue_req(conn)

    def enqueue_req(self, conn: BufferedConn) -> None:
        """gthread calls this for a new connection, a readable kept-alive one and pipelined bytes
        left after a reply: collect the request here first (see `_hand_off`)."""
        if not conn.buffered:
            super().enqueue_req(conn)
            return
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        frame = conn.frame = RequestFrame(self.head_cap, self.body_cap)
        conn.deadline = time.monotonic() + self.read_timeout
        conn.sent_continue = False
        conn.sock.setblocking(False)
        self.reading.add(conn)
        if leftover and self._feed(conn, frame, leftover):
            return
        self.poller.register(conn.sock, EVENT_READ, partial(self.on_request_bytes, conn))

    def on_request_bytes(self, conn: BufferedConn, _sock: socket.socket) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:                              # the client went away mid-request
            self._stop_reading(conn)
            self.nr_conns -= 1
            util.close(conn.sock)
            return
        if conn.frame is not None:                # always, while the connection is being read
            self._feed(conn, conn.frame, data)

    def _feed(self, conn: BufferedConn, frame: RequestFrame, data: bytes) -> bool:
        """Add bytes to the request `conn` is collecting; True when the connection left the event loop."""
        self.buffered_bytes += len(data)
        ready = frame.feed(data)
        if frame.head_end is not None:            # body: the timeout is per gap between reads
            conn.deadline = time.monotonic() + self.read_timeout
        if ready:
            self._hand_off(conn)
            return True
        if self.buffered_bytes > self.buffer_budget and self._refuse_largest() is conn:
            return True
        if frame.expects_continue and not conn.sent_continue:
            conn.sent_continue = True
            self._send(conn.sock, CONTINUE)
        return False

    def _hand_off(self, conn: BufferedConn) -> None:
        self._stop_reading(conn)
        conn.data_ready = True                    # gthread's handle() must not wait for the socket
        super().enqueue_req(conn)

    def _stop_reading(self, conn: BufferedConn) -> None:
        self.reading.discard(conn)
        self.buffered_bytes -= _buffered(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass                                  # never registered (pipelined bytes) or closed

    def _refuse_largest(self) -> BufferedConn:
        """Over the budget: 503 for the unfinished request holding the most bytes (not the small
        request that happened to arrive last), which frees the most memory."""
        largest = max(self.reading, key=_buffered)
        self._refuse(largest, envelope_reply(
            503, "Service Unavailable", "server_busy",
            "The server is receiving too many large requests at once; retry in a moment.",
            "Retry-After: 1"))
        return largest

    def _refuse(self, conn: BufferedConn, reply: bytes) -> None:
        self._stop_reading(conn)
        self.nr_conns -= 1
        self._send(conn.sock, reply)
        self.linger(conn.sock)

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> None:
        """One non-blocking send: replies sent from the loop are small and the socket buffer empty."""
        try:
            sock.send(data)
        except OSError:
            pass

    # --- in the thread ---------------------------------------------------------------------------

    def handle(self, conn: BufferedConn) -> Any:
        try:
            return super().handle(conn)
        finally:
            unreader = getattr(conn.parser, "unreader", None)    # None, or HTTP/2's parser: no unreader
            if isinstance(unreader, PrefetchedUnreader):
                unreader.settle()

    def handle_request(self, req: Any, conn: BufferedConn) -> Any:
        if conn.sent_continue:
            req._expected_100_continue = False    # the loop sent it already; gunicorn would again
        frame = conn.frame
        if frame is not None and frame.dechunk:
            dechunk(req)
        if frame is not None and frame.complete:
            conn.sock.settimeout(None)            # nothing left to read; replies may take their time
        conn.served += 1
        if conn.buffered and conn.served >= self.keepalive_requests:
            req.must_close = True                 # the reply says Connection: close (see the module doc)
        return super().handle_request(req, conn)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """gunicorn's error replies, as the JSON envelope instead of an HTML page."""
        if isinstance(exc, ssl.SSLError):
            super().handle_error(req, client, addr, exc)   # TLS only, which this service leaves to a proxy
            return
        reply = parse_error_reply(self.cfg, exc)
        if reply is not None:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        else:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
            reply = envelope_reply(500, "Internal Server Error", "internal_error",
                                   "Internal error while handling the request; please report this.")
        try:
            util.write_nonblock(client, reply)
        except Exception:                         # the client is gone; nothing to tell it
            self.log.debug("Failed to send error message.")

    # --- timeouts and closing, called from gthread's loop ------------------------------------------

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_sweep:                 # gthread calls this after every event
            return
        self.next_sweep = now + SWEEP_SECONDS
        for conn in [c for c in self.reading if self._expired(c, now)]:
            if _buffered(conn):
                self._refuse(conn, envelope_reply(
                    408, "Request Timeout", "request_timeout",
                    f"The request did not arrive within {self.read_timeout:g} s (headers in total, "
                    "body between reads); send it again without pausing."))
            else:                                 # idle: nothing was asked, nothing to answer
                self._stop_reading(conn)
                self.nr_conns -= 1
                util.close(conn.sock)
        for sock, (deadline, _) in list(self.lingering.items()):
            if deadline <= now:
                self._end_linger(sock)

    def _expired(self, conn: BufferedConn, now: float) -> bool:
        if not self.alive and not _buffered(conn):  # stopping: do not wait long for a next request
            conn.deadline = min(conn.deadline, now + STOP_KEEPALIVE_LINGER)
        return conn.deadline <= now

    def linger(self, sock: socket.socket) -> None:
        """util.close_graceful without blocking the loop: send FIN, drain what the client still
        sends (so the kernel does not reset the reply away), close at EOF or after 2 s."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, EVENT_READ, self._drain_linger)
        except (OSError, ValueError, KeyError):
            util.close(sock)
            return
        self.lingering[sock] = [time.monotonic() + LINGER_SECONDS, 0]

    def _drain_linger(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(LINGER_DRAIN_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        entry = self.lingering[sock]
        entry[1] += len(data)
        if not data or entry[1] >= LINGER_DRAIN_BYTES:
            self._end_linger(sock)

    def _end_linger(self, sock: socket.socket) -> None:
        self.lingering.pop(sock, None)
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        util.close(sock)


def _buffered(conn: BufferedConn) -> int:
    """Bytes of the request the event loop holds for `conn`."""
    return len(conn.frame.buf) if conn.frame is not None else 0
