"""Webhooks (`callback_url` on /save_draft and /generate_video): a real HTTP receiver on 127.0.0.1
checks what arrives (body = the final task record, headers, the HMAC signature, verified here with
`hmac`), retries and their backoff, final failures (4xx, redirects, timeouts, refused addresses), the
edge's refusals, a restart of a real gunicorn between two attempts, and a Huey worker that saves and
delivers. Services are the `service` fixture's (SQLite, thread runner, 127.0.0.1 allowed unless said).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from helpers import REPO_ROOT, free_port, make_settings, post, wait_until
from helpers.processes import Consumer, Gunicorn, service_env

from capcut_drafts.save import callbacks
from capcut_drafts.save.tasks import Task, TaskBook

SECRET = "whsec_test_0123456789"
TOLERANCE = 300                 # seconds a receiver accepts between the signature's t and its clock
CALLBACK_KEYS = {"callback_id", "callback_status", "callback_attempts", "callback_error"}
SLOW_SHORT = "slow/short.mp4?chunk=2048&interval=0.05"      # ~23 kB in ~0.6 s


@dataclass
class Answer:
    """How the receiver answers one POST: `status` after `delay` seconds, `location` for a redirect."""
    status: int = 200
    delay: float = 0.0
    location: str = ""


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float                   # time.monotonic() when the request had arrived


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 answering `answers` in order (the last one from then on)."""
    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    got: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.got.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                    answer = receiver.answers[min(len(receiver.got), len(receiver.answers)) - 1]
                time.sleep(answer.delay)
                self.send_response(answer.status)
                if answer.location:
                    self.send_header("Location", answer.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.server_address[1]}{path}"

    def wait(self, count: int, seconds: float = 20) -> list[Received]:
        return wait_until(lambda: list(self.got) if len(self.got) >= count else None, seconds,
                          f"{count} webhook request(s) at the receiver")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def start(*answers: Answer) -> Receiver:
        made.append(Receiver(list(answers) or [Answer()]))
        return made[-1]
    yield start
    for one in made:
        one.stop()


def verified(request: Received, secret: str = SECRET) -> int:
    """Check X-Signature as a receiver would (HMAC-SHA256 of "<t>." + the body, constant-time
    compare, t within TOLERANCE); the timestamp."""
    parts = dict(item.split("=", 1) for item in request.headers["X-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), request.headers["X-Signature"]
    assert abs(time.time() - int(parts["t"])) <= TOLERANCE
    return int(parts["t"])


def text_draft(svc) -> str:
    """A draft with one text: its save downloads nothing."""
    d = svc.draft()
    svc.add("text", d, text="hello", start=0, end=1)
    return d


def callback_of(svc, task_id: str, status: str = "delivered", seconds: float = 20) -> dict:
    """The save status once its callback has the final `status`."""
    return wait_until(lambda: (s := svc.status(task_id)).get("callback_status") == status and s, seconds,
                      f"callback of {task_id} to be {status}")


def record(body: bytes) -> dict:
    """A webhook body as the record a status route shows (without task_id and draft_id)."""
    sent = json.loads(body)
    return {k: v for k, v in sent.items() if k not in ("task_id", "draft_id")}


# --- what arrives -----------------------------------------------------------------------------------

def test_a_completed_save_posts_its_final_record_once_signed(service, receiver, media_server):
    hook = receiver()
    svc = service(webhook_secret=SECRET)
    d = text_draft(svc)
    svc.add("video", d, video_url=media_server.url("short.mp4"), end=1)
    reply = svc.saved(d, callback_url=hook.url())
    callback_id = reply["output"]["callback_id"]
    assert not [w for w in reply.get("warnings", []) if "webhook_secret" in w]
    [request] = hook.wait(1)
    status = callback_of(svc, d)
    assert (status["callback_id"], status["callback_attempts"], status["callback_error"]) == (callback_id, 1, "")

    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert (request.headers["X-Webhook-Id"], request.headers["X-Webhook-Attempt"]) == (callback_id, "1")
    verified(request)
    sent = json.loads(request.body)
    assert (sent["task_id"], sent["draft_id"], sent["status"]) == (d, d, "completed")
    assert record(request.body) == {k: v for k, v in status.items() if k not in CALLBACK_KEYS}
    assert sent["draft_url"] == f"http://127.0.0.1:9001/drafts/{d}.zip"
    time.sleep(0.3)
    assert len(hook.got) == 1


def test_a_failed_save_posts_its_failed_record(service, receiver, media_server):
    hook = receiver()
    svc = service(webhook_secret=SECRET)
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("missing.mp4"), end=1)
    reply = svc.save(d, callback_url=hook.url())
    assert reply["code"] == "save_failed"
    [request] = hook.wait(1)
    sent = json.loads(request.body)
    assert sent["status"] == "failed" and sent["errors"][0]["code"] == "fetch_http_status"
    assert callback_of(svc, d)["status"] == "failed"


def test_without_a_secret_the_callback_is_unsigned_and_the_reply_says_so(service, receiver):
    hook = receiver()
    svc = service()
    d = text_draft(svc)
    reply = svc.saved(d, callback_url=hook.url())
    assert any("webhook_secret is not set" in w for w in reply["warnings"])
    [request] = hook.wait(1)
    assert "X-Signature" not in request.headers and request.headers["X-Webhook-Attempt"] == "1"


def test_a_save_joined_while_running_calls_back_when_it_ends(service, receiver, media_server):
    hook = receiver()
    svc = service(webhook_secret=SECRET, prefetch_on_add=False)
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url(SLOW_SHORT), end=1)
    first = svc.save(d, **{"async": True})["output"]
    joined = svc.save(d, callback_url=hook.url(), **{"async": True})["output"]
    assert joined["status"] in ("initialized", "processing") and first["task_id"] == joined["task_id"]
    [request] = hook.wait(1)
    assert json.loads(request.body)["status"] == "completed"
    assert svc.status(d)["callback_id"] == joined["callback_id"]


