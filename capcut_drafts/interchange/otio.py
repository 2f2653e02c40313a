"""The draft document as an OpenTimelineIO timeline (POST /export_otio, GET /drafts/<id>.otio).

The timeline's Stack holds one OTIO Track per draft track, bottom layer first (the Stack's order):
audio tracks are `Audio`, every other kind `Video`. Each track lists its segments in time order
with Gaps where the timeline is empty; times are RationalTimes at the draft's fps (fractional frame
values keep the microseconds). Media clips reference their URL (`ExternalReference`); a clip's
`source_range` starts at the cut's start in the media and lasts as long as the clip on the timeline,
and a speed other than 1 is a `LinearTimeWarp` (OTIO's convention). Texts, subtitles, effects,
filters and stickers are clips of a `GeneratorReference` (`generator_kind` `capcut.text`,
`capcut.effect`, …, its `parameters` the text or the catalogue name). A clip's transition into the
next, adjacent clip is an OTIO Transition centred on the cut; its other catalogue names (filter,
mask, animations, audio effect) are OTIO Effects named after them.

Nothing is lost in a round trip: under the `capcut` metadata namespace the timeline keeps the
draft's profile, canvas and keyframes, each track its kind, and each clip the route that made it
and that route's parameters (`made_by`, `params`), which POST /import_otio plans again. Clips whose
media length is not known yet (open-ended and not probed) have no place on an OTIO track: their
track's metadata lists them (`unplaced`), and the export says so in its warnings.
"""
from __future__ import annotations

import json
import posixpath
from typing import Any
from urllib.parse import unquote, urlsplit

import opentimelineio as otio

from capcut_drafts.editing.timeline import effect_names, kind_of
from capcut_drafts.model.time import US_PER_SECOND
from capcut_drafts.model.timeline import Draft, Material, Segment, Track
from capcut_drafts.model.timing import Cut, label, track_timings

NAMESPACE = "capcut"              # our metadata key on the timeline, its tracks and clips
FORMAT = 1                        # of what we keep under NAMESPACE; the import reads up to it
GENERATOR = "capcut."             # prefix of our generator kinds: capcut.text, capcut.effect, …
DISSOLVES = frozenset({"Dissolve", "叠化"})    # the catalogue's plain cross-dissolves (CapCut, JianYing)
NAME_LENGTH = 80                  # characters of a text shown as its clip's name

RationalTime = otio.opentime.RationalTime
TimeRange = otio.opentime.TimeRange


def rational(us: int, fps: int) -> Any:
    """`us` microseconds as a RationalTime at `fps` (a fractional value keeps every microsecond)."""
    return RationalTime(us * fps / US_PER_SECOND, fps)


def time_range(start_us: int, length_us: int, fps: int) -> Any:
    return TimeRange(rational(start_us, fps), rational(length_us, fps))


def export_text(draft: Draft) -> tuple[str, list[str]]:
    """The draft as .otio JSON text, and what the export had to say (unplaced clips, overlaps)."""
    timeline, warnings = export_timeline(draft)
    return otio.core.serialize_json_to_string(timeline, {}, 2), warnings


def export_timeline(draft: Draft) -> tuple[Any, list[str]]:
    fps = draft.canvas.fps
    warnings: list[str] = []
    timeline = otio.schema.Timeline(name=draft.name, global_start_time=rational(0, fps),
                                    metadata={NAMESPACE: draft_metadata(draft)})
    for track in draft.tracks_in_layer_order():
        timeline.tracks.append(export_track(draft, track, warnings))
    return timeline, warnings


def draft_metadata(draft: Draft) -> dict[str, Any]:
    """What the timeline keeps of the draft: profile, canvas, keyframes, and whether it came from an
    app's zip (/import_draft: its segments have no parameters to plan again)."""
    return {
        "format": FORMAT, "draft_id": draft.id, "profile": draft.profile, "canvas": draft.canvas.model_dump(),
        "keyframes": [{"track_name": k.track_name, "property": k.property, "time_us": k.time_us, "value": k.value}
                      for k in draft.keyframes],
        "imported_from_app": {"app_version": draft.base.app_version} if draft.base is not None else None,
    }


