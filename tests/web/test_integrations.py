"""docs/integrations.md: its Python example runs as written against a live service.

The ```python block of the "## Python" section is taken from the guide unchanged and run as a
script (a separate process, as a user would) against the service under gunicorn with an API key,
its video served on 127.0.0.1 (which the service is told it may fetch). It must save the draft
and leave a zip that holds the saved draft folder.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile

import pytest
from helpers import REPO_ROOT
from helpers.media import MediaServer, make_video
from helpers.processes import running_gunicorn

GUIDE = REPO_ROOT / "docs" / "integrations.md"
API_KEY = "guide-key"


def python_example() -> str:
    """The one ```python block of the guide's "## Python" section."""
    section = GUIDE.read_text(encoding="utf-8").split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)
    return block


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The service as the guide describes it: gunicorn with an API key; 127.0.0.1 is allowed as a
    media host (private and loopback hosts are refused by default)."""
    with running_gunicorn(tmp_path_factory.mktemp("service"), workers=1, api_keys=API_KEY,
                          fetch_allow_hosts="127.0.0.1") as (base, _proc, _log, _metrics):
        yield base


def test_the_guide_links_the_example_to_this_test():
    text = GUIDE.read_text(encoding="utf-8")
    assert "tests/web/test_integrations.py" in text
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/integrations.md" in readme


def test_the_python_example_saves_and_downloads_a_draft(service, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(python_example(), encoding="utf-8")
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "clip.mp4", seconds=4, size=(64, 48))
    work = tmp_path / "work"
    work.mkdir()
    with MediaServer(media) as server:
        env = {**os.environ, "CAPCUT_URL": service, "CAPCUT_API_KEY": API_KEY,
               "VIDEO_URL": server.url("clip.mp4")}
        done = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert server.hits("/clip.mp4") >= 1
    [archive] = work.glob("*.zip")
    draft_id = archive.stem
    assert re.fullmatch(r"dfd_cat_\d+_[0-9a-f]{8}", draft_id)
    assert f"wrote {archive.name}" in done.stdout
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert zipped.testzip() is None
        assert any(name.startswith("assets/video/") for name in names), names
        content = json.loads(zipped.read("draft_content.json"))
    texts = content["materials"]["texts"]
    assert len(texts) == 1 and "Hello" in texts[0]["content"]
    assert len(content["materials"]["videos"]) == 1


def test_the_python_example_stops_on_a_failed_save(service, tmp_path):
    """A video the service cannot fetch: the example ends with the save's message, not a zip."""
    script = tmp_path / "example.py"
    script.write_text(python_example(), encoding="utf-8")
    media = tmp_path / "media"
    media.mkdir()
    with MediaServer(media) as server:
        env = {**os.environ, "CAPCUT_URL": service, "CAPCUT_API_KEY": API_KEY,
               "VIDEO_URL": server.url("absent.mp4")}
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
    assert done.returncode != 0
    assert "the save failed" in done.stderr and "fetch_http_status" in done.stderr, done.stderr
    assert not list(tmp_path.glob("*.zip"))


def test_without_the_key_the_example_says_what_is_wrong(service, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(python_example(), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "CAPCUT_API_KEY"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env={**env, "CAPCUT_URL": service},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "/create_draft failed: unauthorized" in done.stderr, done.stderr
