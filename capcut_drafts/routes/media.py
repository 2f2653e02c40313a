"""Pieces shared by the media routes (video, audio, image): materials, transitions, masks,
background blur, speed and volume, draft folders. Each helper validates and returns document
objects; numbers upstream writes unchecked are clamped into the app's range with a note. Nothing
here touches the network or the draft."""
from __future__ import annotations

import posixpath
from typing import TypeVar
from urllib.parse import urlsplit

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, profiles
from capcut_drafts.model.ids import id_for, url_digest
from capcut_drafts.model.time import TimeRange, seconds_range, to_us
from capcut_drafts.model.timeline import Draft, Mask, Material, MaterialKind, Transition
from capcut_drafts.model.timing import MAX_SPEED, MIN_SPEED
from capcut_drafts.routes.drafts import change
from capcut_drafts.routes.schema import PLACEHOLDER, MaskParams, RequestModel, TransitionParams, clamped
from capcut_drafts.save import paths

# Extension used when the URL does not tell (upstream always used these).
DEFAULT_EXT = {"video": "mp4", "audio": "mp3", "image": "png"}
KNOWN_EXT = {
    "video": {"mp4", "mov", "m4v", "webm", "mkv", "avi", "gif"},
    "audio": {"mp3", "m4a", "aac", "wav", "flac", "ogg", "opus"},
    "image": {"png", "jpg", "jpeg", "webp", "gif", "bmp"},
}
BLUR_LEVELS = {1: 0.0625, 2: 0.375, 3: 0.75, 4: 1.0}


def has_placeholder(value: str) -> bool:
    """Whether `value` holds a merge field `{{name}}` (filled by /render_template)."""
    return PLACEHOLDER.search(value) is not None


def app_of(draft: Draft) -> str:
    return profiles.resolve(draft.profile).app


def checked_media_url(url: str, name: str) -> str:
    """The media URL a client gave for parameter `name`, stripped, when it is http(s): server
    paths and other schemes are refused at add time, never read. Whether its host may be fetched
    is decided at download time (capcut_drafts/net/fetcher.py). A URL holding a merge field
    (`{{clip}}`) is kept as sent: /render_template checks the filled URL here."""
    if has_placeholder(url):
        return url.strip()
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(f"Invalid parameter '{name}': use an http:// or https:// URL (got '{url[:80]}'); "
                       "paths on the server and other schemes are not accepted.", code=ErrorCode.INVALID_URL)
    return url.strip()


def check_draft_folder(folder: str | None) -> str | None:
    """The client's drafts folder (Windows, UNC, macOS or Linux), validated and normalised."""
    if not folder:
        return None
    try:
        return paths.validate_draft_folder(folder)
    except ValueError as exc:
        raise ApiError(f"Invalid parameter 'draft_folder': {exc}", code=ErrorCode.INVALID_PARAMETER) from None


def material_for(draft: Draft, kind: MaterialKind, url: str, draft_folder: str | None,
                 duration_us: int | None = None) -> tuple[Material, bool]:
    """The draft's material for this URL (the first add's metadata wins, as upstream) and whether
    it is new. File names follow upstream: <kind>_<sha256(url)[:16]>.<ext>."""
    ext = posixpath.splitext(urlsplit(url).path)[1].lstrip(".").lower()
    if ext not in KNOWN_EXT[kind]:
        ext = DEFAULT_EXT[kind]
    file_name = f"{kind}_{url_digest(url)}.{ext}"
    material_id = id_for(file_name)
    existing = draft.materials.get(material_id)
    if existing is not None:
        return existing, False
    return Material(id=material_id, kind=kind, url=url, file_name=file_name,
                    duration_us=duration_us, draft_folder=draft_folder), True


def add_media(ctx, req, plan, url: str) -> dict:
    """Apply a media clip's plan, then start downloading its file in the background so a save
    usually finds it ready."""
    output = change(ctx, req, plan)
    if ctx.media is not None and ctx.settings.prefetch_on_add:
        ctx.media.prefetch(url.strip())
    return output


