"""The MP4 writer: H.264 (libx264, yuv420p) and AAC stereo 128 kb/s through PyAV's bundled FFmpeg.

Encoding runs on a thread of its own behind a short queue, so it overlaps with decoding and
compositing (PyAV and Pillow release the GIL in their C work). The file is written with
`+faststart` (the index first), so a browser can play it while it downloads.
"""
from __future__ import annotations

import queue
import threading
from fractions import Fraction
from types import TracebackType

import av
import numpy as np
from PIL import Image

from capcut_drafts.render.audio import RATE

# x264 preset, measured with bench/render.py (2 cores, the 30 s draft at 720p, encoding on its
# own thread): veryfast 13-17 s wall, 23-26 CPU s, 3.8 MB; superfast 11-13 s, 18-20 CPU s, 6.7 MB;
# ultrafast 11 s, 17 CPU s, 19.6 MB. veryfast sits on the 15 s target (0.5x real time), superfast
# keeps a margin for 1.8x the file size (1.8 Mb/s, still fine to stream); ultrafast gains little
# more and makes 5x bigger files.
PRESET = "superfast"
CRF = 23                     # x264's default quality
AUDIO_BIT_RATE = 128_000
QUEUE_FRAMES = 4             # frames waiting for the encoder (bounds memory)


def frame_rate(fps: float) -> Fraction:
    """`fps` as the exact fraction FFmpeg wants (29.97 -> 2997/100)."""
    return Fraction(fps).limit_denominator(1001)


class Mp4Writer:
    """Writes RGB frames and stereo sound to `path`; use as a context manager (leaving it without
    an error flushes the encoders and finishes the file). An encoding error is raised by the next
    call after it happened."""

    def __init__(self, path: str, width: int, height: int, fps: float):
        self.container = av.open(path, "w", format="mp4", options={"movflags": "+faststart"})
        self.video = self.container.add_stream("libx264", rate=frame_rate(fps))
        self.video.width, self.video.height, self.video.pix_fmt = width, height, "yuv420p"
        self.video.options = {"preset": PRESET, "crf": str(CRF)}
        self.video.thread_type = "AUTO"
        self.audio = self.container.add_stream("aac", rate=RATE)
        self.audio.layout = "stereo"
        self.audio.bit_rate = AUDIO_BIT_RATE
        self.frames = 0
        self.samples = 0
        self.jobs: queue.Queue[av.VideoFrame | av.AudioFrame | None] = queue.Queue(QUEUE_FRAMES)
        self.failure: BaseException | None = None
        self.abandoned = False
        self.worker = threading.Thread(target=self.run, name="mp4-writer", daemon=True)
        self.worker.start()

    def add_frame(self, image: Image.Image) -> None:
        frame = av.VideoFrame.from_image(image)
        frame.pts = self.frames
        self.frames += 1
        self.put(frame)

    def add_sound(self, samples: np.ndarray) -> None:
        """`samples`: float32, 2 × n (stereo), in -1..1."""
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32), format="fltp",
                                           layout="stereo")
        frame.sample_rate = RATE
        frame.pts = self.samples
        frame.time_base = Fraction(1, RATE)
        self.samples += samples.shape[1]
        self.put(frame)

    def put(self, job: av.VideoFrame | av.AudioFrame) -> None:
        self.check()
        self.jobs.put(job)

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def run(self) -> None:
        """The encoder thread: encode and mux every queued frame until None, then flush unless
        abandoned. After a failure it only drains the queue, so no put ever blocks for good."""
        try:
            while (job := self.jobs.get()) is not None:
                if isinstance(job, av.VideoFrame):
                    self.container.mux(self.video.encode(job))
                else:
                    self.container.mux(self.audio.encode(job))
            if not self.abandoned:
                self.container.mux(self.video.encode(None))
                self.container.mux(self.audio.encode(None))
        except BaseException as exc:       # noqa: BLE001 — handed to the producer, raised there
            self.failure = exc
            while self.jobs.get() is not None:
                pass

    def finish(self) -> None:
        """Flush the encoders, wait for the thread and close the file."""
        self.jobs.put(None)
        self.worker.join()
        self.container.close()
        self.check()

    def abandon(self) -> None:
        """Stop without finishing the file (the caller deletes it)."""
        self.abandoned = True
        self.jobs.put(None)
        self.worker.join()
        self.container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.finish()
        else:
            self.abandon()
