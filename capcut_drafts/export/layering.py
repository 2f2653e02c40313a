"""Track flags, render indexes and subtitle files as the apps write them.

What the app-written references show (/work/shared/reference, CapCut 1.5-9.1, JianYing 5.4.5β-5.9):

* `render_index_track_mode_on` is true in every draft of the versions our profiles write (CapCut
  6.2, 6.3, 6.9, 7.7-9.1; JianYing 5.4.5β and 5.9); `track_render_index` is the track's position.
* The first video track is the main track: `flag` 0, render index 0. Every other video track is
  an overlay: `flag` 2, render index 1, 2, … per track (CapCut 1.5, 5.9.1, 6.2, 9.1).
* Texts and stickers share one counter from 14000, one index per segment, in track order
  (CapCut 8.9: stickers 14000-14003, then texts 14004-…; 7.8 subtitles 14000-14005).
* Effects take 11000 + n and filters 10000 + n, one index per track (CapCut 6.2, 6.9; 8.6).
* JianYing 5.4.5β writes `track_render_index` 0 on audio tracks (positions on the others);
  CapCut 5.8-6.9 write `render_index` 0 on video effect materials (9.1: 11000).
* A track holding subtitles has `flag` 1; their text materials have `type` "subtitle",
  `add_type` 2 and one `group_id` "import_<ms>" per imported file (CapCut 6.2, 7.8, 8.1), and
  the meta lists the file as a `draft_materials` entry of type 2 (CapCut 6.2, 8.1).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from capcut_drafts.model.ids import url_digest
from capcut_drafts.model.profiles import Profile
from capcut_drafts.model.timeline import Draft, Segment, Track

SUBTITLE_ROUTE = "/add_subtitle"
TEXT_BASE, EFFECT_BASE, FILTER_BASE = 14000, 11000, 10000
FLAG_SUBTITLES, FLAG_OVERLAY = 1, 2


def is_subtitle(segment: Segment) -> bool:
    return segment.made_by == SUBTITLE_ROUTE


def has_subtitles(track: Track) -> bool:
    return track.kind == "text" and any(is_subtitle(s) for s in track.segments)


@dataclass
class _Counters:
    overlays: int = 0
    texts: int = 0
    effects: int = 0
    filters: int = 0


def apply_layering(content: dict[str, Any], tracks: list[Track], profile: Profile) -> None:
    """Flags and render indexes of the built JSON, whose `tracks` are `tracks` in the same order,
    for `profile`'s app version."""
    content["render_index_track_mode_on"] = True
    counters = _Counters()
    main_video = next((t for t in tracks if t.kind == "video"), None)
    for order, (track, track_json) in enumerate(zip(tracks, content["tracks"], strict=True)):
        track_json["flag"] = _flag(track, main_video)
        indexes = _indexes(track, main_video, len(track_json["segments"]), counters)
        position = 0 if track.kind == "audio" and profile.app == "jianying" else order
        for segment_json, index in zip(track_json["segments"], indexes, strict=True):
            segment_json["render_index"] = index
            segment_json["track_render_index"] = position
    if profile.app == "capcut" and int(profile.app_version.split(".")[0]) < 7:
        for effect in content["materials"].get("video_effects", []):
            effect["render_index"] = 0


def _flag(track: Track, main_video: Track | None) -> int:
    if track.kind == "video" and track is not main_video:
        return FLAG_OVERLAY
    return FLAG_SUBTITLES if has_subtitles(track) else 0


def _indexes(track: Track, main_video: Track | None, count: int, counters: _Counters) -> list[int]:
    """The render index of each of the track's `count` segments."""
    if track.kind == "video" and track is not main_video:
        counters.overlays += 1
        return [counters.overlays] * count
    if track.kind in ("text", "sticker"):
        first, counters.texts = counters.texts, counters.texts + count
        return list(range(TEXT_BASE + first, TEXT_BASE + first + count))
    if track.kind == "effect":
        counters.effects += 1
        return [EFFECT_BASE + counters.effects - 1] * count
    if track.kind == "filter":
        counters.filters += 1
        return [FILTER_BASE + counters.filters - 1] * count
    return [0] * count


# --- subtitle files ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SubtitleFile:
    """The SRT of one subtitle track, written into the draft folder and listed in the meta."""
    track_name: str
    file_name: str
    text: str
    group_id: str


def subtitle_files(draft: Draft) -> list[SubtitleFile]:
    """One SRT per track holding subtitles, made from its cues as they are now (edits included)."""
    files = []
    for ordinal, track in enumerate(t for t in draft.tracks_in_layer_order() if has_subtitles(t)):
        cues = [s for s in track.segments if is_subtitle(s)]
        files.append(SubtitleFile(track.name, f"subtitle_{url_digest(track.name)}.srt", srt(cues),
                                  f"import_{round(draft.created_at * 1000) + ordinal}"))
    return files


def srt(cues: Iterable[Segment]) -> str:
    blocks = []
    for number, cue in enumerate(cues, start=1):
        text = cue.text_content() or ""
        blocks.append(f"{number}\n{_clock(cue.target.start_us)} --> {_clock(cue.target.end_us)}\n{text}\n")
    return "\n".join(blocks)


def _clock(us: int) -> str:
    ms = us // 1000
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def mark_subtitle_materials(content: dict[str, Any], material_groups: dict[str, str]) -> None:
    """Text materials of subtitle cues ({library material id: group id}) become subtitles."""
    for material in content["materials"]["texts"]:
        group = material_groups.get(material["id"])
        if group is not None:
            material.update(type="subtitle", add_type=2, group_id=group)
