"""The draft document: our own typed, JSON-serialisable timeline.

A draft is a canvas, an app profile, named tracks of segments, the media materials those
segments cut from (by URL, with probed metadata once known) and keyframes waiting to be
attached. Times are integer microseconds (capcut_drafts/model/time.py); a segment has a
`source` range in its media and a `target` range on the timeline (segments without media, such
as texts, keep the default source). A segment whose length depends on media not probed yet is
*open*: its ranges have no duration (None), never a negative or zero one. The CapCut/JianYing
JSON is a build artefact of this document (capcut_drafts/export/builder.py). The stored JSON
carries `schema_version`; older versions are upgraded on load (capcut_drafts/model/migrations.py).
"""
from __future__ import annotations

import bisect
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, PrivateAttr

from capcut_drafts.model.lean import Lean, lean
from capcut_drafts.model.migrations import SCHEMA_VERSION
from capcut_drafts.model.time import TimeRange

TrackKind = Literal["video", "audio", "text", "effect", "filter", "sticker"]
MaterialKind = Literal["video", "audio", "image"]
APP_FILE_SCHEME = "app-file:"       # Material.at_app_path

# Layer base per track kind: the order of tracks in the built draft, bottom to top (filters under
# effects, as the apps' render indexes have them); a track's layer is base + relative_index.
LAYER_BASE = {"video": 0, "audio": 0, "filter": 10000, "effect": 11000, "sticker": 14000, "text": 15000}

# Input sizes one request or draft element takes (README "Details that matter"). Each is far
# above real use and keeps the request that reaches it near a second on one core
# (bench/input_scale.py); the services refuse more with invalid_parameter.
MAX_SUBTITLE_CUES = 10_000          # cues per /add_subtitle request; a 2-hour film has about 2 000
MAX_KEYFRAMES_PER_TRACK = 20_000    # keyframes stored for one track (they attach to its clips)
MAX_TEXT_STYLES = 10_000            # text_styles ranges on one text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


@lean()
class Canvas(Lean):
    width: int = 1080
    height: int = 1920
    fps: int = 30


@lean()
class ImageTransform(Lean):
    """Position, scale, rotation, opacity and flips of a visual segment (the app's clip settings;
    CapCut units: 1.0 offset = half the canvas)."""
    transform_x: float = 0.0
    transform_y: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0
    rotation: float = 0.0
    alpha: float = 1.0
    flip_horizontal: bool = False
    flip_vertical: bool = False


@lean()
class Animation(Lean):
    name: str
    duration_us: int


@lean()
class Transition(Lean):
    name: str
    duration_us: int


@lean()
class Mask(Lean):
    """Mask as the client sent it; the builder converts to the app's units."""
    name: str
    center_x: float
    center_y: float
    size: float
    rotation: float = 0.0
    feather: float = 0.0
    invert: bool = False
    rect_width: float | None = None
    round_corner: float | None = None


@lean()
class NamedEffect(Lean):
    """A catalogue effect (audio effect, scene/character effect, filter) with client values 0..100."""
    name: str
    category: str
    params: list[float | None] = Field(default_factory=list)
    intensity: float | None = None


@lean()
class Material(Lean):
    id: str
    kind: MaterialKind
    url: str
    file_name: str
    duration_us: int | None = None      # known from the request or from probing
    width: int | None = None
    height: int | None = None
    media_type: str | None = None       # "video", "audio", "photo", "gif" once probed
    has_audio: bool | None = None       # the file has an audio stream (probed; None: not known yet)
    draft_folder: str | None = None     # client drafts folder sent with the add call
    probed: bool = False

    @property
    def at_app_path(self) -> bool:
        """A file of an imported draft that its zip did not hold: the saved draft keeps the path of
        the machine that made it (`url` is APP_FILE_SCHEME + that path); nothing is downloaded."""
        return self.url.startswith(APP_FILE_SCHEME)


