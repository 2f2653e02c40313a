"""Time: the one seconds → µs conversion, TimeRange, and the one "end after start" check."""
from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from capcut_drafts.errors import ApiError
from capcut_drafts.model.time import MAX_SECONDS, TimeRange, seconds_range, to_us
from capcut_drafts.routes.text import AddTextRequest

S = 1_000_000


def span(start_us: int, duration_us: int | None) -> TimeRange:
    return TimeRange(start_us=start_us, duration_us=duration_us)


# --- to_us ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds,expected", [
    (0, 0),
    (3, 3 * S),
    (1.5, 1_500_000),
    (0.1, 100_000),
    (4.35, 4_350_000),
    (1234.567891, 1_234_567_891),
    (1.0000005, 1_000_001),
    (2.5e-6, 2),                 # round half to even, as Python's round
    (3.5e-6, 4),
    (-2, -2 * S),
])
def test_to_us_rounds_to_whole_microseconds(seconds, expected):
    assert to_us(seconds) == expected
    assert type(to_us(seconds)) is int


@pytest.mark.parametrize("tiny", [1e-320, -1e-320, 5e-324])
def test_to_us_of_subnormal_seconds_is_zero(tiny):
    assert to_us(tiny) == 0


def test_to_us_takes_exactly_max_seconds_either_way():
    assert to_us(MAX_SECONDS) == MAX_SECONDS * S
    assert to_us(-MAX_SECONDS) == -MAX_SECONDS * S


@pytest.mark.parametrize("seconds", [1e9, -1e9, MAX_SECONDS + 0.5, -MAX_SECONDS - 0.5, 1e308, 10 ** 400,
                                     math.inf, -math.inf, math.nan])
def test_to_us_refuses_times_out_of_range(seconds):
    with pytest.raises(ApiError) as caught:
        to_us(seconds)
    assert caught.value.code == "invalid_parameter"
    assert caught.value.message == (f"A time of {seconds} s is out of range; times must be within "
                                    f"±{MAX_SECONDS} seconds.")


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_requests_refuse_nan_and_infinity_before_any_conversion(value):
    with pytest.raises(ApiError) as caught:
        AddTextRequest.parse({"text": "x", "start": value})
    assert caught.value.code == "invalid_parameter" and "'start'" in caught.value.message


# --- TimeRange ------------------------------------------------------------------------------------

def test_end_and_length_of_a_closed_range():
    r = span(2 * S, 3 * S)
    assert (r.start_us, r.duration_us, r.length_us, r.end_us) == (2 * S, 3 * S, 3 * S, 5 * S)
    assert not r.is_open and not r.is_empty


def test_an_open_range_occupies_no_time_until_closed():
    r = TimeRange(start_us=4 * S)
    assert r.is_open and r.is_empty and r.duration_us is None
    assert (r.length_us, r.end_us) == (0, 4 * S)
    closed = r.closed(2 * S)
    assert closed == span(4 * S, 2 * S) and not closed.is_open
    assert r.is_open                      # closing made a new range


@pytest.mark.parametrize("a,b,expected", [
    (span(0, 2 * S), span(1 * S, 2 * S), True),        # partial
    (span(0, 5 * S), span(1 * S, 1 * S), True),        # inside
    (span(0, 2 * S), span(0, 2 * S), True),            # identical
    (span(0, 1), span(0, 1), True),                    # one microsecond each
    (span(0, 2 * S), span(2 * S, 1 * S), False),       # touching: half-open ranges
    (span(0, 1 * S), span(3 * S, 1 * S), False),       # apart
    (span(0, 5 * S), span(2 * S, 0), False),           # zero length inside
    (span(2 * S, 0), span(2 * S, 0), False),           # two zero lengths at one time
    (span(0, 5 * S), span(1 * S, None), False),        # open starting inside
    (span(1 * S, None), span(1 * S, None), False),     # two open at one time
    (span(0, 5 * S), span(1 * S, -3 * S), False),      # negative length: empty
])
def test_overlaps_is_symmetric_and_empty_ranges_overlap_nothing(a, b, expected):
    assert a.overlaps(b) is expected
    assert b.overlaps(a) is expected


