"""Schemathesis against a running server: gunicorn with 2 workers on 127.0.0.1.

The fuzzer takes the OpenAPI document the server serves at `/openapi.json` and sends a bounded,
reproducible set of generated requests: a fixed seed, derandomized generation, at most
`MAX_EXAMPLES` cases per operation and phase (examples, coverage, fuzzing), valid and invalid
bodies. Every reply must be

* no 5xx, and not the crash envelope (`code: internal_error`, which the service answers with
  HTTP 200 while `http_error_status` is off);
* the JSON envelope `{success, output, error}`, with a `code` on failures, as documented;

and afterwards gunicorn's master and both workers must be the processes that started (no
worker crashed, timed out or was replaced), with no unhandled error in the service log.

Nothing leaves 127.0.0.1. The server's `fetch_allow_hosts` stays empty, so loopback URLs are
refused without connecting. A host name, though, would be resolved (DNS) before it is refused,
and a public address literal connected to, so every generated string that is an http(s) URL
whose host is not a loopback address literal is rewritten to `LOCAL_URL` before it is sent, and
the examples' `https://example.com/` inside a longer text (the OTIO text of /import_otio's
example) points at `LOCAL_URL`'s host.
Valid `draft_id`/`task_id` values are narrowed to `PLACEHOLDER_ID`, sent as the id of a real
draft the fixture made, and an id that names no draft: random ids would only ever reach
`draft_not_found`, a real draft takes the cases through the planners and the save job.

`test_fuzz_server_survived` runs last and reports the number of cases sent (pytest property
`fuzz_cases`, and a line on stderr).
"""
from __future__ import annotations

import copy
import ipaddress
import json
import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from helpers import check_envelope, post
from helpers.processes import running_gunicorn, worker_pids

from capcut_drafts.api import registry

SEED = 1152026
MAX_EXAMPLES = 25                  # per operation and phase
REQUEST_TIMEOUT = 60
LOCAL_URL = "http://127.0.0.1:9/fuzz/clip.mp4"
PLACEHOLDER_ID = "dfd_fuzz_real_draft"
UNKNOWN_ID = "dfd_cat_1764300000_1a2b3c4d"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# The examples' web addresses inside a longer text (the OTIO timeline of /import_otio's example)
EMBEDDED = re.compile(r"https?://example\.com/")

CASES: Counter = Counter()         # operation label -> cases sent
ON_REAL_DRAFT: Counter = Counter()  # operation label -> cases sent with the real draft's id


# -- keeping every fetch on this machine ---------------------------------------------------

def reaches_out(text: str) -> bool:
    """True if the service could resolve or contact a host outside 127.0.0.0/8 for `text`."""
    stripped = text.strip()
    if not _SCHEME.match(stripped):
        return False
    try:
        parts = urlsplit(stripped)
        host = parts.hostname
    except ValueError:             # the service cannot parse it either: refused before any lookup
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False               # refused by scheme or for the missing host, before any lookup
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True                # a host name: resolving it would ask DNS


def confine(value, real_id: str = PLACEHOLDER_ID):
    """`value` with each string that reaches out replaced by `LOCAL_URL` and the placeholder id
    by `real_id`, in nested lists and objects too."""
    if isinstance(value, dict):
        return {key: confine(item, real_id) for key, item in value.items()}
    if isinstance(value, list):
        return [confine(item, real_id) for item in value]
    if isinstance(value, str):
        if value == PLACEHOLDER_ID:
            return real_id
        if reaches_out(value):
            return LOCAL_URL
        return EMBEDDED.sub(LOCAL_URL.rsplit("/", 1)[0] + "/", value)
    return value


def test_confine_keeps_every_fetch_on_loopback():
    body = {"video_url": "https://example.com/a.mp4", "srt": " HTTP://cdn.example/x.srt",
            "nested": [{"u": "http://8.8.8.8/x"}, "http://[::ffff:8.8.8.8]/", "http://127.1/", "https://2130706433/"],
            "kept": ["http://127.0.0.1:9/x", "http://[::1]/y", "ftp://example.com/z", "plain text", "a://b",
                     "http:///no-host", 1e300, -5, 0.5],
            "draft_id": PLACEHOLDER_ID, "otio": '{"target_url": "https://example.com/clip.mp4"}'}
    assert confine(body, "dfd_real") == {
        "video_url": LOCAL_URL, "srt": LOCAL_URL, "nested": [{"u": LOCAL_URL}, LOCAL_URL, LOCAL_URL, LOCAL_URL],
        "kept": body["kept"], "draft_id": "dfd_real", "otio": '{"target_url": "http://127.0.0.1:9/fuzz/clip.mp4"}'}


