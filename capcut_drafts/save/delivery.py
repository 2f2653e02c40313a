"""Where saved drafts live on this host and how they are handed out: the folder, its zip, the
draft's page, a per-draft lock so two saves never write one folder at once, and clean-up of
outputs older than the retention setting.

Only regular files inside a saved folder are handed out. A symbolic link (to a file or a folder,
anywhere in the folder, or the folder itself) is never followed: the walk opens every folder and
file relative to its parent with O_NOFOLLOW and checks what it opened, so a link put in place
after the listing is refused too."""
from __future__ import annotations

import html
import os
import shutil
import stat
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl

from filelock import FileLock

if TYPE_CHECKING:                 # annotations only
    from capcut_drafts.settings import Settings

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC     # NONBLOCK: a FIFO never hangs open()


def drafts_dir(settings: Settings) -> Path:
    path = Path(settings.data_dir) / "drafts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def folder_path(settings: Settings, draft_id: str) -> Path:
    return drafts_dir(settings) / draft_id


def zip_path(settings: Settings, draft_id: str) -> Path:
    return drafts_dir(settings) / f"{draft_id}.zip"


def is_saved_folder(folder: Path) -> bool:
    """A folder a save wrote: a real folder (not a symbolic link) holding a regular
    draft_meta_info.json (not a link either)."""
    try:
        return (stat.S_ISDIR(os.lstat(folder).st_mode)
                and stat.S_ISREG(os.lstat(folder / "draft_meta_info.json").st_mode))
    except OSError:
        return False


@contextmanager
def draft_lock(settings: Settings, draft_id: str) -> Iterator[None]:
    """Exclusive per-draft lock across threads and processes of this host (filelock: flock, or
    LockFileEx on Windows). The lock files stay in `.locks`, which clean-up skips."""
    locks = drafts_dir(settings) / ".locks"
    locks.mkdir(exist_ok=True)
    with FileLock(locks / f"{draft_id}.lock"):
        yield


def staging_dir(settings: Settings, draft_id: str) -> Path:
    path = drafts_dir(settings) / ".staging" / f"{draft_id}-{os.getpid()}-{time.monotonic_ns()}"
    path.mkdir(parents=True)
    return path / draft_id


def publish(staged: Path, final: Path) -> None:
    """Replace `final` with the fully written `staged` folder in two renames."""
    old = final.with_name(f".{final.name}.old-{time.monotonic_ns()}")
    if final.exists() or final.is_symlink():
        final.rename(old)
    staged.rename(final)
    shutil.rmtree(staged.parent, ignore_errors=True)
    remove(old)


class _Pipe:
    """A write-only file object whose writes are collected for a streaming response."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


@contextmanager
def _open_folder(folder: Path) -> Iterator[int]:
    """A descriptor of `folder`; OSError when it is a symbolic link (O_NOFOLLOW) or no folder."""
    fd = os.open(folder, _DIR_FLAGS)
    try:
        yield fd
    finally:
        os.close(fd)


def _regular_files(dir_fd: int, prefix: str = "") -> Iterator[tuple[str, int, str, os.stat_result]]:
    """(archive name, descriptor of its folder, file name, lstat) of every regular file below the
    open folder `dir_fd`, depth first in name order. Symbolic links, devices, FIFOs and sockets are
    skipped; a sub-folder is opened relative to its parent without following a link."""
    with os.scandir(dir_fd) as scan:
        entries = sorted(((e.name, e.stat(follow_symlinks=False)) for e in scan), key=lambda e: e[0])
    for name, info in entries:
        if stat.S_ISREG(info.st_mode):
            yield prefix + name, dir_fd, name, info
        elif stat.S_ISDIR(info.st_mode):
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:               # replaced by a link (or removed) since it was listed
                continue
            try:
                yield from _regular_files(sub, f"{prefix}{name}/")
            finally:
                os.close(sub)


def _open_regular(dir_fd: int, name: str) -> int | None:
    """A descriptor for reading `name` in `dir_fd`, or None when it is no longer a regular file."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:                       # a symbolic link now (ELOOP), or removed
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


class MemberRewriter(Protocol):
    """Changes some members of a streamed zip (relocate.Relocation is one)."""

    def wants(self, name: str) -> bool:
        """Whether member `name` is read whole and passed to `rewrite`; the others stream as they are."""
        ...

    def rewrite(self, name: str, data: bytes) -> bytes:
        ...


