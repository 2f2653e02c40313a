"""What a local render leaves out is named in its warnings, once per kind and segment; fonts for
CJK text; the render reads timings as the saved draft does."""
from __future__ import annotations

import glob
import shutil

import numpy as np
import pytest

from capcut_drafts.export.builder import build
from capcut_drafts.model.timeline import packed
from capcut_drafts.render import text as text_module
from capcut_drafts.render.engine import render_still
from capcut_drafts.render.scene import build_scene

S = 1_000_000


def test_stickers_effects_filters_masks_and_animations_are_listed_once_each(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2, mask_type="Circle",
               filter_type="ABG", intro_animation="Fade_In", outro_animation="Fade_Out")
    studio.add("/add_sticker", d, sticker_id="7103151324592369934", start=0, end=3)
    studio.add("/add_effect", d, effect_type="Blur", start=0, end=3)
    studio.add("/add_filter", d, filter_type="KE1", start=0, end=3)
    studio.add("/add_text", d, text="Loop", start=0, end=3, loop_animation="Flare", intro_animation="Typewriter")
    draft, files = studio.document(d)
    png, warnings = render_still(draft, files, 1 * S)
    text = "\n".join(warnings)
    for expected in ("sticker 7103151324592369934 is not drawn", "the effect 'Blur' is not drawn",
                     "the filter 'KE1' is not drawn", "the mask 'Circle' is not drawn",
                     "the filter 'ABG' is not drawn", "the loop animation 'Flare' is not drawn",
                     "the intro animation 'Typewriter' is drawn as a fade"):
        assert text.count(expected) == 1, (expected, warnings)
    assert "Fade_In" not in text and "Fade_Out" not in text          # fades are drawn
    assert len(warnings) == len(set(warnings)) == 7
    assert pixels(png)[90, 160][0] > 200                               # the image itself is drawn


def test_video_animations_other_than_fades_and_undrawn_keyframes_are_listed(studio):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2, combo_animation="Spin")
    studio.add("/add_video_keyframe", d, track_name="image_main", property_types=["saturation", "saturation"],
               times=[0, 1], values=["0.5", "-0.5"])
    studio.add("/add_video_keyframe", d, track_name="image_main", property_type="alpha", time=5, value="0.5")
    draft, files = studio.document(d)
    warnings = build_scene(draft, files).warnings
    assert any("the combo animation 'Spin' is not drawn" in w for w in warnings)
    assert sum("saturation keyframes are not drawn" in w for w in warnings) == 1
    assert any("keyframe alpha at 5s on track 'image_main' matches no clip" in w for w in warnings)


def test_a_missing_file_leaves_its_clip_out_with_a_warning(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("red.png"), start=0, end=2)
    studio.add("/add_image", d, image_url=studio.url("blue.png"), start=0, end=2, track_name="top",
               relative_index=1)
    draft, files = studio.document(d)
    blue = next(m.id for m in draft.materials.values() if m.url.endswith("blue.png"))
    del files[blue]
    png, warnings = render_still(draft, files, 1 * S)
    assert pixels(png)[90, 160][0] > 200
    assert warnings == ["track 'top', clip at 0s: its media file is not available locally, so it is left out."]


def test_cjk_text_without_a_cjk_font_renders_with_a_warning(studio, pixels, monkeypatch, tmp_path):
    monkeypatch.setattr(text_module, "CJK_FONT_DIRS", (str(tmp_path),))       # an empty folder: no font
    d = studio.new()
    studio.add("/add_text", d, text="你好 world", start=0, end=2, font_size=15)
    draft, files = studio.document(d)
    png, warnings = render_still(draft, files, 1 * S)
    assert len(warnings) == 1 and "CJK glyphs need a CJK font" in warnings[0] and "render_font" in warnings[0]
    assert pixels(png).max() > 200                                            # drawn all the same
    latin = studio.new()
    studio.add("/add_text", latin, text="hello", start=0, end=2)
    assert render_still(*studio.document(latin), 1 * S)[1] == []


def test_a_cjk_font_found_on_the_system_or_given_is_used_without_warning(studio, monkeypatch, tmp_path):
    fonts = sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True))
    if not fonts:
        pytest.skip("no TrueType font on this machine to stand in for a CJK font")
    shutil.copy(fonts[0], tmp_path / "wqy-zenhei.ttf")
    monkeypatch.setattr(text_module, "CJK_FONT_DIRS", (str(tmp_path),))
    d = studio.new()
    studio.add("/add_text", d, text="你好", start=0, end=2)
    draft, files = studio.document(d)
    assert render_still(draft, files, 1 * S)[1] == []
    assert render_still(draft, files, 1 * S, font_path=fonts[0])[1] == []
    _, warnings = render_still(draft, files, 1 * S, font_path=str(tmp_path / "missing.ttf"))
    assert len(warnings) == 1 and "could not be loaded" in warnings[0] and str(tmp_path) in warnings[0]


@pytest.mark.parametrize("text", ["", " ", "\n\n", "a\x00b", "🙂" * 50, "W" * 2000, "x\ty\rz", "ﷺ" * 3])
def test_any_text_renders_without_crashing(studio, text):
    d = studio.new()
    studio.add("/add_text", d, text=text or "placeholder", start=0, end=1)
    draft, files = studio.document(d)
    segment = draft.tracks[0].segments[0]
    segment.text = packed({**segment.text_spec(), "text": text})
    png, _ = render_still(draft, files, 0)
    assert png.startswith(b"\x89PNG")


def test_open_clips_resolve_as_in_the_saved_draft(studio):
    d = studio.new()
    studio.add("/add_video", d, video_url=studio.url("clip.mp4"))                       # open: the whole 3 s
    studio.add("/add_video", d, video_url=studio.url("clip.mp4"), start=1, target_start=2)   # overlaps once open
    draft, files = studio.document(d)
    scene = build_scene(draft, files)
    built = build(draft)
    assert scene.duration_us == built.content["duration"] == 3 * S
    assert [v.target.length_us for v in scene.visuals] == [3 * S]
    overlap = [w for w in built.warnings if "overlaps" in w]
    assert overlap and overlap[0] in scene.warnings


def test_keyframes_attach_to_the_clip_under_their_time_like_the_builder(studio, pixels):
    d = studio.new()
    studio.add("/add_image", d, image_url=studio.url("white.png"), start=0, end=1)
    studio.add("/add_image", d, image_url=studio.url("white.png"), start=1, end=2)
    studio.add("/add_video_keyframe", d, track_name="image_main", property_type="alpha", time=1, value="0.5")
    draft, files = studio.document(d)
    first, second = (np.asarray(pixels(render_still(draft, files, t)[0])[90, 160]) for t in (500_000, 1_500_000))
    assert abs(int(first[0]) - 128) <= 2 and second[0] == 255     # the boundary belongs to the earlier clip
