"""What a downloaded media file is: kind, real extension, duration and size. Local files only.

``probe(path) -> MediaInfo`` never takes a URL and never touches the network: FFmpeg (through
PyAV) is opened with ``protocol_whitelist=file`` and a whitelist of plain media demuxers, so a
playlist (HLS/DASH/concat) that a client served as "media" cannot make it fetch anything.

* Images are recognised by their signature and read with Pillow (header only): PNG, JPEG, WebP,
  BMP, TIFF → kind ``photo`` (animated WebP/PNG too: CapCut shows them as images).
* GIF: kind ``gif`` with the animation's length (Pillow checks the header, then the sum of the
  frame delays is read by demuxing without decoding; delays under 20 ms count as 100 ms, as browsers and FFmpeg do). **A
  single-frame GIF is a still: kind ``photo``, ext ``gif``, duration None.**
* Everything else goes to PyAV. A file with a video stream (cover art in audio files does not
  count) is ``video``; with only audio it is ``audio`` — an MP4/MOV holding only audio is audio
  with ext ``m4a``. The duration is the main stream's (video, else audio), else the container's,
  else found by reading packets to the end (bounded by `scan_seconds`); raw ADTS AAC is always
  read to the end because FFmpeg only estimates its length from the bit rate.
* Unreadable, truncated-header or unsupported files raise ``ProbeError`` with a short reason —
  never a guess such as 1920×1080. (A truncated body behind an intact header is not noticed.)
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import av
from PIL import Image, UnidentifiedImageError

#: FFmpeg demuxers probe() accepts (no playlists, no raw elementary streams, no text art).
ALLOWED_DEMUXERS = ("mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mp3,wav,w64,aac,ogg,flac,gif,avi,flv,"
                    "mpegts,mpeg,asf,aiff,amr,caf")
_AV_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": ALLOWED_DEMUXERS}
_EXT_BY_DEMUXER = {"mp3": "mp3", "wav": "wav", "w64": "wav", "aac": "aac", "ogg": "ogg", "flac": "flac",
                   "gif": "gif", "avi": "avi", "flv": "flv", "mpegts": "ts", "mpeg": "mpg", "aiff": "aiff",
                   "amr": "amr", "caf": "caf"}
_PIL_EXT = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp", "BMP": "bmp", "TIFF": "tiff", "GIF": "gif"}
_GIF_MIN_DELAY_US = 20_000
_GIF_DEFAULT_DELAY_US = 100_000


class ProbeError(Exception):
    """The file is not media we can use; the message is a short reason safe to show."""


@dataclass(frozen=True)
class MediaInfo:
    """What `probe` found.

    kind: "video" | "audio" | "photo" | "gif".
    ext: the real extension from the content (mp4, mov, webm, mkv, m4a, mp3, wav, aac, ogg, flac,
        png, jpg, gif, webp, bmp, tiff, ...), without the dot.
    duration_us: length in microseconds; None for stills (photos, single-frame GIFs).
    width / height: pixels as stored (no rotation applied); None for audio.
    """
    kind: str
    ext: str
    duration_us: int | None
    width: int | None
    height: int | None
    has_video: bool
    has_audio: bool
    video_codec: str | None = None
    audio_codec: str | None = None
    fps: float | None = None
    frames: int | None = None          # GIF frame count
    format_name: str = ""                 # the demuxer (FFmpeg) or format (Pillow) that read it

    @property
    def duration(self) -> float | None:
        """Seconds, or None for stills."""
        return None if self.duration_us is None else self.duration_us / 1_000_000


def sniff_image(head: bytes) -> str | None:
    """The image type a file starts with ("png", "jpg", "gif", "webp", "bmp", "tiff") or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def probe(path: str | os.PathLike[str], scan_seconds: float = 10.0) -> MediaInfo:
    """Probe the local file `path` (see the module doc). Raises ProbeError."""
    path = os.fspath(path)
    if "://" in path:
        raise ProbeError("probe reads local files only, not URLs")
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise ProbeError(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
    if not head:
        raise ProbeError("the file is empty")
    image = sniff_image(head)
    if image == "gif":
        return _probe_gif(path)
    if image is not None:
        return _probe_image(path)
    return _probe_av(path, head, scan_seconds)


def _open_av(path: str):
    try:
        return av.open("file:" + os.path.abspath(path), options=dict(_AV_OPTIONS))
    except av.error.FFmpegError as exc:
        if isinstance(exc, av.error.ArgumentError):  # refused by the demuxer whitelist
            raise ProbeError("not a supported audio or video format") from None
        raise ProbeError("not a readable media file (unknown format or damaged header)") from None
    except (OSError, ValueError) as exc:
        raise ProbeError(f"cannot open the file ({type(exc).__name__})") from None


def _probe_image(path: str) -> MediaInfo:
    try:
        with Image.open(path) as im:
            fmt, (width, height) = im.format, im.size
    except Image.DecompressionBombError:
        raise ProbeError("the image has too many pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ProbeError("not a readable image (damaged or truncated header)") from None
    ext = _PIL_EXT.get(fmt) if fmt is not None else None
    if fmt is None or ext is None or width <= 0 or height <= 0:
        raise ProbeError(f"unsupported image format {fmt}")
    return MediaInfo(kind="photo", ext=ext, duration_us=None, width=width, height=height, has_video=False,
                     has_audio=False, format_name=fmt)


def _probe_gif(path: str) -> MediaInfo:
    _probe_image(path)  # Pillow checks the header up to the first image descriptor
    container = _open_av(path)
    try:
        if not container.streams.video:
            raise ProbeError("the GIF has no image")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        frames, total_us = 0, 0
        tb = stream.time_base
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                frames += 1
                delay = int(packet.duration * tb * 1_000_000) if packet.duration and tb else 0
                total_us += delay if delay >= _GIF_MIN_DELAY_US else _GIF_DEFAULT_DELAY_US
        except av.error.FFmpegError:
            if frames == 0:
                raise ProbeError("not a readable GIF (damaged data)") from None
    finally:
        container.close()
    if not width or not height or frames == 0:
        raise ProbeError("not a readable GIF (damaged header)")
    if frames == 1:
        return MediaInfo(kind="photo", ext="gif", duration_us=None, width=width, height=height, has_video=False,
                         has_audio=False, frames=1, format_name="gif")
    return MediaInfo(kind="gif", ext="gif", duration_us=total_us, width=width, height=height, has_video=True,
                     has_audio=False, video_codec="gif", frames=frames, format_name="gif")


def _is_cover_art(stream) -> bool:
    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _seconds_us(value, time_base) -> int | None:
    if value is None or time_base is None:
        return None
    us = int(round(value * time_base * 1_000_000))
    return us if us > 0 else None


def _probe_av(path: str, head: bytes, scan_seconds: float) -> MediaInfo:
    container = _open_av(path)
    try:
        demuxer = container.format.name
        videos = [s for s in container.streams.video if not _is_cover_art(s)]
        audios = list(container.streams.audio)
        if not videos and not audios:
            raise ProbeError("the file has no audio or video stream")
        main = videos[0] if videos else audios[0]
        width = height = None
        fps = None
        if videos:
            width, height = main.codec_context.width, main.codec_context.height
            if not width or not height:
                raise ProbeError("the video stream has no picture size (damaged header)")
            rate = main.average_rate or main.guessed_rate
            fps = float(rate) if rate else None
        duration = None if demuxer == "aac" else _seconds_us(main.duration, main.time_base)
        if duration is None and not videos:
            duration = next((d for d in (_seconds_us(s.duration, s.time_base) for s in audios[1:]) if d), None)
        estimate = container.duration if container.duration and container.duration > 0 else None
        if duration is None and demuxer != "aac":
            duration = estimate
        if duration is None:
            duration = _scan_duration(container, main, scan_seconds) or estimate
        if not duration:
            raise ProbeError("cannot tell how long the media is")
        ext = _extension(demuxer, head, has_video=bool(videos))
        return MediaInfo(kind="video" if videos else "audio", ext=ext, duration_us=int(duration),
                         width=width, height=height, has_video=bool(videos), has_audio=bool(audios),
                         video_codec=videos[0].codec_context.name if videos else None,
                         audio_codec=audios[0].codec_context.name if audios else None, fps=fps,
                         format_name=demuxer)
    except av.error.FFmpegError:
        raise ProbeError("not a readable media file (damaged data)") from None
    finally:
        container.close()


def _scan_duration(container, stream, budget: float) -> int | None:
    """Length from the packet timestamps, reading to the end (None if the budget runs out)."""
    stop_at = time.monotonic() + budget
    tb = stream.time_base
    first = last = None
    try:
        for count, packet in enumerate(container.demux(stream)):
            if packet.pts is not None:
                end = packet.pts + (packet.duration or 0)
                first = packet.pts if first is None else min(first, packet.pts)
                last = end if last is None else max(last, end)
            if count % 256 == 255 and time.monotonic() > stop_at:
                return None
    except av.error.FFmpegError:
        pass  # a damaged tail: use what was read
    if first is None or last is None:
        return None
    return _seconds_us(last - first, tb)


def _extension(demuxer: str, head: bytes, has_video: bool) -> str:
    if demuxer.startswith("mov,"):
        brand = head[8:12] if head[4:8] == b"ftyp" else b""
        if not has_video:
            return "m4a"
        if brand == b"qt  ":
            return "mov"
        if brand.startswith(b"3g"):
            return "3gp"
        return "mp4"
    if demuxer.startswith("matroska"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if demuxer == "asf":
        return "wmv" if has_video else "wma"
    return _EXT_BY_DEMUXER.get(demuxer, demuxer.split(",")[0])
