"""Reading an OTIO document a client sent (POST /import_otio): checked in Python before the OTIO
library sees it.

The text is parsed with `json` and walked once, iteratively: its size, nesting depth, string
lengths and item count have limits far above real timelines; NaN, infinities, numbers too large
for a double and lone UTF-16 surrogates are refused; every `OTIO_SCHEMA` must be one this service
reads (`SCHEMAS`) at a version OpenTimelineIO 0.18 knows. Only then is the document, re-serialised
from the checked data, handed to `opentimelineio` to build the Timeline. Each refusal names where
in the document it is (`tracks.children[0].children[3]`) and what to do.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import opentimelineio as otio

from capcut_drafts.errors import ApiError, ErrorCode

MAX_BYTES = 16 * 2 ** 20          # an .otio document (an hour-long edit of 2 000 clips is about 5 MB)
MAX_DEPTH = 64                    # nesting of lists/objects; our own exports reach about 14
MAX_STRING = 100_000              # characters in one string (a name, a URL, a text)
MAX_ITEMS = 10_000                # clips, gaps, transitions, markers, effects and tracks together

# Schemas of the OTIO core this service reads; anything else (plugins' schemas, adapters, hooks,
# UnknownSchema) is refused. Value types have version 1; the others OTIO's own latest.
VALUE_TYPES = {"RationalTime": 1, "TimeRange": 1, "TimeTransform": 1, "Color": 1, "Box2d": 1, "V2d": 1}
OBJECTS = ("Timeline", "Stack", "Track", "Clip", "Gap", "Transition", "Marker", "Effect", "TimeEffect",
           "LinearTimeWarp", "FreezeFrame", "ExternalReference", "GeneratorReference", "MissingReference",
           "ImageSequenceReference")
_VERSIONS = otio.core.type_version_map()
SCHEMAS: dict[str, int] = {**VALUE_TYPES, **{name: int(_VERSIONS[name]) for name in OBJECTS}}
ITEMS = frozenset(OBJECTS[1:10])  # what MAX_ITEMS counts
_SCHEMA = re.compile(r"([A-Za-z][A-Za-z0-9_]{0,63})\.([0-9]{1,9})")

Path = tuple[Any, ...] | None     # (parent path, key): built as the walk goes, shown only on failure


def invalid(message: str) -> ApiError:
    return ApiError(message, code=ErrorCode.INVALID_OTIO)


def too_large(message: str) -> ApiError:
    return ApiError(message, code=ErrorCode.OTIO_TOO_LARGE)


def read_timeline(text: str) -> Any:
    """The OTIO Timeline of `text`, checked (see the module doc); ApiError otherwise."""
    if len(text) > MAX_BYTES:
        raise too_large(f"The OTIO document has {len(text)} characters; at most {MAX_BYTES} are read. Split the "
                        "timeline or leave out large metadata.")
    data = parse_json(text)
    check_tree(data)
    schema = data.get("OTIO_SCHEMA") if isinstance(data, dict) else None
    if not isinstance(schema, str) or not schema.startswith("Timeline."):
        raise invalid(f"The OTIO document must be a Timeline (OTIO_SCHEMA \"Timeline.1\"), not {shown(schema)}: "
                      "export the timeline itself, not a clip, track or collection.")
    try:
        return otio.core.deserialize_json_from_string(json.dumps(data, ensure_ascii=False))
    except Exception as exc:      # noqa: BLE001 — the library raises KeyError, ValueError, TypeError, its own
        raise invalid(f"OpenTimelineIO cannot read the timeline: {library_message(exc)}") from None


def parse_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise too_deep(None) from None
    except ValueError as exc:
        raise invalid(f"The OTIO document is not JSON ({exc}); send the .otio file's text as it is.") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; OTIO times must be finite")


def check_tree(data: Any) -> None:
    """Raise for the first value past a limit or not allowed (see the module doc); linear in size."""
    items = 0
    stack: list[tuple[Any, Path, int]] = [(data, None, 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            check_string(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise invalid(f"{where(path)} is {value}, not a finite number (a number beyond ±1.8e308 is one too).")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 63:
            raise invalid(f"{where(path)} is an integer beyond 64 bits.")
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise too_deep(path)
            if isinstance(value, dict) and "OTIO_SCHEMA" in value:
                items += check_schema(value["OTIO_SCHEMA"], path)
                if items > MAX_ITEMS:
                    raise too_large(f"The timeline has more than {MAX_ITEMS} clips, gaps, transitions, markers, "
                                    "effects and tracks; split it into several timelines and import each.")
            stack.extend(children(value, path, depth))


def children(value: dict[str, Any] | list[Any], path: Path, depth: int) -> Iterator[tuple[Any, Path, int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            check_string(key, (path, key))
            yield item, (path, key), depth + 1
    else:
        for index, item in enumerate(value):
            yield item, (path, index), depth + 1


def check_schema(schema: Any, path: Path) -> int:
    """1 when `schema` names an item MAX_ITEMS counts, else 0; ApiError for a schema not read here."""
    match = _SCHEMA.fullmatch(schema) if isinstance(schema, str) else None
    if match is None or match.group(1) not in SCHEMAS:
        raise invalid(f"{where(path)} has OTIO_SCHEMA {shown(schema)}, which this service does not read. It reads "
                      f"{', '.join(OBJECTS)} and their time values; export the timeline without plugin schemas.")
    name, version = match.group(1), int(match.group(2))
    if version == 0:
        raise invalid(f"{where(path)} has OTIO_SCHEMA {shown(schema)}: schema versions start at 1.")
    if version > SCHEMAS[name]:
        raise ApiError(f"{where(path)} is {name} version {version}, newer than this service reads (OpenTimelineIO "
                       f"{otio.__version__}: {name} up to version {SCHEMAS[name]}). Write the file with "
                       "OpenTimelineIO 0.18 or earlier, or downgrade it (the otio_json adapter's "
                       f"target_schema_versions, e.g. {{\"{name}\": {SCHEMAS[name]}}}).",
                       code=ErrorCode.OTIO_VERSION_UNSUPPORTED)
    return 1 if name in ITEMS else 0


def check_string(text: str, path: Path) -> None:
    if len(text) > MAX_STRING:
        raise too_large(f"{where(path)} is a string of {len(text)} characters; at most {MAX_STRING} are read.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(f"{where(path)} contains half of a UTF-16 surrogate pair, which is not a character; "
                          "send valid Unicode text.") from None


def too_deep(path: Path) -> ApiError:
    at = f" at {where(path)}" if path is not None else ""
    return too_large(f"The OTIO document nests lists/objects more than {MAX_DEPTH} levels deep{at}; no timeline "
                     "needs that many (nested stacks or metadata are too deep).")


def where(path: Path) -> str:
    """`tracks.children[0].name` for the path of a value ('the document' for the whole)."""
    parts: list[str] = []
    while path is not None:
        path, key = path
        parts.append(f"[{key}]" if isinstance(key, int) else f".{printable(key)}")
    text = "".join(reversed(parts)).lstrip(".")
    return f"'{text[:200]}'" if text else "the document"


def printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")[:80]


def shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)[:80] if value is not None else "none"


def library_message(exc: Exception) -> str:
    """The library's message without C++ type names (`N14opentimelineio7v0_18_14ClipE` -> Clip)."""
    text = re.sub(r"N\d+opentimelineio\d+v[0-9_]+?\d+([A-Za-z]+)E", r"\1", str(exc).strip("\"'"))
    return text[:300] or type(exc).__name__
