"""An OTIO timeline as the add_* calls that rebuild it (POST /import_otio plans them as one batch).

Each clip becomes one operation of the route that makes it, with a body as a client would send it,
so every check of adding applies:

* a clip with our `capcut` metadata (interchange/otio.py) is planned again by the route that made
  it (`made_by`) with its parameters (`params`): texts, subtitles, effects, filters, stickers and
  every style come back as they were. Its track is the OTIO track's; when its place or cut on the
  OTIO track differs from the one it was exported with (moved or trimmed in another editor), the
  new timing is used, with a warning;
* any other clip (another editor's, or one of a draft imported from an app's zip, which has no
  parameters) by what OTIO says: media by URL on an Audio track is /add_audio, on a Video track
  /add_image for image files (by the media's `capcut` kind or the URL's extension) and /add_video
  otherwise, at its place with its cut; a `LinearTimeWarp` is its speed; an SMPTE dissolve, or a
  transition named as in the catalogue, the transition of the clip before it. Our generator clips
  (`capcut.text`, …) come back with their text or catalogue name and the route's default style;
* what cannot be imported is left out and named in the warnings: media that are not http(s) URLs
  (draft media must be web addresses, as routes/media.py requires; a file path of another
  editor's machine cannot be fetched), missing references, image sequences, other generators,
  nested stacks, disabled clips, markers, effects other than speed, tracks of other kinds.

The timeline's metadata brings the keyframes back (one /add_video_keyframe per track).
"""
from __future__ import annotations

import math
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import opentimelineio as otio

from capcut_drafts.editing.pipeline import NOT_PARAMS
from capcut_drafts.editing.segments import EDITORS, Editor
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.imports.reader import MADE_BY as IMPORTED
from capcut_drafts.interchange.otio import DISSOLVES, GENERATOR, NAMESPACE
from capcut_drafts.model import catalog
from capcut_drafts.model.time import MAX_SECONDS, US_PER_SECOND
from capcut_drafts.model.timing import FITS
from capcut_drafts.routes import keyframe
from capcut_drafts.routes.effect import EFFECT_CATEGORIES
from capcut_drafts.routes.media import KNOWN_EXT

KEYFRAMES = Editor(keyframe.AddKeyframeRequest, keyframe.plan)
DISSOLVE = {"capcut": "Dissolve", "jianying": "叠化"}        # an SMPTE dissolve, by app family
assert DISSOLVE.keys() == set(catalog.APPS) and set(DISSOLVE.values()) == DISSOLVES
MOVED_US = 1_000                  # a clip whose place or cut differs by more was moved in another editor
TRACK_NAME_LENGTH = 64
CATEGORY_OF = {table: category for category, table in EFFECT_CATEGORIES.items()}   # scene_effect -> scene


@dataclass
class Operation:
    """One add_* call: the route (`made_by` of what it makes), the model and planner it is planned
    with, its body, how messages name it, the `fit` to restore, and whether it was read from OTIO
    (not replayed parameters: an OTIO transition after it becomes its transition)."""
    path: str
    editor: Editor
    body: dict[str, Any]
    where: str
    fit: str | None = None
    from_otio: bool = False


@dataclass(frozen=True)
class Timing:
    """Where an OTIO clip is, in µs: its start on the track, its length there, its cut's start, and
    the length of its media when the reference says (`available_range`)."""
    start_us: int
    length_us: int
    source_us: int
    media_us: int | None = None


@dataclass
class Facts:
    """What the timeline says about the draft to make: name, canvas, profile (None: not said)."""
    name: str
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    profile: str | None = None


@dataclass
class Walk:
    """The operations and warnings of one timeline, for an app family's catalogue names."""
    app: str
    operations: list[Operation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)      # track names given out
    filled: set[str] = field(default_factory=set)     # tracks that get a segment


# -- reading OTIO values -----------------------------------------------------------------------

