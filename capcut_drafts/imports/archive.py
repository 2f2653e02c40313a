"""A zip of an app-written draft folder, opened safely: which entry is the draft, which are media.

The zip is checked as a whole before anything is read from it: at most MAX_ENTRIES entries,
their declared sizes together at most the `import_max_bytes` setting (zipfile never inflates an
entry past its declared size, so the declaration is binding), no name that leaves the folder
(absolute, drive-letter or `..` paths), no symbolic links and no encrypted entries. The draft
folder is the zip's root or its single top-level directory (macOS `__MACOSX/` entries are
ignored); its main file is `draft_content.json` (Windows) or `draft_info.json` (macOS). JianYing
6 and later encrypt that file: a main file that is not JSON text is reported as such.
"""
from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

from capcut_drafts.errors import ApiError, ErrorCode

MAX_ENTRIES = 20_000                      # files in one draft zip (a 1 000-clip project has ~3 000)
MAX_JSON_BYTES = 64 * 1024 ** 2           # the draft file itself (the largest reference: 1.4 MB)
CONTENT_NAMES = ("draft_content.json", "draft_info.json")
MEDIA_SUFFIXES = frozenset((".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mp3", ".wav", ".m4a", ".aac",
                            ".flac", ".ogg", ".opus", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".heic"))
_IGNORED_ROOTS = ("__MACOSX",)


def archive_error(message: str) -> ApiError:
    return ApiError(message, code=ErrorCode.INVALID_ARCHIVE)


@dataclass(frozen=True)
class DraftArchive:
    """An opened, checked draft zip. `media` maps each media file's name (lower case) to its
    entries, shortest path first."""
    zip: zipfile.ZipFile
    root: str                              # the draft folder inside the zip ("" = the zip's root)
    content_entry: zipfile.ZipInfo
    media: dict[str, list[zipfile.ZipInfo]]

    def content(self) -> tuple[str, dict[str, Any]]:
        """The draft JSON as text and parsed: invalid_draft when it is not a JSON object,
        encrypted_draft when it is not text at all (JianYing ≥ 6)."""
        raw = self.zip.read(self.content_entry)
        name = self.content_entry.filename
        text = _text(raw, name)
        try:
            data = json.loads(text, parse_constant=_no_constant)
            json.dumps(data, ensure_ascii=False).encode("utf-8")     # lone surrogates (\\ud800) fail here
        except UnicodeEncodeError:
            raise ApiError(f"{name} holds a lone UTF-16 surrogate (an escape such as \\ud800 that is no character); "
                           "fix that text in the app and save again.", code=ErrorCode.INVALID_DRAFT) from None
        except RecursionError:
            raise ApiError(f"{name} nests lists or objects too deeply to be a draft.",
                           code=ErrorCode.INVALID_DRAFT) from None
        except ValueError as exc:
            raise ApiError(f"{name} is not valid JSON ({exc}); export the draft again from the app.",
                           code=ErrorCode.INVALID_DRAFT) from None
        if not isinstance(data, dict) or not isinstance(data.get("tracks", []), list) \
                or not isinstance(data.get("materials", {}), dict):
            raise ApiError(f"{name} is JSON but not a CapCut/JianYing draft (no 'tracks' list and "
                           "'materials' object).", code=ErrorCode.INVALID_DRAFT)
        return text, data

    def open_media(self, entry: zipfile.ZipInfo) -> IO[bytes]:
        return self.zip.open(entry)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _text(raw: bytes, name: str) -> str:
    """The file as text; encrypted_draft for bytes that are not UTF-8 JSON text."""
    body = raw.removeprefix(b"\xef\xbb\xbf").lstrip()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text.startswith(("{", "[")):
        raise ApiError(f"{name} is not JSON text: JianYing 6 and later encrypt their drafts, which cannot be "
                       "read. Import a draft saved by JianYing 5.9 or earlier, or by CapCut.",
                       code=ErrorCode.ENCRYPTED_DRAFT)
    return text


def open_archive(file: IO[bytes] | str, max_bytes: int) -> DraftArchive:
    """Open and check a draft zip (see the module doc); invalid_archive says what is wrong."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise archive_error(f"The upload is not a readable zip file ({exc}); zip the draft folder and send "
                            "that.") from None
    try:
        entries = list(_checked_entries(archive, max_bytes))
        root, content = _draft_root(entries)
        return DraftArchive(archive, root, content, _media(entries))
    except BaseException:
        archive.close()
        raise


def _checked_entries(archive: zipfile.ZipFile, max_bytes: int) -> Iterator[zipfile.ZipInfo]:
    """The zip's file entries (directories and macOS metadata left out), each checked."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise archive_error(f"The zip has {len(infos)} entries; at most {MAX_ENTRIES} are accepted.")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise ApiError(f"The zip unpacks to {declared} bytes; at most {max_bytes} are accepted "
                       "(setting import_max_bytes).", code=ErrorCode.ARCHIVE_TOO_LARGE)
    for info in infos:
        parts = _parts(info.filename)
        if (info.external_attr >> 16) & 0o170000 == stat.S_IFLNK:
            raise archive_error(f"The zip entry '{info.filename[:200]}' is a symbolic link; links are refused.")
        if info.flag_bits & 0x1:
            raise archive_error(f"The zip entry '{info.filename[:200]}' is encrypted; send an unencrypted zip.")
        if info.is_dir() or not parts or parts[0] in _IGNORED_ROOTS:
            continue
        yield info


def _parts(name: str) -> tuple[str, ...]:
    """The path's parts; invalid_archive for a name that would leave the folder it unpacks to."""
    path = name.replace("\\", "/")
    parts = tuple(part for part in path.split("/") if part not in ("", "."))
    if path.startswith("/") or (parts and len(parts[0]) == 2 and parts[0][1] == ":") or ".." in parts \
            or "\x00" in path:
        raise archive_error(f"The zip entry '{name[:200]}' points outside the draft folder "
                            "(absolute path or '..'); such zips are refused.")
    return parts


def _draft_root(entries: list[zipfile.ZipInfo]) -> tuple[str, zipfile.ZipInfo]:
    """The draft folder (the zip's root, else its single top-level directory) and its main file."""
    by_path = {"/".join(_parts(e.filename)): e for e in entries}
    tops = {path.split("/", 1)[0] for path in by_path if "/" in path}
    roots = [""] + (sorted(tops) if len(tops) == 1 else [])
    for root in roots:
        for name in CONTENT_NAMES:
            entry = by_path.get(f"{root}/{name}" if root else name)
            if entry is not None:
                if entry.file_size > MAX_JSON_BYTES:
                    raise ApiError(f"{entry.filename} is {entry.file_size} bytes; a draft file may have at most "
                                   f"{MAX_JSON_BYTES}.", code=ErrorCode.ARCHIVE_TOO_LARGE)
                return root, entry
    where = "at the zip's root or in its single top-level folder"
    raise archive_error(f"No draft_content.json or draft_info.json {where}: zip the draft folder itself "
                        "(the folder the app keeps for the project).")


def _media(entries: list[zipfile.ZipInfo]) -> dict[str, list[zipfile.ZipInfo]]:
    found: dict[str, list[zipfile.ZipInfo]] = {}
    for entry in entries:
        path = PurePosixPath("/".join(_parts(entry.filename)))
        if path.suffix.lower() in MEDIA_SUFFIXES:
            found.setdefault(path.name.lower(), []).append(entry)
    for candidates in found.values():
        candidates.sort(key=lambda e: (len(e.filename), e.filename))
    return found
