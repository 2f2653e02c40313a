"""A draft's media as local files: what the media cache fetched, probed and checked against the
kind of clip that uses it, and what the probe taught about each material. Saves and renders both
start here."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capcut_drafts.errors import ErrorCode
from capcut_drafts.model import operations
from capcut_drafts.model.timeline import Draft
from capcut_drafts.net.fetcher import FetchError
from capcut_drafts.save.media_cache import CachedFile
from capcut_drafts.save.probe import MediaInfo, ProbeError, probe
from capcut_drafts.save.tasks import FileError

UsableFiles = dict[str, tuple[str, MediaInfo]]
"""material id -> (local path, probe result)."""


def usable_files(draft: Draft, fetched: Mapping[str, CachedFile | FetchError]) -> tuple[UsableFiles, list[FileError]]:
    """Probe each material's fetched file (`fetched`: URL -> MediaCache.fetch_many result); what
    failed to download, to probe or is the wrong kind of media goes to the errors, once per material."""
    files: UsableFiles = {}
    errors: list[FileError] = []
    for material in draft.materials.values():
        if material.at_app_path:
            continue                    # an imported draft's file kept where its maker had it
        result = fetched[material.url]
        if isinstance(result, FetchError):
            errors.append(FileError(url=material.url, code=result.code, message=str(result)))
            continue
        try:
            info = probe(result.path)
        except ProbeError as exc:
            errors.append(FileError(url=material.url, code=ErrorCode.PROBE_FAILED, message=str(exc)))
            continue
        problem = _kind_problem(material.kind, info)
        if problem:
            errors.append(FileError(url=material.url, code=ErrorCode.WRONG_MEDIA_KIND, message=problem))
            continue
        files[material.id] = (result.path, info)
    return files, errors


def learn(draft: Draft, files: UsableFiles) -> dict[str, Any]:
    """The operation that records what probing taught (length, size, media type, extension, whether the
    file has sound); applied to `draft` too, so it resolves open-ended clips as the stored draft will."""
    learned = {}
    for material_id, (_, info) in files.items():
        material = draft.materials[material_id]
        stem = material.file_name.rsplit(".", 1)[0]
        media_type = "audio" if material.kind == "audio" else ("gif" if info.kind == "gif" else
                                                              "photo" if material.kind == "image" else "video")
        learned[material_id] = {"duration_us": info.duration_us, "width": info.width, "height": info.height,
                                "media_type": media_type, "file_name": f"{stem}.{info.ext}",
                                "has_audio": info.has_audio}
    op = operations.set_media(learned)
    operations.apply(draft, op)
    return op


def _kind_problem(kind: str, info: MediaInfo) -> str | None:
    if kind == "image" and info.kind not in ("photo", "gif"):
        return f"image_url points at {info.kind}, not an image"
    if kind == "video" and not info.has_video:
        return "video_url has no video stream"
    if kind == "audio" and not info.has_audio:
        return "audio_url has no audio stream"
    return None
