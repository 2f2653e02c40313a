"""The style ranges inside a text material's `content` JSON, reduced to what the apps write.

pyjianyingdraft writes every key of a style range; the apps leave out what is at its default
(CapCut 7.9, 8.1, 8.9 and JianYing 5.4.5β, checked in tests/export/test_layering.py):

* `bold`, `italic`, `underline` only when true (8.1 writes none of them for plain text);
* `alpha` of a fill, stroke or colour only when it is not 1 (JianYing 5.4.5β writes a shadow's 0.8);
* `strokes` only when the range has a border; CapCut strokes carry `mode` 0 (8.9);
* `useLetterColor: true` on every range (8.1: 60 of 99, 8.9: 19 of 19, JianYing 5.4.5β).
"""
from __future__ import annotations

from typing import Any

FLAGS = ("bold", "italic", "underline")


def app_style(style: dict[str, Any], app: str) -> dict[str, Any]:
    """`style` (a content JSON style range) as `app` ("capcut" or "jianying") writes it."""
    out = {key: value for key, value in style.items() if key not in FLAGS or value}
    out["fill"] = _paint(style["fill"])
    strokes = [_paint(s) for s in style.get("strokes") or ()]
    if strokes:
        out["strokes"] = [{**s, "mode": 0} for s in strokes] if app == "capcut" else strokes
    else:
        out.pop("strokes", None)
    out["useLetterColor"] = True
    return out


def _paint(paint: dict[str, Any]) -> dict[str, Any]:
    """A fill or stroke without the alphas that are 1."""
    out = {key: value for key, value in paint.items() if key != "alpha" or value != 1}
    content = paint.get("content")
    if isinstance(content, dict) and isinstance(content.get("solid"), dict):
        solid = {key: value for key, value in content["solid"].items() if key != "alpha" or value != 1}
        out["content"] = {**content, "solid": solid}
    return out
