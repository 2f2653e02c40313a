"""The default backend: the service hands the draft out itself.

Nothing is uploaded. The URL is the service's own `GET /drafts/<draft_id>.zip`, which streams
the saved folder as a zip, so the save job need not write the zip file at all (`uploads` is
False). The link works until output clean-up removes the folder (`output_retention_hours`).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capcut_drafts.storage.base import ProgressCallback, Published, Publisher

DRAFTS_PATH = "/drafts/"       # where the service serves saved drafts (GET /drafts/<key>)


class LocalPublisher(Publisher):
    name = "local"
    uploads = False

    def __init__(self, base_url: str = "", retention_hours: float | None = None,
                 signer: Callable[[str, int], str] | None = None):
        """`base_url`: the base of the links; empty gives a root-relative URL, which the save job
        stores so that no record holds a client's host (capcut_drafts/routes/save.py adds the configured base
        when answering). `signer(path, expires)` returns a query string that lets the link through
        API-key checks (see capcut_drafts/web/guards.py)."""
        self.base_url = base_url.rstrip("/")
        self.retention_hours = retention_hours
        self.signer = signer

    @classmethod
    def from_settings(cls, settings: Any, base_url: str = "") -> LocalPublisher:
        base = base_url or getattr(settings, "public_base_url", "") or ""
        keys = getattr(settings, "api_keys", None)
        signer = (lambda path, expires: sign_link(keys, path, expires)) if keys else None
        return cls(base, getattr(settings, "output_retention_hours", None), signer)

    def publish(self, zip_path: Path, key: str, *,
                on_progress: ProgressCallback | None = None) -> Published:
        key = key.lstrip("/")
        try:
            size: int | None = Path(zip_path).stat().st_size
        except OSError:
            size = None              # streamed from the folder on download; not written
        if on_progress and size is not None:
            on_progress(size, size)
        expires = time.time() + self.retention_hours * 3600 if self.retention_hours else None
        path = DRAFTS_PATH + key
        query = self.signer(path, int(expires or time.time() + 86400)) if self.signer else ""
        return Published(url=f"{self.base_url}{path}{query}", key=key, size=size, expires_at=expires)


_DRAFT_PATH = re.compile(re.escape(DRAFTS_PATH) + r"([^/]+?)(?:\.zip|/.*)?")


def sign_link(keys: list[str], path: str, expires: int) -> str:
    """`?expires=…&sig=…` for the download link `path`: an HMAC of the path and expiry under the
    API keys, so a browser can follow the link without sending a key header."""
    return f"?expires={expires}&sig={_signature(keys, path, expires)}"


def page_signature(keys: list[str], path: str) -> str:
    """`?expires=…&sig=…` opening the page `path` for 24 to 48 hours ("" without keys). The expiry is
    the end of the next UTC day, so every reply of one day carries the same link."""
    if not keys:
        return ""
    expires = (int(time.time()) // 86400 + 2) * 86400
    return sign_link(keys, f"{path}.zip", expires)      # a zip's signature opens its page too


def link_ok(keys: list[str], path: str, expires: str, sig: str) -> bool:
    """True when `sig` (from the query) signs the download link `path` until `expires` (from the
    query) and that time has not passed. The zip's signature opens everything of its draft: the
    zip, the page (the same path without `.zip`) and the paths below it (preview, frames, renders)."""
    draft = _DRAFT_PATH.fullmatch(path)
    if draft is None or not re.fullmatch(r"[0-9]{1,20}", expires) or int(expires) < time.time():
        return False
    zip_path = f"{DRAFTS_PATH}{draft.group(1)}.zip"
    return hmac.compare_digest(sig.encode(), _signature(keys, zip_path, int(expires)).encode())


def _signature(keys: list[str], path: str, expires: int) -> str:
    secret = hashlib.sha256("\n".join(sorted(keys)).encode()).digest()
    return hmac.new(secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()[:32]