def stream_zip(folder: Path, chunk: int = 1 << 20, rewriter: MemberRewriter | None = None) -> Iterator[bytes]:
    """The folder's regular files as a zip, produced while it is sent (no copy on disk). Media is
    stored, the JSON deflated; members sit at the archive root, as upstream's zips. Members the
    `rewriter` wants are read whole and replaced by what it returns; every other member is read
    `chunk` bytes at a time."""
    pipe = _Pipe()
    with _open_folder(folder) as root, zipfile.ZipFile(pipe, "w") as archive:
        for name, dir_fd, file_name, _ in _regular_files(root):
            fd = _open_regular(dir_fd, file_name)
            if fd is None:
                continue
            with open(fd, "rb") as source:
                info = _info(name, os.fstat(fd))
                if rewriter is not None and rewriter.wants(name):
                    data = rewriter.rewrite(name, source.read())
                    info.file_size = len(data)
                    blocks: Iterator[bytes] = iter((data,))
                else:
                    blocks = iter(lambda: source.read(chunk), b"")
                with archive.open(info, "w") as member:
                    for block in blocks:
                        member.write(block)
                        yield pipe.take()
        yield pipe.take()
    yield pipe.take()


def read_file(folder: Path, name: str) -> bytes | None:
    """The bytes of the regular file `name` directly inside `folder`, or None; never through a
    symbolic link (the folder or the file), as the zip reads them."""
    try:
        with _open_folder(folder) as root:
            fd = _open_regular(root, name)
            if fd is None:
                return None
            with open(fd, "rb") as source:
                return source.read()
    except OSError:
        return None


_TEXT_SUFFIXES = {".json", ".tmp", ".bak", ""}
_DateTime = tuple[int, int, int, int, int, int]
_ZIP_FIRST: _DateTime = (1980, 1, 1, 0, 0, 0)             # what a zip header can hold
_ZIP_LAST: _DateTime = (2107, 12, 31, 23, 59, 59)


def _info(name: str, info: os.stat_result) -> zipfile.ZipInfo:
    """The member header, from the stat of the opened file (ZipInfo.from_file would stat the path
    again, following links)."""
    t = time.localtime(info.st_mtime)
    stamp = max(_ZIP_FIRST, min((t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec), _ZIP_LAST))
    member = zipfile.ZipInfo(name, stamp)
    member.external_attr = (info.st_mode & 0xFFFF) << 16
    member.file_size = info.st_size
    suffix = PurePosixPath(name).suffix
    member.compress_type = zipfile.ZIP_DEFLATED if suffix in _TEXT_SUFFIXES else zipfile.ZIP_STORED
    return member


def make_zip(folder: Path, target: Path) -> int:
    """Write the same zip to a file (for uploading to object storage); returns its size."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    with open(partial, "wb") as out:
        for block in stream_zip(folder):
            out.write(block)
    partial.replace(target)
    return target.stat().st_size


def cleanup(settings: Settings, now: float | None = None) -> int:
    """Delete saved folders and zips older than `output_retention_hours`; returns how many."""
    limit = (now or time.time()) - settings.output_retention_hours * 3600
    removed = 0
    root = drafts_dir(settings)
    staging = root / ".staging"            # left behind only by a save that crashed mid-write
    candidates = [*root.iterdir(), *(staging.iterdir() if staging.is_dir() else ())]
    for path in candidates:
        if path.name in (".staging", ".locks") or _modified(path, default=limit) >= limit:
            continue
        remove(path)
        removed += 1
    return removed


def _modified(path: Path, default: float) -> float:
    """When the entry last changed; `default` when a save moved or removed it after it was listed."""
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return default


def remove(path: Path) -> None:
    """Delete a folder with its contents, or a file or symbolic link (never what a link points at)."""
    try:
        is_dir = stat.S_ISDIR(path.lstat().st_mode)
    except FileNotFoundError:
        return
    if is_dir:
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def folder_size(folder: Path) -> int:
    """Bytes of the regular files the zip holds (symbolic links count for nothing)."""
    with _open_folder(folder) as root:
        return sum(info.st_size for *_, info in _regular_files(root))


@dataclass(frozen=True)
class DraftView:
    """What the draft page shows of a stored draft: its built form, as /query_script builds it."""
    profile: str
    width: int
    height: int
    duration_us: int
    tracks: list[tuple[str, str, int]]        # (name, kind, clips), in layer order
    warnings: list[str]


@dataclass(frozen=True)
class SaveView:
    """What the draft page shows of the draft's save: its task record and the zip, if any."""
    status: str                    # the task's status; "completed" with no task when only a folder is left
    progress: int
    message: str
    when: float | None             # finished_at, else started_at
    draft_folder: str | None       # the drafts folder the save wrote media paths for
    zip_url: str = ""              # "" while there is nothing to download
    size: int | None = None        # bytes of the saved folder's files, when saved on this host
    served_here: bool = False      # the zip streams from this service, so it takes ?draft_folder=


