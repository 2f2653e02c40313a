"""What a client must not be able to steer: the host in the links the service hands out, files
outside a saved draft folder reached through symbolic links, and the lines of the log.

Real app on a SQLite data_dir, real files and symbolic links, a real `python app.py` process for the
log; nothing is mocked.
"""
from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from helpers import REPO_ROOT, free_port, make_settings, stop_process

from capcut_drafts.model.profiles import PROFILES
from capcut_drafts.save import delivery, folder_writer, install
from capcut_drafts.settings import SettingsError, load_settings
from capcut_drafts.web import guards

EVIL = "evil.example"
LISTEN = "http://127.0.0.1:9001"        # the default host and port: where links point without configuration


def call(app, path: str, body: dict, host: str | None = None) -> dict:
    """POST `body` with the given Host header; the decoded envelope."""
    resp = app.test_client().post(path, json=body, headers={"Host": host} if host else {})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def page(app, draft_id: str, host: str | None = None) -> str:
    resp = app.test_client().get(f"/drafts/{draft_id}", headers={"Host": host} if host else {})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


def saved_draft(app, host: str | None = None) -> tuple[str, dict]:
    """A new empty draft, saved (the request carrying `host`); its id and the save reply."""
    draft_id = call(app, "/create_draft", {})["output"]["draft_id"]
    reply = call(app, "/save_draft", {"draft_id": draft_id}, host)
    assert reply["success"] and reply["output"]["status"] == "completed", reply
    return draft_id, reply


def stored_bytes(app) -> bytes:
    """Every byte the service keeps under its data_dir: the SQLite database and WAL (drafts, save
    tasks), saved folders, locks."""
    root = Path(app.extensions["capcut"].settings.data_dir)
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink())


# --- links never come from an untrusted Host header ---------------------------------------------------

def test_an_untrusted_host_reaches_no_reply_no_page_and_no_stored_record(make_app):
    app = make_app(store="sqlite")
    draft_id, saved = saved_draft(app, host=EVIL)
    status = call(app, "/query_draft_status", {"task_id": draft_id}, EVIL)
    html = page(app, draft_id, EVIL)
    for text in (json.dumps(saved), json.dumps(status), html):
        assert EVIL not in text
    assert saved["output"]["draft_url"] == status["output"]["draft_url"] == f"{LISTEN}/drafts/{draft_id}.zip"
    assert saved["output"]["download_page"] == status["output"]["download_page"] == f"{LISTEN}/drafts/{draft_id}"
    assert f'href="{LISTEN}/drafts/{draft_id}.zip"' in html
    assert EVIL.encode() not in stored_bytes(app)


def test_a_trusted_host_is_used_in_the_replies_to_it_and_never_stored(make_app):
    app = make_app(store="sqlite", trusted_hosts=["drafts.example.com:8443", ".corp.example"])
    draft_id, saved = saved_draft(app, host="drafts.example.com:8443")
    assert saved["output"]["draft_url"] == f"http://drafts.example.com:8443/drafts/{draft_id}.zip"
    assert saved["output"]["download_page"] == f"http://drafts.example.com:8443/drafts/{draft_id}"
    # a later reader gets links for the host it used (when trusted), not the first caller's
    later = call(app, "/query_draft_status", {"task_id": draft_id}, "team.corp.example")["output"]
    assert later["draft_url"] == f"http://team.corp.example/drafts/{draft_id}.zip"
    untrusted = call(app, "/query_draft_status", {"task_id": draft_id}, EVIL)["output"]
    assert untrusted["draft_url"] == f"{LISTEN}/drafts/{draft_id}.zip"
    assert f'href="http://corp.example/drafts/{draft_id}.zip"' in page(app, draft_id, "corp.example")
    stored = stored_bytes(app)
    assert b"drafts.example.com" not in stored and b"corp.example" not in stored


def test_public_base_url_wins_over_any_host(make_app):
    app = make_app(store="sqlite", public_base_url="https://dl.example.org/capcut",
                   trusted_hosts=["drafts.example.com"])
    draft_id, saved = saved_draft(app, host="drafts.example.com")
    assert saved["output"]["draft_url"] == f"https://dl.example.org/capcut/drafts/{draft_id}.zip"
    assert saved["output"]["download_page"] == f"https://dl.example.org/capcut/drafts/{draft_id}"
    assert f'href="https://dl.example.org/capcut/drafts/{draft_id}.zip"' in page(app, draft_id, EVIL)


