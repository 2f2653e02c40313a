"""Real media files and a real HTTP server on 127.0.0.1 for tests (no mocks, no network).

Generating media (PyAV 18 bundles FFmpeg; Pillow for images) — small and quick by default:

* ``make_video(path, seconds=5, size=(320, 240), fps=25, audio=True, video=True)`` — H.264 + AAC
  in MP4 (or by the extension: ``.mov``; ``.mkv``; ``.webm`` uses VP9 + Opus). ``video=False``
  gives an audio-only file in the same container.
* ``make_audio(path, seconds=8, fmt="mp3")`` — fmt: ``mp3``, ``wav``, ``m4a`` (AAC, M4A brand),
  ``mp4`` (AAC in an audio-only MP4), ``aac`` (ADTS), ``ogg`` (Opus), ``flac``.
* ``make_image(path, fmt="png", size=(64, 48), frames=1, frame_ms=100)`` — fmt: ``png``, ``jpg``,
  ``gif``, ``webp``, ``bmp``; ``frames > 1`` makes an animated GIF/WebP whose animation lasts
  ``frames * frame_ms`` ms.
* ``pattern_bytes(n, seed=0)`` — n deterministic pseudo-random bytes (what ``/bytes/<n>`` serves).
* ``truncated_copy(src, dst, keep)`` — the first ``keep`` bytes of ``src`` (a broken file).

Serving them — ``MediaServer(directory, host="127.0.0.1", ssl_context=None, port=0)``, a context manager
running a threaded HTTP/1.1 server (keep-alive, ``sendfile``) on a free port::

    with MediaServer(tmp_path) as server:
        url = server.url("clip.mp4")                  # http://127.0.0.1:<port>/clip.mp4
        ...
        assert server.hits("/count/clip.mp4") == 1

Endpoints (``name`` is a file in ``directory``; the query strings are optional):

* ``/<name>`` and ``/count/<name>`` — the file (Content-Type from its extension). Every request
  to every endpoint is counted and recorded, so ``/count/`` only names the intent.
* ``/redirect?to=<url>&code=302`` — a redirect to ``to`` (absolute or relative).
* ``/loop`` — redirects to itself forever.
* ``/slow/<name>?chunk=1&interval=0.2`` — announces the full Content-Length, then trickles
  ``chunk`` bytes every ``interval`` seconds (no pause before the first chunk or after the last).
* ``/lie/<name>?length=N`` — sends the whole file with ``Content-Length: N`` (smaller or larger than
  the file) and closes the connection; ``length=none`` omits Content-Length (body ends at close).
* ``/status/<code>?retry_after=S`` — answers with that status and a body containing
  ``SECRET-BODY`` (to check that errors never echo a body).
* ``/flaky/<name>?fail=N&key=K`` — answers 503 to the first N requests with the same name and key,
  then serves the file.
* ``/bytes/<n>?nolength=1&seed=0`` — ``pattern_bytes(n, seed)``; with ``nolength`` no
  Content-Length (the body ends when the connection closes).

Inspecting: ``server.hits(path)`` counts requests to a path (without query);
``server.requests`` is a list of ``RequestRecord(method, path, query, host_header, local_address,
client_address, sni)``: ``local_address`` is the server address the client connected to (to prove
which address a client really used), ``sni`` the TLS server name it sent (with ``ssl_context``).
``server.max_concurrent`` is the most requests handled at once (as the server sees it: a handler
may still be finishing when the client already has the whole body). ``server.reset()`` clears them.
``MediaServer(..., host="127.0.0.2")`` listens on another loopback address (all of 127.0.0.0/8 is
local on Linux); ``host="::1"`` on IPv6 loopback.
"""
from __future__ import annotations

import array
import math
import mimetypes
import random
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import av
from PIL import Image

__all__ = ["make_video", "make_audio", "make_image", "pattern_bytes", "truncated_copy", "MediaServer",
           "RequestRecord"]


# -- media generation ------------------------------------------------------------------------

def _tone(seconds: float, rate: int, freq: float = 440.0) -> bytes:
    """Mono signed 16-bit samples of a sine tone."""
    n = int(round(seconds * rate))
    step = 2 * math.pi * freq / rate
    return array.array("h", (int(8000 * math.sin(i * step)) for i in range(n))).tobytes()


def _audio_frames(seconds: float, rate: int, samples_per_frame: int = 1024):
    pcm = _tone(seconds, rate)
    bytes_per_frame = samples_per_frame * 2
    for start in range(0, len(pcm), bytes_per_frame):
        block = pcm[start:start + bytes_per_frame]
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(block) // 2)
        frame.planes[0].update(block)
        frame.sample_rate = rate
        frame.pts = start // 2
        frame.time_base = Fraction(1, rate)
        yield frame


