"""probe() on real media made at test time with PyAV and Pillow (helpers.media)."""
from __future__ import annotations

import shutil

import pytest
from helpers.media import make_audio, make_image, make_video, truncated_copy

from capcut_drafts.save.probe import MediaInfo, ProbeError, probe

AAC_FRAME_US = 1024 / 44100 * 1e6
MP3_FRAME_US = 1152 / 44100 * 1e6


@pytest.fixture(scope="module")
def media_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    return {
        "mp4": make_video(d / "clip.mp4", seconds=3),
        "mp4_silent": make_video(d / "silent.mp4", seconds=2, audio=False),
        "mov": make_video(d / "clip.mov", seconds=2, size=(160, 120)),
        "webm": make_video(d / "clip.webm", seconds=2, size=(160, 96)),
        "mkv": make_video(d / "clip.mkv", seconds=2),
        "audio_mp4": make_video(d / "voice.mp4", seconds=4, video=False),
        "mp3": make_audio(d / "a.mp3", seconds=8, fmt="mp3"),
        "wav": make_audio(d / "a.wav", seconds=8, fmt="wav"),
        "m4a": make_audio(d / "a.m4a", seconds=8, fmt="m4a"),
        "aac": make_audio(d / "a.aac", seconds=3, fmt="aac"),
        "ogg": make_audio(d / "a.ogg", seconds=3, fmt="ogg"),
        "flac": make_audio(d / "a.flac", seconds=3, fmt="flac"),
        "png": make_image(d / "a.png", "png", (64, 48)),
        "jpg": make_image(d / "a.jpg", "jpg", (120, 80)),
        "webp": make_image(d / "a.webp", "webp", (33, 17)),
        "bmp": make_image(d / "a.bmp", "bmp", (10, 20)),
        "gif": make_image(d / "anim.gif", "gif", (40, 30), frames=7, frame_ms=120),
        "gif1": make_image(d / "still.gif", "gif", (40, 30)),
        "dir": d,
    }


def test_mp4_with_audio_is_video(media_files):
    info = probe(media_files["mp4"])
    assert isinstance(info, MediaInfo)
    assert (info.kind, info.ext, info.width, info.height) == ("video", "mp4", 320, 240)
    assert info.has_video and info.has_audio and info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration_us - 3_000_000) <= 40_000 and info.fps == 25.0


def test_mp4_without_audio(media_files):
    info = probe(media_files["mp4_silent"])
    assert (info.kind, info.has_video, info.has_audio) == ("video", True, False)
    assert abs(info.duration_us - 2_000_000) <= 40_000


def test_audio_only_mp4_is_audio(media_files):
    info = probe(media_files["audio_mp4"])
    assert (info.kind, info.ext, info.has_video, info.has_audio) == ("audio", "m4a", False, True)
    assert info.width is None and info.height is None
    assert abs(info.duration_us - 4_000_000) <= AAC_FRAME_US


@pytest.mark.parametrize("name,ext,size", [("mov", "mov", (160, 120)), ("webm", "webm", (160, 96)),
                                           ("mkv", "mkv", (320, 240))])
def test_other_video_containers(media_files, name, ext, size):
    info = probe(media_files[name])
    assert (info.kind, info.ext, (info.width, info.height)) == ("video", ext, size)
    assert abs(info.duration_us - 2_000_000) <= 40_000


@pytest.mark.parametrize("name,tolerance", [("mp3", MP3_FRAME_US), ("wav", 1), ("m4a", AAC_FRAME_US)])
def test_audio_durations_within_a_frame(media_files, name, tolerance):
    info = probe(media_files[name])
    assert (info.kind, info.ext, info.has_audio, info.has_video) == ("audio", name, True, False)
    assert abs(info.duration_us - 8_000_000) <= tolerance, info.duration_us


@pytest.mark.parametrize("name", ["aac", "ogg", "flac"])
def test_more_audio_formats(media_files, name):
    info = probe(media_files[name])
    assert (info.kind, info.ext) == ("audio", name)
    # raw ADTS AAC has no length field: the priming frame and last-frame padding are real samples
    assert abs(info.duration_us - 3_000_000) <= 2 * AAC_FRAME_US


@pytest.mark.parametrize("name,ext,size", [("png", "png", (64, 48)), ("jpg", "jpg", (120, 80)),
                                           ("webp", "webp", (33, 17)), ("bmp", "bmp", (10, 20))])