# -- the document --------------------------------------------------------------------------

def served_document() -> dict:
    """What `/openapi.json` serves, built as capcut_drafts/web/surface.py builds it (`test_fuzzed_document_is_the_
    served_one` checks the running server serves exactly this). It is built at collection time
    because schemathesis' lazy loader `schemathesis.pytest.from_fixture` fails under pytest 9.2
    (it reads `request.node._nodeid`); the server's address is given to each call instead."""
    from capcut_drafts.api import registry
    from capcut_drafts.model import catalog
    from capcut_drafts.web.openapi import build_document
    from capcut_drafts.web.surface import VERSION
    return build_document(registry.ROUTES, catalog.ROUTES, VERSION)


def with_real_ids(document: dict) -> dict:
    """Valid `draft_id`/`task_id` values are `PLACEHOLDER_ID` (sent as the real draft's id) or an id
    that names no draft (and null where the route allows it): random strings would only ever
    reach `draft_not_found`. Invalid values (other types) are still generated. The examples,
    which the examples and coverage phases start from, name the real draft."""
    document = copy.deepcopy(document)
    for item in document["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "example" in content:
                content["example"] = {key: PLACEHOLDER_ID if key in ("draft_id", "task_id") else value
                                      for key, value in content["example"].items()}
    bodies = [operation["requestBody"]["content"]["application/json"]["schema"]
              for item in document["paths"].values() for operation in item.values() if "requestBody" in operation]
    for schema in bodies:
        for name in ("draft_id", "task_id"):
            prop = schema.get("properties", {}).get(name)
            if prop is not None:
                nullable = {"type": "null"} in prop.get("anyOf", [])
                schema["properties"][name] = {"enum": [PLACEHOLDER_ID, UNKNOWN_ID] + [None] * nullable}
    return document


CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "request-timeout": REQUEST_TIMEOUT,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "mode": "all"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    # Handled errors are answered with HTTP 200 (`http_error_status` off), so the checks that want a
    # 4xx for invalid input do not apply; these two and `envelope_check` do.
    "checks": {"enabled": False, "not_a_server_error": {"enabled": True},
               "response_schema_conformance": {"enabled": True}},
})
schema = schemathesis.openapi.from_dict(with_real_ids(served_document()), config=CONFIG)


# -- the server ----------------------------------------------------------------------------

