"""What a decoded JSON body may contain before any route sees it.

`json.loads` accepts things the rest of the service cannot handle: strings with lone UTF-16
surrogates (`"\\ud800"` is valid JSON but cannot be encoded as UTF-8, so SQLite, Redis and every
file writer raise on it), the literals `NaN`/`Infinity`, and nesting as deep as the parser's
recursion allows. `check_body` walks the body once, iteratively (so depth itself cannot crash
it), and raises an `ApiError` that names the offending parameter.
"""
from __future__ import annotations

import math
from typing import Any

from capcut_drafts.errors import ApiError, ErrorCode

MAX_DEPTH = 20          # the deepest real body (text_styles → style → color) is 4 levels
DEPTH_CODE = ErrorCode.NESTING_TOO_DEEP


def too_deep(where: str = "the request body") -> ApiError:
    return ApiError(f"{where[0].upper()}{where[1:]} nests lists/objects more than {MAX_DEPTH} levels deep; "
                    "no parameter needs that many, send a flatter value.", code=DEPTH_CODE)


def check_body(body: dict[str, Any]) -> None:
    """Raise ApiError for the first value no route can take; cost is linear in the body size."""
    stack: list[tuple[Any, str, int]] = [(body, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ApiError(f"Invalid parameter '{path}': {value} is not a number; send a finite number.")
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise too_deep(f"parameter '{path.split('.')[0]}'")
            stack.extend(_children(value, path, depth))


def _children(value: dict | list, path: str, depth: int):
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            _check_text(key, child)
            yield item, child, depth + 1
    else:
        for index, item in enumerate(value):
            yield item, f"{path}[{index}]", depth + 1


def _check_text(text: str, path: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end].encode("unicode_escape").decode("ascii")
        name = _printable(path) or "a key"
        raise ApiError(f"Invalid parameter '{name}': it contains {bad}, half of a UTF-16 surrogate pair, which "
                       "is not a character; send valid Unicode text (check how the client escapes emoji).",
                       code=ErrorCode.INVALID_PARAMETER) from None


def _printable(path: str) -> str:
    """The path as it can be shown in a message (keys may hold surrogates themselves)."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")[:120]
