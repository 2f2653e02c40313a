"""The one place that knows pyjianyingdraft's internals.

The library builds effects, animations, transitions and masks from its own JianYing enums and
checks `isinstance` on them; CapCut names come from our catalogue instead. These factories take
a catalogue Entry of either family and return the library object, so the builder never cares
which family a name came from. Media materials are created without touching a file (the library
would open it): the save pipeline supplies probed metadata instead.
"""
from __future__ import annotations

import uuid
from types import SimpleNamespace

from pyJianYingDraft import AudioMaterial, AudioSegment, KeyframeProperty, VideoMaterial
from pyJianYingDraft.animation import Animation, Text_animation, VideoAnimation
from pyJianYingDraft.audio_segment import AudioEffect
from pyJianYingDraft.effect_segment import EffectSegment
from pyJianYingDraft.keyframe import Keyframe, KeyframeList
from pyJianYingDraft.local_materials import CropSettings
from pyJianYingDraft.metadata.effect_meta import (
    AnimationMeta,
    EffectParam,
    EffectParamInstance,
    MaskMeta,
    TransitionMeta,
)
from pyJianYingDraft.segment import BaseSegment, VisualSegment
from pyJianYingDraft.time_util import Timerange
from pyJianYingDraft.track import Track
from pyJianYingDraft.video_segment import Mask, Transition, VideoEffect

from capcut_drafts.model.catalog import Entry

ANIMATION_TYPES = {"intro": "in", "outro": "out", "combo": "group", "loop": "loop"}
AUDIO_GROUPS = {   # catalogue group -> (category_id, category_name, index) as the apps write them
    "Audio_scene": ("sound_effect", "场景音", 1), "Voice_filters": ("sound_effect", "Voice filters", 1),
    "Tone": ("tone", "音色", 2), "Voice_characters": ("tone", "Voice characters", 2),
    "Speech_to_song": ("speech_to_song", "声音成曲", 3),
}


class TrustedTrack(Track):
    """A library track that skips its O(n) overlap scan: our document already guarantees it."""

    def add_segment(self, segment):
        self.segments.append(segment)
        return self


class ProbedVideoMaterial(VideoMaterial):
    """The library's video material plus `has_audio`, which it never writes (None: leave it to the
    app defaults of capcut_drafts/export/app_schema.py)."""

    has_audio: bool | None = None

    def export_json(self):
        out = super().export_json()
        if self.has_audio is not None:
            out["has_audio"] = self.has_audio
        return out


def video_material(material_id: str, name: str, media_type: str, duration_us: int,
                   width: int, height: int, local_id: str, has_audio: bool | None = None) -> VideoMaterial:
    material = ProbedVideoMaterial.__new__(ProbedVideoMaterial)
    material.material_id, material.local_material_id = material_id, local_id
    material.material_name, material.path = name, ""
    material.duration, material.width, material.height = duration_us, width, height
    material.crop_settings, material.material_type = CropSettings(), media_type
    material.has_audio = has_audio
    return material


def audio_material(material_id: str, name: str, duration_us: int) -> AudioMaterial:
    material = AudioMaterial.__new__(AudioMaterial)
    material.material_id, material.material_name, material.path = material_id, name, ""
    material.duration = duration_us
    return material


def animation(entry: Entry, slot: str, start: int, duration: int, *, video: bool) -> Animation:
    cls = VideoAnimation if video else Text_animation
    anim = cls.__new__(cls)
    meta = AnimationMeta(entry.title, entry.is_vip, (entry.duration_us or duration) / 1e6,
                         entry.resource_id, entry.effect_id, entry.md5)
    Animation.__init__(anim, meta, start, duration)
    anim.animation_type = ANIMATION_TYPES[slot]
    anim.is_video_animation = video
    return anim


def transition(entry: Entry, duration_us: int) -> Transition:
    meta = TransitionMeta(entry.title, entry.is_vip, entry.resource_id, entry.effect_id, entry.md5,
                          (entry.duration_us or duration_us) / 1e6, bool(entry.is_overlap))
    return Transition(SimpleNamespace(value=meta), duration_us)