class Server:
    def __init__(self, base: str, proc, log_path: Path):
        self.base, self.proc, self.log_path = base, proc, log_path
        self.workers = worker_pids(proc.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """`gunicorn -c gunicorn.conf.py 'app:create_app()'`, 2 workers, a free loopback port, an empty
    config file: default settings (no keys, empty `fetch_allow_hosts`)."""
    with running_gunicorn(tmp_path_factory.mktemp("fuzz"), workers=2) as (base, proc, log_path, _metrics):
        yield Server(base, proc, log_path)


@pytest.fixture(scope="module")
def real_draft(fuzz_server) -> str:
    """A draft with a clip, a text and a (failed) save task, for the cases that send PLACEHOLDER_ID."""
    def call(path: str, body: dict) -> dict:
        reply = check_envelope(requests.post(fuzz_server.base + path, json=body, timeout=REQUEST_TIMEOUT).json())
        return reply
    draft_id = call("/create_draft", {"width": 1080, "height": 1920})["output"]["draft_id"]
    assert call("/add_video", {"draft_id": draft_id, "video_url": LOCAL_URL, "start": 0, "end": 2})["success"]
    assert call("/add_text", {"draft_id": draft_id, "text": "fuzz", "start": 0, "end": 2})["success"]
    saved = call("/save_draft", {"draft_id": draft_id})          # loopback is refused: the save fails
    assert saved["code"] == "save_failed", saved
    return draft_id


# -- the run -------------------------------------------------------------------------------

def envelope_check(ctx, response, case):
    """Every reply is JSON in the envelope, and no request reached the crash handler. A reply with no
    body to an OPTIONS or HEAD request (the method list in `Allow`, CORS preflights) is fine, and so
    is a reply in a media type the document declares for that status (the metrics text, the draft
    page's HTML, the zip)."""
    method = response.request.method
    if method in ("OPTIONS", "HEAD") and not response.content:
        return True
    content_type = response.headers.get("content-type") or [""]
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    declared = case.operation.definition.raw["responses"].get(str(response.status_code), {}).get("content", {})
    if declared and "application/json" not in declared:
        assert content_type.split(";")[0] in declared, f"{method} {case.path} answered {content_type!r}"
        return True
    assert content_type.startswith("application/json"), \
        f"{method} {case.path} answered {content_type!r}, not the JSON envelope: {response.text[:300]}"
    reply = check_envelope(json.loads(response.text))
    assert reply.get("code") != "internal_error", f"{method} {case.path} crashed: {reply['error']}"
    return True


def test_fuzzed_document_is_the_served_one(fuzz_server):
    assert requests.get(fuzz_server.base + "/openapi.json", timeout=REQUEST_TIMEOUT).json() == served_document()


@schema.parametrize()
def test_fuzz(case, fuzz_server, real_draft):
    if isinstance(case.body, (dict, list, str)):
        case.body = confine(case.body, real_draft)
    if case.query:
        case.query = confine(case.query, real_draft)
    CASES[case.operation.label] += 1
    if isinstance(case.body, dict) and real_draft in (case.body.get("draft_id"), case.body.get("task_id")):
        ON_REAL_DRAFT[case.operation.label] += 1
    case.call_and_validate(base_url=fuzz_server.base, timeout=REQUEST_TIMEOUT, additional_checks=[envelope_check])


def test_fuzz_server_survived(fuzz_server, record_property):
    total, real = sum(CASES.values()), sum(ON_REAL_DRAFT.values())
    record_property("fuzz_cases", total)
    record_property("fuzz_cases_on_a_real_draft", real)
    print(f"\nschemathesis sent {total} cases to {len(CASES)} operations ({real} on a real draft)", file=sys.stderr)
    log = fuzz_server.log()
    assert fuzz_server.proc.poll() is None, f"gunicorn died:\n{log[-3000:]}"
    assert worker_pids(fuzz_server.proc.pid) == fuzz_server.workers, f"a worker was replaced:\n{log[-3000:]}"
    assert "unhandled error" not in log and "WORKER TIMEOUT" not in log, log[-3000:]
    assert requests.get(fuzz_server.base + "/healthz", timeout=10).json()["success"]
    assert len(CASES) == len(schema.raw_schema["paths"]) and total >= 10 * len(CASES), \
        f"only {total} fuzz cases ran: {dict(CASES)}"
    drafted = {f"POST {route.path}" for route in registry.ROUTES       # the routes that name a draft
               if {"draft_id", "task_id"} & set(route.model.model_fields)} & set(CASES)
    assert drafted <= set(ON_REAL_DRAFT), f"operations never fuzzed on a real draft: {drafted - set(ON_REAL_DRAFT)}"


# -- bugs the fuzzer found (fixed; kept as regression tests) ---------------------------------

TIME_OVERFLOW = {                  # test id -> (route, body)
    "video-start": ("/add_video", {"video_url": LOCAL_URL, "start": 1e308}),
    "video-target_start": ("/add_video", {"video_url": LOCAL_URL, "end": 2, "target_start": 1e308}),
    "audio-target_start": ("/add_audio", {"audio_url": LOCAL_URL, "end": 2, "target_start": 1e308}),
    "image-start": ("/add_image", {"image_url": LOCAL_URL, "start": 1e308}),
    "text-end": ("/add_text", {"text": "x", "end": 1.7976931348623157e308}),
    "subtitle-time_offset": ("/add_subtitle", {"srt": "1\n00:00:00,000 --> 00:00:01,000\nHi\n", "time_offset": 1e308}),
    "effect-start": ("/add_effect", {"effect_type": "Blur", "start": 1.7976931348623157e308}),
    "filter-start": ("/add_filter", {"filter_type": "亮肤", "start": 8.6e306, "end": 2.6e16}),
    "sticker-start": ("/add_sticker", {"sticker_id": "7107529669750066445", "start": 1e308}),
    "keyframe-time": ("/add_video_keyframe", {"track_name": "video_main", "time": 1e308, "value": 1}),
}


@pytest.mark.parametrize("path,body", TIME_OVERFLOW.values(), ids=TIME_OVERFLOW.keys())
def test_huge_times_are_invalid_parameters(client, path, body):
    draft_id = post(client, "/create_draft", {})["output"]["draft_id"]
    assert post(client, "/add_video", {"draft_id": draft_id, "video_url": LOCAL_URL, "end": 2})["success"]
    reply = post(client, path, {"draft_id": draft_id, **body})
    assert (reply["success"], reply["code"]) == (False, "invalid_parameter"), reply


@pytest.mark.parametrize("field,path", [("video_url", "/add_video"), ("audio_url", "/add_audio"),
                                        ("image_url", "/add_image")])
def test_unparseable_media_url_is_invalid_url(client, field, path):
    reply = post(client, path, {field: "http://[::1/clip", "end": 2})
    assert (reply["success"], reply["code"]) == (False, "invalid_url"), reply
