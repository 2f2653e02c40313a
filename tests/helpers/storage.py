"""Shared by the object-storage tests: a draft-shaped zip, publishing it, fetching a link."""
from __future__ import annotations

import os
from pathlib import Path

import requests

from capcut_drafts.save import delivery
from capcut_drafts.storage import open_publisher


def draft_zip(tmp_path: Path, media_bytes: int, name: str = "dfd_test_1") -> Path:
    """A real draft-shaped zip made by the service's own zipper: JSON files plus random media."""
    folder = tmp_path / name
    (folder / "assets" / "video").mkdir(parents=True)
    (folder / "draft_meta_info.json").write_text(f'{{"draft_name": "{name}"}}')
    (folder / "draft_info.json").write_text('{"tracks": []}' * 50)
    (folder / "assets" / "video" / "clip.mp4").write_bytes(os.urandom(media_bytes))
    target = tmp_path / f"{name}.zip"
    delivery.make_zip(folder, target)
    return target


def publish(settings, zip_path: Path, key: str = "dfd_test_1.zip"):
    """Publish with the publisher the settings choose; returns (Published, progress calls)."""
    calls = []
    published = open_publisher(settings).publish(zip_path, key, on_progress=lambda d, t: calls.append((d, t)))
    return published, calls


def fetch(url: str) -> bytes:
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, resp.text[:500]
    return resp.content
