"""Cost of templates against gunicorn: filling a 20-segment template, and importing app drafts.

    .venv/bin/python bench/templates.py [--fills 100] [--imports 10]

gunicorn runs with the production config (`-c gunicorn.conf.py`, 2 workers unless GUNICORN_WORKERS
says otherwise) on a fresh SQLite data_dir, prefetch off (nothing is downloaded: media are fetched at
save); one client with a keep-alive session over loopback, sharing this machine's cores.

* Fill: a template of 10 video clips (`video_url` "{{clip_N}}", 3 s each) and 10 texts ("Hello
  {{name}} N"), built with /batch; `--fills` /render_template calls, each a new draft. Target:
  at most 20 ms per draft.
* Import: the largest reference draft (`../shared/reference`, CapCut 6.9, 1.3 MB of JSON, 324
  segments) zipped with its folder and uploaded `--imports` times; then `--fills` /render_template
  with `replace` of two texts and one clip of that imported draft. Target: import at most 1 s.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from add_latency import percentile  # noqa: E402  (bench/ helpers)
from scale import gunicorn  # noqa: E402

REFERENCE = Path(os.environ.get("CAPCUT_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
LARGEST = "capcut-6.9-win-linhlinh-hybrid"


def ok(session: requests.Session, url: str, **kwargs) -> dict:
    reply = session.post(url, timeout=120, **kwargs).json()
    if not reply["success"]:
        raise RuntimeError(f"{url}: {reply['error']}")
    return reply["output"]


def timed(session: requests.Session, url: str, **kwargs) -> tuple[float, dict]:
    """Milliseconds of one successful POST and its output."""
    started = time.perf_counter()
    out = ok(session, url, **kwargs)
    return (time.perf_counter() - started) * 1000, out


def row(label: str, samples: list[float]) -> str:
    return (f"| {label} | {len(samples)} | {statistics.median(samples):.1f} | {percentile(samples, 99):.1f} | "
            f"{max(samples):.1f} |")


def fill_template(session: requests.Session, base: str, fills: int) -> list[float]:
    operations = [{"route": "/add_video", "body": {"video_url": f"{{{{clip_{n}}}}}", "start": 0, "end": 3,
                                                    "target_start": 3 * n}} for n in range(10)]
    operations += [{"route": "/add_text", "body": {"text": f"Hello {{{{name}}}} {n}", "start": 3 * n,
                                                   "end": 3 * n + 3}} for n in range(10)]
    template = ok(session, base + "/batch", json={"operations": operations})["draft_id"]
    times = []
    for i in range(fills):
        merge = {"name": f"viewer {i}", **{f"clip_{n}": f"https://cdn.example.com/{i}/{n}.mp4" for n in range(10)}}
        ms, _ = timed(session, base + "/render_template", json={"template_draft_id": template, "merge": merge})
        times.append(ms)
    return times


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name != "_manifest.tsv":
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()


def imports(session: requests.Session, base: str, count: int, fills: int) -> tuple[list[float], list[float], int]:
    data = zipped(REFERENCE / "drafts" / LARGEST)
    times, draft_id = [], ""
    for _ in range(count):
        ms, out = timed(session, base + "/import_draft", files={"file": ("draft.zip", data, "application/zip")})
        times.append(ms)
        draft_id = out["draft_id"]
    timeline = ok(session, base + "/get_timeline", json={"draft_id": draft_id})
    texts = [s["text"] for t in timeline["tracks"] for s in t["segments"] if s.get("text")][:2]
    clip = next(s["id"] for t in timeline["tracks"] for s in t["segments"] if s["kind"] == "video")
    filled = []
    for i in range(fills):
        replace = {texts[0]: f"Title {i}", texts[1]: f"Line {i}", clip: f"https://cdn.example.com/{i}.mp4"}
        ms, _ = timed(session, base + "/render_template",
                      json={"template_draft_id": draft_id, "merge": {}, "replace": replace})
        filled.append(ms)
    return times, filled, len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fills", type=int, default=100)
    parser.add_argument("--imports", type=int, default=10)
    args = parser.parse_args()
    workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
    print(f"{os.cpu_count()} cores shared by gunicorn ({workers} workers, SQLite) and this client")
    with gunicorn(workers, "sqlite", "") as base, requests.Session() as session:
        fill = fill_template(session, base, args.fills)
        imported, filled, size = imports(session, base, args.imports, args.fills)
    print("\n| request | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|")
    print(row("render_template, 20-segment template (10 clips, 10 texts)", fill))
    print(row(f"import_draft, {LARGEST} ({size // 1024} KB zip)", imported))
    print(row("render_template replace (2 texts, 1 clip) of that import", filled))


if __name__ == "__main__":
    main()
