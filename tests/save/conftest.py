"""Fixtures of the save tests (test_save.py, test_save_jobs.py): the real media made at test time
that the shared `media_server` fixture (tests/conftest.py) serves."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers.media import make_audio, make_image, make_video, pattern_bytes


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    """The files every test serves (small: the whole set takes well under a second to make)."""
    d = tmp_path_factory.mktemp("media")
    make_video(d / "v1.mp4", seconds=5, size=(64, 48))            # V1, V2 of the replay: 5 s with audio
    make_video(d / "v2.mp4", seconds=5, size=(48, 64))
    make_audio(d / "a.mp3", seconds=8.05)                         # A: the 8.05 s MP3
    make_image(d / "i.png", size=(640, 360))                      # I: a 640x360 PNG
    make_video(d / "short.mp4", seconds=2, size=(32, 32))
    make_video(d / "clip.mov", seconds=1, size=(32, 32))          # QuickTime
    make_video(d / "mute.mp4", seconds=1, size=(32, 32), audio=False)
    make_image(d / "photo.png", fmt="jpg", size=(48, 32))         # a JPEG behind a .png name
    (d / "noise.mp4").write_bytes(pattern_bytes(30_000, seed=7))  # not media at all
    return d