def mask(entry: Entry, *, center_x: float, center_y: float, width: float, height: float, rotation: float,
         invert: bool, feather: float, round_corner: float) -> Mask:
    meta = MaskMeta(entry.title, entry.resource_type or "", entry.resource_id, entry.effect_id, entry.md5,
                    entry.default_aspect_ratio or 1.0)
    return Mask(meta, center_x, center_y, width, height, meta.default_aspect_ratio, rotation, invert,
                feather, round_corner)


def param_instances(entry: Entry, mapped: list[float]) -> list[EffectParamInstance]:
    """`mapped` is `catalog.map_params`' output: one value per parameter of `entry`."""
    return [EffectParamInstance(EffectParam(p.name, p.default, p.min, p.max), i, value)
            for i, (p, value) in enumerate(zip(entry.params, mapped, strict=True))]


def audio_effect(entry: Entry, mapped: list[float]) -> AudioEffect:
    effect = AudioEffect.__new__(AudioEffect)
    effect.effect_meta = entry.library_member
    effect.name, effect.resource_id = entry.title, entry.resource_id
    effect.effect_id = uuid.uuid4().hex
    effect.category_id, effect.category_name, effect.category_index = AUDIO_GROUPS[entry.group or "Audio_scene"]
    effect.audio_adjust_params = param_instances(entry, mapped)
    return effect


def video_effect(entry: Entry, mapped: list[float], *, face: bool, global_scope: bool) -> VideoEffect:
    effect = VideoEffect.__new__(VideoEffect)
    effect.name, effect.effect_id, effect.resource_id = entry.title, entry.effect_id, entry.resource_id
    effect.global_id = uuid.uuid4().hex
    effect.effect_type = "face_effect" if face else "video_effect"
    effect.apply_target_type = 2 if global_scope else 0
    effect.adjust_params = param_instances(entry, mapped)
    return effect


def effect_segment(effect: VideoEffect, timerange: Timerange) -> EffectSegment:
    """A segment of an effect track carrying `effect` (the library would insist on its enums)."""
    segment = EffectSegment.__new__(EffectSegment)
    segment.effect_inst = effect
    BaseSegment.__init__(segment, effect.global_id, timerange)
    return segment


def font_meta(entry: Entry | None):
    """The library's font metadata (fonts always come from its FontType table)."""
    return entry.library_member.value if entry is not None else None


def add_keyframe(segment: BaseSegment, prop: KeyframeProperty, time_offset: int, value: float) -> None:
    """`segment.add_keyframe` without its sort of the whole list per keyframe (n keyframes on one
    clip cost n² there): appends only, so call `sort_keyframes(segment)` once all are added.

    As the library: audio clips take volume keyframes whatever `prop` says, `uniform_scale` is
    stored as scale_x, and ValueError when it follows scale_x/scale_y on the same clip."""
    if isinstance(segment, AudioSegment):
        prop = KeyframeProperty.volume
    elif not isinstance(segment, VisualSegment):
        raise AttributeError(f"a {type(segment).__name__} takes no keyframes")
    elif prop in (KeyframeProperty.scale_x, KeyframeProperty.scale_y):
        segment.uniform_scale = False
    elif prop is KeyframeProperty.uniform_scale:
        if not segment.uniform_scale:
            raise ValueError("uniform_scale cannot be combined with scale_x or scale_y on one clip")
        prop = KeyframeProperty.scale_x
    keyframes = next((kf_list for kf_list in segment.common_keyframes if kf_list.keyframe_property == prop), None)
    if keyframes is None:
        keyframes = KeyframeList(prop)
        segment.common_keyframes.append(keyframes)
    keyframes.keyframes.append(Keyframe(time_offset, value))


def sort_keyframes(segment: BaseSegment) -> None:
    """Each property's keyframes by time, ties in the order added (what the library's sorts give)."""
    for kf_list in segment.common_keyframes:
        kf_list.keyframes.sort(key=lambda keyframe: keyframe.time_offset)
