"""The publishing interface: what every backend (local, OSS, S3) answers.

A `Publisher` takes the draft zip written by the save job and makes it downloadable:
`publish(zip_path, key, on_progress=...)` returns a `Published` (URL, object key, size, expiry)
or raises `PublishError(code, message)`. `key` is the zip's name (`<draft_id>.zip`); a cloud
backend stores it under its key prefix, the local backend serves it at `<base_url>/drafts/<key>`.
The upload machinery the object-store backends share is in capcut_drafts/storage/multipart.py.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ProgressCallback = Callable[[int, int], None]
MAX_URL_LIFETIME = 7 * 24 * 3600      # S3 SigV4 and OSS V4 refuse more; we cap OSS V1 the same


@dataclass(frozen=True)
class Published:
    """Where the draft can be downloaded: `url` (signed for cloud backends), the object `key`,
    the zip's `size` in bytes (None when the local service streams it and no zip was written)
    and `expires_at` (Unix time the URL stops working; for local, when clean-up removes it)."""
    url: str
    key: str
    size: int | None
    expires_at: float | None


class PublishError(Exception):
    """Publishing failed. `code` is the provider's error code (`SignatureDoesNotMatch`,
    `InvalidAccessKeyId`, `NoSuchBucket`, `AccessDenied`, ...) or one of ours: `NetworkError`,
    `Timeout`, `ConfigError`, `LocalFileError`, `ChecksumMismatch`. `str()` is a readable
    sentence that starts with the code, fit for the task message."""

    def __init__(self, code: str, message: str, *, status: int | None = None,
                 request_id: str = "", retryable: bool = False, attempts: int = 0):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.retryable = retryable
        self.attempts = attempts

    def __str__(self) -> str:
        facts = []
        if self.status:
            facts.append(f"HTTP {self.status}")
        if self.request_id:
            facts.append(f"request id {self.request_id}")
        if self.attempts > 1:
            facts.append(f"after {self.attempts} attempts")
        return f"{self.code}: {self.message}" + (f" ({', '.join(facts)})" if facts else "")


class Publisher(ABC):
    """One way of handing out draft zips. `uploads` tells the save job whether it must write
    the zip file first (the local backend streams the folder instead)."""
    name: str = ""
    uploads: bool = True

    def ping(self) -> None:  # noqa: B027 — optional: the local backend has nothing to reach
        """Raise PublishError when the destination cannot be reached (readiness check)."""

    @abstractmethod
    def publish(self, zip_path: Path, key: str, *,
                on_progress: ProgressCallback | None = None) -> Published:
        """Make `zip_path` downloadable under `key`; on_progress(bytes_done, bytes_total)."""
