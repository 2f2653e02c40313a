"""Still frames (render_still) checked by their pixels: placement, transform, keyframes, text,
transitions, background blur and the PNG itself. Canvas 320x180 unless a test says otherwise;
the 160x90 test images fill it at scale 1."""
from __future__ import annotations

import numpy as np
import pytest

from capcut_drafts.model.timeline import ImageTransform
from capcut_drafts.render.engine import RenderError, render_still

S = 1_000_000
RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def near(pixel, colour, tolerance: int = 6) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel) - np.asarray(colour)) <= tolerance))


def box(frame: np.ndarray, colour, tolerance: int = 6) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels of `colour`, right/bottom exclusive."""
    mask = np.all(np.abs(frame - np.asarray(colour)) <= tolerance, axis=2)
    rows, cols = np.nonzero(mask)
    assert rows.size, f"no pixel of {colour}"
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def still(studio, draft_id: str, seconds: float, **kwargs) -> tuple[bytes, list[str]]:
    draft, files = studio.document(draft_id)
    return render_still(draft, files, int(seconds * S), **kwargs)


def test_images_show_in_their_time_and_the_png_has_the_requested_width(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2)
    studio.add("/add_image", d, image_url=studio.url("blue.png"), start=2, end=4)
    first, second = pixels(still(studio, d, 1)[0]), pixels(still(studio, d, 3)[0])
    assert first.shape == (180, 320, 3) and near(first[90, 160], RED) and near(first[0, 0], RED)
    assert near(second[90, 160], BLUE) and near(second[179, 319], BLUE)
    small = pixels(still(studio, d, 3, width=100)[0])
    assert small.shape == (56, 100, 3) and near(small[28, 50], BLUE)


def test_transform_x_half_moves_content_a_quarter_of_the_width_right_and_y_moves_up(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2, scale_x=0.5, scale_y=0.5)
    studio.add("/add_image", d, image_url=studio.url("blue.png"), start=2, end=4, scale_x=0.5, scale_y=0.5,
               transform_x=0.5, transform_y=0.5)
    centred, moved = pixels(still(studio, d, 1)[0]), pixels(still(studio, d, 3)[0])
    assert box(centred, RED) == (80, 45, 240, 135)           # half of the canvas, in its middle
    assert near(centred[10, 10], BLACK)                      # the canvas background
    left, top, right, bottom = box(moved, BLUE)
    assert (left, right) == (160, 320)                       # 80 px = a quarter of 320 to the right
    assert (top, bottom) == (0, 90)                          # 45 px = a quarter of 180 up


def test_rotation_keyframe_turns_clockwise(studio, pixels):
    d = studio.new(320, 320)
    studio.add("/add_image", d, image_url=studio.url("halves.png"), start=0, end=2, scale_x=0.5, scale_y=0.5)
    studio.add("/add_video_keyframe", d, track_name="image_main", property_type="rotation", time=0, value="90deg")
    frame = pixels(still(studio, d, 1)[0])
    red, green = box(frame, RED, 40), box(frame, GREEN, 40)
    assert red[3] <= green[1] + 2                          # the left (red) half is now on top
    assert abs((red[2] - red[0]) - 90) <= 2 and abs((red[3] - red[1]) - 80) <= 2   # 80x90 turned: 90 wide


def test_alpha_and_flips(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("halves.png"), start=0, end=2)
    studio.add("/add_image", d, image_url=studio.url("white.png"), start=2, end=4)
    studio.add("/add_video_keyframe", d, track_name="image_main", property_type="alpha", time=3, value="50%")
    draft, files = studio.document(d)
    plain = render_still(draft, files, 1 * S)[0]
    assert near(pixels(plain)[90, 20], RED) and near(pixels(plain)[90, 300], GREEN)
    assert near(pixels(render_still(draft, files, 3 * S)[0])[90, 160], (128, 128, 128), 2)
    first = draft.track("image_main").segments[0]
    first.transform = ImageTransform(flip_horizontal=True, flip_vertical=True)
    flipped = pixels(render_still(draft, files, 1 * S)[0])
    assert near(flipped[90, 20], GREEN) and near(flipped[90, 300], RED)


def test_position_keyframes_move_content_linearly_and_hold_after_the_last(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=4, scale_x=0.25, scale_y=0.25)
    studio.add("/add_video_keyframe", d, track_name="image_main", property_types=["position_x", "position_x"],
               times=[1, 3], values=["-0.5", "0.5"])
    lefts = {t: box(pixels(still(studio, d, t)[0]), RED)[0] for t in (0.5, 2, 3.5)}
    assert lefts == {0.5: 40, 2: 120, 3.5: 200}    # 80 px wide, centred at 80 (held), 160, 240 (held)


def test_text_changes_pixels_only_in_its_box_and_only_while_on_screen(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("blue.png"), start=0, end=4)
    studio.add("/add_text", d, text="Hello", start=1, end=2, font_size=10, font_color="#FFFFFF")
    before, during, after = (pixels(still(studio, d, t)[0]) for t in (0.5, 1.5, 3))
    changed = np.any(np.abs(during - before) > 30, axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.size > 50
    assert cols.min() > 100 and cols.max() < 220 and rows.min() > 70 and rows.max() < 110     # around the centre
    assert np.array_equal(before, after)
    assert near(during[0, 0], BLUE) and near(during[179, 319], BLUE)


def test_text_style_border_background_and_fade_in(studio, pixels):
    d = studio.new()
    studio.add("/add_text", d, text="Hi", start=0, end=2, font_size=20, font_color="#00FF00", border_width=60,
               border_color="#FF0000", background_color="#0000FF", background_alpha=1.0,
               intro_animation="Fade_In", intro_duration=1.0)
    full = pixels(still(studio, d, 1.5)[0])
    colours = {tuple(p) for p in full.reshape(-1, 3)}
    assert any(near(c, GREEN, 20) for c in colours) and any(near(c, RED, 20) for c in colours)
    assert any(near(c, BLUE, 0) for c in colours)                          # the background box
    half = pixels(still(studio, d, 0.5)[0])
    assert half.max() < full.max() and 100 < half[:, :, 2].max() < 140    # half-way through the fade


def test_crossfade_mid_transition_is_an_even_mix(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2, transition="Dissolve",
               transition_duration=1.0)
    studio.add("/add_image", d, image_url=studio.url("blue.png"), start=2, end=4)
    frames = {t: pixels(still(studio, d, t)[0])[90, 160] for t in (1.4, 2.0, 2.6)}
    assert near(frames[1.4], RED) and near(frames[2.6], BLUE)
    assert near(frames[2.0], (128, 0, 128), 3)
    quarter = pixels(still(studio, d, 1.75)[0])[90, 160]
    assert quarter[0] > quarter[2] > 30                                     # more red than blue, both


def test_background_blur_fills_the_canvas_behind_a_small_clip(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("green.png"), start=0, end=2, scale_x=0.5, scale_y=0.5,
               background_blur=3)
    frame = pixels(still(studio, d, 1)[0])
    assert near(frame[5, 5], GREEN, 10) and near(frame[90, 160], GREEN)


def test_still_of_a_video_shows_the_frame_of_that_source_time_with_speed(studio, pixels):
    # clip.mp4 frame i has luma (7 i) % 220 + 16, grey (7 i) % 220 * 255 / 219 in RGB; neighbours differ by 8
    d = studio.new()
    studio.add("/add_video", d, video_url=studio.url("clip.mp4"), start=0, end=2, speed=2)
    grey = pixels(still(studio, d, 0.5)[0])[90, 160]
    assert abs(int(grey[0]) - (7 * 25) % 220 * 255 / 219) <= 3       # timeline 0.5 s = source 1.0 s = frame 25


def test_empty_draft_and_bad_width_are_refused(studio):
    d = studio.new()
    with pytest.raises(RenderError, match="nothing to show"):
        still(studio, d, 0)
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=1)
    with pytest.raises(RenderError, match="width"):
        still(studio, d, 0, width=100_000)


def test_a_time_past_the_end_shows_the_last_frame(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=1)
    assert near(pixels(still(studio, d, 50)[0])[90, 160], RED)