def test_listening_on_every_interface_gives_root_relative_links_and_a_warning(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="capcut.http"):
        app = make_app(store="sqlite", host="0.0.0.0")
    assert any("public_base_url" in r.getMessage() for r in caplog.records), caplog.text
    draft_id, saved = saved_draft(app, host=EVIL)
    assert saved["output"]["draft_url"] == f"/drafts/{draft_id}.zip"
    assert saved["output"]["download_page"] == f"/drafts/{draft_id}"
    assert f'href="/drafts/{draft_id}.zip"' in page(app, draft_id, EVIL)


@pytest.mark.parametrize("host, rules, trusted", [
    ("drafts.example.com", ["drafts.example.com"], True),
    ("Drafts.Example.COM", ["drafts.example.com"], True),          # host names ignore case
    ("drafts.example.com:8443", ["drafts.example.com"], False),     # a port must be listed
    ("drafts.example.com", ["drafts.example.com:8443"], False),
    ("drafts.example.com:8443", ["drafts.example.com:8443"], True),
    ("example.com", [".example.com"], True),                        # a leading dot: the name and below
    ("a.b.example.com", [".example.com"], True),
    ("a.example.com:8080", [".example.com"], False),
    ("a.example.com:8080", [".example.com:8080"], True),
    ("badexample.com", [".example.com"], False),
    ("example.com.evil.example", [".example.com"], False),
    ("[::1]:9001", ["[::1]:9001"], True),
    ("evil.example", [], False),
    ("", ["drafts.example.com"], False),
])
def test_host_rules(host, rules, trusted):
    assert guards.host_trusted(host, rules) is trusted


@pytest.mark.parametrize("host, port, base", [
    ("127.0.0.1", 9001, "http://127.0.0.1:9001"),
    ("localhost", 8080, "http://localhost:8080"),
    ("10.1.2.3", 80, "http://10.1.2.3:80"),
    ("::1", 9001, "http://[::1]:9001"),
    ("0.0.0.0", 9001, ""),                  # not an address a client can use: root-relative links
    ("::", 9001, ""),
    ("", 9001, ""),
])
def test_listen_base(host, port, base, tmp_path):
    assert guards.listen_base(make_settings(tmp_path, host=host, port=port)) == base


def test_trusted_hosts_setting_is_normalised_and_checked(tmp_path):
    config = tmp_path / "config.json"
    config.write_text("{}", encoding="utf-8")
    loaded = load_settings(str(config), {"CAPCUT_TRUSTED_HOSTS": "Drafts.Example.com:8443, .corp.example,[::1]:9001"})
    assert loaded.trusted_hosts == ["drafts.example.com:8443", ".corp.example", "[::1]:9001"]
    for bad in ("http://drafts.example.com", "a b", "host:99999", "*.example.com", "host/path"):
        with pytest.raises(SettingsError, match="CAPCUT_TRUSTED_HOSTS"):
            load_settings(str(config), {"CAPCUT_TRUSTED_HOSTS": bad})


# --- downloads never follow symbolic links ----------------------------------------------------------

SECRET = b"TOP-SECRET-" * 50_000          # 550 kB: big enough to change the size the page shows


@pytest.fixture
def outside(tmp_path) -> Path:
    """A secret file and a folder holding another, outside every draft folder."""
    root = tmp_path / "outside"
    (root / "dir").mkdir(parents=True)
    (root / "secret.txt").write_bytes(SECRET)
    (root / "dir" / "inner.json").write_bytes(SECRET)
    return root


def plant_links(folder: Path, outside: Path) -> None:
    """Symbolic links inside a saved folder: to a file, to a folder, one level down, to the parent."""
    os.symlink(outside / "secret.txt", folder / "leak.json")
    os.symlink(outside / "secret.txt", folder / "leak.bin")
    os.symlink(outside / "dir", folder / "linked")
    os.symlink(outside / "secret.txt", folder / "Timelines" / "leak.json")
    os.symlink(outside, folder / "Timelines" / "up")


