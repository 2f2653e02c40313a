"""The compositor: a scene's frame at a time, drawn with Pillow's C operations.

A layer opens when its clip comes on screen and closes when it leaves, so a render holds only
the files and images of what is on screen. Videos are decoded forward (PyAV, frame threading)
and scaled by FFmpeg straight to the size they are drawn at; images and texts are prepared once
and placed again only when their pose or opacity changes. Placement follows the app:
transform_x 1.0 moves half the canvas width right, transform_y 1.0 half its height up, scale
1.0 fits the media inside the canvas keeping its aspect ratio, rotation is clockwise in degrees.
A layer zoomed far beyond the canvas is cropped to its visible part before it is scaled.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import av
import numpy as np
from PIL import Image, ImageFilter, ImageOps

from capcut_drafts.render.scene import Pose, RenderError, Scene, Visual
from capcut_drafts.render.text import TextPainter

SEEK_AHEAD_US = 2_000_000       # a jump further ahead than this seeks instead of decoding through
CROP_AREA = 4                   # a layer drawn larger than this many canvases is cropped first
BLUR_SCALE = 8                  # background blur is computed at 1/BLUR_SCALE of the output size
BLUR_RADIUS = 6.0               # blur radius at strength 1.0, in those reduced pixels
RESAMPLE = Image.Resampling.BILINEAR

Size = tuple[int, int]


class Source(Protocol):
    """Pictures of one layer: `size` is the native size, `image` the picture at a source time and
    `version` a number that changes whenever that picture does."""
    size: Size

    def version(self, source_us: int) -> int: ...

    def image(self, source_us: int, size: Size) -> Image.Image: ...

    def close(self) -> None: ...


class StillSource:
    """An image file (or a drawn text), loaded once; the last scaled copy is kept."""

    def __init__(self, picture: Image.Image):
        self.picture = picture
        self.size = picture.size
        self.scaled: tuple[Size, Image.Image] | None = None
        self.reduced: tuple[int, Image.Image] | None = None

    @classmethod
    def open(cls, path: str) -> StillSource:
        with Image.open(path) as opened:
            picture = ImageOps.exif_transpose(opened)
            alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
            return cls(picture.convert("RGBA" if alpha else "RGB"))

    def version(self, source_us: int) -> int:
        return 0

    def image(self, source_us: int, size: Size) -> Image.Image:
        if size == self.size:
            return self.picture
        if self.scaled is None or self.scaled[0] != size:
            self.scaled = (size, self.base_for(size).resize(size, RESAMPLE))
        return self.scaled[1]

    def base_for(self, size: Size) -> Image.Image:
        """The picture, or a copy reduced by a whole factor that is still at least `size` (scaling
        a large photo down every frame costs its full size each time)."""
        factor = int(min(self.size[0] / size[0], self.size[1] / size[1]))
        if factor < 2:
            return self.picture
        if self.reduced is None or self.reduced[0] != factor:
            self.reduced = (factor, self.picture.reduce(factor))
        return self.reduced[1]

    def close(self) -> None:
        self.scaled = self.reduced = None


class VideoSource:
    """A video file decoded forward; seeks only to start, to go back, or to jump far ahead."""

    def __init__(self, path: str):
        self.container = av.open(path)
        if not self.container.streams.video:
            self.container.close()
            raise RenderError("the file has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.time_base = self.stream.time_base or Fraction(1, 90_000)
        self.origin = self.stream.start_time or 0
        self.size = (self.stream.codec_context.width, self.stream.codec_context.height)
        self.frames: Iterator[av.VideoFrame] | None = None
        self.current: av.VideoFrame | None = None
        self.upcoming: av.VideoFrame | None = None
        self.floor_us = 0             # the last seek's time: later times are reached by decoding on
        self.ended = False
        self.serial = 0                # counts the frames made current: what `converted` is of
        self.converted: dict[Size, tuple[int, Image.Image]] = {}

    def time_us(self, frame: av.VideoFrame) -> int:
        return int((frame.pts - self.origin) * self.time_base * 1_000_000) if frame.pts is not None else 0

    def seek(self, source_us: int) -> None:
        self.container.seek(self.origin + int(Fraction(source_us, 1_000_000) / self.time_base), stream=self.stream,
                            backward=True)
        self.frames = self.container.decode(self.stream)
        self.current = self.upcoming = None
        self.floor_us, self.ended = source_us, False

    def frame(self, source_us: int) -> av.VideoFrame:
        """The frame on screen at `source_us`: the last one starting at or before it (the first
        frame before the stream starts, the last one after it ends)."""
        current = self.current
        if self.frames is None or source_us < self.floor_us or (
                current is not None and not self.ended and source_us - self.time_us(current) > SEEK_AHEAD_US):
            self.seek(source_us)
        assert self.frames is not None
        while not self.ended:
            if self.upcoming is None:
                self.upcoming = next(self.frames, None)
                if self.upcoming is None:
                    self.ended = True
                    break
            if self.current is not None and self.time_us(self.upcoming) > source_us:
                break
            self.current, self.upcoming = self.upcoming, None
            self.serial += 1
        if self.current is None:
            raise RenderError("the video has no frames")
        return self.current

    def version(self, source_us: int) -> int:
        self.frame(source_us)
        return self.serial

    def image(self, source_us: int, size: Size) -> Image.Image:
        frame = self.frame(source_us)
        done = self.converted.get(size)
        if done is None or done[0] != self.serial:
            plane = frame.reformat(width=size[0], height=size[1], format="rgb24").planes[0]
            pixels = np.frombuffer(memoryview(plane), np.uint8)      # no copy (to_image makes two)
            picture = Image.frombuffer("RGB", size, pixels, "raw", "RGB", plane.line_size, 1)
            done = self.converted[size] = (self.serial, picture)
        return done[1]

    def close(self) -> None:
        self.container.close()
        self.converted.clear()


@dataclass(frozen=True)
class Placed:
    """A layer ready to paste: the picture, its top-left corner and its mask (None: opaque)."""
    image: Image.Image
    corner: tuple[int, int]
    mask: Image.Image | None


def _rotate(point: tuple[float, float], degrees: float) -> tuple[float, float]:
    """`point` turned clockwise on screen (y down)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return point[0] * c - point[1] * s, point[0] * s + point[1] * c


