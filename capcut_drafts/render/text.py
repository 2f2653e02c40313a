"""Text drawing with Pillow: a text segment's spec (capcut_drafts/routes/text.py) → an RGBA image.

Size rule: the apps' font size is a unit of 6 px on a canvas whose short side is 1080 px, so a
size-s text's font is `s × 6 × short side / 1080` px (EM_PER_SIZE). Calibrated on app-written
drafts in the reference set (all with a 1080 px short side): a 42-letter subtitle at size 15 that
its author scaled to 0.65 to keep it on one 1920 px line (more than 5 px per unit, or scale 1
would have fitted), a 23-character Chinese line at size 12 given a 1700 px fixed width and
18-letter portrait titles at size 15 on one line (at most 6.2 and 6.6 px per unit). Lines wrap
at the text's `fixed_width`, else at 82 % of the canvas width (the apps' `line_max_width`).
Border width w (0..100) is a stroke of `w / 100 × 0.2` of the font size (the library's mapping),
bold a stroke of 1/24 of it, a shadow is offset by `distance / 40` font sizes at its angle and
blurred by `smoothing / 4`, a background box pads the text by its `width`/`height` font sizes.
The first style range styles the whole text (scene.py warns when there are several).

Fonts: `font_path` (the `render_font` setting) when given, else Pillow's bundled scalable font
for Latin text; text with CJK characters uses the first CJK font found in CJK_FONT_DIRS and,
when there is none, is drawn with the bundled font (its glyphs show as boxes) with a warning.
App fonts (文轩体, …) are not available locally; every text uses the one font chosen here.
"""
from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont

EM_PER_SIZE = 6 / 1080          # font px per size unit, per px of the output's short side
LINE_MAX_WIDTH = 0.82           # wrap width without fixed_width, share of the canvas width
CJK_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
                 "/System/Library/Fonts", "/Library/Fonts", "C:/Windows/Fonts")
CJK_FONT_NAMES = ("notosanscjk", "notoserifcjk", "notosanssc", "notosanstc", "notosansjp", "sourcehansans",
                  "wqy-zenhei", "wqy-microhei", "droidsansfallback", "pingfang", "msyh", "simhei")
_CJK = re.compile("[\u1100-\u11ff\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f"
                  "\uff00-\uffef\U00020000-\U0003ffff]")
_TOKENS = re.compile("[^\\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+\\s*|\\s+|.", re.S)

Font = ImageFont.FreeTypeFont


