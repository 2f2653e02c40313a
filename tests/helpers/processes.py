"""Real service processes for the tests, and the HTTP clients that drive them.

* `Gunicorn(tmp_path, workers=2, **settings)`: `gunicorn -c gunicorn.conf.py 'app:create_app()'`
  in its own session (so master and workers can be killed together), dying with the test run
  (PR_SET_PDEATHSIG); `start()` waits until every worker has loaded the app and /healthz answers,
  and can start it again on the same port and data; `kill9()`, `stop()`, `worker_pids()`. Settings become
  CAPCUT_<NAME> variables beside quiet logs and no prefetch (`service_env`).
* `running_gunicorn(tmp, workers=2, **settings)`: a context manager for one gunicorn with the
  caller's CAPCUT_* variables removed and a Prometheus multiprocess directory;
  yields (base URL, process, log path, metrics dir). `worker_pids(master)` lists its workers.
* `Consumer(tmp_path, name, env)`: a huey consumer (`huey_consumer worker.huey`) with its own log.
* `Api(base)`: a requests session that posts to a running service; `send`/`send_add` give None
  when no reply came, and `Ledger` records what each add was told (acknowledged, refused, unknown).
* `alive(pid)`, `children(pid)`, `group_members(pgid)`: read from /proc.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from capcut_drafts.web.server import loaded_workers
from helpers import REPO_ROOT, free_port, wait_until

BIN = Path(sys.executable).parent
HTTP_TIMEOUT = (3, 30)            # connect, read: no request of these tests may hang

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:      # runs in the child between fork and exec
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return sorted(int(p) for p in f.read().split())
    except FileNotFoundError:
        return []


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                found.append(int(entry))
    return found


# --- gunicorn and huey ---------------------------------------------------------------------------

def service_env(tmp_path: Path, **settings: str) -> dict:
    """Environment for the service processes: an empty config file, quiet logs, no prefetch."""
    config = tmp_path / "config.json"
    if not config.exists():
        config.write_text("{}", encoding="utf-8")
    (tmp_path / "prometheus").mkdir(exist_ok=True)
    env = {**os.environ, "CAPCUT_CONFIG": str(config), "CAPCUT_HOST": "127.0.0.1",
           "CAPCUT_DATA_DIR": str(tmp_path / "data"), "CAPCUT_LOG_LEVEL": "WARNING",
           "CAPCUT_PREFETCH_ON_ADD": "false", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    env.update({f"CAPCUT_{key.upper()}": value for key, value in settings.items()})
    return env


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py 'app:create_app()'` in its own process group."""

    def __init__(self, tmp_path: Path, workers: int = 2, **settings: str):
        self.port = free_port()
        self.workers = workers
        self.env = {**service_env(tmp_path, port=str(self.port), **settings), "GUNICORN_WORKERS": str(workers)}
        self.log_path = tmp_path / f"gunicorn-{self.port}.log"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> Gunicorn:
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
            self.proc = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, preexec_fn=_die_with_parent)

        def ready() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.proc.returncode}:\n{self.log()}")
            pids = self.worker_pids()
            if len(pids) < self.workers or not all_loaded(pids, self.log_path):
                return False
            try:
                return requests.get(self.base + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, 60, f"gunicorn on {self.base} with {self.workers} workers")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def kill9(self) -> None:
        """SIGKILL master and workers at once (the whole process group)."""
        pgid = self.proc.pid
        os.killpg(pgid, signal.SIGKILL)
        self.proc.wait(timeout=10)

        wait_until(lambda: not group_members(pgid), 10, "the killed gunicorn group to disappear")
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)       # anything left of the group
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None


def all_loaded(workers: Iterable[int], log_path: Path) -> bool:
    """Whether each of `workers` has loaded the app (gunicorn.conf.py logs it once per worker). A
    worker still loading accepts no connection: keep-alive clients that connect meanwhile would
    all stay on the first worker, and a test of several workers would run on one."""
    return set(workers) <= loaded_workers(log_path.read_text(errors="replace"))


