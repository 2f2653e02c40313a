"""A disk cache of downloaded media, keyed by URL, shared by drafts, saves, threads and processes.

Layout under ``root_dir``::

    objects/<k[:2]>/<k>         the content of the URL whose sha256 is k (no extension)
    objects/<k[:2]>/<k>.json    what we know about it: url, final_url, size, content_type, sha256
    objects/<k[:2]>/<k>.lock    held (filelock: flock, or LockFileEx on Windows) while one process
                                downloads k; removed by its holder
    objects/<k[:2]>/<k>.error   the error of the last failed download of k, left (with its time) for
                                the processes that waited on the lock
    objects/<k[:2]>/.<k>.*.part a download in progress

A download goes to a ``.part`` file in the same directory and is renamed over ``<k>`` only when
complete (the metadata is written first), so a crash never leaves a half file that looks cached.
In one process, concurrent requests for one URL share one download, whichever MediaCache on the
directory asks (a process-wide table of downloads in flight); across processes the lock file
serialises them, and a waiter takes the finished file, or the error the download left beside the
lock, instead of downloading again. So a save that finds a prefetch of its URL running waits for
that download (one deadline in all), never starts a second one. At most `workers` downloads run
at once per MediaCache (``get`` callers included).

A URL is fetched once and then served from disk until it is evicted (``evict_older_than``) or
dropped (``discard``): the cache assumes media URLs are immutable, as draft clips are.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import IO, Union
from urllib.parse import quote, unquote

from filelock import FileLock, Timeout

from capcut_drafts import metrics
from capcut_drafts.errors import ErrorCode
from capcut_drafts.net.fetcher import FetchError, FetchPolicy, download_to

ProgressCallback = Callable[[int, int, str, Union["CachedFile", FetchError]], None]

IMPORTED_SCHEME = "imported:"     # files of imported drafts, by content (MediaCache.keep)

# .part files this process is writing (any MediaCache instance): never evicted as stale.
_ACTIVE_PARTS: set[str] = set()
_ACTIVE_LOCK = threading.Lock()

# Downloads writing in this process (any MediaCache instance), by object path: what arrived so far.
_TRANSFERS: dict[str, Transfer] = {}

# Downloads queued or running in this process, by object path (the directory and the URL's key):
# every MediaCache on one directory joins them.
_INFLIGHT: dict[str, Future] = {}
_INFLIGHT_LOCK = threading.Lock()


@dataclass(frozen=True)
class CachedFile:
    """A complete file in the cache. `path` must be treated as read-only (it may be hard-linked)."""
    url: str
    path: str
    size: int
    content_type: str | None = None
    sha256: str | None = None          # of the content
    final_url: str | None = None       # after redirects
    fetched_at: float | None = None    # unix time of the download


@dataclass
class Transfer:
    """A download writing now: the bytes of the current attempt so far and the size its response
    announced (None without a Content-Length). Written by the downloading thread only."""
    received: int = 0
    total: int | None = None

    def restart(self, total: int | None) -> None:
        self.received, self.total = 0, total

    def add(self, n: int) -> None:
        self.received += n


def imported_digest(url: str) -> str | None:
    """The content digest of an imported draft's file URL (`imported:<sha256>/<name>`), else None."""
    if not url.startswith(IMPORTED_SCHEME):
        return None
    digest = url[len(IMPORTED_SCHEME):].split("/", 1)[0]
    return digest if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) else None