def place(source: Source, source_us: int, natural: tuple[float, float], pose: Pose, opacity: float,
          canvas: Size) -> Placed | None:
    """Where and how `source` lands on a `canvas`-sized output: scaled from its `natural` size
    (output px at scale 1), flipped, turned, moved, with `opacity`. None when nothing is visible."""
    width, height = canvas
    draw_w, draw_h = natural[0] * abs(pose.scale_x), natural[1] * abs(pose.scale_y)
    if draw_w < 0.5 or draw_h < 0.5 or opacity <= 0.002:
        return None
    centre = (width / 2 + pose.x * width / 2, height / 2 - pose.y * height / 2)
    # The visible part in the layer's own coordinates (origin at its centre, before turning).
    corners = [_rotate((x - centre[0], y - centre[1]), -pose.rotation) for x in (0, width) for y in (0, height)]
    u0, u1 = max(min(p[0] for p in corners), -draw_w / 2), min(max(p[0] for p in corners), draw_w / 2)
    v0, v1 = max(min(p[1] for p in corners), -draw_h / 2), min(max(p[1] for p in corners), draw_h / 2)
    if u0 >= u1 or v0 >= v1:
        return None
    if draw_w * draw_h <= CROP_AREA * width * height:
        image = source.image(source_us, (max(1, round(draw_w)), max(1, round(draw_h))))
        middle = (0.0, 0.0)
    else:
        image, middle = _crop(source, source_us, (draw_w, draw_h), (u0, u1, v0, v1), pose)
    if pose.flip_horizontal:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if pose.flip_vertical:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if pose.rotation % 360:
        image = image.convert("RGBA").rotate(-pose.rotation, RESAMPLE, expand=True)
    shift = _rotate(middle, pose.rotation)
    corner = (round(centre[0] + shift[0] - image.width / 2), round(centre[1] + shift[1] - image.height / 2))
    return Placed(image, corner, _mask(image, opacity))