def plain(value: Any) -> Any:
    """OTIO metadata (AnyDictionary, AnyVector) as dicts and lists."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(item) for item in value]
    return value


def namespace(metadata: Any) -> dict[str, Any]:
    """Our metadata of an OTIO object ({} when it has none or it is not an object)."""
    ours = plain(metadata.get(NAMESPACE)) if NAMESPACE in metadata else None
    return ours if isinstance(ours, dict) else {}


def micros(time: Any, where: str) -> int:
    """A RationalTime in µs; invalid_otio for a rate of 0 or less, or a time beyond ±MAX_SECONDS."""
    rate, value = float(time.rate), float(time.value)
    seconds = value / rate if math.isfinite(rate) and rate > 0 else math.nan
    if not math.isfinite(seconds) or abs(seconds) > MAX_SECONDS:
        raise ApiError(f"{where}: the time {value:g} at rate {rate:g} is not a time this service reads (the rate "
                       f"must be above 0 and the time within ±{MAX_SECONDS} s).", code=ErrorCode.INVALID_OTIO)
    return round(seconds * US_PER_SECOND)


def seconds(us: int) -> float:
    return us / US_PER_SECOND


def number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def length_of(item: Any, where: str) -> int:
    """How long `item` lasts on its track, µs (invalid_otio when OTIO cannot say)."""
    try:
        duration = item.trimmed_range().duration
    except Exception:             # noqa: BLE001 — CannotComputeAvailableRangeError and kin
        raise ApiError(f"{where}: it has no source_range and its media no available_range, so its length is "
                       "unknown; give the clip a source_range.", code=ErrorCode.INVALID_OTIO) from None
    length = micros(duration, where)
    if length < 0:
        raise ApiError(f"{where}: its length is negative.", code=ErrorCode.INVALID_OTIO)
    return length


# -- the draft -------------------------------------------------------------------------------

def draft_facts(timeline: Any) -> Facts:
    """The timeline's name, and the canvas and profile our metadata (or its start time's rate) gives."""
    meta = namespace(timeline.metadata)
    found = meta.get("canvas")
    canvas: dict[str, Any] = found if isinstance(found, dict) else {}
    profile = meta.get("profile")
    facts = Facts(name=str(timeline.name or ""), profile=profile if isinstance(profile, str) else None)
    facts.width, facts.height, facts.fps = (_whole(canvas.get(key)) for key in ("width", "height", "fps"))
    start = timeline.global_start_time
    if facts.fps is None and start is not None and 1 <= start.rate <= 240:
        facts.fps = round(start.rate)
    return facts


def _whole(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and \
        float(value).is_integer() else None


# -- the walk --------------------------------------------------------------------------------

def plan_timeline(timeline: Any, app: str) -> tuple[list[Operation], list[str]]:
    """The operations that rebuild `timeline` on a draft of app family `app`, and the warnings."""
    walk = Walk(app)
    extras(walk, timeline.tracks, "the timeline's stack")
    for index, child in enumerate(timeline.tracks):
        if isinstance(child, otio.schema.Track):
            plan_track(walk, child, index)
        else:
            walk.warnings.append(f"Item {index} of the timeline's stack is a {child.schema_name()}, not a track: "
                                 "left out.")
    plan_keyframes(walk, namespace(timeline.metadata).get("keyframes"))
    return walk.operations, walk.warnings


def extras(walk: Walk, item: Any, where: str) -> None:
    """Warnings for what an item carries that is not imported: markers, effects, a track's trim."""
    if len(item.markers):
        walk.warnings.append(f"{where}: {len(item.markers)} marker(s) left out (markers are not imported).")
    if not isinstance(item, otio.schema.Clip) and len(item.effects):
        walk.warnings.append(f"{where}: {len(item.effects)} effect(s) on the whole track or stack left out.")
    if not isinstance(item, (otio.schema.Clip, otio.schema.Gap)) and item.source_range is not None:
        walk.warnings.append(f"{where}: its source_range (a trim of the whole track) is ignored.")


def plan_track(walk: Walk, track: Any, index: int) -> None:
    audio = track.kind == otio.schema.TrackKind.Audio
    meta = namespace(track.metadata)
    if not audio and track.kind != otio.schema.TrackKind.Video:
        walk.warnings.append(f"Track {index} ('{str(track.name)[:60]}') is of kind '{str(track.kind)[:40]}', "
                             "neither Video nor Audio: left out.")
        return
    name = track_name(walk, track, meta, index, audio)
    extras(walk, track, f"track '{name}'")
    cursor, last = 0, None
    for child in track:
        where = f"track '{name}', {child.schema_name().lower()} '{str(child.name)[:60]}' at {seconds(cursor):g}s"
        if isinstance(child, otio.schema.Transition):
            plan_transition(walk, child, last, where)
            continue
        length = length_of(child, where)
        last = None
        if isinstance(child, otio.schema.Clip) and child.enabled:
            last = plan_clip(walk, child, name, audio, Timing(cursor, length, 0), where)
        elif not isinstance(child, otio.schema.Gap):
            what = "a disabled clip" if isinstance(child, otio.schema.Clip) else f"a nested {child.schema_name()}"
            walk.warnings.append(f"{where}: {what} is not imported; its time stays empty.")
        cursor += length
    for entry in meta.get("unplaced", []) if isinstance(meta.get("unplaced"), list) else []:
        replayed = replay(walk, entry, name, None, f"track '{name}', a clip of unknown length") \
            if isinstance(entry, dict) else None
        if replayed is None:
            walk.warnings.append(f"track '{name}': a clip of unknown length in its capcut metadata has no route "
                                 "parameters (made in the app, or not a clip): left out.")


