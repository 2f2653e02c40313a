"""`Segment.fit` in model/timing.py `resolve_timing`: how a closed clip meets its media's length
once that is known (trim, stretch, extend), with the media length set on the Material as probing
sets it. Times in µs; the clip is 4 s of the source from 1 s, placed at 10 s, unless a test says."""
from __future__ import annotations

from typing import get_args

import pytest

from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, Material, Segment, Track
from capcut_drafts.model.timing import FITS, MAX_SPEED, MIN_SPEED, resolve_timing, track_timings

S = 1_000_000


def clip(fit=None, start=1 * S, length=4 * S, at=10 * S, speed=1.0, end=True, sid="c") -> Segment:
    """A video clip of `length` µs of the source from `start`, at `at` on the timeline."""
    source = TimeRange(start_us=start, duration_us=length if end else None)
    target = TimeRange(start_us=at, duration_us=round(length / speed) if end else None)
    return Segment(id=sid, material_id="m", source=source, target=target, speed=speed, fit=fit)


def media(seconds: float | None, kind="video") -> Material:
    return Material(id="m", kind=kind, url="http://127.0.0.1/v.mp4", file_name="v.mp4",
                    duration_us=None if seconds is None else round(seconds * S))


def timing(segment: Segment, material: Material | None, track: Track | None = None):
    """((source start, length), (target start, length), speed, warnings) in µs."""
    warnings: list[str] = []
    cut = resolve_timing(segment, material, warnings, "here", track)
    return ((cut.source.start_us, cut.source.duration_us), (cut.target.start_us, cut.target.duration_us),
            cut.segment.speed, warnings)


def test_the_modes_are_those_of_the_segment_field():
    literal, none = get_args(Segment.model_fields["fit"].annotation)
    assert FITS == ("trim", "stretch", "extend") == get_args(literal) and none is type(None)


@pytest.mark.parametrize("fit", [None, *FITS])
def test_unknown_media_length_keeps_the_template_timing(fit):
    assert timing(clip(fit), media(None)) == ((1 * S, 4 * S), (10 * S, 4 * S), 1.0, [])
    assert timing(clip(fit), None) == ((1 * S, 4 * S), (10 * S, 4 * S), 1.0, [])


def test_no_fit_keeps_the_timing_whatever_the_media():
    assert timing(clip(None), media(2)) == ((1 * S, 4 * S), (10 * S, 4 * S), 1.0, [])


def test_trim_keeps_the_timing_of_long_enough_media():
    assert timing(clip("trim"), media(5)) == ((1 * S, 4 * S), (10 * S, 4 * S), 1.0, [])
    assert timing(clip("trim"), media(60)) == ((1 * S, 4 * S), (10 * S, 4 * S), 1.0, [])


def test_trim_ends_the_clip_with_shorter_media():
    assert timing(clip("trim"), media(3)) == ((1 * S, 2 * S), (10 * S, 2 * S), 1.0, [])
    assert timing(clip("trim", speed=2.0), media(3)) == ((1 * S, 2 * S), (10 * S, 1 * S), 2.0, [])


@pytest.mark.parametrize("fit", FITS)
def test_media_that_ends_before_the_cut_starts_leaves_length_0(fit):
    source, target, _, warnings = timing(clip(fit), media(0.5))
    assert source == (1 * S, 0) and target == (10 * S, 0)
    assert len(warnings) == 1 and "beyond the media end" in warnings[0]


def test_stretch_plays_the_whole_rest_of_the_media_in_the_clip():
    assert timing(clip("stretch"), media(3)) == ((1 * S, 2 * S), (10 * S, 4 * S), 0.5, [])
    assert timing(clip("stretch"), media(9)) == ((1 * S, 8 * S), (10 * S, 4 * S), 2.0, [])
    assert timing(clip("stretch", speed=2.0), media(3)) == ((1 * S, 2 * S), (10 * S, 2 * S), 1.0, [])


def test_stretch_beyond_the_app_speed_is_clamped_with_a_warning():
    source, target, speed, warnings = timing(clip("stretch", start=0, length=S // 100), media(60))
    assert speed == MAX_SPEED and source == (0, S) and target == (10 * S, S // 100)
    assert "stretch" in warnings[0] and "6000" in warnings[0] and "100 was used" in warnings[0]
    source, target, speed, warnings = timing(clip("stretch", start=0, length=40 * S), media(2))
    assert speed == MIN_SPEED and source == (0, 2 * S) and target == (10 * S, 20 * S)
    assert "0.05" in warnings[0] and "0.1 was used" in warnings[0]


def test_extend_plays_the_media_to_its_end():
    assert timing(clip("extend"), media(9)) == ((1 * S, 8 * S), (10 * S, 8 * S), 1.0, [])
    assert timing(clip("extend", speed=2.0), media(9)) == ((1 * S, 8 * S), (10 * S, 4 * S), 2.0, [])
    assert timing(clip("extend"), media(3)) == ((1 * S, 2 * S), (10 * S, 2 * S), 1.0, [])


def test_extend_stops_at_the_next_clip_with_a_warning():
    first, following = clip("extend", speed=2.0), clip(at=13 * S, sid="n")
    track = Track(name="video_main", kind="video", segments=[first, following])
    source, target, speed, warnings = timing(first, media(21), track)
    assert source == (1 * S, 6 * S) and target == (10 * S, 3 * S) and speed == 2.0
    assert "cut there" in warnings[0] and "13s" in warnings[0] and "20s" in warnings[0]
    assert timing(first, media(7), track)[:2] == ((1 * S, 6 * S), (10 * S, 3 * S))   # just fits: no warning
    assert timing(first, media(7), track)[3] == []


def test_track_timings_fit_extend_against_the_next_clip_and_leave_the_others():
    first, following = clip("extend", at=0, sid="a"), clip("trim", at=6 * S, sid="b")
    track = Track(name="video_main", kind="video", segments=[first, following])
    draft = Draft(id="d", profile="capcut", name="t", created_at=0, tracks=[track], materials={"m": media(30)})
    warnings: list[str] = []
    cuts = track_timings(draft, track, warnings)
    assert [(c.target.start_us, c.target.duration_us) for c in cuts] == [(0, 6 * S), (6 * S, 4 * S)]
    assert len(warnings) == 1 and "track 'video_main', clip at 0s" in warnings[0]


@pytest.mark.parametrize("fit", FITS)
def test_open_clips_follow_their_media_whatever_the_fit(fit):
    assert timing(clip(fit, end=False), media(3)) == ((1 * S, 2 * S), (10 * S, 2 * S), 1.0, [])


@pytest.mark.parametrize("fit", FITS)
def test_images_have_no_length_to_fit(fit):
    assert timing(clip(fit), media(2, kind="image")) == ((1 * S, 4 * S), (10 * S, 4 * S), 1.0, [])
