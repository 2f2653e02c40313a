"""Pieces shared by the media routes (video, audio, image): materials, transitions, masks,
background blur, draft folders. Each helper validates and returns document objects; nothing
here touches the network or the draft."""
from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, profiles
from capcut_drafts.model.ids import id_for, url_digest
from capcut_drafts.model.time import TimeRange, seconds_range, to_us
from capcut_drafts.model.timeline import Draft, Mask, Material, Transition
from capcut_drafts.routes.drafts import change
from capcut_drafts.routes.schema import MaskParams, TransitionParams
from capcut_drafts.save import paths

# Extension used when the URL does not tell (upstream always used these).
DEFAULT_EXT = {"video": "mp4", "audio": "mp3", "image": "png"}
KNOWN_EXT = {
    "video": {"mp4", "mov", "m4v", "webm", "mkv", "avi", "gif"},
    "audio": {"mp3", "m4a", "aac", "wav", "flac", "ogg", "opus"},
    "image": {"png", "jpg", "jpeg", "webp", "gif", "bmp"},
}
BLUR_LEVELS = {1: 0.0625, 2: 0.375, 3: 0.75, 4: 1.0}


def app_of(draft: Draft) -> str:
    return profiles.resolve(draft.profile).app


def checked_media_url(url: str, name: str) -> str:
    """The media URL a client gave for parameter `name`, stripped, when it is http(s): server
    paths and other schemes are refused at add time, never read. Whether its host may be fetched
    is decided at download time (capcut_drafts/net/fetcher.py)."""
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


def material_for(draft: Draft, kind: str, url: str, draft_folder: str | None,
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


def transition_for(draft: Draft, req: TransitionParams) -> Transition | None:
    if not req.transition:
        return None
    entry = catalog.lookup(app_of(draft), "transition", req.transition)
    return Transition(name=entry.name, duration_us=to_us(req.transition_duration))


def mask_for(draft: Draft, req: MaskParams, center: float, size: float) -> Mask | None:
    """`center`/`size` are the route's defaults (video 0.5/1.0, image 0.0/0.5, as upstream)."""
    if not req.mask_type:
        return None
    entry = catalog.lookup(app_of(draft), "mask", req.mask_type)
    is_rect = entry.resource_type == "rectangle"
    if not is_rect and (req.mask_rect_width is not None or req.mask_round_corner is not None):
        raise ApiError(f"mask_rect_width and mask_round_corner apply only to the rectangle mask, "
                       f"not to '{req.mask_type}'.", code=ErrorCode.INVALID_PARAMETER)
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


MIN_SPEED, MAX_SPEED = 0.01, 100.0     # the apps' own slider stops at 0.1× and 100×


def positive_speed(speed: float) -> float:
    """The speed if the timeline can hold it; a clip slowed 1e-320× would be longer than any number."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ApiError(f"Invalid parameter 'speed': it must be from {MIN_SPEED:g} to {MAX_SPEED:g} (got {speed:g}); "
                       "1.0 is normal speed, 2.0 twice as fast.", code=ErrorCode.INVALID_PARAMETER)
    return speed


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
