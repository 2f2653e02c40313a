"""POST /import_otio against hostile documents: each is refused with a precise code and a message
that says where and what to fix, leaves no draft behind, and never reaches the OTIO library's parser
unchecked (deep nesting, NaN, lone surrogates, plugin schemas, versions from the future, sizes)."""
from __future__ import annotations

import json

import pytest
from helpers import fail, make_settings, ok, post

from capcut_drafts.errors import ApiError
from capcut_drafts.interchange import otio_checks


def rt(value: float, rate: float = 30) -> dict:
    return {"OTIO_SCHEMA": "RationalTime.1", "rate": rate, "value": value}


def clip(url: str = "https://example.com/clip.mp4", frames: float = 30, rate: float = 30, **extra) -> dict:
    cut = {"OTIO_SCHEMA": "TimeRange.1", "start_time": rt(0, rate), "duration": rt(frames, rate)}
    return {"OTIO_SCHEMA": "Clip.1", "name": "c", "source_range": cut,
            "media_reference": {"OTIO_SCHEMA": "ExternalReference.1", "target_url": url}, **extra}


def timeline(*items: dict, **extra) -> dict:
    return {"OTIO_SCHEMA": "Timeline.1", "name": "t", "tracks": {"OTIO_SCHEMA": "Stack.1", "children": [
        {"OTIO_SCHEMA": "Track.1", "name": "V1", "kind": "Video", "children": list(items)}]}, **extra}


def text(document) -> str:
    return json.dumps(document)


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return timeline(clip(metadata={"deep": value}))


@pytest.fixture
def client(tmp_path):
    from capcut_drafts.web.app import create_app
    return create_app(make_settings(tmp_path, store="memory", prefetch_on_add=False)).test_client()


def drafts(client) -> int:
    return post(client, "/list_drafts", {"limit": 1})["output"]["total"]


HOSTILE = [
    ("not json", "not JSON", "invalid_otio", "is not JSON"),
    ("a clip", text(clip()), "invalid_otio", "must be a Timeline"),
    ("a list", "[1, 2]", "invalid_otio", "must be a Timeline"),
    ("NaN", text(timeline(clip())).replace('"value": 30', '"value": NaN'), "invalid_otio", "NaN"),
    ("Infinity", text(timeline(clip())).replace('"value": 30', '"value": -Infinity'), "invalid_otio", "Infinity"),
    ("1e400", text(timeline(clip())).replace('"value": 30', '"value": 1e400'), "invalid_otio", "not a finite number"),
    ("huge integer", text(timeline(clip(frames=2 ** 70))), "invalid_otio", "beyond 64 bits"),
    ("lone surrogate", text(timeline(clip())).replace('"name": "c"', '"name": "\\ud800"'), "invalid_otio",
     "'tracks.children[0].children[0].name' contains half of a UTF-16 surrogate pair"),
    ("surrogate key", text(timeline(clip(metadata={"\udc00": 1}))), "invalid_otio", "surrogate"),
    ("unknown schema", text(timeline(clip(), metadata={"x": {"OTIO_SCHEMA": "Foo.1"}})), "invalid_otio",
     "'metadata.x' has OTIO_SCHEMA \"Foo.1\""),
    ("plugin schema", text(timeline({"OTIO_SCHEMA": "Adapter.1", "name": "x"})), "invalid_otio", "Adapter.1"),
    ("malformed schema", text(timeline({"OTIO_SCHEMA": "Clip"})), "invalid_otio", "does not read"),
    ("version 0", text(timeline({**clip(), "OTIO_SCHEMA": "Clip.0"})), "invalid_otio", "start at 1"),
    ("a newer clip", text(timeline({**clip(), "OTIO_SCHEMA": "Clip.3"})), "otio_version_unsupported",
     "is Clip version 3, newer than this service reads"),
    ("a newer timeline", text({**timeline(), "OTIO_SCHEMA": "Timeline.99"}), "otio_version_unsupported",
     "Timeline up to version 1"),
    ("deep metadata", text(nested(70)), "otio_too_large", "more than 64 levels"),
    ("deeper than the parser", "[" * 100_000 + "]" * 100_000, "otio_too_large", "more than 64 levels"),
    ("huge string", text(timeline(clip(name="x" * 200_000))), "otio_too_large", "200000 characters"),
    ("too many items", text(timeline(*[{"OTIO_SCHEMA": "Gap.1", "source_range": None}] * 10_001)),
     "otio_too_large", "more than 10000"),
    ("rate 0", text(timeline(clip(rate=0))), "invalid_otio", "the rate must be above 0"),
    ("rate 1e-320", text(timeline(clip(rate=1e-320))), "invalid_otio", "the rate must be above 0 and the time"),
    ("a year", text(timeline(clip(frames=30 * 86400 * 366 * 1000))), "invalid_otio", "within ±10000000 s"),
    ("no length", text(timeline({**clip(), "source_range": None})), "invalid_otio", "its length is unknown"),
    ("wrong shape", text(timeline({**clip(), "source_range": "0-30"})), "invalid_otio",
     "OpenTimelineIO cannot read the timeline"),
]


@pytest.mark.parametrize(("document", "code", "words"), [case[1:] for case in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_documents_are_refused_and_leave_nothing(client, document, code, words):
    message = fail(client, "/import_otio", {"otio": document}, code)
    assert words in message
    assert drafts(client) == 0


def test_a_document_past_the_size_limit_is_refused_before_parsing():
    padding = " " * (otio_checks.MAX_BYTES + 1)
    with pytest.raises(ApiError) as caught:
        otio_checks.read_timeline(text(timeline()) + padding)
    assert caught.value.code == "otio_too_large" and "at most 16777216" in caught.value.message


@pytest.mark.parametrize(("body", "code"), [
    ({"otio": {"OTIO_SCHEMA": "Timeline.1"}}, "invalid_parameter"),
    ({"otio": ""}, "missing_parameter"),
    ({"otio": None, "otio_url": None}, "missing_parameter"),
    ({"otio": text(timeline()), "width": 0}, "invalid_parameter"),
    ({"otio": text(timeline()), "width": 1080.5}, "invalid_parameter"),
    ({"otio": text(timeline()), "name": "a/b"}, "invalid_parameter"),
])
def test_bad_parameters_are_refused(client, body, code):
    message = fail(client, "/import_otio", body, code)
    assert "otio" in message or "width" in message or "name" in message


def test_clips_of_no_use_are_left_out_with_warnings(client):
    tiny = clip(frames=1e-320)                                 # a denormal length: 0 µs
    local = clip(url="file:///Users/x/clip.mp4")
    odd = clip(url="ftp://example.com/clip.mp4")
    hostless = clip(url="http:///clip.mp4")
    broken = clip(url="http://[::1/clip.mp4")
    out = ok(client, "/import_otio", {"otio": text(timeline(tiny, local, odd, hostless, broken, clip()))})
    assert out["segments"] == 1 and len(out["warnings"]) == 5
    assert "length 0" in out["warnings"][0] and "file:///Users/x/clip.mp4" in out["warnings"][1]
    assert all("is not an http(s) URL" in w for w in out["warnings"][1:])


def test_a_timeline_of_many_clips_imports_within_the_limit(client):
    clips = [clip(url=f"https://example.com/{i}.mp4", frames=15) for i in range(2_000)]
    out = ok(client, "/import_otio", {"otio": text(timeline(*clips))})
    assert out["segments"] == 2_000 and out["tracks"] == 1
    timeline_ = ok(client, "/get_timeline", {"draft_id": out["draft_id"]})
    assert timeline_["duration"] == 1000.0