# --- retries ------------------------------------------------------------------------------------------

def test_two_server_errors_then_success_take_three_attempts_with_one_id(service, receiver):
    hook = receiver(Answer(500), Answer(503), Answer(200))
    svc = service(webhook_secret=SECRET, webhook_retry_seconds=0.05)
    d = text_draft(svc)
    svc.saved(d, callback_url=hook.url())
    got = hook.wait(3)
    status = callback_of(svc, d)
    assert (status["callback_attempts"], status["callback_error"]) == (3, "")
    assert {r.headers["X-Webhook-Id"] for r in got} == {status["callback_id"]}
    assert [r.headers["X-Webhook-Attempt"] for r in got] == ["1", "2", "3"]
    assert len({r.body for r in got}) == 1                        # the same bytes every time
    for request in got:
        verified(request)
    waits = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    assert waits[0] >= 0.05 and waits[1] >= 0.1                  # webhook_retry_seconds, doubled
    time.sleep(0.3)
    assert len(hook.got) == 3


def test_when_every_attempt_fails_the_callback_fails_with_the_last_error(service, receiver):
    hook = receiver(Answer(500), Answer(429), Answer(502))
    svc = service(webhook_retries=2, webhook_retry_seconds=0.05)
    d = text_draft(svc)
    svc.saved(d, callback_url=hook.url())
    hook.wait(3)
    status = callback_of(svc, d, "failed")
    assert status["status"] == "completed"                        # the save itself is not affected
    assert status["callback_attempts"] == 3
    assert status["callback_error"] == "fetch_http_status: the receiver answered HTTP 502"
    time.sleep(0.3)
    assert len(hook.got) == 3


@pytest.mark.parametrize("answer, says", [
    (Answer(404), "HTTP 404"),
    (Answer(400), "HTTP 400"),
    (Answer(302, location="/elsewhere"), "redirects are not followed"),
    (Answer(307, location="http://127.0.0.1:1/"), "redirects are not followed"),
])
def test_other_answers_fail_the_callback_at_once_and_redirects_are_not_followed(service, receiver, answer, says):
    hook = receiver(answer)
    svc = service(webhook_retry_seconds=0.05)
    d = text_draft(svc)
    svc.saved(d, callback_url=hook.url())
    status = callback_of(svc, d, "failed")
    assert status["callback_attempts"] == 1 and says in status["callback_error"]
    time.sleep(0.3)
    assert [r.path for r in hook.got] == ["/hook"]