def _crop(source: Source, source_us: int, draw: tuple[float, float], visible: tuple[float, float, float, float],
          pose: Pose) -> tuple[Image.Image, tuple[float, float]]:
    """The visible part of a layer zoomed far beyond the canvas, scaled to its drawn size, and
    its centre in the layer's coordinates."""
    (draw_w, draw_h), (u0, u1, v0, v1) = draw, visible
    native_w, native_h = source.size
    fx, fy = native_w / draw_w, native_h / draw_h
    if pose.flip_horizontal:
        u0, u1 = -u1, -u0
    if pose.flip_vertical:
        v0, v1 = -v1, -v0
    left, right = max(math.floor((u0 + draw_w / 2) * fx), 0), min(math.ceil((u1 + draw_w / 2) * fx), native_w)
    top, bottom = max(math.floor((v0 + draw_h / 2) * fy), 0), min(math.ceil((v1 + draw_h / 2) * fy), native_h)
    piece = source.image(source_us, source.size).crop((left, top, max(right, left + 1), max(bottom, top + 1)))
    piece = piece.resize((max(1, round(piece.width / fx)), max(1, round(piece.height / fy))), RESAMPLE)
    mid_u = (left + right) / 2 / fx - draw_w / 2
    mid_v = (top + bottom) / 2 / fy - draw_h / 2
    return piece, (-mid_u if pose.flip_horizontal else mid_u, -mid_v if pose.flip_vertical else mid_v)


def _mask(image: Image.Image, opacity: float) -> Image.Image | None:
    if image.mode == "RGBA":
        alpha = image.getchannel("A")
        return alpha if opacity >= 0.998 else alpha.point(lambda v: round(v * opacity))
    return None if opacity >= 0.998 else Image.new("L", image.size, round(255 * opacity))


def paste(canvas: Image.Image, placed: Placed) -> None:
    canvas.paste(placed.image, placed.corner, placed.mask)