# The drafts folders of the apps' default installs: (app, system, folder).
INSTALL_FOLDERS = (
    ("CapCut", "Windows", r"%LOCALAPPDATA%\CapCut\User Data\Projects\com.lveditor.draft"),
    ("CapCut", "macOS", "~/Movies/CapCut/User Data/Projects/com.lveditor.draft"),
    ("JianYing (剪映)", "Windows", r"%LOCALAPPDATA%\JianyingPro\User Data\Projects\com.lveditor.draft"),
    ("JianYing (剪映)", "macOS", "~/Movies/JianyingPro/User Data/Projects/com.lveditor.draft"),
)

_STYLE = """body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
code{background:#f3f3f3;padding:.1rem .3rem}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2rem .6rem;text-align:left}"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
            f"<style>{_STYLE}</style></head>\n<body>{body}\n</body></html>")


def _contents(draft: DraftView | None) -> str:
    if draft is None:
        return "<h2>Contents</h2><p>The draft is no longer in the store; its saved folder is.</p>"
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(kind)}</td><td>{clips}</td></tr>"
                   for name, kind, clips in draft.tracks)
    table = (f"<table><tr><th>track</th><th>kind</th><th>clips</th></tr>{rows}</table>" if rows
             else "<p>No tracks yet.</p>")
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in draft.warnings)
    return (f"<h2>Contents</h2><p>Profile <code>{html.escape(draft.profile)}</code>, "
            f"{draft.width}×{draft.height}, {draft.duration_us / 1e6:g} s long.</p>{table}"
            + (f"<h3>Warnings from building it</h3><ul>{warnings}</ul>" if warnings else ""))


def _save_state(save: SaveView | None) -> str:
    if save is None:
        return ("<h2>Save</h2><p>Not saved yet. <code>POST /save_draft</code> with this "
                "<code>draft_id</code> writes the folder and gives this page its download link.</p>")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(save.when)) if save.when else "–"
    state = (f"<h2>Save</h2><p>Status <b>{html.escape(save.status)}</b> ({save.progress} %), {when}"
             + (f": {html.escape(save.message)}" if save.message else "") + "</p>")
    if not save.zip_url:
        return state
    size = f" (about {save.size / 1_048_576:.1f} MiB)" if save.size is not None else ""
    link = f'<p><a href="{html.escape(save.zip_url)}" id="zip-link">Download the saved draft (zip)</a>{size}</p>'
    return state + link + (_folder_form(save.zip_url) if save.served_here else "")


FOLDER_STORAGE_KEY = "capcut-drafts.draft_folder"      # where the browser remembers the drafts folder
_FOLDER_SCRIPT = """<script>(function () {
  var key = "FOLDER_KEY", field = document.getElementById("draft-folder"),
      link = document.getElementById("zip-link"), base = link.getAttribute("href");
  function sync() {
    var value = field.value.trim();
    link.setAttribute("href", value ? base + (base.indexOf("?") < 0 ? "?" : "&") + "draft_folder="
                                      + encodeURIComponent(value) : base);
    try { if (value) { localStorage.setItem(key, value); } else { localStorage.removeItem(key); } } catch (e) {}
  }
  try { field.value = localStorage.getItem(key) || ""; } catch (e) {}
  field.addEventListener("input", sync);
  sync();
})();</script>""".replace("FOLDER_KEY", FOLDER_STORAGE_KEY)


def _folder_form(zip_url: str) -> str:
    """The drafts-folder field under the zip link. With a folder, the zip's media and meta paths
    are absolute paths into it (GET /drafts/<id>.zip?draft_folder=, capcut_drafts/save/relocate.py).
    Without script it is a GET form (the link's signature rides along as hidden fields); the
    script fills the field from localStorage, remembers what is typed and puts it on the link."""
    action, _, query = zip_url.partition("?")
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in parse_qsl(query, keep_blank_values=True) if k != "draft_folder")
    return (f'<form id="folder-form" method="get" action="{html.escape(action)}">{hidden}'
            '<label for="draft-folder">Your drafts folder:</label> '
            '<input id="draft-folder" name="draft_folder" size="60" '
            'placeholder="C:/Users/you/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft"> '
            '<button type="submit">Download for this folder</button></form>'
            "<p>With your drafts folder, the media and meta paths in the zip are absolute paths into "
            "<code>&lt;your folder&gt;/&lt;draft id&gt;</code>, as CapCut 8.x–9.x write them; unzip it "
            "there. This browser remembers the folder.</p>" + _FOLDER_SCRIPT)


def _install(draft_id: str, save: SaveView | None) -> str:
    name = html.escape(draft_id)
    rows = "".join(f"<tr><td>{app}</td><td>{system}</td><td><code>{html.escape(folder)}</code></td></tr>"
                   for app, system, folder in INSTALL_FOLDERS)
    if save is None:
        paths = ("<p>Media paths: a save with <code>draft_folder</code> (your drafts folder) points them into "
                 "it; a save without one makes them relative to the draft's own folder, so the whole folder, "
                 "<code>assets</code> included, must be copied.</p>")
    elif save.draft_folder:
        paths = (f"<p>Media paths in the draft point into a folder named <code>{name}</code> inside "
                 f"<code>{html.escape(save.draft_folder)}</code>: unzip it exactly there, or the app "
                 "shows the media as missing"
                 + (" (or enter another drafts folder above and download again)." if save.served_here else ".")
                 + "</p>")
    else:
        paths = ("<p>This draft was saved without <code>draft_folder</code>: media paths are relative to "
                 "the draft's own folder (the apps' draft-folder token, which CapCut up to 7.8 and JianYing "
                 "resolve wherever the folder sits), so copy the whole unzipped folder, <code>assets</code> "
                 "included, into the drafts folder."
                 + (" CapCut 8.x–9.x write absolute paths instead: enter your drafts folder above to download "
                    "the zip with them." if save.served_here else "") + "</p>")
    return (f"<h2>Install</h2><ol><li>Close the app.</li><li>Unzip into a folder named <code>{name}</code> "
            "inside the app's drafts folder (default install locations below).</li>"
            "<li>Open the app: the draft is in the project list.</li></ol>"
            f"<table><tr><th>app</th><th>system</th><th>drafts folder</th></tr>{rows}</table>{paths}")


def draft_page(draft_id: str, draft: DraftView | None, save: SaveView | None) -> str:
    """The page of a draft, before and after a save. Every draft-provided string is escaped."""
    name = html.escape(draft_id)
    return _page(f"Draft {name}", f"<h1>Draft {name}</h1>" + _contents(draft) + _save_state(save)
                 + _install(draft_id, save))


def locked_page() -> str:
    """The 401 page of a draft page opened without a key or a valid signed link."""
    return _page("Link expired or incomplete", "<h1>This link needs a signature</h1><p>This service has API "
                 "keys. Open the draft page with the link the API answered (<code>draft_url</code> of "
                 "create_draft or any add_* call, or <code>download_page</code> of query_draft_status): it "
                 "carries a signature valid for a day or more. Ask the API for a fresh link when it has "
                 "expired.</p>")


def missing_page(draft_id: str) -> str:
    """The 404 page of a draft id no store or saved folder knows."""
    name = html.escape(draft_id)
    return _page("Draft not found", f"<h1>Draft not found</h1><p>No draft <code>{name}</code> exists here: "
                 "the id is wrong, or the draft expired and was cleaned up. Create one with "
                 "<code>POST /create_draft</code>; <a href=\"/docs\">the API documentation</a> lists the routes.</p>")
