"""Local render speed: a 30 s draft rendered to MP4 at 480p/720p/1080p, and still frames.

    .venv/bin/python bench/render.py [--resolutions 480,720,1080] [--stills 10] [--still-width 360]
                                     [--canvas 1080x1920]

Generates the media (three 10 s 1280x720 H.264+AAC clips of a scrolling texture, a PNG photo,
a 30 s MP3), builds the draft through the routes (Flask test client, memory store): the three
clips back to back on the main track (a Dissolve between the first two, background blur on the
last), the photo on a second track 5–15 s with position and scale keyframes, a faded title and
a bordered caption with a background box, and the MP3 at volume 0.6 on an audio track. The media
is probed and recorded as the render job does, then for each resolution it prints the render's
wall time, seconds per output second, CPU seconds (all threads: compare these on a busy machine),
file size and the process's peak RSS so far; finally the median time of `--stills` still frames
(PNG) at spread-out times, at the canvas width and at `--still-width`.
"""
from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers.media import make_audio  # noqa: E402

from capcut_drafts.model import operations  # noqa: E402
from capcut_drafts.model.timeline import Draft  # noqa: E402
from capcut_drafts.render.engine import output_size, render_still, render_video  # noqa: E402
from capcut_drafts.save.probe import probe  # noqa: E402
from capcut_drafts.settings import Settings  # noqa: E402
from capcut_drafts.web.app import create_app  # noqa: E402

HOST = "http://127.0.0.1:9"       # never fetched: the bench maps each URL to its local file


def texture_video(path: Path, seconds: int = 10, size: tuple[int, int] = (1280, 720), fps: int = 25,
                  seed: int = 0) -> None:
    """An H.264 + AAC MP4 of a smooth random texture scrolling sideways (motion a codec must
    track, unlike a flat colour) and a 330 Hz tone."""
    width, height = size
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (height // 16, width // 8, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(coarse).resize((width * 2, height), Image.Resampling.BICUBIC))
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast"}
        audio = container.add_stream("aac", rate=44100)
        audio.layout = "stereo"
        for i in range(seconds * fps):
            shift = (i * 8) % width
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, shift:shift + width]), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode())
        tone = (0.2 * np.sin(2 * np.pi * 330 * np.arange(seconds * 44100) / 44100)).astype(np.float32)
        for start in range(0, tone.size, 1024):
            block = np.ascontiguousarray(np.stack([tone[start:start + 1024]] * 2))
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 44100, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())


def make_media(folder: Path) -> None:
    for i in range(3):
        texture_video(folder / f"clip{i}.mp4", seed=i)
    Image.fromarray(np.random.default_rng(9).integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(folder / "photo.png")
    make_audio(folder / "music.mp3", seconds=30)


def build_draft(client, canvas: tuple[int, int]) -> str:
    def call(path: str, body: dict) -> dict:
        reply = client.post(path, json=body).get_json()
        assert reply["success"], (path, reply["error"])
        return reply["output"]

    draft = call("/create_draft", {"width": canvas[0], "height": canvas[1]})["draft_id"]
    steps = [
        ("/add_video", {"video_url": f"{HOST}/clip0.mp4", "start": 0, "end": 10, "target_start": 0,
                        "transition": "Dissolve", "transition_duration": 1.0}),
        ("/add_video", {"video_url": f"{HOST}/clip1.mp4", "start": 0, "end": 10, "target_start": 10}),
        ("/add_video", {"video_url": f"{HOST}/clip2.mp4", "start": 0, "end": 10, "target_start": 20,
                        "background_blur": 2}),
        ("/add_image", {"image_url": f"{HOST}/photo.png", "start": 5, "end": 15, "track_name": "overlay",
                        "relative_index": 1, "scale_x": 0.4, "scale_y": 0.4}),
        ("/add_video_keyframe", {"track_name": "overlay", "property_types": ["position_x", "position_x",
                                                                              "uniform_scale", "uniform_scale"],
                                 "times": [5, 15, 5, 15], "values": ["-0.4", "0.4", "0.4", "0.6"]}),
        ("/add_text", {"text": "Render benchmark", "start": 0, "end": 5, "font_size": 14, "font_color": "#FFFFFF",
                       "transform_y": 0.6, "intro_animation": "Fade_In", "outro_animation": "Fade_Out",
                       "shadow_enabled": True}),
        ("/add_text", {"text": "A caption with a border and a background box", "start": 5, "end": 30,
                       "font_size": 7, "font_color": "#FFFF00", "border_width": 30, "background_alpha": 0.5,
                       "transform_y": -0.7, "track_name": "captions"}),
        ("/add_audio", {"audio_url": f"{HOST}/music.mp3", "start": 0, "end": 30, "volume": 0.6}),
    ]
    for path, body in steps:
        call(path, {"draft_id": draft, **body})
    return draft


def probed(draft: Draft, media: Path) -> tuple[Draft, dict[str, str]]:
    """The draft with its media probed (as the render job records it) and material id -> file."""
    files, learned = {}, {}
    for material in draft.materials.values():
        path = media / material.url.rsplit("/", 1)[1]
        info = probe(str(path))
        files[material.id] = str(path)
        learned[material.id] = {"duration_us": info.duration_us, "width": info.width, "height": info.height,
                                "media_type": "audio" if material.kind == "audio" else
                                "photo" if material.kind == "image" else "video"}
    operations.apply(draft, operations.set_media(learned))
    return draft, files


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (what the render costs on a busy machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="480,720,1080", help="short sides, comma-separated")
    parser.add_argument("--stills", type=int, default=10)
    parser.add_argument("--still-width", type=int, default=360, help="a thumbnail width, timed after the full one")
    parser.add_argument("--canvas", default="1080x1920", help="draft canvas WIDTHxHEIGHT")
    args = parser.parse_args()
    canvas = tuple(int(n) for n in args.canvas.lower().split("x"))
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        media = folder / "media"
        media.mkdir()
        started = time.perf_counter()
        make_media(media)
        print(f"media generated in {time.perf_counter() - started:.1f} s; peak RSS {peak_rss_mb():.0f} MB")
        app = create_app(Settings().replace(store="memory", data_dir=str(folder / "data"), prefetch_on_add=False,
                                            log_level="WARNING"))
        draft_id = build_draft(app.test_client(), (canvas[0], canvas[1]))
        draft = app.extensions["capcut"].cache.read(draft_id, lambda d: d.model_copy(deep=True))
        draft, files = probed(draft, media)
        for short in (int(n) for n in args.resolutions.split(",")):
            size = output_size(draft.canvas, short, None)
            started, cpu = time.perf_counter(), cpu_seconds()
            result = render_video(draft, files, str(folder / f"out{short}.mp4"), size)
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            out_seconds = result.duration_us / 1e6
            megabytes = (folder / f"out{short}.mp4").stat().st_size / 1e6
            print(f"{short}p ({size.width}x{size.height} @ {size.fps:g} fps): {seconds:6.2f} s for "
                  f"{out_seconds:g} s = {seconds / out_seconds:.3f} s per output second (CPU {cpu:.1f} s); "
                  f"{megabytes:.1f} MB; peak RSS {peak_rss_mb():.0f} MB")
        for width in (draft.canvas.width, args.still_width):
            times = []
            for i in range(args.stills):
                started = time.perf_counter()
                render_still(draft, files, int((i + 0.5) * 30_000_000 / args.stills), width=width)
                times.append(time.perf_counter() - started)
            print(f"still frame {width} px wide: median {statistics.median(times) * 1000:.0f} ms, "
                  f"max {max(times) * 1000:.0f} ms over {args.stills}")


if __name__ == "__main__":
    main()
