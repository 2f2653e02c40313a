"""A first contact, as the README's quick start describes it: `python3 dev.py serve --port N`
starts gunicorn and prints where it listens, the README's curl lines run verbatim in bash against
it, and `GET /` leads to the documentation."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

import pytest
import requests
from helpers import REPO_ROOT, free_port, wait_until
from helpers.processes import children, group_members, service_env

# dev.py may first check the .venv install with pip (when a requirements file changed).
START_SECONDS = 240


@pytest.fixture(scope="module")
def dev_serve(tmp_path_factory):
    """`dev.py serve --port N` in its own session; yields (port, process, stdout lines so far)."""
    tmp = tmp_path_factory.mktemp("dev-serve")
    port = free_port()
    env = {**service_env(tmp), "GUNICORN_WORKERS": "2"}
    env.pop("CAPCUT_PORT", None)
    proc = subprocess.Popen([sys.executable, "dev.py", "serve", "--port", str(port)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()

    def healthy() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"dev.py serve exited with {proc.returncode}:\n{''.join(lines)[-4000:]}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False
    try:
        wait_until(healthy, START_SECONDS, f"dev.py serve on port {port}", interval=0.2)
        yield port, proc, lines
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        wait_until(lambda: not group_members(proc.pid), 30, "the dev.py serve group to stop")


def test_dev_serve_runs_gunicorn_and_says_where(dev_serve):
    port, proc, lines = dev_serve
    said = [line for line in lines if line.startswith("Serving ")]
    assert said == [f"Serving the CapCut draft API on http://127.0.0.1:{port} with gunicorn (gunicorn.conf.py); "
                    f"docs at http://127.0.0.1:{port}/docs/. Ctrl+C stops it.\n"]
    [server] = children(proc.pid)
    with open(f"/proc/{server}/cmdline", "rb") as f:
        command = f.read().split(b"\0")
    assert command[1:6] == [b"-m", b"gunicorn", b"-c", b"gunicorn.conf.py", b"app:create_app()"]
    assert len(children(server)) == 2                                 # GUNICORN_WORKERS
    assert not any("development server" in line for line in lines)   # Flask's warning


def readme_curl_block() -> str:
    """The shell block after "A first draft with curl" in README.md, as written there."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start"):readme.index("### Production")]
    assert len(re.findall(r"^python3 dev\.py ", quick_start, re.M)) == 2       # exactly two commands
    after = quick_start[quick_start.index("A first draft with curl"):]
    return re.search(r"```sh\n(.*?)```", after, re.S).group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl on PATH")
def test_readme_curl_lines_work_verbatim(dev_serve):
    port, _, _ = dev_serve
    # The README's lines name localhost:9001; curl connects them to this test's server instead.
    prelude = f'curl() {{ command curl --connect-to localhost:9001:127.0.0.1:{port} "$@"; }}\nset -e\n'
    run = subprocess.run(["bash", "-c", prelude + readme_curl_block()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    *replies, last = run.stdout.strip().splitlines()
    assert len(replies) == 2 and all(json.loads(r)["success"] is True for r in replies), run.stdout
    added, saved = (json.loads(r)["output"] for r in replies)
    draft_id = added["draft_id"]
    assert last == f"open http://localhost:9001/drafts/{draft_id}"
    assert added["draft_url"] == f"http://127.0.0.1:{port}/drafts/{draft_id}"
    assert saved["status"] == "completed"
    page = requests.get(added["draft_url"], timeout=10)
    assert page.status_code == 200 and f'href="http://127.0.0.1:{port}/drafts/{draft_id}.zip"' in page.text
    assert "<td>text</td><td>1</td>" in page.text                    # the text track, one clip


def test_root_leads_to_the_docs(dev_serve):
    port, _, _ = dev_serve
    reply = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert reply.status_code == 200 and reply.url == f"http://127.0.0.1:{port}/docs/"
    assert "swagger-ui" in reply.text
    assert [r.status_code for r in reply.history] == [302]
