"""The sound of a render: every audio clip and video clip's sound mixed to 44100 Hz stereo.

Each sound is decoded forward with PyAV and resampled by FFmpeg; mixing is numpy over chunks
asked for in timeline order, so memory stays bounded by the chunk and the sounds playing in it.
Speed is applied by resampling (a clip at speed 2 plays its samples twice as fast), which also
changes its pitch as a tape would — the apps keep the pitch, a local render does not. Volume is
the clip's volume, or its volume keyframes (linear, per sample) when it has any; the mix is
clipped to [-1, 1].
"""
from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np

from capcut_drafts.render.scene import RenderError, Sound

RATE = 44100
CHANNELS = 2


def samples_of(time_us: int, rate: int = RATE) -> int:
    """The sample index of a time."""
    return round(time_us * rate / 1_000_000)


class AudioSource:
    """One file's first audio stream from `start_us` on, as float32 stereo at RATE, played at
    `speed`. A file without audio gives silence."""

    def __init__(self, path: str, start_us: int, speed: float):
        self.container = av.open(path)
        streams = self.container.streams.audio
        self.stream = streams[0] if streams else None
        self.rate = max(1, round(RATE / speed))       # played back at RATE: `speed` times as fast
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=self.rate)
        self.pending: list[np.ndarray] = []
        self.buffered = 0
        self.skip: int | None = None                  # samples before start_us still to drop
        self.start_us = start_us
        self.frames: Iterator[av.AudioFrame] | None = None
        if self.stream is not None:
            if start_us > 0:
                time_base = self.stream.time_base or Fraction(1, RATE)
                offset = int(Fraction(start_us, 1_000_000) / time_base) + (self.stream.start_time or 0)
                self.container.seek(offset, stream=self.stream, backward=True)
            self.frames = self.container.decode(self.stream)

    def read(self, count: int) -> np.ndarray:
        """The next `count` samples (2 × count), padded with silence after the end."""
        while self.buffered < count and self.frames is not None:
            frame = next(self.frames, None)
            if frame is None:
                self.frames = None
            elif self.skip is None:
                self.skip = self.lead_in(frame)
            for out in self.resampler.resample(frame):
                self.take(out.to_ndarray())
        chunk = np.zeros((CHANNELS, count), dtype=np.float32)
        filled = 0
        while filled < count and self.pending:
            head = self.pending[0]
            used = min(count - filled, head.shape[1])
            chunk[:, filled:filled + used] = head[:, :used]
            filled += used
            if used == head.shape[1]:
                self.pending.pop(0)
            else:
                self.pending[0] = head[:, used:]
        self.buffered -= filled
        return chunk

    def lead_in(self, frame: av.AudioFrame) -> int:
        """Samples between the first decoded frame and start_us (negative: silence to add)."""
        assert self.stream is not None
        if frame.pts is None or self.stream.time_base is None:
            return samples_of(self.start_us, self.rate)
        begins = (frame.pts - (self.stream.start_time or 0)) * self.stream.time_base
        return round((Fraction(self.start_us, 1_000_000) - begins) * self.rate)

    def take(self, samples: np.ndarray) -> None:
        """Queue decoded samples, dropping (or padding) what lies before start_us."""
        skip = self.skip or 0
        if skip > 0:
            dropped = min(skip, samples.shape[1])
            samples, self.skip = samples[:, dropped:], skip - dropped
        elif skip < 0:
            samples, self.skip = np.concatenate([np.zeros((CHANNELS, -skip), np.float32), samples], axis=1), 0
        self.pending.append(samples)
        self.buffered += samples.shape[1]

    def close(self) -> None:
        self.container.close()


class Mixer:
    """Mixes sounds into consecutive chunks of the timeline; ask for chunks in order from 0."""

    def __init__(self, sounds: list[Sound]):
        audible = [s for s in sounds if s.volume > 0 or (s.volume_curve and max(s.volume_curve.values) > 0)]
        self.sounds = sorted(audible, key=lambda s: s.target.start_us)
        self.opened = 0
        self.playing: list[tuple[Sound, AudioSource]] = []

    def mix(self, start: int, count: int) -> np.ndarray:
        """Samples [start, start + count) of the mix, 2 × count float32."""
        end = start + count
        while self.opened < len(self.sounds) and samples_of(self.sounds[self.opened].target.start_us) < end:
            sound = self.sounds[self.opened]
            self.opened += 1
            if samples_of(sound.target.end_us) > start:
                self.playing.append((sound, self.open(sound)))
        out = np.zeros((CHANNELS, count), dtype=np.float32)
        for sound, source in self.playing:
            first, last = samples_of(sound.target.start_us), samples_of(sound.target.end_us)
            lo, hi = max(first, start), min(last, end)
            if hi <= lo:
                continue
            try:
                samples = source.read(hi - lo)
            except av.FFmpegError as exc:
                raise RenderError(f"{sound.label}: its sound could not be decoded ({exc.strerror})") from None
            out[:, lo - start:hi - start] += samples * _gain(sound, first, lo, hi)
        for done in [pair for pair in self.playing if samples_of(pair[0].target.end_us) <= end]:
            done[1].close()
            self.playing.remove(done)
        return np.clip(out, -1.0, 1.0)

    @staticmethod
    def open(sound: Sound) -> AudioSource:
        try:
            return AudioSource(sound.path, sound.source.start_us, sound.speed)
        except (OSError, av.FFmpegError) as exc:
            raise RenderError(f"{sound.label}: its sound could not be read ({exc.strerror})") from None

    def close(self) -> None:
        for _, source in self.playing:
            source.close()
        self.playing.clear()


def _gain(sound: Sound, first: int, lo: int, hi: int) -> np.ndarray | float:
    """The clip's volume, or its volume keyframes at each sample of [lo, hi)."""
    if sound.volume_curve is None:
        return sound.volume
    offsets = (np.arange(lo, hi) - first) * (1_000_000 / RATE)
    return sound.volume_curve.over(offsets).astype(np.float32)