def track_name(walk: Walk, track: Any, meta: dict[str, Any], index: int, audio: bool) -> str:
    """Our track's own name for a track we exported; another editor's track name, made unique."""
    given = str(track.name or "").strip()[:TRACK_NAME_LENGTH]
    if not given:
        given = f"{'audio' if audio else 'video'}_{index + 1}"
    name, n = given, 2
    while name in walk.names and not meta:
        name, n = f"{given}_{n}", n + 1
    walk.names.add(name)
    return name


def plan_clip(walk: Walk, clip: Any, track: str, audio: bool, timing: Timing, where: str) -> Operation | None:
    """The operation of one enabled clip (None: left out, with a warning)."""
    extras(walk, clip, where)
    available = getattr(clip.media_reference, "available_range", None)
    timing = Timing(timing.start_us, timing.length_us, micros(clip.trimmed_range().start_time, where),
                    micros(available.duration, where) if available is not None else None)
    meta = namespace(clip.metadata)
    operation = replay(walk, meta, track, timing, where) if meta else None
    if operation is None:
        operation = read_clip(walk, clip, track, audio, timing, where)
        if operation is not None and meta.get("made_by") == IMPORTED:
            walk.warnings.append(f"{where}: it came from an app's draft zip (/import_draft) and has no route "
                                 f"parameters, so it was rebuilt by {operation.path} from its media or text and "
                                 "timing; its app styles are not in the timeline.")
    return operation


def replay(walk: Walk, meta: dict[str, Any], track: str, timing: Timing | None, where: str) -> Operation | None:
    """The clip's own route with its parameters (our metadata); None when the metadata has none.
    `timing`: where it is on the OTIO track (None: not placed there, the parameters say)."""
    made_by, params = meta.get("made_by"), meta.get("params")
    editor = EDITORS.get(made_by) if isinstance(made_by, str) else None
    if editor is None or not isinstance(params, dict):
        return None
    body = {key: value for key, value in params.items() if key not in NOT_PARAMS}
    body["track_name"] = track
    if timing is not None and moved(meta, timing):
        body.update(retimed(editor, body, timing))
        walk.warnings.append(f"{where}: its place or cut differs from the one it was exported with (moved or "
                             "trimmed in another editor); its timing on the OTIO track was used.")
    if made_by == "/add_video" and not body.get("end") and body.get("duration") is None and timing is not None \
            and timing.media_us:
        body["duration"] = seconds(timing.media_us)       # an open clip's media length: it is placed at once
    fit = meta.get("fit") if meta.get("fit") in FITS else None
    return add(walk, Operation(str(made_by), editor, body, where, fit=fit))


def moved(meta: dict[str, Any], timing: Timing) -> bool:
    target, source = meta.get("target_us"), meta.get("source_start_us")
    if not (isinstance(target, list) and len(target) == 2 and all(isinstance(t, int) for t in target)):
        return False
    end = timing.start_us + timing.length_us
    shifted = abs(target[0] - timing.start_us) > MOVED_US or abs(target[1] - end) > MOVED_US
    return shifted or (isinstance(source, int) and abs(source - timing.source_us) > MOVED_US)


def retimed(editor: Editor, body: dict[str, Any], timing: Timing) -> dict[str, Any]:
    """The parameters that put the clip where `timing` says: a cut of the media at `target_start`
    for video and audio, the timeline `start`/`end` for the rest."""
    if "target_start" not in editor.model.model_fields:
        return {"start": seconds(timing.start_us), "end": seconds(timing.start_us + timing.length_us)}
    speed = number(body.get("speed"), 1.0)
    cut = source_length(timing.length_us, speed if speed > 0 else 1.0)
    return {"target_start": seconds(timing.start_us), "start": seconds(timing.source_us),
            "end": seconds(timing.source_us + cut), "duration": None}