def regular_files(folder: Path) -> dict[str, bytes]:
    """The folder's regular files, never reached through a symbolic link, by '/'-separated path."""
    found = {}
    for root, _dirs, files in os.walk(folder):          # os.walk does not enter linked folders
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_the_zip_and_the_page_leave_out_symbolic_links(make_app, outside, tmp_path):
    app = make_app(store="sqlite")
    draft_id, _ = saved_draft(app)
    folder = delivery.folder_path(app.extensions["capcut"].settings, draft_id)
    before = page(app, draft_id)
    expected = regular_files(folder)
    plant_links(folder, outside)

    data = app.test_client().get(f"/drafts/{draft_id}.zip").data
    assert zip_members(data) == expected
    assert b"TOP-SECRET" not in data
    assert page(app, draft_id) == before                      # the size shown counts no linked bytes
    assert delivery.folder_size(folder) == sum(len(b) for b in expected.values())
    uploaded = tmp_path / "upload.zip"                       # the zip written for OSS/S3 uploads
    delivery.make_zip(folder, uploaded)
    assert zip_members(uploaded.read_bytes()) == expected


def test_a_draft_folder_that_is_a_symbolic_link_is_not_served(make_app, outside):
    app = make_app(store="sqlite")
    draft_id, _ = saved_draft(app)
    drafts = delivery.drafts_dir(app.extensions["capcut"].settings)
    (outside / "dir" / "draft_meta_info.json").write_bytes(SECRET)
    os.symlink(drafts / draft_id, drafts / "dfd_cat_1_0000000a")       # to a real saved folder
    os.symlink(outside / "dir", drafts / "dfd_cat_1_0000000b")         # to a folder outside that looks like one
    real = drafts / "dfd_cat_1_0000000c"                              # a folder whose meta file is a link
    real.mkdir()
    os.symlink(outside / "secret.txt", real / "draft_meta_info.json")
    client = app.test_client()
    for name in ("dfd_cat_1_0000000a", "dfd_cat_1_0000000b", "dfd_cat_1_0000000c"):
        resp = client.get(f"/drafts/{name}.zip")
        assert resp.status_code == 404 and resp.get_json()["code"] == "not_found", (name, resp.data[:200])
        resp = client.get(f"/drafts/{name}")                     # the draft's page: HTML
        assert resp.status_code == 404 and b"Draft not found" in resp.data, (name, resp.data[:200])
    assert client.get(f"/drafts/{draft_id}.zip").status_code == 200


def test_writing_a_folder_refuses_an_asset_that_is_a_symbolic_link(tmp_path, outside):
    link = tmp_path / "cached.mp4"
    os.symlink(outside / "secret.txt", link)
    content = {"id": "5E9E81E6-C97D-4322-B35B-AB4CEBC4204F", "duration": 0, "materials": {}, "tracks": []}
    with pytest.raises(ValueError, match="symbolic link"):
        folder_writer.write_folder(tmp_path / "out" / "draft1", content, PROFILES["capcut"], name="draft1",
                                   draft_folder=None, assets={"assets/video/video_1.mp4": link},
                                   created_us=0, modified_us=0, seed="s")
    assert not (tmp_path / "out" / "draft1").exists()


def test_installing_a_folder_copies_no_symbolic_links(make_app, outside, tmp_path):
    app = make_app(store="sqlite")
    draft_id, _ = saved_draft(app)
    folder = delivery.folder_path(app.extensions["capcut"].settings, draft_id)
    expected = regular_files(folder)
    plant_links(folder, outside)
    root = tmp_path / "CapCut Drafts"
    root.mkdir()
    content = json.loads((folder / "draft_content.json").read_bytes())
    installed = install.install_into(root, folder, name=draft_id, content=content, profile=PROFILES["capcut"])
    assert not [p for p in installed.rglob("*") if p.is_symlink()]
    copied = regular_files(installed)
    assert set(copied) == set(expected)
    assert not [name for name, data in copied.items() if b"TOP-SECRET" in data]


# --- log lines cannot be forged ---------------------------------------------------------------------

FORGED = "1999-12-31 23:59:59,999 CRITICAL capcut.app [-] FORGED"
RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ \[[^\]\s]+\] ")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"     # app.py's


def unsafe_characters(text: str) -> list[str]:
    """Characters that break or rewrite a log line: C0/C1 controls (the newline between records
    aside) and the Unicode line and paragraph separators."""
    return [c for c in text if c != "\n" and (unicodedata.category(c) == "Cc" or c in "\u2028\u2029")]


