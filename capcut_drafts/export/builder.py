"""Build: draft document → pyjianyingdraft objects → the app's draft JSON.

`build(draft)` is pure: it reads the document, resolves open-ended clips from what is known
about their media and attaches pending keyframes to the segment under their time (both as
capcut_drafts/model/timing.py says, which the renderer shares), and returns the
completed JSON (capcut_drafts/export/app_schema.py makes it look like the target app wrote it) plus
warnings about anything it could not place. It never touches the network or the document.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from pyJianYingDraft import (
    AudioSegment,
    ClipSettings,
    KeyframeProperty,
    ScriptFile,
    StickerSegment,
    TextBackground,
    TextBorder,
    TextSegment,
    TextShadow,
    TextStyle,
    Timerange,
    TrackType,
    VideoSegment,
)
from pyJianYingDraft.animation import SegmentAnimations
from pyJianYingDraft.effect_segment import EffectSegment, FilterSegment
from pyJianYingDraft.video_segment import BackgroundFilling

from capcut_drafts.export import app_schema, layering, resource_paths
from capcut_drafts.export import library_adapter as lib
from capcut_drafts.export.text_style import app_style
from capcut_drafts.model import catalog, profiles
from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, Mask, Material, Segment, Track
from capcut_drafts.model.timing import Cut, keyframe_targets, track_timings
from capcut_drafts.routes.media import BLUR_LEVELS
from capcut_drafts.save.paths import material_path

PHOTO_DURATION_US = 10_800_000_000      # the apps give still images a 3-hour nominal length

# What one document segment becomes in pyjianyingdraft.
LibrarySegment: TypeAlias = VideoSegment | AudioSegment | TextSegment | StickerSegment | EffectSegment | FilterSegment
OverlaySegment: TypeAlias = StickerSegment | EffectSegment | FilterSegment

T = TypeVar("T")


@dataclass
class Built:
    content: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    # The SRT of each subtitle track with the path the app reads it from (the meta lists it).
    subtitles: list[tuple[layering.SubtitleFile, str]] = field(default_factory=list)

    def dumps(self, profile: profiles.Profile) -> str:
        return app_schema.dumps(self.content, profile)


def _given(value: T | None, segment: Segment, what: str) -> T:
    """A part the routes always give a segment of this kind (its media, text, effect…): a stored
    document without it is damaged, and the build fails naming the segment."""
    if value is None:
        raise ValueError(f"segment {segment.id} has no {what}; the draft document is damaged")
    return value


def clip_settings(segment: Segment) -> ClipSettings:
    """The library's clip settings (the app's `clip`: position, scale, rotation, alpha, flips)."""
    t = segment.transform
    if t is None:
        return ClipSettings()
    return ClipSettings(alpha=t.alpha, flip_horizontal=t.flip_horizontal, flip_vertical=t.flip_vertical,
                        rotation=t.rotation, scale_x=t.scale_x, scale_y=t.scale_y,
                        transform_x=t.transform_x, transform_y=t.transform_y)


def _timerange(time_range: TimeRange) -> Timerange:
    """The library's Timerange of a closed range."""
    return Timerange(time_range.start_us, time_range.length_us)


