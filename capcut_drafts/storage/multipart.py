"""The upload machinery the object-store backends (OSS, S3) share.

`ObjectStorePublisher` holds everything OSS and S3 do alike, so each backend only says how to
send one request: a single PUT up to the multipart threshold, above it a multipart upload whose
parts go out in parallel; every part and the single PUT carry a checksum computed from the file
on disk (the server rejects a body that arrived altered); each request is retried with
exponential backoff and jitter when the failure is transient (5xx, throttling, network, timeout,
checksum); progress is reported in bytes, monotonic and throttled; a failed multipart upload is
aborted; the local zip is deleted only after success and only when `upload_delete_local` is on.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import random
import re
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from capcut_drafts.storage.base import MAX_URL_LIFETIME, ProgressCallback, Published, Publisher, PublishError

log = logging.getLogger("capcut.storage")

MiB = 1024 * 1024
MAX_PARTS = 10_000                    # both providers' limit on the parts of one upload
T = TypeVar("T")


def network_reason(exc: BaseException) -> str:
    """The useful end of a requests/urllib3/botocore error chain: '[Errno 111] Connection refused'."""
    text = str(exc)
    found = re.findall(r"\[Errno -?\d+\][^')\"]*", text)
    return found[-1].strip() if found else text[:300]


# -- options -------------------------------------------------------------------------------

def _number(value: Any, name: str, lo: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < lo:
        raise PublishError("ConfigError", f"setting {name} must be a number >= {lo}, got {value!r}")
    return value


@dataclass(frozen=True)
class UploadOptions:
    """The upload settings, in bytes and seconds; `from_settings` reads them with defaults so
    the service works before they are declared in `Settings`."""
    key_prefix: str = ""
    expires: int = 86400
    delete_local: bool = False
    multipart_threshold: int = 32 * MiB
    part_size: int = 8 * MiB
    concurrency: int = 4
    retries: int = 3
    backoff: float = 0.5
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Any, backend: Mapping[str, Any]) -> UploadOptions:
        """Global `upload_*` settings; `key_prefix` and `expires` in the backend's config
        (oss_config / s3_config) win over the global ones."""
        get = lambda name, default: getattr(settings, name, default)  # noqa: E731
        prefix = backend.get("key_prefix", get("upload_key_prefix", ""))
        if not isinstance(prefix, str):
            raise PublishError("ConfigError", f"key_prefix must be a string, got {prefix!r}")
        if "expires" in backend:
            expires = _number(backend["expires"], "expires (in the storage config)", 1)
        else:
            expires = _number(get("upload_url_expiry_seconds", 86400), "upload_url_expiry_seconds", 1)
        return cls(
            key_prefix=prefix.lstrip("/"),
            expires=int(expires),
            delete_local=bool(get("upload_delete_local", False)),
            multipart_threshold=int(_number(get("upload_multipart_threshold_mb", 32),
                                            "upload_multipart_threshold_mb", 0) * MiB),
            part_size=int(_number(get("upload_part_size_mb", 8), "upload_part_size_mb", 0) * MiB),
            concurrency=int(_number(get("upload_concurrency", 4), "upload_concurrency", 1)),
            retries=int(_number(get("upload_retries", 3), "upload_retries", 0)),
            backoff=_number(get("upload_retry_backoff_ms", 500), "upload_retry_backoff_ms", 0) / 1000,
            timeout=float(_number(get("upload_timeout_seconds", 60), "upload_timeout_seconds", 0.001)),
        )


# -- pieces of the zip ---------------------------------------------------------------------

class FileSlice:
    """A read-only, seekable window [offset, offset+length) of a file, read from disk as the
    HTTP client sends it (no copy in memory). `len()` is the window's length, positions are
    relative to its start; `on_position(pos)` is told the furthest byte read so far."""

    def __init__(self, path: Path, offset: int, length: int,
                 on_position: Callable[[int], None] | None = None):
        self.path, self.offset, self.length = path, offset, length
        self._pos = 0
        self._high = 0
        self._on_position = on_position
        self._file = open(path, "rb")  # noqa: SIM115 — the slice owns the file; close() / `with` closes it

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        left = self.length - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        self._file.seek(self.offset + self._pos)
        data = self._file.read(size)
        self._pos += len(data)
        if self._pos > self._high:
            self._high = self._pos
            if self._on_position:
                self._on_position(self._high)
        return data

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.length}[whence]
        self._pos = min(max(base + pos, 0), self.length)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FileSlice:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass(frozen=True)
class Piece:
    """One request's worth of the zip: the single PUT (number 0) or part `number` >= 1, with
    the digests of its bytes as read from disk (raw bytes, keyed by algorithm)."""
    number: int
    offset: int
    length: int
    digests: Mapping[str, bytes] = field(default_factory=dict)

    def b64(self, algorithm: str) -> str:
        return base64.b64encode(self.digests[algorithm]).decode()


def digest_file(path: Path, offset: int, length: int, algorithms: tuple[str, ...]) -> dict[str, bytes]:
    hashers = {name: hashlib.new(name) for name in algorithms}
    if not hashers:
        return {}
    with FileSlice(path, offset, length) as body:
        while block := body.read(1 << 20):
            for h in hashers.values():
                h.update(block)
    return {name: h.digest() for name, h in hashers.items()}


class _Progress:
    """Bytes sent, summed over pieces (each counts the furthest byte read in its current try),
    reported monotonically, from one thread at a time, at most about every 1 % of the total."""

    def __init__(self, total: int, callback: ProgressCallback | None):
        self.total = total
        self.callback = callback
        self.step = max(total // 100, 64 * 1024)
        self.pieces: dict[int, int] = {}
        self.sent = 0
        self.reported = -1
        self.lock = threading.Lock()

    def position(self, number: int, pos: int) -> None:
        with self.lock:
            old = self.pieces.get(number, 0)
            new = max(pos, old) if pos else 0          # 0: the piece starts (again)
            self.pieces[number] = new
            self.sent += new - old
            self._emit(force=False)

    def finish(self) -> None:
        with self.lock:
            self.sent = self.total
            self._emit(force=True)

    def _emit(self, force: bool) -> None:
        if not self.callback:
            return
        done = min(self.sent, self.total)
        if done <= self.reported or (not force and done < self.total and done - self.reported < self.step):
            return
        self.reported = done
        try:
            self.callback(done, self.total)
        except Exception:      # noqa: BLE001 — a progress display must never fail the upload
            log.exception("progress callback failed")


# -- the shared upload machinery -----------------------------------------------------------

class ObjectStorePublisher(Publisher):
    """Upload, sign and clean up; subclasses send the requests and translate their errors."""
    min_part_size: int = 100 * 1024
    digest_algorithms: tuple[str, ...] = ("md5",)
    bucket: str = ""

    def __init__(self, options: UploadOptions):
        self.options = options
        self.expires = min(options.expires, MAX_URL_LIFETIME)
        if self.expires < options.expires:
            log.warning("URL lifetime %d s is over the 7-day maximum; using %d s",
                        options.expires, self.expires)

    # each backend implements these (all may raise their SDK's exceptions)
    @abstractmethod
    def _put(self, key: str, body: FileSlice, piece: Piece) -> None: ...

    @abstractmethod
    def _start_multipart(self, key: str) -> str: ...

    @abstractmethod
    def _put_part(self, key: str, upload_id: str, body: FileSlice, piece: Piece) -> Any: ...

    @abstractmethod
    def _complete_multipart(self, key: str, upload_id: str, parts: list[tuple[Piece, Any]]) -> None: ...

    @abstractmethod
    def _abort_multipart(self, key: str, upload_id: str) -> None: ...

    @abstractmethod
    def _sign_get(self, key: str, expires: int) -> str: ...

    @abstractmethod
    def _translate(self, exc: BaseException) -> PublishError:
        """The PublishError for an SDK exception, with `retryable` set."""

    def where(self) -> str:
        """Which bucket at which endpoint, for error messages (never a secret)."""
        return f"{self.name} bucket {self.bucket!r}"

    # the work
    def object_key(self, key: str) -> str:
        return self.options.key_prefix + key.lstrip("/")

    def publish(self, zip_path: Path, key: str, *,
                on_progress: ProgressCallback | None = None) -> Published:
        zip_path = Path(zip_path)
        try:
            size = zip_path.stat().st_size
        except OSError as exc:
            raise PublishError("LocalFileError", f"cannot read the draft zip {zip_path}: "
                               f"{exc.strerror or exc}") from None
        object_key = self.object_key(key)
        progress = _Progress(size, on_progress)
        started = time.monotonic()
        try:
            if size <= self.options.multipart_threshold:
                self._upload_single(zip_path, object_key, size, progress)
            else:
                self._upload_multipart(zip_path, object_key, size, progress)
            url = self._attempt(f"sign a download URL for {object_key}",
                                lambda: self._sign_get(object_key, self.expires))
        except PublishError as err:
            log.warning("%s upload of %s to %s/%s failed: %s", self.name, zip_path.name, self.bucket,
                        object_key, err)
            raise
        progress.finish()
        expires_at = time.time() + self.expires
        log.info("%s: uploaded %s (%d bytes) to %s/%s in %.2f s", self.name, zip_path.name, size,
                 self.bucket, object_key, time.monotonic() - started)
        if self.options.delete_local:
            zip_path.unlink(missing_ok=True)
        return Published(url=url, key=object_key, size=size, expires_at=expires_at)

    def _upload_single(self, path: Path, key: str, size: int, progress: _Progress) -> None:
        piece = Piece(0, 0, size, self._digests(path, 0, size))

        def send() -> None:
            progress.position(0, 0)
            with FileSlice(path, 0, size, lambda pos: progress.position(0, pos)) as body:
                self._put(key, body, piece)
        self._attempt(f"upload {key}", send)

    def plan_parts(self, size: int) -> list[tuple[int, int]]:
        """(offset, length) of each part: the configured size, at least the provider's
        minimum, and large enough that the upload stays within 10,000 parts."""
        part = max(self.options.part_size, self.min_part_size, -(-size // MAX_PARTS))
        return [(offset, min(part, size - offset)) for offset in range(0, size, part)]

    def _upload_multipart(self, path: Path, key: str, size: int, progress: _Progress) -> None:
        upload_id = self._attempt(f"start the multipart upload of {key}", lambda: self._start_multipart(key))
        stop = threading.Event()

        def send_part(number: int, offset: int, length: int) -> tuple[Piece, Any]:
            if stop.is_set():
                raise _Cancelled()
            piece = Piece(number, offset, length, self._digests(path, offset, length))

            def send() -> Any:
                if stop.is_set():
                    raise _Cancelled()
                progress.position(number, 0)
                with FileSlice(path, offset, length, lambda pos: progress.position(number, pos)) as body:
                    return self._put_part(key, upload_id, body, piece)
            return piece, self._attempt(f"upload part {number} of {key}", send, stop)

        plan = self.plan_parts(size)
        try:
            with ThreadPoolExecutor(max_workers=min(self.options.concurrency, len(plan)),
                                    thread_name_prefix=f"{self.name}-upload") as pool:
                futures = [pool.submit(send_part, n, off, length) for n, (off, length) in enumerate(plan, 1)]
                wait(futures, return_when=FIRST_EXCEPTION)
                failed = [exc for f in futures if f.done() and (exc := f.exception()) is not None
                          and not isinstance(exc, _Cancelled)]
                if failed:
                    stop.set()
                    for f in futures:
                        f.cancel()
                    raise failed[0]
                parts = [f.result() for f in futures]
            self._attempt(f"complete the multipart upload of {key}",
                          lambda: self._complete_multipart(key, upload_id, parts))
        except BaseException:
            stop.set()
            try:
                self._abort_multipart(key, upload_id)
            except Exception as exc:     # noqa: BLE001 — best effort; the first error matters
                log.warning("%s: could not abort multipart upload %s of %s: %s", self.name,
                            upload_id, key, exc)
            raise

    def _digests(self, path: Path, offset: int, length: int) -> dict[str, bytes]:
        try:
            return digest_file(path, offset, length, self.digest_algorithms)
        except OSError as exc:
            raise PublishError("LocalFileError", f"cannot read the draft zip {path}: "
                               f"{exc.strerror or exc}") from None

    def _attempt(self, what: str, action: Callable[[], T], stop: threading.Event | None = None) -> T:
        """Run `action`, retrying transient failures with exponential backoff and jitter
        (backoff × 2^n × [0.5, 1), at most 30 s a wait)."""
        tries = self.options.retries + 1
        for attempt in range(1, tries + 1):
            try:
                return action()
            except (_Cancelled, PublishError):
                raise
            except Exception as exc:      # noqa: BLE001 — translated below
                err = self._translate(exc)
                err.attempts = attempt
                if not err.retryable or attempt == tries or (stop is not None and stop.is_set()):
                    err.message = f"{err.message} [{self.where()}: could not {what}]"
                    raise err from None
                delay = min(self.options.backoff * 2 ** (attempt - 1), 30.0) * random.uniform(0.5, 1.0)
                log.info("%s: %s failed (%s); retry %d/%d in %.2f s", self.name, what, err.code,
                         attempt, tries - 1, delay)
                if stop is None:
                    time.sleep(delay)
                elif stop.wait(delay):          # another part failed meanwhile: give up now
                    raise _Cancelled() from None
        raise AssertionError("unreachable")


class _Cancelled(Exception):
    """Another part failed: this one is not sent."""
