"""MP4 renders (render_video) checked by decoding their streams with PyAV: frames at given times,
the sound's length and loudness, speed, progress, stopping and failures."""
from __future__ import annotations

import av
import numpy as np
import pytest

from capcut_drafts.render.engine import RenderError, RenderSize, output_size, render_video

S = 1_000_000


def render(studio, draft_id: str, out, **kwargs):
    draft, files = studio.document(draft_id)
    size = kwargs.pop("size", None) or output_size(draft.canvas, None, None)
    return render_video(draft, files, str(out), size, **kwargs)


def near(pixel, colour, tolerance: int = 12) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel) - np.asarray(colour)) <= tolerance))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def test_red_then_blue_image_decode_as_red_and_blue_at_one_and_three_seconds(studio, tmp_path, frame_at):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2)
    studio.add("/add_image", d, image_url=studio.url("blue.png"), start=2, end=4)
    result = render(studio, d, tmp_path / "out.mp4")
    assert (result.duration_us, result.width, result.height, result.fps) == (4 * S, 320, 180, 25.0)
    assert near(frame_at(tmp_path / "out.mp4", 1.0)[90, 160], (255, 0, 0))
    assert near(frame_at(tmp_path / "out.mp4", 3.0)[90, 160], (0, 0, 255))
    with av.open(str(tmp_path / "out.mp4")) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 320, 180)
        assert video.codec_context.pix_fmt == "yuv420p"
        assert abs(float(video.duration * video.time_base) - 4.0) <= 1 / 25


def test_crossfade_and_text_in_the_video(studio, tmp_path, frame_at):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2, transition="Dissolve",
               transition_duration=1.0)
    studio.add("/add_image", d, image_url=studio.url("blue.png"), start=2, end=4)
    studio.add("/add_text", d, text="Title", start=3, end=4, font_size=12, font_color="#FFFFFF",
               transform_y=0.5)
    render(studio, d, tmp_path / "out.mp4")
    assert near(frame_at(tmp_path / "out.mp4", 2.0)[90, 160], (128, 0, 128))
    plain, titled = frame_at(tmp_path / "out.mp4", 2.8), frame_at(tmp_path / "out.mp4", 3.5)
    changed = np.nonzero(np.any(np.abs(titled - plain) > 60, axis=2))[0]
    assert changed.size > 30 and changed.max() < 90              # only in the upper half, where the title is


def test_sound_of_an_audio_track_and_a_video_clip_lasts_the_draft(studio, tmp_path, sound_of):
    d = studio.new()
    studio.add("/add_video", d, video_url=studio.url("clip.mp4"), start=0, end=2.5)
    studio.add("/add_audio", d, audio_url=studio.url("tone.mp3"), start=0, end=2, target_start=1.5)
    result = render(studio, d, tmp_path / "out.mp4")
    samples, rate, duration = sound_of(tmp_path / "out.mp4")
    assert result.duration_us == 3_500_000 and rate == 44100 and samples.shape[0] == 2
    assert abs(duration - 3.5) <= 1024 / rate
    assert abs(samples.shape[1] - 3.5 * rate) <= 1024
    assert rms(samples[:, : rate * 2]) > 0.02                    # the clip's tone
    assert rms(samples[:, int(rate * 2.6): int(rate * 3.4)]) > 0.02   # the audio track alone


def test_volume_zero_is_silent_and_volume_keyframes_change_loudness(studio, tmp_path, sound_of):
    d = studio.new()
    studio.add("/add_video", d, video_url=studio.url("clip.mp4"), start=0, end=2, volume=0)
    render(studio, d, tmp_path / "mute.mp4")
    assert rms(sound_of(tmp_path / "mute.mp4")[0]) < 1e-4

    d = studio.new()
    studio.add("/add_audio", d, audio_url=studio.url("tone.mp3"), start=0, end=3)
    studio.add("/add_video_keyframe", d, track_name="audio_main", property_types=["volume", "volume"],
               times=[1, 2], values=["1.0", "0"])
    render(studio, d, tmp_path / "ramp.mp4")
    samples, rate, _ = sound_of(tmp_path / "ramp.mp4")
    spans = ((0.2, 0.9), (1.4, 1.6), (2.2, 2.9))
    loud, fading, silent = (rms(samples[:, int(rate * a): int(rate * b)]) for a, b in spans)
    assert loud > 0.05 and 0.3 * loud < fading < 0.7 * loud and silent < 1e-3


def test_speed_two_halves_a_clips_length(studio, tmp_path, sound_of):
    d = studio.new()
    studio.add("/add_video", d, video_url=studio.url("clip.mp4"), start=0, end=2, speed=2)
    result = render(studio, d, tmp_path / "out.mp4")
    assert result.duration_us == 1 * S
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 25
    assert abs(sound_of(tmp_path / "out.mp4")[2] - 1.0) <= 1024 / 44100


def test_output_size_names_the_short_side_and_keeps_sides_even():
    from capcut_drafts.model.timeline import Canvas
    assert output_size(Canvas(width=1080, height=1920, fps=30), 720, None) == RenderSize(720, 1280, 30.0)
    assert output_size(Canvas(width=1920, height=1080, fps=30), 480, 24) == RenderSize(852, 480, 24.0)
    assert output_size(Canvas(width=1081, height=1921, fps=25), None, None) == RenderSize(1080, 1920, 25.0)
    assert output_size(Canvas(width=1080, height=1920, fps=30), 2160, 60) == RenderSize(2160, 3840, 60.0)


def test_a_scaled_render_and_progress_reports(studio, tmp_path, frame_at):
    d = studio.new(640, 360)
    studio.add("/add_image", d, image_url=studio.url("green.png"), start=0, end=5)
    seen: list[float] = []
    draft, files = studio.document(d)
    result = render_video(draft, files, str(tmp_path / "out.mp4"), output_size(draft.canvas, 120, 20),
                          on_progress=seen.append)
    assert (result.width, result.height, result.fps) == (212, 120, 20.0)
    assert frame_at(tmp_path / "out.mp4", 1.0).shape == (120, 212, 3)
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0
    assert max(b - a for a, b in zip(seen, seen[1:], strict=False)) <= 0.02 + 1e-9     # 100 frames: every 2 %


def test_should_stop_stops_and_leaves_no_file(studio, tmp_path):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=4)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 10

    with pytest.raises(RenderError, match="stopped"):
        render(studio, d, tmp_path / "out.mp4", should_stop=stop)
    assert len(calls) == 11 and not (tmp_path / "out.mp4").exists()


def test_an_undecodable_file_fails_naming_the_clip(studio, tmp_path):
    d = studio.new()
    studio.add("/add_video", d, video_url=studio.url("broken.mp4"), start=0, end=1)
    with pytest.raises(RenderError, match="track 'video_main', clip at 0s: its media could not be read") as caught:
        render(studio, d, tmp_path / "out.mp4")
    assert str(tmp_path) not in str(caught.value) and not (tmp_path / "out.mp4").exists()


def test_an_audio_only_draft_renders_black_with_sound(studio, tmp_path, frame_at, sound_of):
    d = studio.new()
    studio.add("/add_audio", d, audio_url=studio.url("tone.mp3"), start=0, end=1)
    render(studio, d, tmp_path / "out.mp4")
    assert frame_at(tmp_path / "out.mp4", 0.5).max() < 10 and rms(sound_of(tmp_path / "out.mp4")[0]) > 0.02
