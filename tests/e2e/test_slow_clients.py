"""Slow, stalled and malformed clients against real gunicorn (the project's gunicorn.conf.py,
2 workers x 4 threads), and the request framing of capcut_drafts/web/server.py without sockets.

* 16 connections that stall in their body (full headers, 12 of 1 000 announced bytes) or trickle
  their headers (slowloris) must not stop GET /healthz: 10 of 10 answer within 1 s each.
* A stalled request is answered 408 with the JSON envelope (code request_timeout) once the read
  timeout has passed; trickled headers are cut off at the same timeout even though bytes keep coming.
* Requests gunicorn refuses to parse (over-long request line, too many or too large headers, a NUL
  in a header) are answered with the JSON envelope too.
* What the server buffers is still served as before: bodies sent in slow pieces, chunked bodies,
  Expect: 100-continue, pipelined requests.
* A kept-alive connection is closed after `keepalive_requests` (4 here) requests, pipelined or not.

The server uses request_read_timeout_seconds=2 to keep the file short; every socket has a timeout.
"""
from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
from helpers import check_envelope
from helpers.processes import Gunicorn

READ_TIMEOUT_S = 2
MAX_BODY = 1024 ** 2           # each worker then buffers at most ~5.9 MB of unfinished requests
STALLED = 16
KEEPALIVE_REQUESTS = 4
BODY_HEAD = (b"POST /create_draft HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n" + b'{"width": 10')          # 12 of the 1 000 bytes


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    svc = Gunicorn(tmp_path_factory.mktemp("slow-clients"), workers=2, max_body_bytes=str(MAX_BODY),
                   request_read_timeout_seconds=str(READ_TIMEOUT_S),
                   keepalive_requests=str(KEEPALIVE_REQUESTS)).start()
    yield svc
    svc.stop()


# --- raw HTTP/1.1 on a socket -------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    interim: list = field(default_factory=list)       # statuses of 1xx replies before this one

    def envelope(self) -> dict:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        return check_envelope(json.loads(self.body))