def _encode_audio(container, stream, seconds: float, rate: int) -> None:
    for frame in _audio_frames(seconds, rate):
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def make_video(path, seconds: float = 5, size: tuple[int, int] = (320, 240), fps: int = 25, audio: bool = True,
               video: bool = True, sample_rate: int = 44100) -> Path:
    """Write a short test video (moving brightness, 440 Hz tone) and return its path.

    The container follows the extension: .mp4/.m4v/.mov/.mkv use H.264 + AAC, .webm VP9 + Opus.
    """
    path = Path(path)
    ext = path.suffix.lower().lstrip(".") or "mp4"
    webm = ext == "webm"
    fmt = {"mp4": "mp4", "m4v": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm"}[ext]
    if webm:
        sample_rate = 48000
    with av.open(str(path), "w", format=fmt) as container:
        vstream = astream = None
        if video:
            vstream = container.add_stream("libvpx-vp9" if webm else "libx264", rate=fps)
            vstream.width, vstream.height = size
            vstream.pix_fmt = "yuv420p"
            vstream.options = {"deadline": "realtime", "cpu-used": "8"} if webm else {"preset": "ultrafast"}
        if audio:
            astream = container.add_stream("libopus" if webm else "aac", rate=sample_rate)
            astream.layout = "mono"
        if vstream is not None:
            w, h = size
            for i in range(int(round(seconds * fps))):
                frame = av.VideoFrame(w, h, "yuv420p")
                frame.planes[0].update(bytes([(i * 7) % 220 + 16]) * (frame.planes[0].line_size * h))
                for plane in frame.planes[1:]:
                    plane.update(bytes([128]) * (plane.line_size * (h // 2)))
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                for packet in vstream.encode(frame):
                    container.mux(packet)
            for packet in vstream.encode(None):
                container.mux(packet)
        if astream is not None:
            _encode_audio(container, astream, seconds, sample_rate)
    return path


_AUDIO_FORMATS = {
    # fmt: (container format, codec, sample rate)
    "mp3": ("mp3", "libmp3lame", 44100),
    "wav": ("wav", "pcm_s16le", 44100),
    "m4a": ("ipod", "aac", 44100),
    "mp4": ("mp4", "aac", 44100),
    "aac": ("adts", "aac", 44100),
    "ogg": ("ogg", "libopus", 48000),
    "flac": ("flac", "flac", 44100),
}


def make_audio(path, seconds: float = 8, fmt: str = "mp3") -> Path:
    """Write `seconds` of a mono 440 Hz tone as `fmt` (see the module doc) and return the path."""
    container_format, codec, rate = _AUDIO_FORMATS[fmt]
    path = Path(path)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        _encode_audio(container, stream, seconds, rate)
    return path


_IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP"}


def make_image(path, fmt: str = "png", size: tuple[int, int] = (64, 48), frames: int = 1,
               frame_ms: int = 100) -> Path:
    """Write an image (`frames` > 1: an animated GIF/WebP, each frame shown `frame_ms` ms)."""
    path = Path(path)
    pil_format = _IMAGE_FORMATS[fmt.lower()]
    mode = "RGBA" if pil_format in ("PNG", "WEBP") else "RGB"
    images = [Image.new(mode, size, ((40 * i) % 256, 90, 160)) for i in range(max(1, frames))]
    if frames > 1:
        images[0].save(path, pil_format, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    else:
        images[0].save(path, pil_format)
    return path


def pattern_bytes(n: int, seed: int = 0) -> bytes:
    """n deterministic pseudo-random bytes (a 1 MiB random block repeated)."""
    block = random.Random(seed).randbytes(min(n, 1 << 20))
    if not block:
        return b""
    reps, rest = divmod(n, len(block))
    return block * reps + block[:rest]


def truncated_copy(src, dst, keep: int) -> Path:
    """Write the first `keep` bytes of `src` to `dst` (a broken media file)."""
    dst = Path(dst)
    dst.write_bytes(Path(src).read_bytes()[:keep])
    return dst


# -- the server ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str                     # without the query string, percent-decoded
    query: str
    host_header: str | None
    local_address: tuple          # (address, port) of the server socket the client reached
    client_address: tuple
    sni: str | None            # TLS server name sent by the client (https only)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    # -- plumbing
    def _record(self) -> tuple[str, dict]:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        sni = getattr(self.connection, "sni_name", None)
        try:
            local = self.connection.getsockname()[:2]
        except OSError:
            local = ("", 0)
        record = RequestRecord(self.command, path, parts.query, self.headers.get("Host"), local,
                               self.client_address[:2], sni)
        with self.server.lock:
            self.server.records.append(record)
        return path, {k: v[-1] for k, v in parse_qs(parts.query).items()}

    def _file(self, name: str) -> Path | None:
        root = self.server.directory.resolve()
        try:
            path = (root / name).resolve()
            path.relative_to(root)
        except (ValueError, OSError):
            return None
        return path if path.is_file() else None

    def _simple(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_file(self, path: Path, content_length: int | None = -1, close: bool = False) -> None:
        size = path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        if content_length == -1:
            content_length = size
        if content_length is not None:
            self.send_header("Content-Length", str(content_length))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.flush()
        with path.open("rb") as f:
            self.connection.sendfile(f)

    # -- routes
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.active += 1
            self.server.max_active = max(self.server.max_active, self.server.active)
        try:
            self._route()
        except (TimeoutError, BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        finally:
            with self.server.lock:
                self.server.active -= 1

    def _route(self) -> None:
        path, q = self._record()
        head, _, rest = path.lstrip("/").partition("/")
        if head == "redirect":
            self._simple(int(q.get("code", 302)), headers={"Location": q.get("to", "/")})
        elif head == "loop":
            self._simple(302, headers={"Location": "/loop"})
        elif head == "status":
            code = int(rest or 500)
            headers = {"Content-Type": "text/plain"}
            if "retry_after" in q:
                headers["Retry-After"] = q["retry_after"]
            self._simple(code, f"status {code} SECRET-BODY do not show".encode(), headers)
        elif head == "bytes":
            self._bytes(int(rest), int(q.get("seed", 0)), nolength="nolength" in q)
        elif head in ("slow", "lie", "flaky", "count"):
            file = self._file(rest)
            if file is None:
                self._simple(404, b"not found")
            elif head == "slow":
                self._slow(file, int(q.get("chunk", 1)), float(q.get("interval", 0.2)))
            elif head == "lie":
                length = q.get("length", "none")
                self._send_file(file, None if length == "none" else int(length), close=True)
            elif head == "flaky":
                key = (rest, q.get("key", ""))
                with self.server.lock:
                    self.server.flaky[key] += 1
                    failing = self.server.flaky[key] <= int(q.get("fail", 1))
                if failing:
                    self._simple(503, b"try again SECRET-BODY")
                else:
                    self._send_file(file)
            else:
                self._send_file(file)
        else:
            file = self._file(path.lstrip("/"))
            if file is None:
                self._simple(404, b"not found")
            else:
                self._send_file(file)

    def _slow(self, file: Path, chunk: int, interval: float) -> None:
        data = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        for start in range(0, len(data), chunk):
            if start:
                time.sleep(interval)
            if self.server.stopping.is_set():
                break
            self.wfile.write(data[start:start + chunk])
            self.wfile.flush()
        self.close_connection = True

    def _bytes(self, n: int, seed: int, nolength: bool) -> None:
        data = pattern_bytes(n, seed)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if nolength:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, directory: Path, ssl_context: ssl.SSLContext | None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.directory = Path(directory)
        self.ssl_context = ssl_context
        self.lock = threading.Lock()
        self.records: list[RequestRecord] = []
        self.flaky: Counter = Counter()
        self.active = self.max_active = 0
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def get_request(self):
        sock, address = super().get_request()
        if self.ssl_context is not None:  # handshake later, in the handler's thread
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address) -> None:  # clients hanging up are normal here
        pass


class MediaServer:
    """A threaded HTTP(S) server on a loopback address serving `directory` (see the module doc)."""

    def __init__(self, directory, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None,
                 port: int = 0):
        self.directory = Path(directory)
        self.host = host
        self.requested_port = port
        self.ssl_context = ssl_context
        if ssl_context is not None:
            ssl_context.sni_callback = _remember_sni
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> MediaServer:
        self._server = _Server((self.host, self.requested_port), self.directory, self.ssl_context)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"MediaServer:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self._url_host(self.host)}:{self.port}"

    @staticmethod
    def _url_host(host: str) -> str:
        return f"[{host}]" if ":" in host else host

    def url(self, name: str, host: str | None = None) -> str:
        """Absolute URL of `name` (a file name or an endpoint path with its query string).

        `host` replaces the address in the URL (e.g. ``"localhost"`` or a name a test resolver knows).
        """
        path, sep, query = name.lstrip("/").partition("?")
        base = self.base_url
        if host is not None:
            base = base.replace(f"//{self._url_host(self.host)}:", f"//{self._url_host(host)}:", 1)
        return f"{base}/{quote(path)}{sep}{query}"

    @property
    def requests(self) -> list[RequestRecord]:
        with self._server.lock:
            return list(self._server.records)

    def hits(self, path: str) -> int:
        """How many requests reached `path` (e.g. ``"/count/a.mp4"``; the query string is ignored)."""
        path = "/" + unquote(path.split("?")[0]).lstrip("/")
        return sum(1 for r in self.requests if r.path == path)

    @property
    def max_concurrent(self) -> int:
        """The most requests this server was handling at the same moment (since start or reset)."""
        with self._server.lock:
            return self._server.max_active

    def reset(self) -> None:
        with self._server.lock:
            self._server.records.clear()
            self._server.flaky.clear()
            self._server.max_active = self._server.active


def _remember_sni(sslsock, server_name, context) -> None:
    try:
        sslsock.sni_name = server_name
    except AttributeError:
        pass

