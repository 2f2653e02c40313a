"""POST /import_draft: a zip of an app-written draft folder becomes one of our drafts.

The zip comes as a multipart upload (form field `file`; the request body is capped by
`max_body_bytes`) or from `draft_zip_url` (downloaded with the media fetcher's rules: public
hosts only unless allowed, at most `import_max_bytes`). It is checked (imports/archive.py) and
read (imports/reader.py) before anything is kept; then the media files the draft uses that the
zip holds are stored in the media cache by content (`imported:` URLs, never evicted) and the
draft is stored. A refused import leaves no draft behind.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
import zipfile
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, Any, ClassVar

from capcut_drafts.editing.manage import DraftName
from capcut_drafts.errors import ApiError
from capcut_drafts.imports.archive import DraftArchive, open_archive
from capcut_drafts.imports.reader import read_draft
from capcut_drafts.model.ids import new_draft_id
from capcut_drafts.model.timeline import Draft
from capcut_drafts.net.fetcher import FetchError, download_to, policy_from
from capcut_drafts.routes.drafts import draft_url
from capcut_drafts.routes.media import checked_media_url
from capcut_drafts.routes.schema import Reply, RequestModel
from capcut_drafts.save.paths import base_name

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

ENTRY_SCHEME = "zip-entry:"       # a media file of the zip, until the import is kept


class ImportDraftRequest(RequestModel):
    REQUIRED: ClassVar[tuple[str, ...]] = ("draft_zip_url",)
    MISSING = ("Hi, the required parameter 'draft_zip_url' is missing. Send the zip of a draft folder as a "
               "multipart upload (form field 'file') or its URL as 'draft_zip_url'.")
    draft_zip_url: str | None = None
    name: DraftName | None = None


class UploadRequest(ImportDraftRequest):
    """The form fields of a multipart upload: the zip is the `file` field, not a URL."""
    REQUIRED = ()


def import_from_url(ctx: Context, req: ImportDraftRequest) -> Reply:
    """POST /import_draft with a JSON body: the zip at `draft_zip_url`."""
    url = checked_media_url(req.draft_zip_url or "", "draft_zip_url")
    policy = policy_from(ctx.settings, max_bytes=ctx.settings.import_max_bytes)
    fd, path = tempfile.mkstemp(prefix="capcut-import-", suffix=".zip")
    os.close(fd)
    try:
        try:
            download_to(url, path, policy, hash_content=False)
        except FetchError as exc:
            raise ApiError(f"Could not download draft_zip_url: {exc}", code=exc.code, http_status=400) from None
        with open(path, "rb") as file:
            return import_zip(ctx, file, req.name)
    finally:
        os.unlink(path)


def import_upload(ctx: Context, fields: dict[str, Any], file: IO[bytes]) -> Reply:
    """POST /import_draft as multipart/form-data: the zip in field `file`, `name` a form field."""
    return import_zip(ctx, file, UploadRequest.parse(fields).name)


def import_zip(ctx: Context, file: IO[bytes], name: str | None) -> Reply:
    """Import the draft zip `file` (see the module doc)."""
    archive = open_archive(file, ctx.settings.import_max_bytes)
    with archive.zip:
        text, content = archive.content()
        draft_id = new_draft_id()
        folder_name = PurePosixPath(archive.root).name
        draft, notes = read_draft(content, text, lambda path: entry_url(archive, path), draft_id,
                                  name or _draft_name(content, folder_name, draft_id), time.time())
        kept = keep_media(ctx, archive, draft)
    ctx.cache.create(draft)
    output: dict[str, Any] = {
        "draft_id": draft.id, "draft_url": draft_url(ctx, draft), "profile": draft.profile,
        "app_version": draft.base.app_version if draft.base else "",
        "tracks": len(draft.tracks), "segments": draft.segment_count(), "media_in_zip": kept,
        "warnings": notes}
    return Reply(output, notes)


def _draft_name(content: dict[str, Any], folder_name: str, draft_id: str) -> str:
    """The draft's own name, else the zipped folder's, else the id (cut to the name limit)."""
    for candidate in (content.get("name"), folder_name):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:200]
    return draft_id


def entry_url(archive: DraftArchive, path: str) -> str | None:
    """A placeholder URL of the zip entry holding the media file at app path `path`, if any: the
    same file name (case-insensitive), preferring the entry whose folders match the path's end."""
    candidates = archive.media.get(base_name(path).lower())
    if not candidates:
        return None
    wanted = [part.lower() for part in re.split(r"[\\/]", path)]
    best = max(candidates, key=lambda e: _shared_tail(wanted, [p.lower() for p in e.filename.split("/")]))
    return ENTRY_SCHEME + best.filename


def _shared_tail(a: list[str], b: list[str]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def keep_media(ctx: Context, archive: DraftArchive, draft: Draft) -> int:
    """Store the zip's media files the draft uses in the media cache and point their materials
    at them; how many files were stored."""
    urls: dict[str, str] = {}
    for material in draft.materials.values():
        if not material.url.startswith(ENTRY_SCHEME):
            continue
        entry_name = material.url[len(ENTRY_SCHEME):]
        if entry_name not in urls:
            entry: zipfile.ZipInfo = archive.zip.getinfo(entry_name)
            with archive.open_media(entry) as stream:
                urls[entry_name] = ctx.media.keep(stream, PurePosixPath(entry_name).name)
        material.url = urls[entry_name]
    return len(urls)