class Raw:
    """One client connection that sends bytes as given and reads replies one by one."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> Raw:
        self.sock.sendall(data)
        return self

    def fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed by the server; unparsed bytes: {self.buf[:200]!r}")
        self.buf += chunk

    def reply(self) -> Reply:
        """The next final reply (1xx replies before it are collected in `interim`)."""
        interim = []
        while True:
            while b"\r\n\r\n" not in self.buf:
                self.fill()
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            if status >= 200:
                break
            interim.append(status)
        length = int(headers.get("content-length", 0))
        while len(self.buf) < length:
            self.fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return Reply(status, headers, body, interim)

    def close(self) -> None:
        self.sock.close()


STALL_START = {
    "body": BODY_HEAD,
    "headers": b"GET /healthz HTTP/1.1\r\nHost: t\r\n",
    "close": b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
}


class Stallers:
    """`count` connections stuck: `body` sends 12 of 1 000 body bytes, `headers` (slowloris) sends
    one more header line every `every` seconds and never ends the headers, `close` asks for
    Connection: close and then neither reads the reply nor closes its side."""

    def __init__(self, port: int, count: int, kind: str, every: float = 0.3):
        self.conns = [Raw(port).send(STALL_START[kind]) for _ in range(count)]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, args=(every,), daemon=True)
        if kind == "headers":
            self.thread.start()

    def _trickle(self, every: float) -> None:
        for line in range(int(60 / every)):          # bounded: one minute at most
            if self.stop.wait(every):
                return
            for conn in self.conns:
                try:
                    conn.send(b"X-Slow-%d: 1\r\n" % line)
                except OSError:
                    pass                             # closed by the server: allowed

    def __enter__(self) -> Stallers:
        time.sleep(0.3)                              # the workers have picked the requests up
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        for conn in self.conns:
            conn.close()


def healthz_failures(base: str, tries: int = 10) -> list[str]:
    """GET /healthz `tries` times on new connections, 1 s each; what went wrong, if anything."""
    failures = []
    for _ in range(tries):
        try:
            resp = requests.get(base + "/healthz", timeout=1, headers={"Connection": "close"})
            if resp.status_code != 200 or not resp.json()["success"]:
                failures.append(f"HTTP {resp.status_code}: {resp.text[:100]}")
        except requests.RequestException as e:
            failures.append(type(e).__name__)
    return failures


# --- stalled clients ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["body", "headers", "close"])
def test_healthz_answers_while_16_clients_stall(gunicorn, kind):
    with Stallers(gunicorn.port, STALLED, kind):
        assert healthz_failures(gunicorn.base) == []


def test_64_stalled_bodies_do_not_stop_healthz_either(gunicorn):
    with Stallers(gunicorn.port, 64, "body"):
        assert healthz_failures(gunicorn.base) == []


def test_a_stalled_body_is_answered_408_at_the_read_timeout(gunicorn):
    conn = Raw(gunicorn.port, timeout=READ_TIMEOUT_S + 5).send(BODY_HEAD)
    started = time.monotonic()
    try:
        reply = conn.reply()
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    assert reply.status == 408 and reply.headers.get("connection") == "close"
    assert reply.envelope()["code"] == "request_timeout"
    assert READ_TIMEOUT_S - 0.5 < elapsed < READ_TIMEOUT_S + 1.5, elapsed


def test_trickled_headers_are_cut_off_at_the_read_timeout(gunicorn):
    started = time.monotonic()
    with Stallers(gunicorn.port, 1, "headers", every=0.2) as slow:
        slow.conns[0].sock.settimeout(READ_TIMEOUT_S + 5)
        reply = slow.conns[0].reply()
    elapsed = time.monotonic() - started
    assert reply.status == 408 and reply.envelope()["code"] == "request_timeout"
    assert elapsed < READ_TIMEOUT_S + 1.5, elapsed


def test_past_the_buffer_budget_the_largest_unfinished_request_gets_503_and_small_ones_pass(gunicorn):
    refused, stallers = None, []
    try:
        for i in range(16):                       # <= 16 MB in all; a worker's budget is ~5.9 MB
            conn = Raw(gunicorn.port, timeout=2).send(post_head(MAX_BODY) + b"x" * (MAX_BODY - 10_000 * (i + 1)))
            stallers.append(conn)
            time.sleep(0.1)
            readable, _, _ = select.select([c.sock for c in stallers], [], [], 0)
            if readable:
                refused = next(c for c in stallers if c.sock is readable[0]).reply()
                break
        assert refused is not None, "no request was refused"
        assert refused.status == 503 and refused.headers["retry-after"] == "1", refused
        assert refused.envelope()["code"] == "server_busy"
        assert healthz_failures(gunicorn.base) == []
    finally:
        for conn in stallers:
            conn.close()


def test_an_idle_connection_is_closed_without_a_reply(gunicorn):
    conn = Raw(gunicorn.port, timeout=READ_TIMEOUT_S + 5)
    try:
        assert conn.sock.recv(100) == b""                # closed, nothing sent
    finally:
        conn.close()


# --- what is buffered is still served -----------------------------------------------------------

def post_head(length: int, *extra: bytes) -> bytes:
    return (b"POST /create_draft HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + b"".join(h + b"\r\n" for h in extra) + b"Content-Length: %d\r\n\r\n" % length)


def test_a_body_in_slow_pieces_is_served_as_long_as_each_piece_arrives_in_time(gunicorn):
    body = json.dumps({"width": 1080, "height": 1920}).encode()
    conn = Raw(gunicorn.port).send(post_head(len(body)))
    try:
        for i in range(0, len(body), 5):              # ~6 pieces, 0.5 s apart: longer than the timeout
            time.sleep(0.5)
            conn.send(body[i:i + 5])
        reply = conn.reply()
    finally:
        conn.close()
    assert reply.status == 200 and reply.envelope()["success"], reply


def test_a_chunked_body_is_served(gunicorn):
    body = json.dumps({"width": 1080}).encode()
    conn = Raw(gunicorn.port)
    try:
        conn.send(b"POST /create_draft HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        conn.send(b"%x\r\n%s\r\n" % (5, body[:5]))
        time.sleep(0.2)
        conn.send(b"%x;note=1\r\n%s\r\n0\r\n\r\n" % (len(body) - 5, body[5:]))
        reply = conn.reply()
    finally:
        conn.close()
    assert reply.status == 200 and reply.envelope()["success"], reply


def test_expect_100_continue_is_answered_once_before_the_body(gunicorn):
    body = b"{}"
    conn = Raw(gunicorn.port, timeout=0.8)               # curl waits 1 s for the 100 before it sends anyway
    try:
        conn.send(post_head(len(body), b"Expect: 100-continue"))
        while b"\r\n\r\n" not in conn.buf:
            conn.fill()
        assert conn.buf.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), conn.buf
        conn.buf = conn.buf[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        conn.sock.settimeout(5)
        reply = conn.send(body).reply()
    finally:
        conn.close()
    assert reply.status == 200 and reply.interim == [] and reply.envelope()["success"], reply


def test_pipelined_requests_are_all_answered_in_order(gunicorn):
    body = b'{"width": 720}'
    conn = Raw(gunicorn.port)
    try:
        conn.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + post_head(len(body)) + body
                  + b"GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n")
        replies = [conn.reply() for _ in range(3)]
    finally:
        conn.close()
    assert [r.status for r in replies] == [200, 200, 200], replies
    assert replies[0].envelope()["output"] == {"status": "ok"}
    assert "draft_id" in replies[1].envelope()["output"]
    assert replies[2].envelope()["output"] == {"status": "ready"}


def test_keep_alive_serves_a_second_request_sent_later(gunicorn):
    conn = Raw(gunicorn.port)
    try:
        first = conn.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").reply()
        time.sleep(0.3)
        second = conn.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").reply()
    finally:
        conn.close()
    assert first.status == second.status == 200


def closed_by_server(conn: Raw) -> bool:
    try:
        return conn.sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_kept_alive_connection_closes_after_keepalive_requests(gunicorn):
    conn = Raw(gunicorn.port)
    try:
        replies = [conn.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").reply() for _ in range(KEEPALIVE_REQUESTS)]
        assert closed_by_server(conn)
    finally:
        conn.close()
    assert [r.status for r in replies] == [200] * KEEPALIVE_REQUESTS
    assert [r.headers.get("connection") for r in replies] == ["keep-alive"] * (KEEPALIVE_REQUESTS - 1) + ["close"]


def test_pipelined_requests_past_keepalive_requests_are_left_for_a_new_connection(gunicorn):
    conn = Raw(gunicorn.port)
    try:
        conn.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * (KEEPALIVE_REQUESTS + 2))
        replies = [conn.reply() for _ in range(KEEPALIVE_REQUESTS)]
        assert conn.buf == b"" and closed_by_server(conn)
    finally:
        conn.close()
    assert [r.status for r in replies] == [200] * KEEPALIVE_REQUESTS
    assert replies[-1].headers.get("connection") == "close"


# --- requests gunicorn refuses to parse ---------------------------------------------------------

MALFORMED = {
    "request_line_too_long": (b"GET /healthz?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    "headers_too_large/count": (b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
                                + b"".join(b"X-H%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431),
    "headers_too_large/size": (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    # past what gunicorn buffers for a header block, without its end: refused now, not at the timeout
    "headers_too_large/unterminated": (b"GET /healthz HTTP/1.1\r\n" + b"X-A: b\r\n" * 60_000, 431),
    "bad_request/nul": (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Nul: a\x00b\r\n\r\n", 400),
    "bad_request/line": (b"GET\r\n\r\n", 400),
    "bad_request/two_lengths": (b"POST /create_draft HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                                b"Content-Length: 3\r\n\r\n{}", 400),
    "bad_request/coding": (b"POST /create_draft HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: br\r\n\r\n", 501),
    "bad_request/chunk_size": (b"POST /create_draft HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400),
    "bad_request/chunk_end": (b"POST /create_draft HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", 400),
    "bad_request/not_chunked": (b"POST /create_draft HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    "bad_request/expect": (b"POST /create_draft HTTP/1.1\r\nHost: t\r\nExpect: x\r\nContent-Length: 2\r\n\r\n{}",
                           417),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_requests_gunicorn_refuses_get_the_json_envelope(gunicorn, case):
    raw, status = MALFORMED[case]
    conn = Raw(gunicorn.port)
    try:
        reply = conn.send(raw).reply()
    finally:
        conn.close()
    assert reply.status == status, reply
    envelope = reply.envelope()
    assert envelope["code"] == case.split("/")[0] and not envelope["success"], envelope


# --- RequestFrame: when the event loop hands a request to a thread -----------------------------

def frame_after(*pieces: bytes, head_cap: int = 1000, body_cap: int = 100):
    """A RequestFrame fed `pieces` in order; returns it and what each feed answered."""
    from capcut_drafts.web.server import RequestFrame
    frame = RequestFrame(head_cap, body_cap)
    return frame, [frame.feed(p) for p in pieces]


def test_frame_without_body_is_complete_at_the_blank_line_even_split_inside_it():
    frame, ready = frame_after(b"GET / HTTP/1.1\r\nHost: t\r", b"\n\r", b"\n")
    assert ready == [False, False, True] and frame.complete


def test_frame_with_content_length_waits_for_every_byte():
    frame, ready = frame_after(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", b"cd", b"e")
    assert ready == [False, False, True] and frame.complete


def test_frame_keeps_pipelined_bytes_for_the_parser():
    frame, ready = frame_after(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
    assert ready == [True] and frame.complete and frame.buf.endswith(b"GET /b HTTP/1.1\r\n\r\n")


def test_frame_follows_chunks_to_the_end_of_the_trailers():
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    frame, ready = frame_after(head + b"3;x=1\r\nabc\r\n", b"2\r\nde\r\n0\r\n", b"X-T: 1\r\n", b"\r\n")
    assert ready == [False, False, False, True] and frame.complete and frame.dechunk


@pytest.mark.parametrize("raw", [
    b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n",                        # over the cap: the app says 413
    b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",     # conflicting: gunicorn says 400
    b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",                   # gunicorn says 501
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",          # bad chunk size: 400
    b"GET /" + b"a" * 1001,                                                    # over head_cap, no end yet
])
def test_frame_hands_over_what_gunicorn_or_the_app_refuses_without_waiting(raw):
    frame, ready = frame_after(raw)
    assert ready == [True] and not frame.complete


def test_frame_hands_over_chunk_data_without_its_crlf_as_broken():
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    frame, ready = frame_after(head + b"2\r\n{}XX0\r\n\r\n")
    assert ready == [True] and frame.dechunk and not frame.complete


def test_frame_hands_over_a_chunked_body_past_the_cap():
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    frame, ready = frame_after(head + b"40\r\n" + b"a" * 64 + b"\r\n", b"40\r\n" + b"b" * 64 + b"\r\n")
    assert ready == [False, True] and not frame.complete and not frame.dechunk


@pytest.mark.parametrize("version, expects", [(b"HTTP/1.1", True), (b"HTTP/1.0", False)])
def test_frame_notes_expect_100_continue_on_http_1_1_only(version, expects):
    frame, ready = frame_after(b"POST / " + version + b"\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n")
    assert ready == [False] and frame.expects_continue is expects