def test_a_slow_receiver_times_out(service, receiver):
    hook = receiver(Answer(200, delay=3))
    svc = service(webhook_timeout_seconds=0.5, webhook_retries=0)
    d = text_draft(svc)
    svc.saved(d, callback_url=hook.url())
    hook.wait(1)
    started = time.monotonic()
    status = callback_of(svc, d, "failed", seconds=5)
    assert time.monotonic() - started < 2.5
    assert status["callback_error"].startswith("fetch_timeout:") and status["callback_attempts"] == 1


def test_a_receiver_that_is_down_is_retried(service):
    down = f"http://127.0.0.1:{free_port()}/hook"                  # nobody listens there
    svc = service(webhook_retries=1, webhook_retry_seconds=0.05)
    d = text_draft(svc)
    svc.saved(d, callback_url=down)
    status = callback_of(svc, d, "failed")
    assert status["callback_attempts"] == 2 and status["callback_error"].startswith("fetch_connect:")


# --- the address rules ----------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "169.254.169.254"])
def test_a_private_address_fails_the_callback_not_the_save(service, receiver, host):
    hook = receiver()
    svc = service(fetch_allow_hosts=[])
    d = text_draft(svc)
    url = hook.url(host=host) if host != "169.254.169.254" else "http://169.254.169.254/latest/meta-data/"
    reply = svc.saved(d, callback_url=url)
    assert reply["output"]["status"] == "completed"
    status = callback_of(svc, d, "failed")
    assert status["callback_attempts"] == 1 and status["callback_error"].startswith("fetch_forbidden:")
    assert "fetch_allow_hosts" in status["callback_error"]
    assert hook.got == []


# --- the edge ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, code", [
    ("ftp://example.com/hook", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("javascript:alert(1)", "invalid_url"),
    ("/hooks/relative", "invalid_url"),
    ("//example.com/no-scheme", "invalid_url"),
    ("http://", "invalid_url"),
    ("http://example.com:99999/hook", "invalid_url"),
    ("http://[::1/hook", "invalid_url"),
    ("http://user:secret@example.com/hook", "invalid_url"),
    ("http://example.com/a b", "invalid_url"),
    ("http://example.com/\r\nX-Injected: 1", "invalid_url"),
    ("http://example.com/" + "a" * 3000, "invalid_url"),
    ("http://example.com/" + "a" * 1_000_000, "invalid_url"),
    ("http://example.com/\ud800", "invalid_parameter"),
    (12, "invalid_parameter"),
    (["http://example.com/hook"], "invalid_parameter"),
    ({"url": "http://example.com/hook"}, "invalid_parameter"),
])
@pytest.mark.parametrize("route", ["/save_draft", "/generate_video"])
def test_a_callback_url_that_is_no_http_url_is_refused_before_anything_starts(service, url, code, route):
    svc = service()
    d = text_draft(svc)
    sent = svc.client.post(route, data=json.dumps({"draft_id": d, "callback_url": url}),   # \ud800 escaped
                           content_type="application/json")
    reply = sent.get_json()
    assert reply["success"] is False and reply["code"] == code, reply
    assert "callback_url" in reply["error"] and len(reply["error"]) < 400
    assert svc.post("/query_draft_status", {"task_id": d})["code"] == "task_not_found"
    assert svc.ctx.cache.store.next_timer() is None


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_callback_url_means_none(service, empty):
    svc = service()
    d = text_draft(svc)
    reply = svc.saved(d, callback_url=empty)
    assert "callback_id" not in reply["output"] and not CALLBACK_KEYS & set(svc.status(d))


# --- renders ------------------------------------------------------------------------------------------

