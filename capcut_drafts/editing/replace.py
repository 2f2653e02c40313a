"""`replace` of /render_template: swap texts and media of a template by what they are, not by fields.

A key names segments three ways, tried in this order: a segment id; the text of text segments
exactly as it appears; the file name of the media clips use (the app's material name for an
imported draft, the URL's last path part otherwise; case-insensitive). The value is the new text,
or the URL of the new media. Segments made by a route are planned again by that route with the
new text or URL (every check of adding applies). Segments of an imported app draft keep every
setting the designer made: a new text takes the first style of the old one, new media take the
clip's place and timing (source from the new file's start, `fit` for a different length), and
the save writes them over the app's own objects (capcut_drafts/export/imported.py).
"""
from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from capcut_drafts.editing import segments
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.imports.reader import MADE_BY as IMPORTED
from capcut_drafts.model.operations import Op
from capcut_drafts.model.time import TimeRange
from capcut_drafts.model.timeline import Draft, Segment, Track, packed
from capcut_drafts.model.timing import Fit
from capcut_drafts.routes.media import checked_media_url, material_for

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

MAX_REPLACE = 10_000              # keys in one `replace` object
URL_PARAMS = {"video": "video_url", "audio": "audio_url", "image": "image_url"}


@dataclass(frozen=True)
class Swap:
    """One segment to change: its id and the new text or media URL."""
    segment_id: str
    value: str
    key: str


def swaps(draft: Draft, replace: Mapping[str, Any], notes: list[str]) -> list[Swap]:
    """The segments `replace` names, each with its new value (a key naming none: a warning)."""
    if len(replace) > MAX_REPLACE:
        raise ApiError(f"Invalid parameter 'replace': at most {MAX_REPLACE} keys (got {len(replace)}).")
    by_text, by_file = _indexes(draft)
    found: dict[str, Swap] = {}
    unmatched = []
    for key, value in replace.items():
        if not isinstance(value, str):
            raise ApiError(f"Invalid parameter 'replace.{key[:64]}': the new text or media URL must be a string.",
                           code=ErrorCode.INVALID_PARAMETER)
        ids = [key] if draft.find_segment(key) is not None else by_text.get(key) or by_file.get(key.lower(), [])
        if not ids:
            unmatched.append(key)
        found.update((segment_id, Swap(segment_id, value, key)) for segment_id in ids)
    if unmatched:
        shown = ", ".join(f"'{key[:64]}'" for key in unmatched[:20])
        notes.append(f"replace: no segment id, text or media file name matches {shown}; ignored.")
    return list(found.values())


def _indexes(draft: Draft) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """text -> text segment ids; file name (lower case) -> ids of the clips using that file."""
    by_text: dict[str, list[str]] = {}
    by_file: dict[str, list[str]] = {}
    for _, segment in _all(draft):
        text = segment.text_content()
        if text is not None:
            by_text.setdefault(text, []).append(segment.id)
        material = draft.materials.get(segment.material_id or "")
        if material is not None:
            for name in {material.file_name.lower(), _url_name(material.url).lower()} - {""}:
                by_file.setdefault(name, []).append(segment.id)
    return by_text, by_file


def _all(draft: Draft) -> Iterator[tuple[Track, Segment]]:
    for track in draft.tracks:
        for segment in track.segments:
            yield track, segment


def _url_name(url: str) -> str:
    try:
        return unquote(posixpath.basename(urlsplit(url).path))
    except ValueError:
        return ""


def swap_op(ctx: Context, draft: Draft, swap: Swap, fit: Fit, notes: list[str]) -> Op | None:
    """The operation that gives one segment its new text or media; a refusal names the key."""
    track, segment = segments.find(draft, swap.segment_id)
    try:
        if segment.made_by == IMPORTED:
            return imported_op(draft, track, segment, swap.value, fit)
        return route_op(ctx, draft, track, segment, swap.value, fit, notes)
    except ApiError as exc:
        raise ApiError(f"replace '{swap.key[:64]}' (segment {segment.id} on track '{track.name}'): {exc.message}",
                       code=exc.code, http_status=exc.http_status, details={**exc.details,
                                                                             "segment_id": segment.id}) from None


def route_op(ctx: Context, draft: Draft, track: Track, segment: Segment, value: str, fit: Fit,
             notes: list[str]) -> Op | None:
    """Plan a route-made segment again with the new text or URL (a new clip's media with `fit`)."""
    material = draft.materials.get(segment.material_id or "")
    key = "text" if segment.text is not None else URL_PARAMS.get(material.kind if material else "")
    if key is None:
        raise ApiError("this segment has neither text nor media to replace.", code=ErrorCode.INVALID_PARAMETER)
    clip_fit = fit if material is not None and material.kind != "image" else None
    op, _ = segments.replan(ctx, draft, track, segment, {key: value}, notes, "/render_template", clip_fit)
    return op


def imported_op(draft: Draft, track: Track, segment: Segment, value: str, fit: Fit) -> Op | None:
    """The imported segment with a new text (first style over all of it) or new media."""
    old_text = segment.text_spec()
    if old_text is not None:
        ranges = old_text["ranges"][:1]
        spec = {**old_text, "text": value,
                "ranges": [{**ranges[0], "start": 0, "end": len(value)}] if ranges and value else []}
        new = segment.model_copy(update={"text": packed(spec)})
        return _replacement(draft, track, segment, new, None)
    old = draft.materials.get(segment.material_id or "")
    if old is None:
        raise ApiError("this segment has neither text nor media to replace.", code=ErrorCode.INVALID_PARAMETER)
    url = checked_media_url(value, "replace")
    material, is_new = material_for(draft, old.kind, url, None)
    source = TimeRange(start_us=0, duration_us=round(segment.target.length_us * segment.speed))
    new = segment.model_copy(update={"material_id": material.id, "source": source,
                                     "fit": fit if old.kind != "image" else None})      # images have no length
    return _replacement(draft, track, segment, new, material.model_dump() if is_new else None)


def _replacement(draft: Draft, track: Track, old: Segment, new: Segment, material: dict | None) -> Op | None:
    if new == old:
        return None
    planned: dict[str, Any] = {"track": {"name": track.name}, "material": material}
    op = segments.replacement_op(draft, track, old, new, planned)
    return {**op, "what": {"operation": "/render_template", "segment_id": old.id, "track_name": track.name}}
