"""Fixtures of the OpenTimelineIO tests: the media they use, served by the `media_server` fixture
(tests/conftest.py) on 127.0.0.1."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers.media import make_audio, make_image, make_video

from tools import fidelity_report as fidelity


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    """The every-route draft's files (tools/fidelity_report.py), and clip.mp4 (4 s), logo.png and
    music.mp3 (6 s) for timelines written with the OTIO API."""
    directory = tmp_path_factory.mktemp("otio_media")
    fidelity.make_media(directory)
    make_video(directory / "clip.mp4", seconds=4, size=(64, 48))
    make_image(directory / "logo.png", size=(64, 48))
    make_audio(directory / "music.mp3", seconds=6)
    return directory