def test_a_render_calls_back_with_its_task_status_record_and_a_finished_one_at_once(service, receiver):
    hook = receiver()
    svc = service(webhook_secret=SECRET)
    d = text_draft(svc)
    started = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P", "callback_url": hook.url("/render")})
    [request] = hook.wait(1, seconds=90)
    verified(request)
    task_id = started["task_id"]
    status = wait_until(lambda: (s := svc.ok("/task_status", {"task_id": task_id})).get("callback_status")
                        == "delivered" and s, 10, "the render's callback")
    sent = json.loads(request.body)
    assert (sent["task_id"], sent["draft_id"], sent["status"]) == (task_id, d, "SUCCESS")
    assert sent == {k: v for k, v in status.items() if k not in CALLBACK_KEYS}
    assert request.headers["X-Webhook-Id"] == started["callback_id"] == status["callback_id"]

    again = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P", "callback_url": hook.url("/again")})
    assert again["task_id"] == task_id and again["status"] == "SUCCESS"
    second = hook.wait(2)[1]
    assert second.path == "/again" and second.headers["X-Webhook-Id"] == again["callback_id"] != started["callback_id"]
    assert json.loads(second.body) == sent


# --- the store's side: dead workers, deleted drafts ----------------------------------------------------

def test_a_save_whose_worker_died_is_reported_failed_once_its_lease_is_over(service, receiver):
    hook = receiver()
    svc = service(job_lease_seconds=5)
    d = text_draft(svc)
    stale = Task(task_id=d, job_id="dead-job", status="processing", message="Downloading",
                 heartbeat_at=time.time() - 60)
    svc.ctx.cache.store.put_task(d, stale.model_dump_json(), d)      # as a worker killed mid-save left it
    callbacks.request(svc.ctx, "save", d, "dead-job", d, hook.url())
    [request] = hook.wait(1)
    sent = json.loads(request.body)
    assert sent["status"] == "failed" and "stopped responding" in sent["message"]
    assert TaskBook(svc.ctx.cache.store, Task).get(d).status == "failed"


def test_deleting_the_draft_ends_its_pending_callback(service, receiver):
    hook = receiver(Answer(500))
    svc = service(webhook_retry_seconds=0.5)
    d = text_draft(svc)
    svc.saved(d, callback_url=hook.url())
    hook.wait(1)
    svc.ok("/delete_draft", {"draft_id": d})
    wait_until(lambda: svc.ctx.cache.store.next_timer() is None, 5, "the callback's timer to be cleared")
    assert len(hook.got) == 1


# --- real processes -------------------------------------------------------------------------------

def test_a_pending_retry_is_sent_by_the_next_process_after_a_restart(tmp_path, receiver):
    hook = receiver(Answer(500), Answer(200))
    service_ = Gunicorn(tmp_path, workers=1, fetch_allow_hosts="127.0.0.1", webhook_secret=SECRET,
                        webhook_retry_seconds="4")
    service_.start()
    try:
        api = requests.Session()

        def ok(path: str, body: dict) -> dict:
            reply = api.post(service_.base + path, json=body, timeout=30).json()
            assert reply["success"], reply
            return reply["output"]

        d = ok("/create_draft", {})["draft_id"]
        ok("/add_text", {"draft_id": d, "text": "hello", "start": 0, "end": 1})
        callback_id = ok("/save_draft", {"draft_id": d, "callback_url": hook.url()})["callback_id"]
        hook.wait(1)
        service_.stop()                                   # the retry is due 4 s after the first attempt
        stopped = time.monotonic()
        assert len(hook.got) == 1
        service_.start()                                  # a new process on the same data_dir
        first, second = hook.wait(2, seconds=30)
        assert second.at > stopped
        assert second.headers["X-Webhook-Id"] == first.headers["X-Webhook-Id"] == callback_id
        assert (first.headers["X-Webhook-Attempt"], second.headers["X-Webhook-Attempt"]) == ("1", "2")
        assert second.body == first.body and verified(second) >= verified(first)
        status = wait_until(lambda: (s := ok("/query_draft_status", {"task_id": d}))["callback_status"]
                            == "delivered" and s, 10, "the callback to be delivered")
        assert status["callback_attempts"] == 2
    finally:
        service_.stop()