def packed(value: Any) -> str:
    """`value` as compact JSON text. Text, not orjson's bytes: those keep orjson's 4 KB buffer."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


# A JSON object held as its compact JSON text (read with `orjson.loads`); stored as the object.
PackedJson = Annotated[str, PlainValidator(packed), PlainSerializer(orjson.loads, return_type=dict)]


def _interned(name: str | None) -> str | None:
    """One shared string per route name: thousands of segments of a draft name a few routes."""
    return None if name is None else sys.intern(name)


WHOLE_MEDIA = TimeRange(start_us=0)     # a source from the media's start to its end (open)


@lean()
class Segment(Lean):
    id: str
    material_id: str | None = None
    source: TimeRange = WHOLE_MEDIA     # the cut of the media; open: "to the end of the media"
    target: TimeRange                   # where it sits on the timeline; open while the source is
    speed: float = 1.0
    volume: float = 1.0
    transform: ImageTransform | None = None
    animations: dict[str, Animation] = Field(default_factory=dict)   # intro/outro/combo/loop
    transition: Transition | None = None
    mask: Mask | None = None
    background_blur: int | None = None
    effect: NamedEffect | None = None       # audio effect, or the effect of an effect/filter track
    filter: NamedEffect | None = None       # a filter applied to a video/image clip
    text: PackedJson | None = None          # normalised text parameters (routes/text.py): text_spec()
    sticker_id: str | None = None
    order: int = 0            # position in the order segments were added (set when applied)
    # The route that made it and that route's parameters as JSON text (text: one small object per
    # segment); /update_segment merges changes into them and plans the segment again.
    made_by: Annotated[str | None, AfterValidator(_interned)] = None
    params: str | None = None
    # How a closed clip meets its media's length once probed (/render_template sets it on the clips
    # whose media URL it filled; model/timing.py `resolve_timing`). None: the clip keeps its timing.
    fit: Literal["trim", "stretch", "extend"] | None = None

    @property
    def is_open(self) -> bool:
        return self.target.is_open

    def text_spec(self) -> dict[str, Any] | None:
        """The normalised text parameters of a text segment (kept packed: they are read only when
        the draft is built, rendered or listed, and as a dict they took a kilobyte more)."""
        return None if self.text is None else orjson.loads(self.text)

    def text_content(self) -> str | None:
        """What a text segment says (None for other segments)."""
        spec = self.text_spec()
        return None if spec is None else str(spec.get("text", ""))


@lean()
class Track(Lean):
    name: str
    kind: TrackKind
    relative_index: int = 0
    segments: list[Segment] = Field(default_factory=list)   # sorted by target.start_us

    @property
    def layer(self) -> int:
        return LAYER_BASE[self.kind] + self.relative_index

    def position(self, segment: Segment) -> int | None:
        """The list index of this very segment object (found by its start), or None."""
        return next((i for i in self._starting_at(segment.target.start_us) if self.segments[i] is segment), None)

    def index_of(self, segment_id: str, start_us: int) -> int | None:
        """The list index of the segment with this id that starts at `start_us`, or None."""
        return next((i for i in self._starting_at(start_us) if self.segments[i].id == segment_id), None)

    def _starting_at(self, start_us: int) -> Iterator[int]:
        """The indexes of the segments that start at `start_us` (the list is sorted by start)."""
        index = bisect.bisect_left(self.segments, start_us, key=_target_start)
        while index < len(self.segments) and self.segments[index].target.start_us == start_us:
            yield index
            index += 1

    def segment_at(self, time_us: int) -> Segment | None:
        """The segment whose target contains `time_us` (None over a gap or open segments)."""
        index = bisect.bisect_right(self.segments, time_us, key=_target_start)
        for i in range(index - 1, -1, -1):
            if self.segments[i].target.contains(time_us):
                return self.segments[i]
            if not self.segments[i].target.is_empty:
                break
        return None

    def find_overlap(self, target: TimeRange) -> Segment | None:
        """The existing segment whose target `target` would overlap, if any.

        Positive-length segments never overlap each other, so sorted by start their ends are
        sorted too: only the nearest one before `target` starts (skipping empty ones) and those
        starting inside it need checking."""
        segments = self.segments
        index = bisect.bisect_left(segments, target.start_us, key=_target_start)
        for i in range(index - 1, -1, -1):
            seg = segments[i]
            if not seg.target.is_empty:
                if seg.target.overlaps(target):
                    return seg
                break
        for i in range(index, len(segments)):
            seg = segments[i]
            if seg.target.start_us >= target.end_us:
                break
            if seg.target.overlaps(target):
                return seg
        return None

    def insert(self, segment: Segment) -> None:
        index = bisect.bisect_right(self.segments, segment.target.start_us, key=_target_start)
        self.segments.insert(index, segment)

    def insert_all(self, segments: list[Segment]) -> None:
        """Insert in list order, as repeated `insert` would (ties keep insertion order), but in
        n log n: one stable sort instead of a list shift per segment."""
        if len(segments) == 1:
            self.insert(segments[0])
            return
        self.segments.extend(segments)
        self.segments.sort(key=_target_start)


def _target_start(segment: Segment) -> int:
    return segment.target.start_us


@lean()
class PendingKeyframe(Lean):
    """A keyframe at an absolute timeline time; attached to a segment when the draft is built."""
    track_name: str
    property: str
    time_us: int
    value: float


@lean(frozen=True)
class Change(Lean):
    """One entry of the undo or redo stack: what the change was and the operation that reverts it.
    A cached draft holds up to UNDO_DEPTH of them and only undo, redo and /get_timeline read them,
    so they stay packed: as dicts they took half of a small draft's memory (bench/memory.py)."""
    what: PackedJson
    inverse: PackedJson


