"""Scene: a draft document resolved into what a local render draws and plays.

`build_scene(draft, files)` reads the document the way the builder does — timings through
capcut_drafts/model/timing.py (open clips, the overlap rule), keyframes attached to the clip
under their time — and returns visual layers in drawing order (tracks bottom to top, clips in
start order), sounds, the duration, and warnings naming everything a local render leaves out
(once per kind and segment). Transitions become crossfades and animations fades here; nothing
is decoded (frames.py and audio.py read the files).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, ImageTransform, Segment, Track
from capcut_drafts.model.timing import Cut, keyframe_targets, label, track_timings
from capcut_drafts.routes.media import BLUR_LEVELS

# Animations drawn as opacity ramps; any other video animation is left out with a warning, any
# other text intro/outro is drawn as a fade with a warning.
FADE_NAMES = {"intro": {"Fade_In", "渐显"}, "outro": {"Fade_Out", "渐隐"}}
# Transitions that are crossfades in the apps; others are drawn as crossfades with a warning.
CROSSFADE_PREFIXES = ("Dissolve", "叠化")
# Keyframe property -> the transform field it animates (uniform_scale: both scales, as the app).
POSE_PROPERTIES = {"position_x": "transform_x", "position_y": "transform_y", "rotation": "rotation",
                   "scale_x": "scale_x", "scale_y": "scale_y", "alpha": "alpha"}
UNDRAWN_PROPERTIES = ("saturation", "contrast", "brightness")


class RenderError(Exception):
    """A draft cannot be rendered (nothing to show, a file that cannot be decoded, stopped); the
    message says what and is safe to show. Re-exported by capcut_drafts/render/engine.py."""


@dataclass(frozen=True)
class Curve:
    """Keyframes of one property of one clip: offsets from the clip's start (µs) and values.
    Linear between keyframes, held before the first and after the last."""
    offsets: tuple[int, ...]
    values: tuple[float, ...]

    def at(self, offset_us: float) -> float:
        return float(np.interp(offset_us, self.offsets, self.values))

    def over(self, offsets_us: np.ndarray) -> np.ndarray:
        return np.interp(offsets_us, self.offsets, self.values)


@dataclass(frozen=True)
class Fade:
    """An opacity ramp over [start_us, start_us + duration_us): 0→1 when rising, else 1→0."""
    start_us: int
    duration_us: int
    rising: bool

    def at(self, time_us: int) -> float:
        share = min(max((time_us - self.start_us) / max(self.duration_us, 1), 0.0), 1.0)
        return share if self.rising else 1.0 - share


@dataclass(frozen=True)
class Pose:
    """Where and how a layer is drawn at one time (CapCut units, see ImageTransform)."""
    x: float
    y: float
    scale_x: float
    scale_y: float
    rotation: float
    alpha: float
    flip_horizontal: bool
    flip_vertical: bool


@dataclass
class Visual:
    """A video clip, image or text on screen during `shown` (its target, widened by transitions).

    Media layers have `path`; `source` maps a timeline time to a time in the file (`source_us`).
    Text layers have `text` (the normalised spec of capcut_drafts/routes/text.py)."""
    label: str
    target: TimeRange
    shown: TimeRange
    transform: ImageTransform
    path: str | None = None
    still: bool = False
    source: TimeRange = TimeRange(start_us=0, duration_us=0)
    speed: float = 1.0
    loop_us: int | None = None           # animated GIFs repeat every loop_us
    blur: float | None = None            # background blur strength (BLUR_LEVELS), drawn behind the frame
    text: dict | None = None
    curves: dict[str, Curve] = field(default_factory=dict)
    fades: list[Fade] = field(default_factory=list)

    def source_us(self, time_us: int) -> int:
        """The time in the media file shown at timeline time `time_us` (held at the cut's ends)."""
        played = (time_us - self.target.start_us) * self.speed
        if self.loop_us:
            played %= self.loop_us
        last = self.source.start_us + max(self.source.length_us - 1, 0)
        return int(min(max(self.source.start_us + played, self.source.start_us), last))

    def pose(self, time_us: int) -> Pose:
        t = self.transform
        values = {"transform_x": t.transform_x, "transform_y": t.transform_y, "scale_x": t.scale_x,
                  "scale_y": t.scale_y, "rotation": t.rotation, "alpha": t.alpha}
        offset = time_us - self.target.start_us
        for name, curve in self.curves.items():
            values[name] = curve.at(offset)
        return Pose(values["transform_x"], values["transform_y"], values["scale_x"], values["scale_y"],
                    values["rotation"], values["alpha"], t.flip_horizontal, t.flip_vertical)

    def fading(self, time_us: int) -> float:
        """The product of the fades (animations, transitions) at `time_us`."""
        value = 1.0
        for fade in self.fades:
            value *= fade.at(time_us)
        return value

    def opacity(self, time_us: int) -> float:
        """Pose alpha times the fades, in 0..1."""
        return min(max(self.pose(time_us).alpha * self.fading(time_us), 0.0), 1.0)


@dataclass
class Sound:
    """The audio of an audio clip or of a video clip: a cut of a file placed on the timeline."""
    label: str
    path: str
    source: TimeRange
    target: TimeRange
    speed: float = 1.0
    volume: float = 1.0
    volume_curve: Curve | None = None


@dataclass
class Scene:
    width: int            # the canvas
    height: int
    fps: float
    duration_us: int
    visuals: list[Visual]   # drawing order: bottom first
    sounds: list[Sound]
    warnings: list[str]

    @property
    def is_empty(self) -> bool:
        return not self.visuals and not self.sounds


@dataclass
class _Clip:
    """What keyframes attach to: a placed segment's visual and/or sound, and its keyframes."""
    where: str
    visual: Visual | None = None
    sound: Sound | None = None
    keys: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    uniform: bool = True     # no scale_x/scale_y keyframe yet: uniform_scale may still come


class _SceneBuilder:
    def __init__(self, draft: Draft, files: Mapping[str, str]):
        self.draft, self.files = draft, files
        self.warnings: list[str] = []
        self.noted: set[tuple[str, str]] = set()
        self.visuals: list[Visual] = []
        self.sounds: list[Sound] = []
        self.placed: dict[str, list[tuple[_Clip, TimeRange]]] = {}

    def warn(self, where: str, kind: str, message: str) -> None:
        """One warning per kind and segment."""
        if (where, kind) not in self.noted:
            self.noted.add((where, kind))
            self.warnings.append(f"{where}: {message}")

    def build(self) -> Scene:
        duration = 0
        for track in self.draft.tracks_in_layer_order():
            cuts = track_timings(self.draft, track, self.warnings)
            duration = max([duration, *(cut.target.end_us for cut in cuts)])
            clips = [self.place(track, cut) for cut in cuts]
            self.placed[track.name] = [(clip, cut.target) for clip, cut in zip(clips, cuts, strict=True)]
            if track.kind == "video":
                self.transitions(track, cuts, clips)
        self.attach_keyframes()
        canvas = self.draft.canvas
        return Scene(canvas.width, canvas.height, canvas.fps, duration, self.visuals, self.sounds, self.warnings)

    # -- segments ---------------------------------------------------------------------------

    def place(self, track: Track, cut: Cut) -> _Clip:
        segment = cut.segment
        clip = _Clip(label(track, segment))
        if cut.target.is_empty:
            return clip
        if track.kind in ("video", "audio"):
            self.media(track, cut, clip)
        elif track.kind == "text":
            clip.visual = self.text(cut, clip.where)
        elif track.kind == "sticker":
            self.warn(clip.where, "sticker", f"sticker {segment.sticker_id} is not drawn in local renders.")
        else:
            name = segment.effect.name if segment.effect else "?"
            self.warn(clip.where, track.kind, f"the {track.kind} '{name}' is not drawn in local renders.")
        return clip

    def media(self, track: Track, cut: Cut, clip: _Clip) -> None:
        segment, source, target = cut
        material = self.draft.materials.get(segment.material_id or "")
        path = self.files.get(segment.material_id or "")
        if material is None or path is None:
            self.warn(clip.where, "file", "its media file is not available locally, so it is left out.")
            return
        if material.kind != "image":
            clip.sound = Sound(clip.where, path, source, target, segment.speed, segment.volume)
            self.sounds.append(clip.sound)
        if segment.effect:
            self.warn(clip.where, "audio_effect", f"the audio effect '{segment.effect.name}' is not applied "
                                                  "in local renders.")
        if track.kind != "video":
            return
        is_image = material.kind == "image"
        clip.visual = Visual(clip.where, target, target, segment.transform or ImageTransform(), path=path,
                             still=is_image and material.media_type != "gif", source=source, speed=segment.speed,
                             loop_us=material.duration_us if material.media_type == "gif" else None,
                             blur=BLUR_LEVELS[segment.background_blur] if segment.background_blur else None)
        self.visuals.append(clip.visual)
        self.video_extras(segment, clip)

    def video_extras(self, segment: Segment, clip: _Clip) -> None:
        """Fades for fade animations; warnings for what a clip has that is not drawn."""
        visual = clip.visual
        assert visual is not None
        for slot, animation in segment.animations.items():
            if animation.name in FADE_NAMES.get(slot, ()):
                visual.fades.append(self.fade(visual.target, slot, animation.duration_us))
            else:
                self.warn(clip.where, f"animation {slot}", f"the {slot} animation '{animation.name}' is not "
                                                           "drawn in local renders (only fades are).")
        if segment.mask:
            self.warn(clip.where, "mask", f"the mask '{segment.mask.name}' is not drawn in local renders.")
        if segment.filter:
            self.warn(clip.where, "filter", f"the filter '{segment.filter.name}' is not drawn in local renders.")

    @staticmethod
    def fade(target: TimeRange, slot: str, duration_us: int) -> Fade:
        """An intro (rising at the start) or outro (falling at the end) fitted into the clip."""
        duration = min(duration_us, target.length_us)
        if slot == "outro":
            return Fade(target.end_us - duration, duration, rising=False)
        return Fade(target.start_us, duration, rising=True)

    def text(self, cut: Cut, where: str) -> Visual | None:
        segment = cut.segment
        spec = segment.text_spec()
        if spec is None:
            return None
        visual = Visual(where, cut.target, cut.target, segment.transform or ImageTransform(), text=spec)
        for slot, animation in segment.animations.items():
            if slot == "loop":
                self.warn(where, "animation loop", f"the loop animation '{animation.name}' is not drawn in "
                                                   "local renders.")
                continue
            visual.fades.append(self.fade(cut.target, slot, animation.duration_us))
            if animation.name not in FADE_NAMES.get(slot, ()):
                self.warn(where, f"animation {slot}", f"the {slot} animation '{animation.name}' is drawn as a "
                                                      "fade in local renders.")
        if spec.get("bubble"):
            self.warn(where, "bubble", "the text bubble is not drawn in local renders.")
        if spec.get("flower_effect_id"):
            self.warn(where, "flower", "the flower-text effect is not drawn in local renders.")
        styles = {_style_key(r) for r in spec.get("ranges") or []}
        if len(styles) > 1:
            self.warn(where, "ranges", "the text has several style ranges; local renders draw all of it in "
                                       "the first range's style.")
        self.visuals.append(visual)
        return visual

    # -- transitions ------------------------------------------------------------------------

    def transitions(self, track: Track, cuts: list[Cut], clips: list[_Clip]) -> None:
        """A clip's transition plays into the next clip of its track: a crossfade of its duration
        centred on the cut, the outgoing clip held on its last frame and the incoming one on its
        first where they run past their own ranges. The incoming clip fades in over the whole
        transition on top of the outgoing one, which fades out over its second half, so the
        middle of the transition is an even mix."""
        tolerance = 500_000 // max(self.draft.canvas.fps, 1)       # half a frame
        for i, (cut, clip) in enumerate(zip(cuts, clips, strict=True)):
            transition = cut.segment.transition
            if transition is None:
                continue
            after = clips[i + 1] if i + 1 < len(clips) else None
            incoming, outgoing = (after.visual if after else None), clip.visual
            if incoming is None or outgoing is None or \
                    abs(incoming.target.start_us - outgoing.target.end_us) > tolerance:
                self.warn(clip.where, "transition", f"the transition '{transition.name}' has no clip right after "
                                                    "it on this track, so it is not drawn.")
                continue
            cut_us = incoming.target.start_us
            duration = min(transition.duration_us, outgoing.target.length_us, incoming.target.length_us)
            half = duration // 2
            start = cut_us - half
            outgoing.shown = TimeRange(start_us=outgoing.shown.start_us,
                                       duration_us=cut_us + half - outgoing.shown.start_us)
            outgoing.fades.append(Fade(cut_us, half, rising=False))
            incoming.shown = TimeRange(start_us=start, duration_us=incoming.shown.end_us - start)
            incoming.fades.append(Fade(start, duration, rising=True))
            if not transition.name.startswith(CROSSFADE_PREFIXES):
                self.warn(clip.where, "transition", f"the transition '{transition.name}' is drawn as a crossfade "
                                                    "in local renders.")

    # -- keyframes --------------------------------------------------------------------------

    def attach_keyframes(self) -> None:
        """As the builder: each keyframe onto the clip under its time (model/timing.keyframe_targets)."""
        for kf, clip in keyframe_targets(self.draft.keyframes, self.placed, self.warnings):
            self.add_key(clip, kf.property, kf.time_us, kf.value)
        for clip, _ in (pair for placed in self.placed.values() for pair in placed):
            self.curves(clip)

    def add_key(self, clip: _Clip, prop: str, time_us: int, value: float) -> None:
        """The library's rules: a clip without a visual takes volume keyframes whatever the
        property; uniform_scale goes with scale_x and cannot follow scale_x/scale_y."""
        target = (clip.visual or clip.sound)
        if target is None:
            return
        if clip.visual is None:
            prop = "volume"
        if prop in ("scale_x", "scale_y"):
            clip.uniform = False
        elif prop == "uniform_scale":
            if not clip.uniform:
                self.warnings.append(f"{clip.where}: keyframe uniform_scale at {time_us / 1e6:g}s was not applied: "
                                     "that clip already has scale_x/scale_y keyframes, and the app cannot mix them "
                                     "with uniform_scale.")
                return
            prop = "scale_x"
        if prop in UNDRAWN_PROPERTIES:
            self.warn(clip.where, f"keyframe {prop}", f"{prop} keyframes are not drawn in local renders.")
            return
        clip.keys.setdefault(prop, []).append((time_us - target.target.start_us, value))

    @staticmethod
    def curves(clip: _Clip) -> None:
        keys = {prop: sorted(points, key=lambda p: p[0]) for prop, points in clip.keys.items()}
        if clip.uniform and "scale_x" in keys:
            keys["scale_y"] = keys["scale_x"]
        curves = {prop: Curve(tuple(t for t, _ in points), tuple(v for _, v in points))
                  for prop, points in keys.items()}
        if clip.visual is not None:
            clip.visual.curves = {POSE_PROPERTIES[p]: c for p, c in curves.items() if p in POSE_PROPERTIES}
        if clip.sound is not None:
            clip.sound.volume_curve = curves.get("volume")


def _style_key(style_range: dict) -> tuple:
    """What a style range looks like, without where it is."""
    return tuple(sorted((k, repr(v)) for k, v in style_range.items() if k not in ("start", "end")))


def build_scene(draft: Draft, files: Mapping[str, str]) -> Scene:
    """The draft as layers and sounds; `files` maps material id -> local file (clips whose file is
    missing are left out with a warning)."""
    return _SceneBuilder(draft, files).build()
