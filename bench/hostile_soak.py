"""Ordinary editing while hostile traffic runs: /healthz latency, edit throughput, what the hostile
requests were answered.

    .venv/bin/python bench/hostile_soak.py [--seconds 30] [--editors 8] [--stalled 16]

gunicorn runs with the production config (2 workers unless GUNICORN_WORKERS says otherwise) on a
fresh SQLite data_dir. For `--seconds`, at the same time:

* `--editors` threads each build their own draft with /add_text (one unique text per call);
* two threads send hostile bodies in a loop: lone surrogates, 100 000-deep nesting, NaN, a
  subnormal speed, a 1 MB draft_id (see HOSTILE);
* `--stalled` connections stall mid-body and as many trickle headers (slowloris); the server may
  close them, and they are opened again;
* one thread probes GET /healthz every 100 ms (1 s timeout; a failure counts as 1 000 ms).

`soak()` is also what tests/e2e/test_hostile_soak.py runs (shorter), followed by a kill -9 and a
restart that must keep every acknowledged edit. Client and server share this machine's cores.
"""
from __future__ import annotations

import argparse
import collections
import os
import platform
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from add_latency import percentile  # noqa: E402  (bench/ helpers)
from slow_clients import Stallers  # noqa: E402

PROBE_TIMEOUT_S = 1.0
REQUEST_TIMEOUT = (3, 30)
DEEP = b"[" * 100_000 + b"]" * 100_000
HOSTILE: list[tuple[str, bytes]] = [
    ("/query_script", b'{"draft_id": "\\ud800"}'),
    ("/add_text", b'{"text": "a\\ud800b", "track_name": "\\udfff"}'),
    ("/create_draft", b'{"profile": "\\ud800"}'),
    ("/add_effect", b'{"effect_type": "Blur", "params": ' + DEEP + b"}"),
    ("/add_text", b'{"text": "x", "text_styles": ' + DEEP + b"}"),
    ("/add_video", b'{"video_url": "https://example.com/a.mp4", "speed": -1e-320}'),
    ("/add_text", b'{"text": "x", "font_size": NaN}'),
    ("/save_draft", b'{"draft_id": "' + b"d" * 1_000_000 + b'"}'),
    ("/query_draft_status", b'{"task_id": "../../etc/passwd"}'),
]


@dataclass
class SoakResult:
    seconds: float
    health: list[float] = field(default_factory=list)          # probe latencies, failures as 1 s
    health_failures: int = 0
    acked: dict[str, list[str]] = field(default_factory=dict)   # draft id -> acknowledged texts
    edit_errors: list[str] = field(default_factory=list)
    hostile_codes: collections.Counter = field(default_factory=collections.Counter)

    @property
    def edits(self) -> int:
        return sum(len(texts) for texts in self.acked.values())


def soak(base: str, port: int, seconds: float, editors: int = 8, stalled: int = 16) -> SoakResult:
    """Run the mixed traffic for `seconds` against a started service; every thread stops by itself."""
    result = SoakResult(seconds)
    stop = threading.Event()
    lock = threading.Lock()
    threads = [threading.Thread(target=_edit, args=(base, n, stop, result, lock), daemon=True) for n in range(editors)]
    threads += [threading.Thread(target=_attack, args=(base, n, stop, result, lock), daemon=True) for n in range(2)]
    threads += [threading.Thread(target=_stall, args=(port, stalled, kind, stop), daemon=True)
                for kind in ("body", "headers")]
    threads.append(threading.Thread(target=_probe, args=(base, stop, result), daemon=True))
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT[1] + 10)
    return result


def _edit(base: str, n: int, stop: threading.Event, result: SoakResult, lock: threading.Lock) -> None:
    session = requests.Session()
    try:
        draft_id = session.post(base + "/create_draft", json={}, timeout=REQUEST_TIMEOUT).json()["output"]["draft_id"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        with lock:
            result.edit_errors.append(f"editor {n} could not create its draft: {exc}")
        return
    with lock:
        result.acked[draft_id] = []
    index = 0
    while not stop.is_set():
        text = f"e{n}-{index}"
        body = {"draft_id": draft_id, "text": text, "start": index, "end": index + 1, "track_name": "captions"}
        try:
            reply = session.post(base + "/add_text", json=body, timeout=REQUEST_TIMEOUT).json()
        except (requests.RequestException, ValueError) as exc:
            reply = {"success": False, "code": "no_reply", "error": str(exc)}
        with lock:
            if reply.get("success"):
                result.acked[draft_id].append(text)
            else:
                result.edit_errors.append(f"{text}: {reply.get('code')} {str(reply.get('error'))[:120]}")
        index += 1


def _attack(base: str, n: int, stop: threading.Event, result: SoakResult, lock: threading.Lock) -> None:
    session = requests.Session()
    index = n
    while not stop.is_set():
        path, body = HOSTILE[index % len(HOSTILE)]
        index += 1
        try:
            resp = session.post(base + path, data=body, headers={"Content-Type": "application/json"},
                                timeout=REQUEST_TIMEOUT)
            code = resp.json().get("code", "success") if resp.status_code == 200 else f"HTTP {resp.status_code}"
        except (requests.RequestException, ValueError) as exc:
            code = f"no reply ({type(exc).__name__})"
        with lock:
            result.hostile_codes[f"{path} -> {code}"] += 1


def _stall(port: int, count: int, kind: str, stop: threading.Event) -> None:
    """Keep `count` connections stalled; reopen them every 2 s (the server may have closed them)."""
    while not stop.is_set():
        try:
            stallers = Stallers(port, count, kind)
        except OSError:
            stop.wait(0.2)
            continue
        stop.wait(2.0)
        stallers.close()


def _probe(base: str, stop: threading.Event, result: SoakResult) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with requests.get(base + "/healthz", timeout=PROBE_TIMEOUT_S, headers={"Connection": "close"}) as resp:
                ok = resp.status_code == 200 and resp.json().get("success") is True
        except (requests.RequestException, ValueError):
            ok = False
        elapsed = time.perf_counter() - started
        result.health.append(elapsed if ok else PROBE_TIMEOUT_S)
        result.health_failures += not ok
        stop.wait(max(0.0, 0.1 - elapsed))


def report(result: SoakResult) -> str:
    lines = [f"soak of {result.seconds:.0f} s on {platform.node()} ({os.cpu_count()} cores)",
             f"/healthz: {len(result.health)} probes, {result.health_failures} failed, "
             f"p50 {percentile(result.health, 0.5) * 1000:.1f} ms, "
             f"p99 {percentile(result.health, 0.99) * 1000:.1f} ms, max {max(result.health) * 1000:.1f} ms",
             f"edits: {result.edits} acknowledged ({result.edits / result.seconds:.0f}/s) "
             f"on {len(result.acked)} drafts, {len(result.edit_errors)} refused or unanswered",
             "hostile requests, by route and answer:"]
    lines += [f"  {count:6}  {what}" for what, count in sorted(result.hostile_codes.items())]
    return "\n".join(lines)


def main() -> None:
    from scale import gunicorn
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--editors", type=int, default=8)
    parser.add_argument("--stalled", type=int, default=16)
    args = parser.parse_args()
    workers = int(os.environ.get("GUNICORN_WORKERS", 2))
    with gunicorn(workers, "sqlite", "") as base:
        print(report(soak(base, int(base.rsplit(":", 1)[1]), args.seconds, args.editors, args.stalled)))


if __name__ == "__main__":
    main()