def test_a_huey_worker_saves_and_delivers_with_retries(tmp_path, redis_url, redis_prefix, receiver):
    from capcut_drafts.web.app import create_app
    hook = receiver(Answer(500), Answer(200))
    shared = dict(store="redis", redis_url=redis_url, redis_key_prefix=redis_prefix, job_runner="huey",
                  fetch_allow_hosts="127.0.0.1", webhook_secret=SECRET, webhook_retry_seconds="0.2")
    consumer = Consumer(tmp_path, "a", service_env(tmp_path, **shared, log_level="INFO"))
    app = create_app(make_settings(tmp_path / "data", **{**shared, "fetch_allow_hosts": ["127.0.0.1"],
                                                         "webhook_retry_seconds": 0.2}))
    ctx = app.extensions["capcut"]
    try:
        consumer.wait_started()
        client = app.test_client()
        d = post(client, "/create_draft", {})["output"]["draft_id"]
        post(client, "/add_text", {"draft_id": d, "text": "hello", "start": 0, "end": 1})
        out = post(client, "/save_draft", {"draft_id": d, "callback_url": hook.url(), "async": True})["output"]
        first, second = hook.wait(2, seconds=60)
        assert [r.headers["X-Webhook-Attempt"] for r in (first, second)] == ["1", "2"]
        assert first.headers["X-Webhook-Id"] == second.headers["X-Webhook-Id"] == out["callback_id"]
        verified(second)
        assert json.loads(second.body)["status"] == "completed"
        status = wait_until(lambda: (s := post(client, "/query_draft_status", {"task_id": d})["output"])
                            ["callback_status"] == "delivered" and s, 10, "the callback to be delivered")
        assert status["callback_attempts"] == 2
        assert "callback" in consumer.log() and consumer.executed() == 1     # the worker ran both
    finally:
        consumer.stop()
        ctx.shutdown()
        ctx.cache.store.close()


# --- the README's verification snippets -----------------------------------------------------------

def readme_snippet(language: str) -> str:
    """The first ```<language> block of the README's Webhooks section."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def signed_delivery(service, receiver) -> Received:
    hook = receiver()
    svc = service(webhook_secret=SECRET)
    svc.saved(text_draft(svc), callback_url=hook.url())
    return hook.wait(1)[0]


def test_the_readme_python_check_accepts_a_delivery_and_refuses_forgeries(service, receiver):
    request = signed_delivery(service, receiver)
    scope: dict = {}
    exec(readme_snippet("python"), scope)                         # noqa: S102 — the README's own code
    verify, header = scope["verify"], request.headers["X-Signature"]
    assert verify(SECRET, header, request.body)
    assert not verify("another-secret", header, request.body)
    assert not verify(SECRET, header, request.body.replace(b"completed", b"failed!!!"))
    assert not verify(SECRET, header, request.body, tolerance=-1)            # stale
    assert not verify(SECRET, "v1=abc", request.body) and not verify(SECRET, "t=x,v1=abc", request.body)


def test_the_readme_node_check_accepts_a_delivery_and_refuses_forgeries(service, receiver, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    request = signed_delivery(service, receiver)
    (tmp_path / "body").write_bytes(request.body)
    (tmp_path / "tampered").write_bytes(request.body.replace(b"completed", b"failed!!!"))
    script = tmp_path / "verify.js"
    script.write_text(readme_snippet("js") + "\nconst [secret, header, file, tolerance] = process.argv.slice(2);\n"
                      "console.log(verify(secret, header, require('fs').readFileSync(file), Number(tolerance)));\n")

    def node(secret: str, header: str, file: str, tolerance: int = 300) -> str:
        done = subprocess.run(["node", str(script), secret, header, str(tmp_path / file), str(tolerance)],
                              capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.strip()

    header = request.headers["X-Signature"]
    assert node(SECRET, header, "body") == "true"
    assert node("another-secret", header, "body") == "false"
    assert node(SECRET, header, "tampered") == "false"
    assert node(SECRET, header, "body", tolerance=-1) == "false"
    assert node(SECRET, "v1=abc", "body") == "false"