def worker_pids(master: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{master}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.update(int(child) for child in (task / "children").read_text().split())
    return found


@contextlib.contextmanager
def running_gunicorn(tmp: Path, workers: int = 2, **settings: str):
    """`gunicorn -c gunicorn.conf.py 'app:create_app()'` on a free loopback port with an empty config
    file; `settings` become CAPCUT_<NAME> variables. Yields (base URL, process, log path, metrics dir)."""
    port = free_port()
    config = tmp / "config.json"
    config.write_text("{}", encoding="utf-8")
    metrics_dir = tmp / "metrics"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CAPCUT_", "GUNICORN_")) and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"CAPCUT_PORT": str(port), "CAPCUT_HOST": "127.0.0.1", "CAPCUT_DATA_DIR": str(tmp / "data"),
                "CAPCUT_CONFIG": str(config), "GUNICORN_WORKERS": str(workers),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    env.update({f"CAPCUT_{name.upper()}": value for name, value in settings.items()})
    log_path = tmp / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            with contextlib.suppress(requests.RequestException):      # a booting worker may not answer in time
                pids = worker_pids(proc.pid)
                if len(pids) == workers and all_loaded(pids, log_path) and requests.get(base + "/healthz",
                                                                                           timeout=2).ok:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within 60 s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield base, proc, log_path, metrics_dir
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Consumer:
    """`huey_consumer worker.huey -k thread -w 1` with its own log file."""

    def __init__(self, tmp_path: Path, name: str, env: dict):
        self.name = name
        self.log_path = tmp_path / f"consumer-{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([str(BIN / "huey_consumer"), "worker.huey", "-k", "thread", "-w", "1"],
                                         cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, preexec_fn=_die_with_parent)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def executed(self) -> int:
        """How many save tasks this consumer started (huey logs `Executing <module>.save: <task id>`)."""
        return len(re.findall(r"Executing \S*\bsave: ", self.log()))

    def wait_started(self) -> None:
        def started() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"consumer {self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            return "Huey consumer started" in self.log()
        wait_until(started, 30, f"huey consumer {self.name} to start")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)           # huey's graceful stop
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# --- the HTTP client side ------------------------------------------------------------------------

class Api:
    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def post(self, path: str, body: dict) -> dict:
        resp = self.session.post(self.base + path, json=body, timeout=HTTP_TIMEOUT)
        assert resp.status_code == 200, f"{path}: HTTP {resp.status_code} {resp.text[:300]}"
        return resp.json()

    def ok(self, path: str, body: dict) -> dict:
        reply = self.post(path, body)
        assert reply["success"], f"{path} {body}: {reply}"
        return reply["output"]

    def create(self) -> str:
        return self.ok("/create_draft", {"width": 1080, "height": 1920})["draft_id"]

    def add_text(self, draft_id: str, index: int) -> dict:
        return self.post("/add_text", text_body(draft_id, index))

    def script(self, draft_id: str) -> dict:
        return json.loads(self.ok("/query_script", {"draft_id": draft_id}))

    def texts(self, draft_id: str) -> list[str]:
        return caption_texts(self.script(draft_id))


def text_body(draft_id: str, index: int) -> dict:
    """One add: unique text `t<index>` on its own second of track `captions`."""
    return {"draft_id": draft_id, "text": f"t{index}", "start": index, "end": index + 1, "track_name": "captions"}


def caption_texts(doc: dict) -> list[str]:
    """The text of every segment on track `captions`, in timeline order (duplicates kept)."""
    contents = {m["id"]: json.loads(m["content"])["text"] for m in doc["materials"]["texts"]}
    tracks = [t for t in doc["tracks"] if t["name"] == "captions"]
    if not tracks:
        return []
    [track] = tracks
    return [contents[s["material_id"]] for s in track["segments"]]


@dataclass
class Ledger:
    """What the clients were told about each add: acknowledged, refused (an envelope error), or
    unknown (no reply: the connection died)."""
    acked: set = field(default_factory=set)
    refused: dict = field(default_factory=dict)
    unknown: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, text: str, reply: dict | None) -> None:
        with self.lock:
            if reply is None:
                self.unknown.add(text)
            elif reply.get("success"):
                self.acked.add(text)
            else:
                self.refused[text] = f"{reply.get('code')}: {reply.get('error', '')[:160]}"

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def send(api: Api, path: str, body: dict) -> dict | None:
    """The reply, or None when there was none (connection refused or cut, no valid JSON)."""
    try:
        resp = api.session.post(api.base + path, json=body, timeout=HTTP_TIMEOUT)
        if resp.status_code != 200:
            return {"success": False, "code": f"HTTP {resp.status_code}", "error": resp.text[:200]}
        return resp.json()
    except (requests.RequestException, ValueError):
        return None


def send_add(api: Api, draft_id: str, index: int, ledger: Ledger) -> dict | None:
    reply = send(api, "/add_text", text_body(draft_id, index))
    ledger.record(f"t{index}", reply)
    return reply