def transition_for(draft: Draft, req: TransitionParams, length_us: int | None, notes: list[str]) -> Transition | None:
    """The clip's transition; a duration longer than the clip (`length_us`, None while the clip
    is open-ended) is cut to the clip's length with a note, where upstream writes it as sent."""
    if not req.transition:
        return None
    entry = catalog.lookup(app_of(draft), "transition", req.transition)
    duration = to_us(req.transition_duration)
    if length_us is not None and duration > length_us:
        notes.append(f"Parameter 'transition_duration' is {req.transition_duration:g}s, longer than the clip "
                     f"({length_us / 1e6:g}s); {length_us / 1e6:g}s was used.")
        duration = length_us
    return Transition(name=entry.name, duration_us=duration)


# The app's range of the mask numbers upstream passes through unchecked (its sliders stop there).
MASK_RANGES = {"mask_feather": (0.0, 100.0), "mask_round_corner": (0.0, 100.0)}


def mask_for(draft: Draft, req: MaskParams, center: float, size: float, notes: list[str]) -> Mask | None:
    """`center`/`size` are the route's defaults (video 0.5/1.0, image 0.0/0.5, as upstream).
    Feather and round corner outside 0..100 are clamped, a size of 0 or less gives the default
    size; each with a note (upstream writes them as sent)."""
    if not req.mask_type:
        return None
    entry = catalog.lookup(app_of(draft), "mask", req.mask_type)
    is_rect = entry.resource_type == "rectangle"
    if not is_rect and (req.mask_rect_width is not None or req.mask_round_corner is not None):
        raise ApiError(f"mask_rect_width and mask_round_corner apply only to the rectangle mask, "
                       f"not to '{req.mask_type}'.", code=ErrorCode.INVALID_PARAMETER)
    req = clamped(req, MASK_RANGES, notes)
    if req.mask_size is not None and req.mask_size <= 0:
        notes.append(f"Parameter 'mask_size' is {req.mask_size:g}, but a mask needs a size above 0 (a fraction "
                     f"of the canvas height); the default {size:g} was used.")
        req = req.model_copy(update={"mask_size": None})
    pick = lambda value, default: default if value is None else value  # noqa: E731
    return Mask(name=entry.name, center_x=pick(req.mask_center_x, center), center_y=pick(req.mask_center_y, center),
                size=pick(req.mask_size, size), rotation=req.mask_rotation, feather=req.mask_feather,
                invert=req.mask_invert, rect_width=req.mask_rect_width, round_corner=req.mask_round_corner)


def blur_for(level: int | None) -> int | None:
    if level is None:
        return None
    if level not in BLUR_LEVELS:
        raise ApiError(f"Invalid background blur level: {level}, valid values are: 1, 2, 3, 4.",
                       code=ErrorCode.INVALID_PARAMETER)
    return level


MAX_VOLUME = 10.0                      # +20 dB, the top of the apps' volume slider


class ClipParams(RequestModel):
    """Playback of a video or audio clip; `clip_numbers` moves both into the app's range."""
    speed: float = 1.0
    volume: float = 1.0


C = TypeVar("C", bound=ClipParams)


def clip_numbers(req: C, notes: list[str]) -> C:
    """`req` with `speed` and `volume` clamped to the app's range, a note each (upstream writes
    them as sent). A speed of 0 or less is refused: upstream divides by it, or writes a clip of
    negative length."""
    if req.speed <= 0:
        raise ApiError(f"Invalid parameter 'speed': it must be above 0 (got {req.speed:g}); 1.0 is normal speed, "
                       f"2.0 twice as fast, and the app plays {MIN_SPEED:g} to {MAX_SPEED:g}.",
                       code=ErrorCode.INVALID_PARAMETER)
    return clamped(req, {"speed": (MIN_SPEED, MAX_SPEED), "volume": (0.0, MAX_VOLUME)}, notes)


def source_range(start: float, end: float | None) -> TimeRange:
    """The cut [start, end) of the source in µs; open (to the media's end) when `end` is None."""
    if to_us(start) < 0:
        raise ApiError(f"Invalid parameter 'start': it cannot be negative (got {start}).")
    return seconds_range(start, end)


def timeline_target(target_start: float, source: TimeRange, speed: float) -> TimeRange:
    """Where a cut of `source` played at `speed` sits on the timeline: from `target_start`
    seconds, open while the source is."""
    duration = None if source.duration_us is None else round(source.duration_us / speed)
    return TimeRange(start_us=to_us(target_start), duration_us=duration)
