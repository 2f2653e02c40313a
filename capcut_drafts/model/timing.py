"""Concrete timings: open clips resolved from what is known about their media, clips with a `fit`
fitted to it, the overlap rule that follows, and which clip of a track holds a time (where
keyframes attach).

The builder (capcut_drafts/export/builder.py) and the renderer (capcut_drafts/render/scene.py)
both read the document through these functions, so a render shows exactly the clips, lengths and
keyframe attachments the saved draft has.
"""
from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Generic, Literal, NamedTuple, TypeVar, get_args

from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, Material, PendingKeyframe, Segment, Track

T = TypeVar("T")
MIN_SPEED, MAX_SPEED = 0.1, 100.0      # the apps' speed slider
# `Segment.fit`: how a closed clip meets its media's length once that is known.
Fit = Literal["trim", "stretch", "extend"]
FITS: tuple[Fit, ...] = get_args(Fit)


class Cut(NamedTuple):
    """A segment with concrete ranges (`resolve_timing`): closed, even where the segment is open."""
    segment: Segment
    source: TimeRange
    target: TimeRange


def resolve_timing(segment: Segment, material: Material | None, warnings: list[str], where: str,
                   track: Track | None = None) -> Cut:
    """Concrete µs ranges; an open clip runs to the end of its media when the length is known, a
    closed clip with a `fit` is fitted to it (`fitted`; `track`: its track, where the next clip
    stops an 'extend'). A closed segment without a source length (text, effects, stickers) gets its
    target's."""
    source, target = segment.source, segment.target
    if not segment.is_open:
        if not source.duration_us:
            source = source.closed(target.length_us)
        cut = Cut(segment, source, target)
        if segment.fit is None or material is None or material.duration_us is None or material.kind == "image":
            return cut
        following = next_start(track, segment) if track is not None else None
        return fitted(cut, material.duration_us, warnings, where, following)
    known = material.duration_us if material else None
    if known is None:
        warnings.append(f"{where}: the media length is not known yet (it is probed at save), "
                        "so this open-ended clip has length 0 here.")
        return Cut(segment, source.closed(0), target.closed(0))
    length = known - source.start_us
    if length <= 0:
        warnings.append(f"{where}: start ({source.start_us / 1e6:g}s) is beyond the media end "
                        f"({known / 1e6:g}s); the clip is left with length 0.")
        return Cut(segment, source.closed(0), target.closed(0))
    return Cut(segment, source.closed(length), target.closed(int(length / segment.speed)))


def fitted(cut: Cut, known: int, warnings: list[str], where: str, next_start_us: int | None) -> Cut:
    """`cut` fitted to media `known` µs long by its segment's `fit`: 'trim' keeps the timing and
    ends the clip with the media when that ends first; 'stretch' plays the media from the cut's
    start to its end in the clip's length (the speed clamped to the app's range, with a warning);
    'extend' plays it to its end at the clip's speed, cut where the next clip (`next_start_us`)
    starts, with a warning."""
    segment, source, target = cut
    available = known - source.start_us
    if available <= 0:
        warnings.append(f"{where}: start ({source.start_us / 1e6:g}s) is beyond the media end "
                        f"({known / 1e6:g}s); the clip is left with length 0.")
        return Cut(segment, source.closed(0), target.closed(0))
    if segment.fit == "stretch":
        return stretched(cut, available, warnings, where)
    if segment.fit == "extend":
        return extended(cut, available, warnings, where, next_start_us)
    if available >= source.length_us:
        return cut
    return Cut(segment, source.closed(available), target.closed(round(available / segment.speed)))


def stretched(cut: Cut, available: int, warnings: list[str], where: str) -> Cut:
    """'stretch': speed = available / clip length, within MIN_SPEED..MAX_SPEED. Above the range the
    clip shows the media's first part; below it the clip ends with the media."""
    segment, source, target = cut
    length = target.length_us
    if length <= 0:
        return cut
    wanted = available / length
    speed = min(max(wanted, MIN_SPEED), MAX_SPEED)
    timed = segment.model_copy(update={"speed": speed})
    if speed == wanted:
        return Cut(timed, source.closed(available), target)
    warnings.append(f"{where}: fit 'stretch' needs speed {wanted:g} to play {available / 1e6:g}s of media in "
                    f"{length / 1e6:g}s, outside the app's range {MIN_SPEED:g} to {MAX_SPEED:g}; speed {speed:g} "
                    "was used.")
    if speed < wanted:
        return Cut(timed, source.closed(round(length * speed)), target)
    return Cut(timed, source.closed(available), target.closed(round(available / speed)))


