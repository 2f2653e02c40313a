"""Save throughput: a draft of N media clips served from a local HTTP server.

    .venv/bin/python bench/save_throughput.py [--files 20] [--mb 20]

Generates one real MP4 (noise, so it does not compress) and serves N copies under different
names from a threaded HTTP server on 127.0.0.1. Then, through the API (Flask test client, SQLite
store, thread runner): adds one clip per file, saves the draft, and prints the wall time, bytes/s
and the ratio to a plain 16-thread parallel download of the same files; then the re-save time
with a warm media cache.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers.media import MediaServer  # noqa: E402

from capcut_drafts.settings import Settings  # noqa: E402
from capcut_drafts.web.app import create_app  # noqa: E402


def noise_video(path: Path, megabytes: int) -> None:
    """An H.264 MP4 of roughly `megabytes` MB: random frames at a fixed high bitrate."""
    seconds, fps = 4, 25
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.bit_rate = megabytes * 8_000_000 // seconds
        stream.options = {"preset": "ultrafast"}
        rng = np.random.default_rng(1)
        for _ in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def plain_download(urls: list[str], target: Path) -> float:
    def get(url: str) -> int:
        with requests.get(url, stream=True, timeout=60) as reply, open(target / url.rsplit("/", 1)[1], "wb") as out:
            for chunk in reply.iter_content(1 << 16):
                out.write(chunk)
        return 0

    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(get, urls))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--mb", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        media = tmp / "media"
        media.mkdir()
        noise_video(media / "clip0.mp4", args.mb)
        for i in range(1, args.files):
            shutil.copy(media / "clip0.mp4", media / f"clip{i}.mp4")
        size = (media / "clip0.mp4").stat().st_size
        total = size * args.files
        with MediaServer(media) as server:
            urls = [server.url(f"clip{i}.mp4") for i in range(args.files)]
            plain_dir = tmp / "plain"
            plain_dir.mkdir()
            plain = plain_download(urls, plain_dir)

            settings = Settings().replace(store="sqlite", data_dir=str(tmp / "data"),
                                          fetch_allow_hosts=["127.0.0.1"], prefetch_on_add=False,
                                          log_level="WARNING")
            client = create_app(settings).test_client()
            draft = client.post("/create_draft", json={}).get_json()["output"]["draft_id"]
            for i, url in enumerate(urls):
                client.post("/add_video", json={"draft_id": draft, "video_url": url, "start": 0, "end": 2,
                                                "target_start": 2 * i})
            started = time.perf_counter()
            reply = client.post("/save_draft", json={"draft_id": draft}).get_json()
            cold = time.perf_counter() - started
            assert reply["success"], reply
            started = time.perf_counter()
            reply = client.post("/save_draft", json={"draft_id": draft}).get_json()
            warm = time.perf_counter() - started
            assert reply["success"], reply
    mb = total / 1e6
    print(f"{args.files} files x {size / 1e6:.1f} MB = {mb:.0f} MB served from 127.0.0.1")
    print(f"plain 16-thread download : {plain:6.2f} s  {mb / plain:7.1f} MB/s")
    print(f"save (cold media cache)  : {cold:6.2f} s  {mb / cold:7.1f} MB/s  ratio to plain {cold / plain:.2f}")
    print(f"re-save (warm cache)     : {warm:6.2f} s")


if __name__ == "__main__":
    main()