def url_key(url: str) -> str:
    """The cache key of a URL: sha256 of the URL exactly as given (hex)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class _ObjectLock:
    """The exclusive lock of one cache object (`<object>.lock`, a filelock.FileLock), across the
    threads and processes of a host; the holder removes the lock file before unlocking.

    A holder whose download failed may `leave` a note in `<object>.error`. With `join`, a waiter
    that, once it holds the lock, finds a note written after it began waiting takes the note
    (`note`): the holder's download was the one it waited for, so its error is the waiter's too.
    """

    def __init__(self, object_path: str, join: bool = False):
        self.lock_path = object_path + ".lock"
        self.note_path = object_path + ".error"
        self.join = join
        self.note: dict | None = None
        self._inode: tuple[int, int] | None = None
        self._lock = FileLock(self.lock_path, on_acquired=self._held)

    def _held(self, fd: int) -> None:
        st = os.fstat(fd)
        self._inode = (st.st_dev, st.st_ino)

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock (waiting unless `blocking` is False); False when another holder has it."""
        began = time.time()
        try:
            self._lock.acquire(blocking=blocking)
        except Timeout:
            return False
        if self.join:
            self.note = _read_note(self.note_path, began)
        return True

    def leave(self, note: dict) -> None:
        """Write `note` (JSON-serialisable) beside the held lock for the waiting processes."""
        _write_json(self.note_path, {**note, "at": time.time()})

    def release(self) -> None:
        """Remove the lock file while holding it, then unlock. A waiter that locks the removed file
        notices (filelock checks the link count) and locks the path anew."""
        try:
            st = os.stat(self.lock_path)
            if (st.st_dev, st.st_ino) == self._inode:
                os.unlink(self.lock_path)
        except OSError:          # already gone; on Windows an open file cannot be removed: filelock does it
            pass
        self._lock.release()

    def __enter__(self) -> _ObjectLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class MediaCache:
    """Content cache of media URLs on disk (see the module doc).

    root_dir: where the cache lives (created). policy: the FetchPolicy for every download.
    workers: most downloads at once. hash_content: record the sha256 of each file's content.
    prefetch_limit: most prefetches waiting or running; more are dropped.
    """

    def __init__(self, root_dir: str, policy: FetchPolicy, workers: int = 16, *, hash_content: bool = True,
                 prefetch_limit: int = 256):
        self.root = os.path.abspath(os.fspath(root_dir))
        self.objects = os.path.join(self.root, "objects")
        os.makedirs(self.objects, exist_ok=True)
        self.policy = policy
        self.workers = max(1, int(workers))
        self.hash_content = hash_content
        self.prefetch_limit = prefetch_limit
        self._slots = threading.BoundedSemaphore(self.workers)
        self._lock = threading.RLock()
        self._queued: set[Future] = set()     # on this cache's pool, not started yet
        self._prefetching: set[str] = set()
        self._prefetch_errors: dict[str, FetchError] = {}
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="media-fetch")
        self._closed = False

    # -- paths --------------------------------------------------------------------------------

    def path_for(self, url: str) -> str:
        """Where the content of `url` is (or would be) stored. Files of imported drafts
        (`imported:<sha256>/<name>`) live under `imported/`, which eviction never sweeps: they
        cannot be downloaded again."""
        digest = imported_digest(url)
        if digest is not None:
            return os.path.join(self.root, "imported", digest)
        key = url_key(url)
        return os.path.join(self.objects, key[:2], key)

    def keep(self, stream: IO[bytes], name: str) -> str:
        """Store a file of an imported draft (read from `stream`) by its content; its URL."""
        folder = os.path.join(self.root, "imported")
        os.makedirs(folder, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".import.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(tmp, os.path.join(folder, digest.hexdigest()))
        except BaseException:
            _unlink(tmp)
            raise
        return f"{IMPORTED_SCHEME}{digest.hexdigest()}/{quote(name, safe='')}"

    # -- lookups ------------------------------------------------------------------------------

    def peek(self, url: str) -> CachedFile | None:
        """The cached file for `url` if it is complete, without downloading."""
        path = self.path_for(url)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        meta = {}
        try:
            with open(path + ".json", encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError):
            pass
        if meta.get("url") not in (None, url) or meta.get("size", st.st_size) != st.st_size:
            meta = {}  # metadata of an older download: keep only what the file tells
        return CachedFile(url=url, path=path, size=st.st_size, content_type=meta.get("content_type"),
                          sha256=meta.get("sha256"), final_url=meta.get("final_url"),
                          fetched_at=meta.get("fetched_at", st.st_mtime))

    def transfer(self, url: str) -> tuple[int, int | None] | None:
        """(bytes received, size announced or None) of the download of `url` writing in this
        process (any MediaCache on this directory); None when none is (queued, done, or another
        process's download this one waits for)."""
        with _ACTIVE_LOCK:
            live = _TRANSFERS.get(self.path_for(url))
        return None if live is None else (live.received, live.total)

    def get(self, url: str) -> CachedFile:
        """The cached file for `url`, downloading it first if needed (in this thread). Raises FetchError.

        Joins a download of the same URL already running in this process; a failed prefetch of
        `url` is reported here (permanent failures) or retried (transient ones).
        """
        future, own = self._claim(url, run_here=True)
        if own:
            self._run(url, future)
        return _result(future)

    def fetch_many(self, urls: Iterable[str], on_progress: ProgressCallback | None = None
                   ) -> dict[str, CachedFile | FetchError]:
        """Fetch every URL, at most `workers` at once; returns {url: CachedFile or FetchError}.

        ``on_progress(done, total, url, result)`` is called in this thread after each URL finishes
        (cached ones included), with `total` the number of distinct URLs.
        """
        unique = list(dict.fromkeys(urls))
        futures = {self._submit(url): url for url in unique}
        results: dict[str, CachedFile | FetchError] = {}
        for done, future in enumerate(as_completed(futures), start=1):
            url = futures[future]
            try:
                results[url] = _result(future)
            except FetchError as exc:
                results[url] = exc
            if on_progress is not None:
                on_progress(done, len(unique), url, results[url])
        return {url: results[url] for url in unique}

    def prefetch(self, url: str) -> bool:
        """Start downloading `url` in the background; True if a download was queued.

        Ignored (False) when it is cached, already downloading or queued, or when
        `prefetch_limit` prefetches are pending. Errors stay quiet until `get(url)`.
        """
        with self._lock:
            if self._closed or len(self._prefetching) >= self.prefetch_limit:
                return False
        if _running(self.path_for(url)) is not None or self.peek(url) is not None:
            return False
        with self._lock:
            self._prefetch_errors.pop(url, None)     # this prefetch replaces an earlier failure
        future, own = self._claim(url)
        if not own:
            return False
        with self._lock:
            self._prefetching.add(url)
        self._queue(url, future, prefetch=True)
        return True

    # -- housekeeping -------------------------------------------------------------------------

    def discard(self, url: str) -> bool:
        """Drop `url` from the cache; True if it was there."""
        path = self.path_for(url)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with _ObjectLock(path) as lock:
            _unlink(lock.note_path)
            _unlink(path + ".json")
            return _unlink(path)

    def evict_older_than(self, seconds: float) -> tuple[int, int]:
        """Remove entries not used for `seconds` (and stale partial downloads); returns (files, bytes).

        "Used" is the file's mtime, refreshed on every cache hit. Files hard-linked into draft
        folders stay there; only the cache's link goes.
        """
        cutoff = time.time() - seconds
        removed = freed = 0
        for shard in _listdir(self.objects):
            shard_dir = os.path.join(self.objects, shard)
            for name in _listdir(shard_dir):
                path = os.path.join(shard_dir, name)
                if name.endswith(".json"):
                    if not os.path.exists(path[:-5]) and _older(path, cutoff):
                        _unlink(path)
                    continue
                if name.endswith(".lock"):
                    if _older(path, cutoff):
                        _remove_unheld_lock(path[:-5])
                    continue
                if name.endswith(".error"):
                    if _older(path, cutoff):
                        _unlink(path)
                    continue
                if name.endswith(".part"):
                    if _older(path, cutoff) and not self._part_in_use(path):
                        size = _size(path)
                        if _unlink(path):
                            removed, freed = removed + 1, freed + size
                    continue
                if not _older(path, cutoff):
                    continue
                with _ObjectLock(path):
                    if _older(path, cutoff):
                        size = _size(path)
                        _unlink(path + ".json")
                        if _unlink(path):
                            removed, freed = removed + 1, freed + size
        return removed, freed

    def close(self, wait: bool = False) -> None:
        """Stop the background workers (queued prefetches are cancelled)."""
        with self._lock:
            self._closed = True
            queued, self._queued = self._queued, set()
            self._prefetching.clear()
        cancelled = {f for f in queued if f.cancel()}
        with _INFLIGHT_LOCK:
            for key in [k for k, f in _INFLIGHT.items() if f in cancelled]:
                del _INFLIGHT[key]
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> MediaCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close(wait=True)

    # -- internals ----------------------------------------------------------------------------

    def _claim(self, url: str, run_here: bool = False) -> tuple[Future, bool]:
        """The shared future for `url` and whether the caller must run the download.

        Already cached or a permanent prefetch failure: a finished future. Queued or running in
        this process (any MediaCache on this directory): that future. Otherwise a new future
        registered as in flight (own=True), already marked running when `run_here` (so `close`
        cannot cancel it). The in-flight table is read before the prefetch failures because
        `_run` records a failure before it settles the future: a caller always finds one of them.
        """
        future: Future = Future()
        hit = self.peek(url)
        if hit is not None:
            self._touch(hit.path)
            future.set_result(hit)
            return future, False
        key = self.path_for(url)
        with _INFLIGHT_LOCK:
            running = _INFLIGHT.get(key)
            if running is not None and not running.done():
                return running, False
            with self._lock:
                error = self._prefetch_errors.pop(url, None)
            if error is not None and not error.retryable:
                future.set_exception(error)
                return future, False
            _INFLIGHT[key] = future
            if run_here:
                future.set_running_or_notify_cancel()
        return future, True

    def _submit(self, url: str) -> Future:
        """The shared future for `url`: cached, in flight, or newly queued on the pool."""
        future, own = self._claim(url)
        if own:
            self._queue(url, future)
        return future

    def _queue(self, url: str, future: Future, prefetch: bool = False) -> None:
        """Run the download `future` (just claimed) on the pool."""
        with self._lock:
            self._queued.add(future)
        try:
            self._pool.submit(self._run_queued, url, future, prefetch)
        except RuntimeError:  # the pool is shut down: download here instead
            with self._lock:
                self._queued.discard(future)
            if future.set_running_or_notify_cancel():
                self._run(url, future, prefetch)

    def _run_queued(self, url: str, future: Future, prefetch: bool) -> None:
        with self._lock:
            self._queued.discard(future)
        if future.set_running_or_notify_cancel():
            self._run(url, future, prefetch)

    def _run(self, url: str, future: Future, prefetch: bool = False) -> None:
        """Download `url`, then record a prefetch's failure, settle `future` and only then drop
        it from the in-flight table, in that order (see `_claim`)."""
        result, error = self._attempt(url)
        if prefetch:
            with self._lock:
                self._prefetching.discard(url)
                if isinstance(error, FetchError):
                    self._prefetch_errors[url] = error
                    while len(self._prefetch_errors) > 4 * self.prefetch_limit:
                        self._prefetch_errors.pop(next(iter(self._prefetch_errors)))
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
        with _INFLIGHT_LOCK:
            key = self.path_for(url)
            if _INFLIGHT.get(key) is future:
                del _INFLIGHT[key]

    def _attempt(self, url: str) -> tuple[CachedFile | None, BaseException | None]:
        """(file, None) or (None, error) for one download of `url` in one of the `workers` slots."""
        try:
            with self._slots:
                return self._download(url), None
        except FetchError as exc:
            return None, exc
        except OSError as exc:
            return None, FetchError(f"could not store the download ({exc.strerror or type(exc).__name__})",
                                    code=ErrorCode.FETCH_STORAGE)
        except BaseException as exc:  # programming errors: still release the waiters
            return None, exc

    def _download(self, url: str) -> CachedFile:
        path = self.path_for(url)
        if imported_digest(url) is not None:
            raise FetchError(f"the file '{unquote(url.rsplit('/', 1)[-1])}' of an imported draft is no longer in "
                             "the media cache (an operator removed it): import the draft again",
                             code=ErrorCode.MEDIA_NOT_IMPORTED)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        with _ObjectLock(path, join=True) as lock:
            hit = self.peek(url)
            if hit is not None:  # another process finished it while we waited
                return hit
            if lock.note is not None:  # another process's download we waited for failed: its error is ours
                raise _error_from_note(lock.note)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.{os.getpid()}.",
                                       suffix=".part")
            os.close(fd)
            live = Transfer()
            with _ACTIVE_LOCK:
                _ACTIVE_PARTS.add(tmp)
                _TRANSFERS[path] = live
            try:
                got = download_to(url, tmp, self.policy, hash_content=self.hash_content, on_chunk=live.add,
                                  on_response=live.restart)
                fetched_at = time.time()
                meta = {"url": url, "final_url": got.final_url, "size": got.size, "content_type": got.content_type,
                        "sha256": got.sha256, "fetched_at": fetched_at}
                _write_json(path + ".json", meta)
                os.replace(tmp, path)
                _unlink(lock.note_path)        # an earlier failure's note is moot now
                metrics.BYTES_DOWNLOADED.inc(got.size)
            except BaseException as exc:
                _unlink(tmp)
                if isinstance(exc, FetchError):
                    _leave_error(lock, exc)
                raise
            finally:
                with _ACTIVE_LOCK:
                    _ACTIVE_PARTS.discard(tmp)
                    _TRANSFERS.pop(path, None)
        return CachedFile(url=url, path=path, size=got.size, content_type=got.content_type, sha256=got.sha256,
                          final_url=got.final_url, fetched_at=fetched_at)

    @staticmethod
    def _part_in_use(path: str) -> bool:
        """A .part file being written by a live process is not stale (download names carry the pid)."""
        with _ACTIVE_LOCK:
            if path in _ACTIVE_PARTS:
                return True
        try:
            pid = int(os.path.basename(path).split(".")[2])
        except (IndexError, ValueError):
            return False
        if pid == os.getpid():
            return False  # not in _ACTIVE_PARTS: left by an earlier crash of a process with our pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    @staticmethod
    def _touch(path: str) -> None:
        try:
            os.utime(path)
        except OSError:
            pass