def test_photos(media_files, name, ext, size):
    info = probe(media_files[name])
    assert (info.kind, info.ext, (info.width, info.height), info.duration_us) == ("photo", ext, size, None)
    assert not info.has_video and not info.has_audio and info.duration is None


def test_animated_gif_duration_is_the_sum_of_its_frame_delays(media_files):
    info = probe(media_files["gif"])
    assert (info.kind, info.ext, info.width, info.height, info.frames) == ("gif", "gif", 40, 30, 7)
    assert info.duration_us == 7 * 120_000 and info.duration == 0.84


def test_single_frame_gif_is_a_still_photo(media_files):
    info = probe(media_files["gif1"])
    assert (info.kind, info.ext, info.duration_us, info.frames) == ("photo", "gif", None, 1)


def test_zero_delay_gif_frames_count_as_100ms(tmp_path):
    info = probe(make_image(tmp_path / "fast.gif", "gif", (8, 8), frames=4, frame_ms=0))
    assert info.kind == "gif" and info.duration_us == 400_000


def test_extension_comes_from_the_content_not_the_name(media_files, tmp_path):
    fake_png = shutil.copyfile(media_files["jpg"], tmp_path / "photo.png")
    assert probe(fake_png).ext == "jpg"
    no_name = shutil.copyfile(media_files["mp3"], tmp_path / "download")
    assert (probe(no_name).kind, probe(no_name).ext) == ("audio", "mp3")
    video_as_mp3 = shutil.copyfile(media_files["mp4"], tmp_path / "song.mp3")
    assert (probe(video_as_mp3).kind, probe(video_as_mp3).ext) == ("video", "mp4")


@pytest.mark.parametrize("keep", [0, 10, 600])
def test_truncated_video_header_is_an_error(media_files, tmp_path, keep):
    broken = truncated_copy(media_files["mp4"], tmp_path / "broken.mp4", keep)
    with pytest.raises(ProbeError):
        probe(broken)


@pytest.mark.parametrize("name,keep", [("png", 20), ("jpg", 8), ("gif", 12), ("webp", 14), ("mp3", 0)])
def test_truncated_image_and_audio_headers_are_errors(media_files, tmp_path, name, keep):
    broken = truncated_copy(media_files[name], tmp_path / f"broken.{name}", keep)
    with pytest.raises(ProbeError):
        probe(broken)


@pytest.mark.parametrize("content", [b"hello, not media at all\n" * 100, bytes(range(256)) * 64,
                                     b"<html><body>404 Not Found</body></html>",
                                     b"#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:9/a.ts\n#EXT-X-ENDLIST\n"])
def test_garbage_html_and_playlists_are_errors(tmp_path, content):
    path = tmp_path / "thing.mp4"
    path.write_bytes(content)
    with pytest.raises(ProbeError) as info:
        probe(path)
    assert len(str(info.value)) < 120


def test_urls_and_missing_files_are_refused(tmp_path):
    with pytest.raises(ProbeError, match="local files only"):
        probe("http://127.0.0.1:9/a.mp4")
    with pytest.raises(ProbeError, match="cannot read"):
        probe(tmp_path / "missing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(ProbeError, match="empty"):
        probe(tmp_path / "empty.mp4")


def test_cover_art_does_not_make_audio_a_video(tmp_path):
    import av
    cover = make_image(tmp_path / "cover.png", "png", (32, 32))
    song = make_audio(tmp_path / "song.mp3", seconds=2, fmt="mp3")
    out = tmp_path / "with_cover.mp3"
    with av.open(str(song)) as src, av.open(str(cover)) as art, av.open(str(out), "w", format="mp3") as dst:
        a = dst.add_stream_from_template(src.streams.audio[0])
        v = dst.add_stream_from_template(art.streams.video[0])
        v.disposition = av.stream.Disposition.attached_pic
        for packet in art.demux(art.streams.video[0]):
            if packet.size:
                packet.stream = v
                dst.mux(packet)
        for packet in src.demux(src.streams.audio[0]):
            if packet.size:
                packet.stream = a
                dst.mux(packet)
    with av.open(str(out)) as check:
        assert len(check.streams.video) == 1           # the file really carries a picture stream
    info = probe(out)
    assert (info.kind, info.has_video, info.has_audio) == ("audio", False, True)
