"""Where saved drafts live on this host and how they are handed out: the folder, its zip, a
download page, a per-draft lock so two saves never write one folder at once, and clean-up of
outputs older than the retention setting."""
from __future__ import annotations

import fcntl
import html
import os
import shutil
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def drafts_dir(settings) -> Path:
    path = Path(settings.data_dir) / "drafts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def folder_path(settings, draft_id: str) -> Path:
    return drafts_dir(settings) / draft_id


def zip_path(settings, draft_id: str) -> Path:
    return drafts_dir(settings) / f"{draft_id}.zip"


@contextmanager
def draft_lock(settings, draft_id: str) -> Iterator[None]:
    """Exclusive per-draft lock across threads and processes of this host (flock)."""
    locks = drafts_dir(settings) / ".locks"
    locks.mkdir(exist_ok=True)
    with open(locks / f"{draft_id}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def staging_dir(settings, draft_id: str) -> Path:
    path = drafts_dir(settings) / ".staging" / f"{draft_id}-{os.getpid()}-{time.monotonic_ns()}"
    path.mkdir(parents=True)
    return path / draft_id


def publish(staged: Path, final: Path) -> None:
    """Replace `final` with the fully written `staged` folder in two renames."""
    old = final.with_name(f".{final.name}.old-{time.monotonic_ns()}")
    if final.exists():
        final.rename(old)
    staged.rename(final)
    shutil.rmtree(staged.parent, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


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

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def _members(folder: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path, path.relative_to(folder).as_posix()


def stream_zip(folder: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The folder as a zip, produced while it is sent (no copy on disk). Media is stored, the
    JSON deflated; members sit at the archive root, as upstream's zips."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w") as archive:
        for path, name in _members(folder):
            method = zipfile.ZIP_DEFLATED if path.suffix in _TEXT_SUFFIXES else zipfile.ZIP_STORED
            with archive.open(_info(path, name, method), "w") as member, open(path, "rb") as source:
                while block := source.read(chunk):
                    member.write(block)
                    yield pipe.take()
        yield pipe.take()
    yield pipe.take()


_TEXT_SUFFIXES = {".json", ".tmp", ".bak", ""}


def _info(path: Path, name: str, method: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo.from_file(path, name)
    info.compress_type = method
    return info


def make_zip(folder: Path, target: Path) -> int:
    """Write the same zip to a file (for uploading to object storage); returns its size."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    with open(partial, "wb") as out:
        for block in stream_zip(folder):
            out.write(block)
    partial.replace(target)
    return target.stat().st_size


def cleanup(settings, now: float | None = None) -> int:
    """Delete saved folders and zips older than `output_retention_hours`; returns how many."""
    limit = (now or time.time()) - settings.output_retention_hours * 3600
    removed = 0
    root = drafts_dir(settings)
    staging = root / ".staging"            # left behind only by a save that crashed mid-write
    candidates = [*root.iterdir(), *(staging.iterdir() if staging.is_dir() else ())]
    for path in candidates:
        if path.name in (".staging", ".locks") or path.stat().st_mtime >= limit:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path, _ in _members(folder))


def download_page(draft_id: str, zip_url: str, size: int, draft_folder_hint: str) -> str:
    name = html.escape(draft_id)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Draft {name}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
code{{background:#f3f3f3;padding:.1rem .3rem}}</style></head>
<body><h1>Draft {name}</h1>
<p><a href="{html.escape(zip_url)}">Download {name}.zip</a> (about {size / 1_048_576:.1f} MiB)</p>
<ol><li>Unzip it into a folder named <code>{name}</code> inside your drafts folder,
e.g. <code>{html.escape(draft_folder_hint)}</code>.</li>
<li>Open CapCut / JianYing: the draft is in the project list.</li></ol>
<p>Media paths in the draft point at the drafts folder given when the draft was saved.</p>
</body></html>"""