def source_length(length_us: int, speed: float) -> int:
    """The cut, µs, that played at `speed` lasts at most `length_us` on the timeline (rounding
    never makes a clip overlap the next one)."""
    cut = int(length_us * speed)
    while cut > 0 and round(cut / speed) > length_us:
        cut -= 1
    return cut


def add(walk: Walk, operation: Operation) -> Operation:
    walk.operations.append(operation)
    walk.filled.add(str(operation.body.get("track_name")))
    return operation


# -- clips without our parameters ------------------------------------------------------------

def read_clip(walk: Walk, clip: Any, track: str, audio: bool, timing: Timing, where: str) -> Operation | None:
    if timing.length_us <= 0:
        walk.warnings.append(f"{where}: it has length 0: left out.")
        return None
    reference = clip.media_reference
    if isinstance(reference, otio.schema.GeneratorReference):
        return generated(walk, reference, track, timing, where)
    if isinstance(reference, otio.schema.ExternalReference):
        return media_clip(walk, clip, reference, track, audio, timing, where)
    what = {"MissingReference": "missing (a MissingReference)",
            "ImageSequenceReference": "an image sequence, which drafts do not take"}.get(
        reference.schema_name(), f"a {reference.schema_name()}")
    walk.warnings.append(f"{where}: its media is {what}: left out.")
    return None


def media_clip(walk: Walk, clip: Any, reference: Any, track: str, audio: bool, timing: Timing,
               where: str) -> Operation | None:
    url = str(reference.target_url or "").strip()
    if not web_address(url):
        walk.warnings.append(f"{where}: its media '{url[:120]}' is not an http(s) URL (draft media are web "
                             "addresses; a path on another machine cannot be fetched): left out. Host the file and "
                             "add it with /add_video, /add_audio or /add_image.")
        return None
    kind = media_kind(reference, audio, url)
    if kind == "image":
        body: dict[str, Any] = {"image_url": url, "start": seconds(timing.start_us),
                                "end": seconds(timing.start_us + timing.length_us), "track_name": track}
        return add(walk, Operation("/add_image", EDITORS["/add_image"], body, where, from_otio=True))
    speed = clip_speed(walk, clip, where)
    cut = source_length(timing.length_us, speed)
    body = {f"{kind}_url": url, "start": seconds(timing.source_us), "end": seconds(timing.source_us + cut),
            "target_start": seconds(timing.start_us), "track_name": track}
    if speed != 1:
        body["speed"] = speed
    volume = namespace(clip.metadata).get("volume")
    if isinstance(volume, (int, float)) and not isinstance(volume, bool):
        body["volume"] = volume
    path = f"/add_{kind}"
    return add(walk, Operation(path, EDITORS[path], body, where, from_otio=True))


def web_address(url: str) -> bool:
    """routes/media.py's rule for media URLs: http or https, with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def media_kind(reference: Any, audio: bool, url: str) -> str:
    """video, audio or image: our metadata's kind, else the track's (audio), else the URL's extension."""
    ours = namespace(reference.metadata).get("kind")
    if ours in ("video", "audio", "image"):
        return str(ours)
    if audio:
        return "audio"
    extension = posixpath.splitext(urlsplit(url).path)[1].lstrip(".").lower()
    return "image" if extension in KNOWN_EXT["image"] - {"gif"} else "video"


def clip_speed(walk: Walk, clip: Any, where: str) -> float:
    """The clip's speed from its LinearTimeWarp (1 without one); other effects are named in warnings."""
    speed = 1.0
    for effect in clip.effects:
        if isinstance(effect, otio.schema.FreezeFrame) or (
                isinstance(effect, otio.schema.LinearTimeWarp) and not effect.time_scalar > 0):
            walk.warnings.append(f"{where}: a freeze frame or reverse playback is not imported; it plays forward.")
        elif isinstance(effect, otio.schema.LinearTimeWarp) and math.isfinite(effect.time_scalar):
            speed = float(effect.time_scalar)
        else:
            walk.warnings.append(f"{where}: effect '{str(effect.effect_name or effect.name)[:60]}' left out (of OTIO "
                                 "effects only a LinearTimeWarp, the speed, is imported).")
    return speed