def extended(cut: Cut, available: int, warnings: list[str], where: str, next_start_us: int | None) -> Cut:
    """'extend': the clip plays the media to its end at its speed, up to the next clip's start."""
    segment, source, target = cut
    length = round(available / segment.speed)
    if next_start_us is None or target.start_us + length <= next_start_us:
        return Cut(segment, source.closed(available), target.closed(length))
    room = next_start_us - target.start_us
    warnings.append(f"{where}: fit 'extend' would end it at {(target.start_us + length) / 1e6:g}s, over the next "
                    f"clip at {next_start_us / 1e6:g}s; it was cut there.")
    return Cut(segment, source.closed(round(room * segment.speed)), target.closed(room))


def next_start(track: Track, segment: Segment) -> int | None:
    """Where the first clip of `track` that starts after `segment` starts (None: no clip does)."""
    index = bisect.bisect_right(track.segments, segment.target.start_us, key=lambda s: s.target.start_us)
    return track.segments[index].target.start_us if index < len(track.segments) else None


def label(track: Track, segment: Segment) -> str:
    """How messages name a segment: its track and start."""
    return f"track '{track.name}', clip at {segment.target.start_us / 1e6:g}s"


def track_timings(draft: Draft, track: Track, warnings: list[str]) -> list[Cut]:
    """Concrete timings of a track's segments in start order, minus those that overlap once open
    clips are resolved: as upstream, the clip added later goes, but the client is told which and why."""
    resolved = [resolve_timing(seg, draft.materials.get(seg.material_id or ""), warnings, label(track, seg), track)
                for seg in track.segments]
    if not any(seg.is_open for seg in track.segments):
        return resolved
    kept: list[Cut] = []
    for cut in sorted(resolved, key=lambda c: c.segment.order):
        rivals = kept if cut.segment.is_open else [k for k in kept if k.segment.is_open]
        clash = next((k for k in rivals if k.target.overlaps(cut.target)), None)
        if clash is None:
            kept.append(cut)
            continue
        other = clash.target
        warnings.append(
            f"{label(track, cut.segment)}: once the media lengths are known it overlaps the clip at "
            f"{other.start_us / 1e6:g}–{other.end_us / 1e6:g}s that was "
            "added earlier, so it was left out of the draft (give clips an explicit end to avoid this).")
    return sorted(kept, key=lambda c: c.target.start_us)


class ClipAt(Generic[T]):
    """Which placed clip of a track holds a time: the first, in start order, whose range
    start..start+duration (both ends included) contains it — a boundary belongs to the earlier
    clip. Found by bisection: the running maximum of the clips' ends never decreases, and the
    first clip that reaches the time is the only candidate (later ones start no earlier)."""

    def __init__(self, placed: Sequence[tuple[T, TimeRange]]):
        self.clips = [clip for clip, _ in placed]
        self.starts = [t.start_us for _, t in placed]
        self.reach = list(itertools.accumulate((t.end_us for _, t in placed), max))

    def at(self, time_us: int) -> T | None:
        index = bisect.bisect_left(self.reach, time_us)
        if index < len(self.clips) and self.starts[index] <= time_us:
            return self.clips[index]
        return None


def keyframe_targets(keyframes: Iterable[PendingKeyframe], placed: Mapping[str, Sequence[tuple[T, TimeRange]]],
                     warnings: list[str]) -> Iterator[tuple[PendingKeyframe, T]]:
    """Each pending keyframe with the clip under its time on its track (`ClipAt`), in order; one
    that matches no clip is named in `warnings` instead. Cost n log n in keyframes + clips."""
    finders: dict[str, ClipAt[T]] = {}
    for kf in keyframes:
        finder = finders.get(kf.track_name)
        if finder is None:
            finder = finders[kf.track_name] = ClipAt(placed.get(kf.track_name, []))
        clip = finder.at(kf.time_us)
        if clip is None:
            warnings.append(f"keyframe {kf.property} at {kf.time_us / 1e6:g}s on track "
                            f"'{kf.track_name}' matches no clip and was not applied.")
            continue
        yield kf, clip