def export_track(draft: Draft, track: Track, warnings: list[str]) -> Any:
    """One OTIO track: clips in time order, gaps between them, transitions at adjacent cuts."""
    fps = draft.canvas.fps
    kind = otio.schema.TrackKind.Audio if track.kind == "audio" else otio.schema.TrackKind.Video
    unplaced: list[dict[str, Any]] = []
    out = otio.schema.Track(name=track.name, kind=kind)
    cursor, before = 0, None
    for cut in track_timings(draft, track, warnings):
        if cut.target.is_empty or cut.target.start_us < cursor:
            unplaced.append(segment_metadata(draft, track, cut))
            warnings.append(f"{label(track, cut.segment)}: its length is not known yet (the media is probed at "
                            "save), so it has no place on the OTIO track; the track's capcut metadata keeps it "
                            "(save the draft, then export it again to have it as a clip).")
            continue
        if cut.target.start_us > cursor:
            out.append(otio.schema.Gap(source_range=time_range(0, cut.target.start_us - cursor, fps)))
        elif before is not None and before.segment.transition is not None:
            out.append(transition(before, cut, fps))
        out.append(export_clip(draft, track, cut))
        cursor, before = cut.target.end_us, cut
    out.metadata[NAMESPACE] = {"kind": track.kind, "relative_index": track.relative_index, "unplaced": unplaced}
    return out


def transition(before: Cut, after: Cut, fps: int) -> Any:
    """The transition of `before` into the adjacent `after`, centred on the cut, each half at most
    as long as the clip it covers."""
    spec = before.segment.transition
    assert spec is not None
    half = spec.duration_us // 2
    kind = otio.schema.TransitionTypes.SMPTE_Dissolve if spec.name in DISSOLVES else \
        otio.schema.TransitionTypes.Custom
    return otio.schema.Transition(
        name=spec.name, transition_type=kind,
        in_offset=rational(min(half, before.target.length_us), fps),
        out_offset=rational(min(spec.duration_us - half, after.target.length_us), fps),
        metadata={NAMESPACE: {"name": spec.name, "duration_us": spec.duration_us}})


def export_clip(draft: Draft, track: Track, cut: Cut) -> Any:
    fps = draft.canvas.fps
    segment = cut.segment
    material = draft.materials.get(segment.material_id or "")
    timed = material is not None and material.kind != "image"
    clip = otio.schema.Clip(
        name=clip_name(segment, material),
        media_reference=media_reference(material, fps) if material is not None else generator(draft, track, segment),
        source_range=time_range(cut.source.start_us if timed else 0, cut.target.length_us, fps),
        metadata={NAMESPACE: segment_metadata(draft, track, cut)})
    if timed and segment.speed != 1:
        clip.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=segment.speed))
    for role, name in effect_names(segment).items():
        if role != "transition":
            clip.effects.append(otio.schema.Effect(name=role, effect_name=name, metadata={NAMESPACE: {"role": role}}))
    return clip


def segment_metadata(draft: Draft, track: Track, cut: Cut) -> dict[str, Any]:
    """What a clip keeps: the segment's id, route and parameters (None for segments of an app's
    zip), its kind, and the timing it was exported with (the import sees a clip moved elsewhere)."""
    segment = cut.segment
    return {
        "segment_id": segment.id, "made_by": segment.made_by,
        "params": json.loads(segment.params) if segment.params else None,
        "kind": kind_of(draft, track.name, segment), "target_us": [cut.target.start_us, cut.target.end_us],
        "source_start_us": cut.source.start_us, "speed": segment.speed, "volume": segment.volume,
        "fit": segment.fit,
    }


def clip_name(segment: Segment, material: Material | None) -> str:
    """A media clip's file name; a text's first line; an effect's or sticker's catalogue name."""
    if material is not None:
        return unquote(posixpath.basename(urlsplit(material.url).path)) or material.file_name
    text = segment.text_content()
    if text is not None:
        return text.split("\n", 1)[0][:NAME_LENGTH]
    if segment.effect is not None:
        return segment.effect.name
    return f"sticker {segment.sticker_id}" if segment.sticker_id else segment.id


def media_reference(material: Material, fps: int) -> Any:
    """The clip's media by URL, with its length once probed (images have none)."""
    length = material.duration_us if material.kind != "image" else None
    return otio.schema.ExternalReference(
        target_url=material.url, available_range=time_range(0, length, fps) if length else None,
        metadata={NAMESPACE: {"kind": material.kind}})


def generator(draft: Draft, track: Track, segment: Segment) -> Any:
    """What a segment without media shows, as a generator: the text, the effect, the sticker."""
    kind = kind_of(draft, track.name, segment)
    parameters: dict[str, Any] = {}
    text = segment.text_content()
    if text is not None:
        kind, parameters = "text", {"text": text}
    elif segment.effect is not None:
        parameters = {"name": segment.effect.name, "category": segment.effect.category,
                      "params": list(segment.effect.params), "intensity": segment.effect.intensity}
    elif segment.sticker_id:
        parameters = {"sticker_id": segment.sticker_id}
    return otio.schema.GeneratorReference(generator_kind=GENERATOR + kind, parameters=parameters)
