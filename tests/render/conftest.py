"""Fixtures of the render tests: media made at test time, drafts built through the real routes
(Flask test client, memory store; media URLs are never fetched — each maps to a local file), and
readers of what a render produced (decoded MP4 frames and sound, PNG pixels).

* `media_dir`: solid-colour PNGs (red, green, blue, white; 160x90, so they fill a 16:9 canvas),
  `halves.png` (left half red, right half green), `clip.mp4` (3 s, 25 fps, 160x90, a tone; its
  brightness steps with each frame), `mute.mp4` (no sound), `tone.mp3` (3 s), `broken.mp4`.
* `studio`: `studio.new(width=320, height=180, fps=25)` -> draft id; `studio.add(path, draft_id,
  **body)` posts a route (URLs: `studio.url("red.png")`); `studio.document(draft_id)` -> (Draft
  with its media probed as the render job records it, {material id: local file}).
* `frame_at(mp4, seconds)` -> RGB numpy array of the frame shown then; `sound_of(mp4)` ->
  (stereo float samples, sample rate, stream duration in seconds); `pixels(png_bytes)` -> RGB array.
"""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

import av
import numpy as np
import pytest
from helpers import make_settings, ok
from helpers.media import make_audio, make_video, truncated_copy
from PIL import Image

from capcut_drafts.model import operations
from capcut_drafts.model.timeline import Draft
from capcut_drafts.save.probe import probe

HOST = "http://127.0.0.1:9"
COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255)}


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("render-media")
    for name, colour in COLOURS.items():
        Image.new("RGB", (160, 90), colour).save(folder / f"{name}.png")
    halves = Image.new("RGB", (160, 90), COLOURS["red"])
    halves.paste(COLOURS["green"], (80, 0, 160, 90))
    halves.save(folder / "halves.png")
    make_video(folder / "clip.mp4", seconds=3, size=(160, 90))
    make_video(folder / "mute.mp4", seconds=3, size=(160, 90), audio=False)
    make_audio(folder / "tone.mp3", seconds=3)
    truncated_copy(folder / "clip.mp4", folder / "broken.mp4", 2000)
    return folder


class Studio:
    """Builds drafts through the routes and hands them over as the render job would."""

    def __init__(self, app, media: Path):
        self.app, self.client, self.media = app, app.test_client(), media

    @staticmethod
    def url(name: str) -> str:
        return f"{HOST}/{name}"

    def new(self, width: int = 320, height: int = 180, fps: int = 25) -> str:
        return ok(self.client, "/create_draft", {"width": width, "height": height, "fps": fps})["draft_id"]

    def add(self, path: str, draft_id: str, **body):
        return ok(self.client, path, {"draft_id": draft_id, **body})

    def document(self, draft_id: str) -> tuple[Draft, dict[str, str]]:
        draft = self.app.extensions["capcut"].cache.read(draft_id, lambda d: d.model_copy(deep=True))
        files, learned = {}, {}
        for material in draft.materials.values():
            path = self.media / material.url.rsplit("/", 1)[1]
            files[material.id] = str(path)
            if path.name.startswith("broken"):
                continue
            info = probe(str(path))
            learned[material.id] = {"duration_us": info.duration_us, "width": info.width, "height": info.height,
                                    "media_type": "audio" if material.kind == "audio" else
                                    "photo" if material.kind == "image" else "video"}
        operations.apply(draft, operations.set_media(learned))
        return draft, files


@pytest.fixture
def studio(tmp_path, media_dir):
    from capcut_drafts.web.app import create_app
    app = create_app(make_settings(tmp_path / "data", store="memory", prefetch_on_add=False))
    yield Studio(app, media_dir)
    ctx = app.extensions["capcut"]
    ctx.runner.shutdown(wait=True)
    ctx.media.close(wait=True)
    ctx.cache.store.close()


@pytest.fixture
def frame_at():
    def read(path, seconds: float) -> np.ndarray:
        """The RGB frame on screen at `seconds` (the last one starting at or before it)."""
        shown = None
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                if frame.time > seconds + 1e-6:
                    break
                shown = frame.to_ndarray(format="rgb24")
        assert shown is not None, f"no frame at {seconds}s"
        return shown.astype(int)
    return read


@pytest.fixture
def sound_of():
    def read(path) -> tuple[np.ndarray, int, float]:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            blocks = [frame.to_ndarray() for frame in container.decode(stream)]
            duration = float(stream.duration * stream.time_base)
            return np.concatenate(blocks, axis=1), stream.sample_rate, duration
    return read


@pytest.fixture
def pixels():
    def read(png: bytes) -> np.ndarray:
        with Image.open(BytesIO(png)) as image:
            assert image.format == "PNG"
            return np.asarray(image.convert("RGB")).astype(int)
    return read