def blurred_cover(source: Source, source_us: int, strength: float, canvas: Size) -> Image.Image:
    """The canvas filled with the layer's picture (cover scaling) and blurred, as the apps'
    background blur; computed at 1/BLUR_SCALE size and scaled up."""
    small = (max(1, canvas[0] // BLUR_SCALE), max(1, canvas[1] // BLUR_SCALE))
    factor = max(small[0] / source.size[0], small[1] / source.size[1])
    size = (max(small[0], math.ceil(source.size[0] * factor)), max(small[1], math.ceil(source.size[1] * factor)))
    left, top = (size[0] - small[0]) // 2, (size[1] - small[1]) // 2
    picture = source.image(source_us, size).convert("RGB").crop((left, top, left + small[0], top + small[1]))
    return picture.filter(ImageFilter.GaussianBlur(max(strength * BLUR_RADIUS, 0.5))).resize(canvas, RESAMPLE)


class Layer:
    """One visual on screen: its source and what was last placed, reused while the picture, the
    pose and the opacity stay the same (always for images and texts without keyframes)."""

    def __init__(self, visual: Visual, source: Source, natural: tuple[float, float]):
        self.visual, self.source, self.natural = visual, source, natural
        self.last: tuple[tuple[int, Pose, float], Placed | None] | None = None
        self.backdrop: tuple[tuple[int, float], Placed] | None = None

    def draw(self, canvas: Image.Image, time_us: int) -> None:
        visual = self.visual
        source_us, pose, opacity = visual.source_us(time_us), visual.pose(time_us), visual.opacity(time_us)
        key = (self.source.version(source_us), pose, round(opacity, 3))
        if self.last is None or self.last[0] != key:
            self.last = (key, place(self.source, source_us, self.natural, pose, opacity, canvas.size))
        if self.last[1] is not None:
            paste(canvas, self.last[1])

    def draw_backdrop(self, canvas: Image.Image, time_us: int) -> None:
        """The background blur, if the clip has one (fades apply, the pose does not)."""
        visual = self.visual
        if visual.blur is None:
            return
        source_us, opacity = visual.source_us(time_us), visual.fading(time_us)
        key = (self.source.version(source_us), round(opacity, 3))
        if self.backdrop is None or self.backdrop[0] != key:
            cover = blurred_cover(self.source, source_us, visual.blur, canvas.size)
            self.backdrop = (key, Placed(cover, (0, 0), _mask(cover, opacity)))
        paste(canvas, self.backdrop[1])

    def close(self) -> None:
        self.source.close()


class Compositor:
    """Draws a scene's frames at an output size. Times passed to `frame` must not decrease:
    layers open when their clip comes on screen and close when it has left."""

    def __init__(self, scene: Scene, width: int, height: int, font_path: str | None = None):
        self.scene, self.size = scene, (width, height)
        self.painter = TextPainter(width, height, scene.width, font_path)
        self.order = sorted(range(len(scene.visuals)), key=lambda i: scene.visuals[i].shown.start_us)
        self.opened = 0
        self.active: dict[int, Layer | None] = {}
        self.warnings: list[str] = []

    def frame(self, time_us: int) -> Image.Image:
        visuals = self.scene.visuals
        while self.opened < len(self.order) and visuals[self.order[self.opened]].shown.start_us <= time_us:
            index = self.order[self.opened]
            if visuals[index].shown.end_us > time_us:
                self.active[index] = self.open(visuals[index])
            self.opened += 1
        for index in [i for i in self.active if visuals[i].shown.end_us <= time_us]:
            layer = self.active.pop(index)
            if layer is not None:
                layer.close()
        canvas = Image.new("RGB", self.size)
        layers = [layer for _, layer in sorted(self.active.items()) if layer is not None]
        steps = [(layer, layer.draw_backdrop) for layer in layers] + [(layer, layer.draw) for layer in layers]
        for layer, draw in steps:          # backdrops (background blur) under every layer
            try:
                draw(canvas, time_us)
            except (OSError, av.FFmpegError) as exc:
                raise RenderError(f"{layer.visual.label}: its media could not be decoded ({_reason(exc)})") from None
        return canvas

    def open(self, visual: Visual) -> Layer | None:
        """The visual's layer (None: a text with nothing to draw). RenderError names the clip
        whose file cannot be read."""
        if visual.text is not None:
            picture, notes = self.painter.draw(visual.text)
            self.warnings.extend(f"{visual.label}: {note}." for note in notes)
            return Layer(visual, StillSource(picture), picture.size) if picture is not None else None
        assert visual.path is not None
        source: Source
        try:
            source = StillSource.open(visual.path) if visual.still else VideoSource(visual.path)
        except (OSError, av.FFmpegError, RenderError, Image.DecompressionBombError) as exc:
            raise RenderError(f"{visual.label}: its media could not be read ({_reason(exc)})") from None
        fit = min(self.size[0] / source.size[0], self.size[1] / source.size[1])
        return Layer(visual, source, (source.size[0] * fit, source.size[1] * fit))

    def close(self) -> None:
        for layer in self.active.values():
            if layer is not None:
                layer.close()
        self.active.clear()


def _reason(exc: Exception) -> str:
    """A short cause, without the local path FFmpeg and Pillow put in their messages."""
    if isinstance(exc, RenderError):
        return str(exc)
    if isinstance(exc, (av.FFmpegError, OSError)) and exc.strerror:
        return str(exc.strerror)
    return "not an image or video this renderer can read" if isinstance(exc, OSError) else type(exc).__name__