class ImportedBase(_Model):
    """What an app-written draft brought that this document does not model: the app's draft JSON
    exactly as imported. Saving writes it back with the document's changes laid over it
    (capcut_drafts/export/imported.py), so everything the designer set in the app survives."""
    content: str                          # the app's draft JSON text as imported
    app_version: str = ""                 # the app version that last saved it ("" when not stated)
    track_ids: dict[str, str] = Field(default_factory=dict)   # our track name -> the app track's id
    unmodelled: list[str] = Field(default_factory=list)       # app segment ids kept only in `content`


class Draft(_Model):
    # Of the stored JSON (capcut_drafts/model/migrations.py). The first field, so a snapshot starts
    # with it: the store's fast path for current snapshots looks there (store/cache.py).
    schema_version: int = SCHEMA_VERSION
    id: str
    profile: str
    name: str
    created_at: float
    canvas: Canvas = Field(default_factory=Canvas)
    tracks: list[Track] = Field(default_factory=list)        # creation order
    materials: dict[str, Material] = Field(default_factory=dict)
    keyframes: list[PendingKeyframe] = Field(default_factory=list)
    segments_added: int = 0
    undo: list[Change] = Field(default_factory=list)     # most recent last
    redo: list[Change] = Field(default_factory=list)     # most recently undone last
    base: ImportedBase | None = None      # set on drafts imported from an app (/import_draft)
    _places: dict[str, tuple[Track, Segment]] | None = PrivateAttr(default=None)   # see find_segment

    def track(self, name: str) -> Track | None:
        for track in self.tracks:
            if track.name == name:
                return track
        return None

    def tracks_in_layer_order(self) -> list[Track]:
        """Bottom to top: by layer, ties in creation order (sort is stable)."""
        return sorted(self.tracks, key=lambda t: t.layer)

    def find_segment(self, segment_id: str) -> tuple[Track, Segment] | None:
        """The track and segment with this id. An id -> place index answers in log time; the
        operations keep it current (`index_segments`), and a hit is checked before it is trusted,
        so an index that missed a change is rebuilt, never believed."""
        hit = self._places.get(segment_id) if self._places is not None else None
        if hit is not None and any(t is hit[0] for t in self.tracks) and hit[0].position(hit[1]) is not None:
            return hit
        self._places = {s.id: (t, s) for t in self.tracks for s in t.segments}
        return self._places.get(segment_id)

    def index_segments(self, track: Track, segments: Iterable[Segment]) -> None:
        """Note where `segments` now are (a no-op until an index was built)."""
        if self._places is not None:
            self._places.update((s.id, (track, s)) for s in segments)

    def unindex_segments(self, segments: Iterable[Segment]) -> None:
        if self._places is not None:
            for segment in segments:
                self._places.pop(segment.id, None)

    def keyframe_count(self, track_name: str) -> int:
        return sum(1 for keyframe in self.keyframes if keyframe.track_name == track_name)

    def segment_count(self) -> int:
        return sum(len(t.segments) for t in self.tracks)