class _Builder:
    def __init__(self, draft: Draft, draft_folder: str | None):
        self.draft = draft
        self.draft_folder = draft_folder
        self.profile = profiles.resolve(draft.profile)
        self.app = self.profile.app
        self.warnings: list[str] = []
        canvas = draft.canvas
        self.script = ScriptFile(canvas.width, canvas.height, canvas.fps, True)
        self.placed: dict[str, list[tuple[Any, TimeRange]]] = {}    # track -> (library segment, target)
        self.text_specs: dict[str, dict] = {}      # library text material id -> document text spec
        self.audio_sources: dict[str, str] = {}    # library audio material id -> document material id
        self.resources: dict[str, tuple[str, catalog.Entry]] = {}   # resource id -> (category, entry)
        self.cue_tracks: dict[str, str] = {}       # library text material id of a subtitle cue -> its track

    # -- segments -------------------------------------------------------------------------

    def path_for(self, material: Material) -> str:
        """Where the client's app finds the file: <drafts folder>/<draft>/assets/<kind>/<file>."""
        folder = self.draft_folder or material.draft_folder
        return material_path(folder, self.draft.id, material.kind, material.file_name)

    def visual(self, cut: Cut) -> VideoSegment:
        segment, source, target = cut
        material = self.draft.materials[_given(segment.material_id, segment, "material_id")]
        is_image = material.kind == "image"
        media_type = material.media_type or ("photo" if is_image else "video")
        duration = PHOTO_DURATION_US if media_type == "photo" else max(material.duration_us or 0, source.end_us)
        lib_material = lib.video_material(segment.id.replace("-", "").lower(), material.file_name, media_type,
                                          duration, material.width or 0, material.height or 0,
                                          material.id.lower(), has_audio=_has_audio(material, media_type))
        lib_material.path = self.path_for(material)
        seg = VideoSegment(lib_material, Timerange(target.start_us, max(target.length_us, 0)),
                           source_timerange=_timerange(source),
                           speed=segment.speed, volume=segment.volume, clip_settings=clip_settings(segment))
        seg.target_timerange = _timerange(target)
        self.animate(seg, segment, target.length_us, video=True)
        if segment.transition:
            entry = self.resource("transition", segment.transition.name)
            seg.transition = lib.transition(entry, segment.transition.duration_us)
            seg.extra_material_refs.append(seg.transition.global_id)
        if segment.mask:
            seg.mask = self.mask(segment.mask)
            seg.extra_material_refs.append(seg.mask.global_id)
        if segment.filter:
            entry = self.resource("filter", segment.filter.name)
            seg.add_filter(entry.library_member, segment.filter.intensity)
        if segment.background_blur:
            seg.background_filling = BackgroundFilling("canvas_blur", BLUR_LEVELS[segment.background_blur],
                                                       "#00000000")
            seg.extra_material_refs.append(seg.background_filling.global_id)
        return seg

    def resource(self, category: str, name: str) -> catalog.Entry:
        """The catalogue entry, noted so `apply_resource_paths` can write where the app caches it."""
        entry = catalog.lookup(self.app, category, name)
        self.resources.setdefault(entry.resource_id, (category, entry))
        return entry

    def mask(self, m: Mask):
        entry = self.resource("mask", m.name)
        width, height = self.draft.canvas.width, self.draft.canvas.height
        ratio = entry.default_aspect_ratio or 1.0
        mask_width = m.rect_width if m.rect_width is not None else m.size * height * ratio / width
        return lib.mask(entry, center_x=m.center_x / (width / 2), center_y=m.center_y / (height / 2),
                        width=mask_width, height=m.size, rotation=m.rotation, invert=m.invert,
                        feather=m.feather / 100, round_corner=(m.round_corner or 0) / 100)

    def animate(self, seg: VideoSegment | TextSegment, segment: Segment, length: int, *, video: bool) -> None:
        """The segment's animations on library segment `seg`, fitted into `length` µs."""
        if not segment.animations:
            return
        categories = {"intro": "intro", "outro": "outro", "combo": "combo"} if video else \
            {"intro": "text_intro", "outro": "text_outro", "loop": "text_loop"}
        seg.animations_instance = SegmentAnimations()
        seg.extra_material_refs.append(seg.animations_instance.animation_id)
        for slot in ("intro", "outro", "combo", "loop"):
            wanted = segment.animations.get(slot)
            if wanted is None:
                continue
            entry = self.resource(categories[slot], wanted.name)
            duration = min(wanted.duration_us, length)
            start = length - duration if slot == "outro" else 0
            if slot == "loop":
                intro, outro = segment.animations.get("intro"), segment.animations.get("outro")
                start = intro.duration_us if intro else 0
                duration = max(length - start - (outro.duration_us if outro else 0), 0)
            seg.animations_instance.animations.append(lib.animation(entry, slot, start, duration, video=video))

    def audio(self, cut: Cut) -> AudioSegment:
        segment, source, target = cut
        material = self.draft.materials[_given(segment.material_id, segment, "material_id")]
        duration = max(material.duration_us or 0, source.end_us)
        lib_material = lib.audio_material(segment.id.replace("-", "").lower(), material.file_name, duration)
        lib_material.path = self.path_for(material)
        self.audio_sources[lib_material.material_id] = material.id.lower()
        seg = AudioSegment(lib_material, Timerange(target.start_us, max(target.length_us, 0)),
                           source_timerange=_timerange(source),
                           speed=segment.speed, volume=segment.volume)
        seg.target_timerange = _timerange(target)
        if segment.effect:
            entry = catalog.lookup(self.app, "audio_effect", segment.effect.name)
            effect = lib.audio_effect(entry, catalog.map_params(entry, segment.effect.params, reverse=False))
            seg.effects.append(effect)
            seg.extra_material_refs.append(effect.effect_id)
        return seg

    def text(self, segment: Segment, target: TimeRange) -> TextSegment:
        spec = _given(segment.text_spec(), segment, "text")
        first = spec["ranges"][0] if spec["ranges"] else {}
        font = catalog.lookup(self.app, "font", spec["font"]) if spec.get("font") else None
        border = first.get("border")
        style = TextStyle(size=first.get("size", 8.0), color=_rgb(first.get("color", "#FFFFFF")),
                          alpha=first.get("alpha", 1.0), vertical=spec["vertical"],
                          align=spec.get("align", 0), auto_wrapping=spec.get("auto_wrapping", False))
        background = spec.get("background")
        shadow = spec.get("shadow")
        seg = TextSegment(spec["text"], _timerange(target),
                          font=None, style=style, clip_settings=clip_settings(segment),
                          border=TextBorder(alpha=border["alpha"], color=_rgb(border["color"]), width=border["width"])
                          if border else None,
                          background=TextBackground(
                              color=background["color"], style=background["style"], alpha=background["alpha"],
                              round_radius=background["round_radius"], height=background["height"],
                              width=background["width"], horizontal_offset=background["horizontal_offset"],
                              vertical_offset=background["vertical_offset"]) if background else None,
                          shadow=TextShadow(alpha=shadow["alpha"], color=_rgb(shadow["color"]),
                                            diffuse=shadow["smoothing"] * 100, distance=shadow["distance"],
                                            angle=shadow["angle"])
                          if shadow else None)
        seg.font = lib.font_meta(font)
        self.text_specs[seg.material_id] = spec
        self.animate(seg, segment, target.length_us, video=False)
        if spec.get("bubble"):
            seg.add_bubble(spec["bubble"]["effect_id"], spec["bubble"]["resource_id"])
        if spec.get("flower_effect_id"):
            seg.add_effect(spec["flower_effect_id"])
        return seg

    # -- assembly -------------------------------------------------------------------------

    def register(self, track, seg) -> None:
        """What ScriptFile.add_segment does, minus its O(n) duplicate scans (every object is new)."""
        track.add_segment(seg)
        m = self.script.materials
        if isinstance(seg, (VideoSegment, AudioSegment)):
            (m.videos if isinstance(seg, VideoSegment) else m.audios).append(seg.material_instance)
            m.speeds.append(seg.speed)
        if isinstance(seg, VideoSegment):
            if seg.mask is not None:
                bucket = m.common_mask if self.profile.mask_bucket == "common_mask" else m.masks
                bucket.append(seg.mask.export_common_json() if bucket is m.common_mask else seg.mask.export_json())
            for item, bucket in ((seg.transition, m.transitions), (seg.background_filling, m.canvases)):
                if item is not None:
                    bucket.append(item)
            m.filters.extend(seg.filters)
            m.video_effects.extend(seg.effects)
        if isinstance(seg, AudioSegment):
            m.audio_effects.extend(seg.effects)
        if isinstance(seg, (VideoSegment, TextSegment)) and seg.animations_instance is not None:
            m.animations.append(seg.animations_instance)
        if isinstance(seg, TextSegment):
            m.filters.extend(x for x in (seg.bubble, seg.effect) if x is not None)
            m.texts.append(seg.export_material())
        if isinstance(seg, StickerSegment):
            m.stickers.append(seg.export_material())
        if isinstance(seg, EffectSegment):
            m.video_effects.append(seg.effect_inst)
        if isinstance(seg, FilterSegment):
            m.filters.append(seg.material)
        self.script.duration = max(self.script.duration, seg.end)

    def segment(self, track: Track, cut: Cut) -> LibrarySegment:
        if track.kind == "video":
            return self.visual(cut)
        if track.kind == "audio":
            return self.audio(cut)
        if track.kind == "text":
            return self.text(cut.segment, cut.target)
        return self.overlay(track.kind, cut.segment, _timerange(cut.target))

    def overlay(self, kind: str, segment: Segment, timerange: Timerange) -> OverlaySegment:
        """Segments that need no media: stickers, effects and filters on their own tracks."""
        if kind == "sticker":
            return StickerSegment(segment.sticker_id, timerange, clip_settings=clip_settings(segment))
        effect = _given(segment.effect, segment, "effect")
        entry = self.resource(effect.category, effect.name)
        if kind == "filter":
            return FilterSegment(entry.library_member, timerange, _given(effect.intensity, segment, "intensity") / 100)
        mapped = catalog.map_params(entry, effect.params, reverse=True)
        return lib.effect_segment(lib.video_effect(entry, mapped, face=effect.category == "character_effect",
                                                   global_scope=True), timerange)

    def build(self) -> Built:
        tracks = self.draft.tracks_in_layer_order()
        for order, track in enumerate(tracks):
            lib_track = lib.TrustedTrack(TrackType[track.kind], track.name, order, False)
            self.script.tracks[track.name] = lib_track
            placed = []
            for cut in track_timings(self.draft, track, self.warnings):
                seg = self.segment(track, cut)
                self.register(lib_track, seg)
                placed.append((seg, cut.target))
                if layering.is_subtitle(cut.segment):
                    self.cue_tracks[seg.material_id] = track.name
            self.placed[track.name] = placed
        self.attach_keyframes()
        content = self.assemble()
        layering.apply_layering(content, tracks, self.profile)
        subtitles = layering.subtitle_files(self.draft)
        groups = {f.track_name: f.group_id for f in subtitles}
        layering.mark_subtitle_materials(content, {m: groups[t] for m, t in self.cue_tracks.items()})
        self.apply_text_ranges(content)
        self.apply_resource_paths(content)
        for audio in content["materials"]["audios"]:   # cuts of one file share its local id, as in the apps
            audio["local_material_id"] = self.audio_sources.get(audio["id"], audio["local_material_id"])
        app_schema.complete(content, self.profile, seed=self.draft.id)
        return Built(content, self.warnings,
                     [(f, material_path(self.draft_folder, self.draft.id, "subtitle", f.file_name)) for f in subtitles])

    def attach_keyframes(self) -> None:
        """Each pending keyframe onto the clip under its time (model/timing.keyframe_targets)."""
        touched: dict[int, Any] = {}
        for kf, target in keyframe_targets(self.draft.keyframes, self.placed, self.warnings):
            offset = kf.time_us - target.target_timerange.start
            if kf.property == "uniform_scale" and not getattr(target, "uniform_scale", True):
                self.warnings.append(f"keyframe uniform_scale at {kf.time_us / 1e6:g}s on track '{kf.track_name}' "
                                     "was not applied: that clip already has scale_x/scale_y keyframes, and the "
                                     "app cannot mix them with uniform_scale.")
                continue
            try:
                lib.add_keyframe(target, KeyframeProperty[kf.property], offset, kf.value)
            except (ValueError, KeyError, AttributeError) as exc:
                self.warnings.append(f"keyframe {kf.property} at {kf.time_us / 1e6:g}s on track "
                                     f"'{kf.track_name}' was not applied: {exc}")
                continue
            touched[id(target)] = target
        for target in touched.values():
            lib.sort_keyframes(target)

    def apply_resource_paths(self, content: dict) -> None:
        """Each effect resource's `path` where the app's cache path can be derived (export/resource_paths.py)."""
        folder = self.draft_folder or next((m.draft_folder for m in self.draft.materials.values() if m.draft_folder),
                                           None)
        root = resource_paths.cache_root(folder)
        if root is None or not self.resources:
            return
        materials = content["materials"]
        objects = [obj for bucket in ("transitions", "common_mask", "masks", "effects", "video_effects")
                   for obj in materials.get(bucket) or ()]
        objects += [anim for group in materials.get("material_animations") or ()
                    for anim in group.get("animations") or ()]
        for obj in objects:
            found = self.resources.get(obj.get("resource_id"))
            if found is not None and not obj.get("path"):
                path = resource_paths.resource_path(root, self.app, *found)
                if path:
                    obj["path"] = path

    def apply_text_ranges(self, content: dict) -> None:
        """pyjianyingdraft writes one style range per text; write every range of the document."""
        for material in content["materials"]["texts"]:
            spec = self.text_specs.get(material["id"])
            if spec is None:
                continue
            body = json.loads(material["content"])
            template = body["styles"][0]
            body["styles"] = [app_style(self.range_style(template, r), self.app) for r in spec["ranges"]]
            material["content"] = json.dumps(body, ensure_ascii=False)
            for key in ("fixed_width", "fixed_height"):
                if spec.get(key, -1) > 0:
                    material[key] = spec[key]
            material.update(self.flat_text_fields(spec))

    @staticmethod
    def flat_text_fields(spec: dict) -> dict:
        """The plain fields the apps keep beside `content` (first range's alpha, the shadow)."""
        fields: dict[str, Any] = {}
        if spec["ranges"]:
            fields["text_alpha"] = spec["ranges"][0]["alpha"]
        shadow = spec.get("shadow")
        if shadow:
            fields.update(has_shadow=True, shadow_alpha=shadow["alpha"], shadow_angle=shadow["angle"],
                          shadow_color=shadow["color"], shadow_distance=shadow["distance"],
                          shadow_smoothing=shadow["smoothing"] * 3)   # the app's scale, as upstream writes it
        return fields

    def range_style(self, template: dict, r: dict) -> dict:
        """The template style with this range's values. Only the objects changed here are copied:
        the result is serialised at once, so sharing the untouched parts is safe and keeps the
        cost per range small."""
        fill = template["fill"]
        solid = {**fill["content"]["solid"], "color": list(_rgb(r["color"]))}
        style = {**template, "range": [r["start"], r["end"]],
                 "fill": {**fill, "alpha": r["alpha"], "content": {**fill["content"], "solid": solid}}}
        for key in ("size", "bold", "italic", "underline"):
            style[key] = r[key]
        border = r.get("border")
        style["strokes"] = [TextBorder(alpha=border["alpha"], color=_rgb(border["color"]),
                                       width=border["width"]).export_json()] if border else []
        if r.get("font"):
            font = catalog.lookup(self.app, "font", r["font"])
            style["font"] = {"id": font.resource_id, "path": ""}
        return style

    def assemble(self) -> dict[str, Any]:
        """ScriptFile.dumps() without the string round trip (it indents, which is slow for big drafts)."""
        s = self.script
        content = s.content
        content["fps"], content["duration"] = s.fps, s.duration
        content["config"]["maintrack_adsorb"] = s.maintrack_adsorb
        content["canvas_config"] = {"width": s.width, "height": s.height, "ratio": "original"}
        content["materials"] = s.materials.export_json()
        content["tracks"] = [t.export_json() for t in sorted(s.tracks.values(), key=lambda t: t.track_order)]
        return content


