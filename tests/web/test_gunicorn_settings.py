"""What gunicorn.conf.py gives gunicorn, read back through gunicorn's own `--print-config`."""
from __future__ import annotations

import subprocess
import sys

from helpers import REPO_ROOT
from helpers.processes import service_env


def printed_config(tmp_path, *flags: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *flags, "--print-config",
                          "app:create_app()"], cwd=REPO_ROOT, env=service_env(tmp_path, save_wait_seconds="30"),
                         capture_output=True, text=True, timeout=120, check=True)
    return {name.strip(): value.strip() for name, _, value in
            (line.partition("=") for line in out.stdout.splitlines()) if value}


def test_workers_are_not_recycled_and_outlive_a_save_wait(tmp_path):
    """A restart costs a worker about a second of CPU and its draft cache (bench/worker_memory.py), and its
    memory stays flat without one, so workers are not restarted after a number of requests; a
    synchronous save may wait `save_wait_seconds` without the worker being killed."""
    config = printed_config(tmp_path)
    assert config["max_requests"] == "0"
    assert config["worker_class"] == "capcut_drafts.web.server.BufferedThreadWorker"
    assert int(config["timeout"]) > 30 and int(config["graceful_timeout"]) > 30


def test_a_command_line_flag_overrides_the_file(tmp_path):
    assert printed_config(tmp_path, "--max-requests", "7000")["max_requests"] == "7000"
