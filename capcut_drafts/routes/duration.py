"""POST /get_duration: the length of a media file in seconds (a route of the hosted edition).

The file is fetched through the media cache (the safe fetcher with the save's policy: allowed
hosts, size limit, deadline), so a second call for the same URL, or a later save of a clip with
it, reads the cached file instead of downloading again. It is probed with save/probe.py.
`url` (the hosted edition's key) is an alias of `media_url`; `media_url` wins.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.net.fetcher import FetchError
from capcut_drafts.routes.schema import RequestModel
from capcut_drafts.save.probe import ProbeError, probe

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context


class GetDurationRequest(RequestModel):
    REQUIRED = ("media_url",)
    MISSING = "Hi, the required parameter 'media_url' is missing. Please add it and try again."
    ALTERNATIVES = {"media_url": ("url",)}
    media_url: str = ""
    url: str | None = None


def get_duration(ctx: Context, req: GetDurationRequest) -> dict:
    url = (req.media_url or req.url or "").strip()
    try:
        cached = ctx.media.get(url)
    except FetchError as exc:
        raise ApiError(f"Could not download the media file: {exc}.", code=exc.code) from None
    try:
        info = probe(cached.path)
    except ProbeError as exc:
        raise ApiError(f"The file at media_url is not readable media: {exc}.", code=ErrorCode.PROBE_FAILED) from None
    if info.duration is None:
        raise ApiError(f"The file at media_url is a still image ({info.ext}); it has no duration.",
                       code=ErrorCode.WRONG_MEDIA_KIND)
    return {"duration": info.duration}
