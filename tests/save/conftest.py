"""Fixtures of the save tests (test_save.py, test_save_jobs.py): real media made at test time, a
MediaServer on 127.0.0.1 serving it, and apps on their own SQLite data_dir."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_settings
from helpers.media import MediaServer, make_audio, make_image, make_video, pattern_bytes
from helpers.save import Service


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


@pytest.fixture
def media_server(media_dir):
    """A MediaServer on 127.0.0.1 serving `media_dir`."""
    with MediaServer(media_dir) as s:
        yield s


@pytest.fixture
def service(tmp_path):
    """service(**overrides) -> a Service on a fresh SQLite data_dir; 127.0.0.1 may be fetched unless
    the overrides say otherwise."""
    made = []

    def build(**overrides) -> Service:
        overrides.setdefault("fetch_allow_hosts", ["127.0.0.1"])
        svc = Service(make_settings(tmp_path / f"data{len(made)}", store="sqlite", **overrides))
        made.append(svc)
        return svc

    yield build
    for svc in made:
        svc.close()
