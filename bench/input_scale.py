"""Seconds for the requests whose cost grows with the size of one input.

    .venv/bin/python bench/input_scale.py [--cues 1000,4000,8000] [--keyframes 5000,20000]
                                          [--spread 2000] [--styles 10000,100000] [--store memory]

Runs the app in-process (Flask test client, one fresh data directory) and prints, per size:
- `/add_subtitle` with that many SRT cues;
- `/query_script` of a draft whose one clip has that many keyframes (added in batches), then
  with the largest keyframe count spread over `--spread` clips;
- `/add_text` with that many `text_styles` ranges, then `/query_script` of that draft and the
  size of its output.
Each cost should grow about linearly: 4× the input, about 4× the seconds. A size above a
documented limit (capcut_drafts/model/timeline.py names them) is refused; the script prints the refusal.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capcut_drafts.settings import Settings  # noqa: E402

VIDEO = "http://127.0.0.1:8765/bench.mp4"
KEYFRAME_BATCH = 1000


def srt_text(cues: int) -> str:
    """`cues` one-second cues, one every two seconds."""
    def stamp(seconds: int) -> str:
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d},000"
    return "\n".join(f"{i + 1}\n{stamp(2 * i)} --> {stamp(2 * i + 1)}\nline {i + 1}\n" for i in range(cues))


class Api:
    def __init__(self, client):
        self.client = client

    def post(self, path: str, body: dict) -> dict:
        return self.client.post(path, json=body).get_json()

    def timed(self, path: str, body: dict) -> tuple[float, dict]:
        started = time.perf_counter()
        reply = self.post(path, body)
        return time.perf_counter() - started, reply

    def draft(self) -> str:
        return self.post("/create_draft", {})["output"]["draft_id"]


def report(label: str, seconds: float, reply: dict, extra: str = "") -> None:
    if reply["success"]:
        print(f"{label:<52} {seconds:8.3f} s {extra}", flush=True)
    else:
        print(f"{label:<52} refused in {seconds:.3f} s: {reply['code']}: {reply['error'][:160]}", flush=True)


def bench_cues(api: Api, n: int) -> None:
    seconds, reply = api.timed("/add_subtitle", {"draft_id": api.draft(), "srt": srt_text(n)})
    report(f"/add_subtitle {n} cues", seconds, reply)


def bench_keyframes(api: Api, n: int, clips: int = 1) -> None:
    """`n` keyframes 0.5 s apart over `clips` clips laid end to end."""
    draft = api.draft()
    length = n * 0.5 / clips
    for i in range(clips):
        api.post("/add_video", {"draft_id": draft, "video_url": VIDEO, "start": 0, "end": length,
                                "target_start": i * length})
    started = time.perf_counter()
    for first in range(0, n, KEYFRAME_BATCH):
        count = min(KEYFRAME_BATCH, n - first)
        reply = api.post("/add_video_keyframe", {
            "draft_id": draft, "property_types": ["alpha"] * count,
            "times": [(first + i) * 0.5 for i in range(count)], "values": [(i % 2) * 1.0 for i in range(count)]})
        if not reply["success"]:
            report(f"/add_video_keyframe up to {n} keyframes", time.perf_counter() - started, reply)
            return
    report(f"/add_video_keyframe {n} keyframes (all batches)", time.perf_counter() - started, reply)
    seconds, reply = api.timed("/query_script", {"draft_id": draft})
    report(f"/query_script with {n} keyframes on {clips} clip(s)", seconds, reply)


def bench_styles(api: Api, n: int) -> None:
    draft = api.draft()
    styles = [{"start": i, "end": i + 1, "style": {"bold": i % 2 == 0}} for i in range(n)]
    seconds, reply = api.timed("/add_text", {"draft_id": draft, "text": "x" * n, "text_styles": styles})
    report(f"/add_text {n} text_styles", seconds, reply)
    if reply["success"]:
        seconds, reply = api.timed("/query_script", {"draft_id": draft})
        size = f"({len(reply['output']) / 1e6:.1f} MB)" if reply["success"] else ""
        report(f"/query_script with {n} text_styles", seconds, reply, size)


def bench_settings(data_dir: str, store: str) -> Settings:
    return Settings().replace(data_dir=data_dir, store=store)


def sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cues", default="1000,4000,8000")
    parser.add_argument("--keyframes", default="5000,20000")
    parser.add_argument("--spread", type=int, default=2000, help="clips for the last keyframe run (0: skip)")
    parser.add_argument("--styles", default="10000,100000")
    parser.add_argument("--store", default="memory", choices=("memory", "sqlite"))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from capcut_drafts.web.app import create_app
    with tempfile.TemporaryDirectory() as data:
        api = Api(create_app(bench_settings(data, args.store)).test_client())
        for n in sizes(args.cues):
            bench_cues(api, n)
        for n in sizes(args.keyframes):
            bench_keyframes(api, n)
        if args.spread and sizes(args.keyframes):
            bench_keyframes(api, max(sizes(args.keyframes)), args.spread)
        for n in sizes(args.styles):
            bench_styles(api, n)


if __name__ == "__main__":
    main()