def _has_audio(material: Material, media_type: str) -> bool | None:
    """`has_audio` of a video material as the apps write it: whether the file has an audio stream,
    in every app version here (None until probed: the profile's template default stays).

    The references: CapCut 3.8 writes false for 7 silent 4K stock clips (Pexels
    `…-uhd_4096_2160_25fps.mp4`) and true for 4 others in the same draft; 6.2 false for 31 AI-generated
    `vidu-video-….mp4` (Vidu makes silent video) and true for a YouTube clip; 7.7 false for a re-encoded
    silent copy (its sound is on separate .ogg audio clips) and true for the original; 8.9.1 true for 4
    iPhone MOVs whose clip volume was raised to 6.8; 9.1 true for 146 camera recordings; JianYing 2.8.5
    false for a video-only YouTube `videoplayback.mp4` whose sound is the `.m4a` beside it; 5.4.5 false
    for silent stock footage. Photos and GIFs are always false (CapCut 1.5–9.1, JianYing 4.6–5.9). No
    reference shows an app writing true for a file without sound or false for one with it."""
    if media_type != "video":
        return False
    return material.has_audio


def _rgb(color: str) -> tuple[float, float, float]:
    digits = color.lstrip("#")
    red, green, blue = (int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return red, green, blue


def build(draft: Draft, draft_folder: str | None = None) -> Built:
    """`draft_folder` (the client's drafts folder) overrides the one sent with the add calls."""
    return _Builder(draft, draft_folder).build()
