"""Render a draft locally: one still frame as PNG, or the whole timeline as an MP4 with sound.

The caller gives the draft document with its media probed (Material.duration_us/width/height/
media_type filled, so open-ended clips resolve as at save) and `files`, material id -> local
file. What cannot be drawn locally is left out and named in the warnings. Errors are
RenderError with a message safe to show (nothing to show, a file that cannot be decoded,
stopped by `should_stop`); a failed video render leaves no file behind.
"""
from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import av

from capcut_drafts.model.timeline import Canvas, Draft
from capcut_drafts.render.audio import Mixer, samples_of
from capcut_drafts.render.encode import Mp4Writer
from capcut_drafts.render.frames import Compositor
from capcut_drafts.render.scene import RenderError, Scene, build_scene

__all__ = ["RenderError", "RenderResult", "RenderSize", "output_size", "render_still", "render_video"]

MAX_STILL_WIDTH = 4096
PROGRESS_STEPS = 50            # on_progress is called at least every 1/PROGRESS_STEPS of the frames
AUDIO_CHUNK = 8192             # samples mixed and encoded at a time (interleaved with the frames)
NOTHING_TO_SHOW = "the draft has nothing to show: add a clip, image or text"


@dataclass(frozen=True)
class RenderSize:
    width: int
    height: int
    fps: float


@dataclass
class RenderResult:
    warnings: list[str]
    duration_us: int
    width: int
    height: int
    fps: float


def output_size(canvas: Canvas, short_side: int | None, fps: float | None) -> RenderSize:
    """The output for a canvas: `short_side` px on its short side (720 of a 1080x1920 canvas ->
    720x1280; None keeps the canvas size), both sides rounded down to even numbers (x264 needs
    them), at `fps` (None: the canvas rate)."""
    scale = short_side / min(canvas.width, canvas.height) if short_side else 1.0
    width, height = (max(2, int(side * scale + 1e-6) // 2 * 2) for side in (canvas.width, canvas.height))
    return RenderSize(width, height, float(fps or canvas.fps))


def render_still(draft: Draft, files: Mapping[str, str], time_us: int, width: int | None = None,
                 font_path: str | None = None) -> tuple[bytes, list[str]]:
    """The frame at `time_us` (clamped to the draft) as PNG bytes, `width` px wide (None: the
    canvas width; 1..MAX_STILL_WIDTH), and the warnings."""
    scene = _scene(draft, files)
    out_width = width or scene.width
    if not 1 <= out_width <= MAX_STILL_WIDTH:
        raise RenderError(f"width must be from 1 to {MAX_STILL_WIDTH} pixels (got {out_width})")
    out_height = max(1, round(out_width * scene.height / scene.width))
    compositor = Compositor(scene, out_width, out_height, font_path)
    try:
        image = compositor.frame(min(max(time_us, 0), max(scene.duration_us - 1, 0)))
    finally:
        compositor.close()
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue(), _unique(scene.warnings + compositor.warnings)


def render_video(draft: Draft, files: Mapping[str, str], out_path: str, size: RenderSize, *,
                 font_path: str | None = None, on_progress: Callable[[float], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> RenderResult:
    """The whole draft as an MP4 at `out_path`. `on_progress(fraction)` is called at least every
    2 % of the frames; `should_stop()` returning true stops the render (RenderError "stopped")."""
    scene = _scene(draft, files)
    compositor = Compositor(scene, size.width, size.height, font_path)
    mixer = Mixer(scene.sounds)
    try:
        with Mp4Writer(out_path, size.width, size.height, size.fps) as writer:
            _frames(scene, size.fps, compositor, mixer, writer, on_progress or (lambda _: None),
                    should_stop or (lambda: False))
    except (OSError, av.FFmpegError) as exc:
        _remove(out_path)
        raise RenderError(f"the video could not be written ({getattr(exc, 'strerror', None) or exc})") from None
    except BaseException:
        _remove(out_path)
        raise
    finally:
        compositor.close()
        mixer.close()
    return RenderResult(_unique(scene.warnings + compositor.warnings), scene.duration_us, size.width, size.height,
                        size.fps)


def _frames(scene: Scene, fps: float, compositor: Compositor, mixer: Mixer, writer: Mp4Writer,
            on_progress: Callable[[float], None], should_stop: Callable[[], bool]) -> None:
    """Every frame in order, with the sound up to each frame's end written as it goes."""
    count = max(1, math.ceil(scene.duration_us * fps / 1_000_000 - 1e-6))
    total_samples = samples_of(scene.duration_us)
    step = max(1, count // PROGRESS_STEPS)
    mixed = 0
    for index in range(count):
        if should_stop():
            raise RenderError("stopped")
        writer.add_frame(compositor.frame(round(index * 1_000_000 / fps)))
        due = min(total_samples, samples_of(round((index + 1) * 1_000_000 / fps)))
        while due - mixed >= AUDIO_CHUNK or (index == count - 1 and due > mixed):
            chunk = min(AUDIO_CHUNK, due - mixed)
            writer.add_sound(mixer.mix(mixed, chunk))
            mixed += chunk
        if index % step == 0:
            on_progress(index / count)
    on_progress(1.0)


def _scene(draft: Draft, files: Mapping[str, str]) -> Scene:
    scene = build_scene(draft, files)
    if scene.is_empty or scene.duration_us <= 0:
        raise RenderError(NOTHING_TO_SHOW)
    return scene


def _unique(warnings: list[str]) -> list[str]:
    return list(dict.fromkeys(warnings))


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