def generated(walk: Walk, reference: Any, track: str, timing: Timing, where: str) -> Operation | None:
    """Our generator clips (text, effect, filter, sticker) by their parameters, with the route's
    default style; other generators are left out."""
    kind = str(reference.generator_kind)
    values = plain(reference.parameters)
    span = {"start": seconds(timing.start_us), "end": seconds(timing.start_us + timing.length_us),
            "track_name": track}
    name = values.get("name") if isinstance(values.get("name"), str) else None
    body: dict[str, Any] | None = None
    if kind == GENERATOR + "text" and isinstance(values.get("text"), str):
        path, body = "/add_text", {"text": values["text"], **span}
    elif kind == GENERATOR + "effect" and name is not None:
        category = CATEGORY_OF.get(str(values.get("category")), "scene")
        if in_catalogue(walk, EFFECT_CATEGORIES[category], name, where):
            path, body = "/add_effect", {"effect_type": name, "effect_category": category, **span}
    elif kind == GENERATOR + "filter" and name is not None:
        if in_catalogue(walk, "filter", name, where):
            intensity = min(max(number(values.get("intensity"), 100.0), 0.0), 100.0)
            path, body = "/add_filter", {"filter_type": name, "filter_intensity": intensity, **span}
    elif kind == GENERATOR + "sticker" and isinstance(values.get("sticker_id"), str):
        path, body = "/add_sticker", {"sticker_id": values["sticker_id"], **span}
    else:
        walk.warnings.append(f"{where}: a generated clip ('{kind[:60]}') is not imported: left out.")
    return add(walk, Operation(path, EDITORS[path], body, where, from_otio=True)) if body is not None else None


def in_catalogue(walk: Walk, category: str, name: str, where: str) -> bool:
    """Whether the catalogue of the draft's app has `name` (a warning when not: an app draft's
    effect may be one the catalogue lacks)."""
    try:
        catalog.lookup(walk.app, category, name)
    except ApiError:
        walk.warnings.append(f"{where}: '{name[:60]}' is not in the {category.replace('_', ' ')} catalogue: left "
                             "out.")
        return False
    return True


def plan_transition(walk: Walk, item: Any, last: Operation | None, where: str) -> None:
    """An OTIO transition as the transition of the clip before it; replayed clips keep their own."""
    if last is not None and not last.from_otio:
        return
    if last is None or last.path not in ("/add_video", "/add_image"):
        walk.warnings.append(f"{where}: it does not follow an imported video or image clip: left out.")
        return
    name = transition_name(walk, item, where)
    if name is not None:
        length = micros(item.in_offset, where) + micros(item.out_offset, where)
        last.body.update(transition=name, transition_duration=seconds(max(length, 0)))


def transition_name(walk: Walk, item: Any, where: str) -> str | None:
    """The catalogue name of an OTIO transition: a dissolve for SMPTE_Dissolve, else its own name
    when the catalogue has it (None, with a warning, otherwise)."""
    if item.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve:
        return DISSOLVE[walk.app]
    name = str(namespace(item.metadata).get("name") or item.name or "")
    return name if in_catalogue(walk, "transition", name, where) else None


# -- keyframes ------------------------------------------------------------------------------

def plan_keyframes(walk: Walk, entries: Any) -> None:
    """One /add_video_keyframe per track from the timeline's metadata, for tracks that got clips."""
    by_track: dict[str, list[tuple[str, float, float]]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("track_name"), str) and \
                isinstance(entry.get("property"), str) and isinstance(entry.get("time_us"), int) and \
                isinstance(entry.get("value"), (int, float)) and not isinstance(entry.get("value"), bool):
            by_track.setdefault(entry["track_name"], []).append(
                (entry["property"], seconds(entry["time_us"]), float(entry["value"])))
        else:
            walk.warnings.append("An entry of the timeline's capcut metadata 'keyframes' is not a keyframe: left out.")
    for name, keyframes in by_track.items():
        if name not in walk.filled:
            walk.warnings.append(f"{len(keyframes)} keyframe(s) of track '{name[:60]}' left out: the track got no "
                                 "imported clip.")
            continue
        body = {"track_name": name, "property_types": [k[0] for k in keyframes], "times": [k[1] for k in keyframes],
                "values": [k[2] for k in keyframes]}
        walk.operations.append(Operation("/add_video_keyframe", KEYFRAMES, body, f"the keyframes of track '{name}'"))
