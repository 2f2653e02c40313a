"""The default backend: the service hands the draft out itself.

Nothing is uploaded. The URL is the service's own `GET /drafts/<draft_id>.zip`, which streams
the saved folder as a zip, so the save job need not write the zip file at all (`uploads` is
False). The link works until output clean-up removes the folder (`output_retention_hours`).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from .base import ProgressCallback, Published, Publisher


class LocalPublisher(Publisher):
    name = "local"
    uploads = False

    def __init__(self, base_url: str = "", retention_hours: Optional[float] = None):
        """`base_url`: the service's public base URL as the request saw it (the save job's
        `base_url`); empty gives a root-relative URL."""
        self.base_url = base_url.rstrip("/")
        self.retention_hours = retention_hours

    @classmethod
    def from_settings(cls, settings: Any, base_url: str = "") -> "LocalPublisher":
        base = base_url or getattr(settings, "public_base_url", "") or ""
        return cls(base, getattr(settings, "output_retention_hours", None))

    def publish(self, zip_path: Path, key: str, *,
                on_progress: Optional[ProgressCallback] = None) -> Published:
        key = key.lstrip("/")
        try:
            size: Optional[int] = Path(zip_path).stat().st_size
        except OSError:
            size = None              # streamed from the folder on download; not written
        if on_progress and size is not None:
            on_progress(size, size)
        expires = time.time() + self.retention_hours * 3600 if self.retention_hours else None
        return Published(url=f"{self.base_url}/drafts/{key}", key=key, size=size, expires_at=expires)