def _running(key: str) -> Future | None:
    """The download of the object at `key` queued or running in this process, if any."""
    with _INFLIGHT_LOCK:
        future = _INFLIGHT.get(key)
    return future if future is not None and not future.done() else None


def _read_note(path: str, since: float) -> dict | None:
    """The note in the file `path` if one was left at or after `since` (unix time)."""
    try:
        with open(path, encoding="utf-8") as f:
            note = json.load(f)
    except (OSError, ValueError):
        return None
    if isinstance(note, dict) and isinstance(note.get("at"), (int, float)) and note["at"] >= since:
        return note
    return None


def _leave_error(lock: _ObjectLock, error: FetchError) -> None:
    """Leave `error` beside the held lock; failing to is harmless (waiters download themselves)."""
    try:
        lock.leave({"code": error.code, "message": str(error), "retryable": error.retryable,
                    "status": error.status})
    except OSError:
        pass


def _error_from_note(note: dict) -> FetchError:
    status = note.get("status")
    code = note.get("code")
    return FetchError(str(note.get("message") or "the download failed in another process"),
                      code=code if code in set(ErrorCode) else ErrorCode.FETCH_FAILED,
                      retryable=bool(note.get("retryable")), status=status if isinstance(status, int) else None)


def _remove_unheld_lock(object_path: str) -> None:
    """Remove the lock file of `object_path` left by a crashed process (nobody holds it)."""
    lock = _ObjectLock(object_path)
    if lock.acquire(blocking=False):
        lock.release()


def _result(future: Future) -> CachedFile:
    try:
        exc = future.exception()
    except CancelledError:
        raise FetchError("the download was cancelled (the media cache was closed)",
                         code=ErrorCode.FETCH_CANCELLED) from None
    if exc is not None:
        raise exc
    return future.result()


def _write_json(path: str, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".meta.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _older(path: str, cutoff: float) -> bool:
    try:
        return os.stat(path).st_mtime < cutoff
    except FileNotFoundError:
        return False


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