@pytest.fixture
def logging_server(tmp_path):
    """`python app.py` on a free 127.0.0.1 port with its log (stderr) in a file of its own.
    Yields (port, stop): stop() ends the process and returns the log text."""
    port = free_port()
    config = tmp_path / "config.json"
    config.write_text("{}", encoding="utf-8")
    env = {**os.environ, "CAPCUT_PORT": str(port), "CAPCUT_HOST": "127.0.0.1",
           "CAPCUT_DATA_DIR": str(tmp_path / "data"), "CAPCUT_CONFIG": str(config)}
    err_path = tmp_path / "stderr.log"
    with open(tmp_path / "stdout.log", "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=out, stderr=err)

    def stop() -> str:
        stop_process(proc)
        return err_path.read_bytes().decode("utf-8")

    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{err_path.read_text(errors='replace')}")
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, f"app.py did not answer on port {port} within 30 s"
                time.sleep(0.1)
        yield port, stop
    finally:
        stop_process(proc)


def raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes exactly as given (clients refuse control characters); the raw reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b"Host: 127.0.0.1\r\nConnection: close\r\n"
                     + (b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body) if body else b"")
                     + b"\r\n" + body)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_client_text_cannot_forge_log_lines_of_the_live_server(logging_server):
    port, stop = logging_server
    forged = quote(FORGED).encode()
    targets = [b"/x%0A" + forged, b"/x%0D%0A" + forged, b"/x%E2%80%A8" + forged, b"/x%E2%80%A9" + forged,
               b"/x%C2%85" + forged, b"/x%1B%5B2K%0D" + forged, b"/drafts/dfd%0A" + forged + b".zip",
               b"/drafts/dfd%0A" + forged]
    for target in targets:
        assert b" 404 " in raw_request(port, b"GET " + target + b" HTTP/1.1\r\n").split(b"\r\n")[0]
    for request_id in (b"id\x85" + FORGED.encode(), b"id\x1b[2K\r" + FORGED.encode(), b"id\xe2\x80\xa8" + forged):
        reply = raw_request(port, b"GET /healthz HTTP/1.1\r\nX-Request-ID: " + request_id + b"\r\n")
        assert b" 200 " in reply.split(b"\r\n")[0]
    for body in ({"task_id": "x\n" + FORGED}, {"draft_id": "x\n" + FORGED}):
        path = "/query_draft_status" if "task_id" in body else "/save_draft"
        raw_request(port, f"POST {path} HTTP/1.1\r\n".encode(), json.dumps(body).encode())

    log = stop()
    lines = [line for line in log.split("\n") if line]
    assert lines, "the server logged nothing"
    assert unsafe_characters(log) == []
    assert [line for line in lines if not RECORD_START.match(line)] == []
    assert [line for line in lines if line.startswith(FORGED[:10])] == []
    # each forged path was logged, on the line of its request, with the break escaped
    access = [line for line in lines if " capcut.http " in line and "FORGED" in line]
    assert len(access) == len(targets), "\n".join(access)
    assert any(f"/x\\n{FORGED} 404" in line for line in access)
    assert any(f"/x\\u2028{FORGED} 404" in line for line in access)


def test_exception_text_in_a_log_record_is_escaped():
    guards.install_request_id_logging()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    log = logging.getLogger("capcut.test_exposure")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            try:
                raise RuntimeError("inner\n" + FORGED)
            except RuntimeError as exc:
                raise ValueError("outer\r\n" + FORGED + "\u2029") from exc
        except ValueError:
            log.exception("save of %s failed", "dfd\n" + FORGED)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    text = stream.getvalue()
    lines = text.splitlines()                # splits at \u2028/\u2029 and other breaks too
    assert unsafe_characters(text) == []
    assert RECORD_START.match(lines[0]) and lines[0].endswith(f"save of dfd\\n{FORGED} failed")
    assert [line for line in lines if line.startswith(FORGED[:10])] == []
    assert f"RuntimeError: inner\\n{FORGED}" in lines
    assert "The above exception was the direct cause of the following exception:" in lines
    assert lines.count("Traceback (most recent call last):") == 2
    assert lines[-1] == f"ValueError: outer\\r\\n{FORGED}\\u2029"