@pytest.mark.parametrize("r,time_us,expected", [
    (span(1 * S, 2 * S), 1 * S, True),          # start included
    (span(1 * S, 2 * S), 3 * S - 1, True),
    (span(1 * S, 2 * S), 3 * S, False),         # end excluded
    (span(1 * S, 2 * S), 1 * S - 1, False),
    (span(1 * S, 0), 1 * S, False),             # zero length holds no time
    (span(1 * S, None), 1 * S, False),          # nor does an open range
    (span(1 * S, None), 5 * S, False),
])
def test_contains_is_half_open(r, time_us, expected):
    assert r.contains(time_us) is expected


def test_a_time_range_is_an_immutable_value():
    r = span(1, 2)
    with pytest.raises(AttributeError):           # dataclasses.FrozenInstanceError
        r.start_us = 5
    assert r == span(1, 2) and hash(r) == hash(span(1, 2)) and r != span(1, 3)
    assert len({span(1, 2), span(1, 2), span(1, None)}) == 2


def test_a_time_range_stores_as_two_fields_and_refuses_others():
    assert span(1, 2).model_dump() == {"start_us": 1, "duration_us": 2}
    assert TimeRange.model_validate({"start_us": 7}) == TimeRange(start_us=7)
    with pytest.raises(ValidationError):
        TimeRange.model_validate({"start_us": 1, "end_us": 4})
    with pytest.raises(ValidationError):
        TimeRange.model_validate({"duration_us": 4})


# --- seconds_range: the client's (start, end) -----------------------------------------------------

def test_seconds_range_of_a_pair_and_of_an_open_start():
    assert seconds_range(1, 3.5) == span(1 * S, 2_500_000)
    assert seconds_range(0.25, None) == TimeRange(start_us=250_000)


@pytest.mark.parametrize("start,end", [(3, 2), (2, 2), (1.0000001, 1.0000004)])   # the last two: equal in µs
def test_seconds_range_needs_the_end_after_the_start(start, end):
    with pytest.raises(ApiError) as caught:
        seconds_range(start, end)
    assert caught.value.code == "invalid_parameter"
    assert caught.value.message == (f"Invalid parameters 'start'/'end': end ({end}) must be greater than "
                                    f"start ({start}).")


def test_seconds_range_checks_each_time_before_their_order():
    with pytest.raises(ApiError, match="out of range"):
        seconds_range(1, -1e9)
    with pytest.raises(ApiError, match="out of range"):
        seconds_range(1e9, 1)


ROUTES_WITH_START_END = [
    ("/add_video", {"video_url": "http://127.0.0.1:8765/v.mp4"}),
    ("/add_audio", {"audio_url": "http://127.0.0.1:8765/a.mp3"}),
    ("/add_image", {"image_url": "http://127.0.0.1:8765/i.png"}),
    ("/add_text", {"text": "x"}),
    ("/add_effect", {"effect_type": "Blur"}),
    ("/add_filter", {"filter_type": "ABG"}),
    ("/add_sticker", {"sticker_id": "7107529669750066445"}),
]


@pytest.mark.parametrize("path,body", ROUTES_WITH_START_END, ids=[p for p, _ in ROUTES_WITH_START_END])
def test_every_route_answers_end_before_start_with_the_one_message(client, path, body):
    reply = client.post(path, json={**body, "start": 3, "end": 2}).get_json()
    assert (reply["success"], reply["code"]) == (False, "invalid_parameter"), reply
    # inside the route's upstream template ("Error occurred while adding filter: … ")
    assert "Invalid parameters 'start'/'end': end (2.0) must be greater than start (3.0)." in reply["error"]


def test_subtitle_time_offset_goes_through_the_range_check(client):
    srt = "1\n00:00:01,000 --> 00:00:02,000\nHi\n"
    reply = client.post("/add_subtitle", json={"srt": srt, "time_offset": 2e7}).get_json()
    assert (reply["success"], reply["code"]) == (False, "invalid_parameter"), reply
    assert "A time of 20000000.0 s is out of range" in reply["error"]