@functools.lru_cache(maxsize=8)
def find_cjk_font(dirs: tuple[str, ...]) -> str | None:
    """The first font file under `dirs` whose name is a known CJK family (CJK_FONT_NAMES order)."""
    found: dict[str, str] = {}
    for root in dirs:
        for folder, _, names in os.walk(os.path.expanduser(root)):
            for name in names:
                lower = name.lower()
                if lower.endswith((".ttf", ".otf", ".ttc")):
                    family = next((f for f in CJK_FONT_NAMES if f in lower), None)
                    if family is not None:
                        found.setdefault(family, os.path.join(folder, name))
    return next((found[f] for f in CJK_FONT_NAMES if f in found), None)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def load_font(path: str | None, size: int) -> Font:
    """The font file at `size` px (None: Pillow's bundled one). OSError when it cannot be used."""
    font = ImageFont.truetype(path, size) if path else ImageFont.load_default(size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise OSError("this Pillow has no FreeType support, so text cannot be drawn at a size")
    return font


def wrap(paragraph: str, font: Font, max_width: float) -> list[str]:
    """Greedy line breaking: between words, or between any two CJK characters; a word longer
    than a line is broken between characters."""
    if max_width <= 0 or font.getlength(paragraph) <= max_width:
        return [paragraph]
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(paragraph):
        pieces = [token] if font.getlength(token.rstrip()) <= max_width else list(token)
        for piece in pieces:
            if line and font.getlength((line + piece).rstrip()) > max_width:
                lines.append(line.rstrip())
                line = piece.lstrip()
            else:
                line += piece
    lines.append(line.rstrip())
    return lines


def _rgb(color: str) -> tuple[int, int, int]:
    digits = color.lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _scaled(mask: Image.Image, factor: float) -> Image.Image:
    """`mask` (mode L) times `factor` in 0..1."""
    return mask if factor >= 1 else mask.point(lambda v: round(v * max(factor, 0.0)))


def _layer(size: tuple[int, int], color: str, mask: Image.Image, alpha: float) -> Image.Image:
    layer = Image.new("RGBA", size, (*_rgb(color), 0))
    layer.putalpha(_scaled(mask, alpha))
    return layer


@dataclass(frozen=True)
class _Layout:
    lines: list[str]
    widths: list[float]
    line_height: int
    width: int
    height: int


class TextPainter:
    """Draws text specs for one output size and font choice. Fonts are loaded per painter (one
    render): FreeType faces must not be shared between threads."""

    def __init__(self, width: int, height: int, canvas_width: int, font_path: str | None = None):
        self.width = width
        self.em = min(width, height) * EM_PER_SIZE
        self.to_output = width / max(canvas_width, 1)      # canvas px (fixed_width) -> output px
        self.font_path = font_path
        self.fonts: dict[tuple[str | None, int], Font] = {}

    def font(self, path: str | None, size: int) -> Font:
        key = (path, size)
        if key not in self.fonts:
            self.fonts[key] = load_font(path, size)
        return self.fonts[key]

    def font_for(self, text: str) -> tuple[str | None, list[str]]:
        """The font file for `text` (None: Pillow's bundled font) and warnings about the choice."""
        if self.font_path:
            try:
                self.font(self.font_path, 12)
                return self.font_path, []
            except OSError as exc:
                problem = f"the render font {self.font_path} could not be loaded ({exc}); the bundled font was used"
                return None, [problem]
        if has_cjk(text):
            found = find_cjk_font(CJK_FONT_DIRS)
            if found:
                return found, []
            return None, ["CJK glyphs need a CJK font: none was found on this machine, so they are drawn as "
                          "boxes (install one, e.g. Noto Sans CJK, or name a font file in the render_font setting)"]
        return None, []

    def draw(self, spec: dict) -> tuple[Image.Image | None, list[str]]:
        """The text as an RGBA image whose centre is the text block's centre (None: nothing to draw)."""
        text = str(spec.get("text") or "")
        style = (spec.get("ranges") or [{}])[0]
        path, warnings = self.font_for(text)
        size = max(1, round(float(style.get("size", 8.0)) * self.em))
        try:
            return self.paint(spec, style, self.font(path, size), size), warnings
        except (OSError, ValueError) as exc:
            return None, [*warnings, f"the text could not be drawn ({exc})"]

    def layout(self, spec: dict, font: Font) -> _Layout:
        text = str(spec.get("text") or "")
        fixed = spec.get("fixed_width") or -1
        max_width = fixed * self.to_output if fixed > 0 else LINE_MAX_WIDTH * self.width
        if spec.get("vertical"):
            lines = [char for char in text if char != "\n"]
        else:
            lines = [line for paragraph in text.split("\n") for line in wrap(paragraph, font, max_width)]
        ascent, descent = font.getmetrics()
        widths = [font.getlength(line) for line in lines]
        return _Layout(lines, widths, ascent + descent, max(1, math.ceil(max(widths, default=0))),
                       max(1, (ascent + descent) * len(lines)))

    def paint(self, spec: dict, style: dict, font: Font, size: int) -> Image.Image | None:
        box = self.layout(spec, font)
        border, background, shadow = style.get("border"), spec.get("background"), spec.get("shadow")
        if not "".join(box.lines).strip() and not background:
            return None
        stroke = round(border["width"] / 100 * 0.2 * size) if border else 0
        bold = max(1, size // 24) if style.get("bold") else 0
        shift = shadow["distance"] / 40 * size if shadow else 0.0
        blur = shadow["smoothing"] * size / 4 if shadow else 0.0
        pad_x = background["width"] * size if background else 0.0
        pad_y = background["height"] * size if background else 0.0
        reach = max(pad_x + abs(background["horizontal_offset"] - 0.5) * (box.width + 2 * pad_x),
                    pad_y + abs(background["vertical_offset"] - 0.5) * (box.height + 2 * pad_y)) if background else 0
        italic = 0.2 * box.height if style.get("italic") else 0.0
        margin = math.ceil(max(stroke + bold + shift + 3 * blur + italic / 2, reach)) + 2
        canvas = (box.width + 2 * margin, box.height + 2 * margin)
        fill = Image.new("L", canvas)
        outline = Image.new("L", canvas) if stroke else None
        align = int(spec.get("align") or 0)
        for i, (line, width) in enumerate(zip(box.lines, box.widths, strict=True)):
            x = margin + (box.width - width) * (0.5 if align == 1 or spec.get("vertical") else 1.0 if align == 2
                                                else 0.0)
            y = margin + i * box.line_height
            ImageDraw.Draw(fill).text((x, y), line, fill=255, font=font, stroke_width=bold, stroke_fill=255)
            if outline is not None:
                ImageDraw.Draw(outline).text((x, y), line, fill=255, font=font, stroke_width=bold + stroke,
                                             stroke_fill=255)
            if style.get("underline"):
                base = y + font.getmetrics()[0] + max(1, size // 12)
                ImageDraw.Draw(fill).line([(x, base), (x + width, base)], fill=255, width=max(1, size // 15))
        if italic:
            shear = (1, 0.2, -0.2 * canvas[1] / 2, 0, 1, 0)
            fill = fill.transform(canvas, Image.Transform.AFFINE, shear, Image.Resampling.BILINEAR)
            if outline is not None:
                outline = outline.transform(canvas, Image.Transform.AFFINE, shear, Image.Resampling.BILINEAR)
        image = Image.new("RGBA", canvas, (0, 0, 0, 0))
        if background:
            self.background(image, background, margin, box, pad_x, pad_y)
        glyphs = outline or fill
        if shadow:
            angle = math.radians(shadow["angle"])
            moved = Image.new("L", canvas)
            moved.paste(glyphs, (round(math.cos(angle) * shift), round(-math.sin(angle) * shift)))
            if blur >= 0.5:
                moved = moved.filter(ImageFilter.GaussianBlur(blur))
            image.alpha_composite(_layer(canvas, shadow["color"], moved, shadow["alpha"]))
        if outline is not None and border:
            image.alpha_composite(_layer(canvas, border["color"], outline, border["alpha"]))
        image.alpha_composite(_layer(canvas, style.get("color", "#FFFFFF"), fill, float(style.get("alpha", 1.0))))
        return image

    @staticmethod
    def background(image: Image.Image, spec: dict, margin: int, box: _Layout, pad_x: float, pad_y: float) -> None:
        """The box behind the text: padded, moved by its offsets (0.5 = centred), rounded."""
        width, height = box.width + 2 * pad_x, box.height + 2 * pad_y
        left = margin - pad_x + (spec["horizontal_offset"] - 0.5) * width
        top = margin - pad_y + (spec["vertical_offset"] - 0.5) * height
        radius = spec["round_radius"] * min(width, height) / 2
        color = (*_rgb(spec["color"]), round(255 * spec["alpha"]))
        ImageDraw.Draw(image).rounded_rectangle([left, top, left + width, top + height], radius=radius, fill=color)
