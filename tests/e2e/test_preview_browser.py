"""The preview page in a real browser: Playwright drives Debian's chromium against gunicorn, with
media from a local MediaServer. The page lists every segment, shows thumbnails, and its Render
button produces an MP4 that plays in the page; a screenshot is kept in test-artifacts/preview.png
(and, with UPDATE_SCREENSHOT=1, copied to docs/preview.png for the README).

Needs `/usr/bin/chromium` (apt-get install chromium) and the playwright package
(requirements-dev.txt); without them the tests skip, and under CI=true they fail.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests
from helpers import REPO_ROOT
from helpers.media import MediaServer, make_image, make_video
from helpers.processes import running_gunicorn
from helpers.redis import in_ci

CHROMIUM = Path(os.environ.get("CAPCUT_TEST_CHROMIUM", "/usr/bin/chromium"))
RENDER_TIMEOUT_MS = 60_000
TEXT = "Hello <preview> & friends"


def _unavailable(reason: str) -> None:
    how = "apt-get install chromium; pip install -r requirements-dev.txt"
    if in_ci():
        pytest.fail(f"{reason}. CI=true: the browser tests must run in CI ({how}; .ci/run installs chromium).",
                    pytrace=False)
    pytest.skip(f"{reason}: to run the browser tests, {how}")


@pytest.fixture(scope="module")
def browser():
    """Headless chromium through Playwright (the system browser, no `playwright install`)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no chromium at {CHROMIUM}")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []       # chromium's sandbox refuses root
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        yield launched
        launched.close()


@pytest.fixture
def media(tmp_path):
    """A MediaServer with a 2.5 s clip and a PNG."""
    folder = tmp_path / "media"
    folder.mkdir()
    make_video(folder / "clip.mp4", seconds=2.5, size=(320, 180))
    make_image(folder / "photo.png", size=(160, 120))
    with MediaServer(folder) as server:
        yield server


def call(session: requests.Session, base: str, path: str, body: dict) -> dict:
    reply = session.post(base + path, json=body, timeout=(3, 60)).json()
    assert reply["success"], (path, reply)
    return reply["output"]


def build_draft(session: requests.Session, base: str, media: MediaServer) -> dict:
    """A draft with a clip, an image over it and a text; returns create_draft's output."""
    def ok(path: str, body: dict) -> dict:
        return call(session, base, path, body)
    created = ok("/create_draft", {"width": 640, "height": 360})
    d = created["draft_id"]
    ok("/add_video", {"draft_id": d, "video_url": media.url("clip.mp4"), "start": 0, "end": 2.5})
    ok("/add_image", {"draft_id": d, "image_url": media.url("photo.png"), "start": 0.5, "end": 2,
                      "track_name": "pics", "scale_x": 0.3, "scale_y": 0.3})
    ok("/add_text", {"draft_id": d, "text": TEXT, "start": 0, "end": 2.5, "font_size": 10})
    return created


def open_preview(browser, url: str):
    """A fresh page on `url`, recording script errors and failed API calls."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"script error: {exc}"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"HTTP {r.status} {r.url}"))
    page.goto(url)
    return page


def check_timeline(page, count: int) -> None:
    blocks = page.locator("[data-segment-id]")
    assert blocks.count() == count
    ids = [blocks.nth(i).get_attribute("data-segment-id") for i in range(count)]
    assert all(ids) and len(set(ids)) == count
    text = page.locator(".timeline").inner_text()
    for label in ("clip.mp4", "photo.png", TEXT):
        assert label in text
    page.wait_for_function("() => [...document.querySelectorAll('img.thumb')]"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
    assert page.locator("img.thumb").count() == 2              # the clip and the image


def render_and_play(page) -> None:
    """Render at 480P, wait for the video, play it muted and watch currentTime advance."""
    assert page.locator("#render-resolution").input_value() == "480P"
    assert page.locator("#render-video").is_hidden()
    page.click("#render-button")
    page.wait_for_selector("#render-video[src]:not([hidden])", timeout=RENDER_TIMEOUT_MS)
    assert page.locator("#render-error").is_hidden()
    assert "SUCCESS 100" in page.locator("#render-status").inner_text()
    page.evaluate("async () => { const v = document.getElementById('render-video');"
                  " v.muted = true; await v.play(); }")
    page.wait_for_function("() => document.getElementById('render-video').currentTime > 0.5", timeout=15_000)
    duration = page.evaluate("() => document.getElementById('render-video').duration")
    assert 2.3 < duration < 2.8, duration
    page.evaluate("() => document.getElementById('render-video').pause()")


def test_preview_lists_segments_renders_and_plays(tmp_path, browser, media):
    with running_gunicorn(tmp_path, fetch_allow_hosts="127.0.0.1") as (base, _, log, _):
        d = build_draft(requests.Session(), base, media)["draft_id"]
        page = open_preview(browser, f"{base}/drafts/{d}/preview")
        try:
            check_timeline(page, 3)
            assert "640×360, 2.5 s long" in page.locator("#summary").inner_text()
            render_and_play(page)
            assert not page.problems, page.problems
            artefacts = REPO_ROOT / "test-artifacts"
            artefacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artefacts / "preview.png"), full_page=True)
            if os.environ.get("UPDATE_SCREENSHOT") == "1":
                shutil.copyfile(artefacts / "preview.png", REPO_ROOT / "docs" / "preview.png")
        except Exception:
            print(log.read_text(errors="replace")[-4000:])
            raise
        finally:
            page.close()


def test_a_failed_render_shows_its_reason(tmp_path, browser, media):
    with running_gunicorn(tmp_path, fetch_allow_hosts="127.0.0.1") as (base, _, log, _):
        session = requests.Session()
        d = call(session, base, "/create_draft", {"width": 640, "height": 360})["draft_id"]
        call(session, base, "/add_video", {"draft_id": d, "video_url": media.url("missing.mp4"), "end": 1})
        page = open_preview(browser, f"{base}/drafts/{d}/preview")
        try:
            assert page.locator("[data-segment-id]").count() == 1
            page.wait_for_function("() => document.querySelector('img.thumb').hidden")   # no still: no broken icon
            page.click("#render-button")
            page.wait_for_selector("#render-error:not([hidden])", timeout=RENDER_TIMEOUT_MS)
            assert "missing.mp4" in page.locator("#render-error").inner_text()
            assert page.locator("#render-status").inner_text() == "Failed"
            assert page.locator("#render-video").is_hidden() and page.locator("#render-button").is_enabled()
        except Exception:
            print(log.read_text(errors="replace")[-4000:])
            raise
        finally:
            page.close()


def test_signed_link_opens_the_preview_and_renders(tmp_path, browser, media):
    key = "k" * 32
    with running_gunicorn(tmp_path, fetch_allow_hosts="127.0.0.1", api_keys=key) as (base, _, log, _):
        session = requests.Session()
        session.headers["X-API-Key"] = key
        link = build_draft(session, base, media)["draft_url"]
        path, query = link[link.index("/drafts/"):].split("?", 1)
        assert requests.get(f"{base}{path}/preview", timeout=10).status_code == 401
        page = open_preview(browser, f"{base}{path}/preview?{query}")      # no key: only the signature
        try:
            check_timeline(page, 3)
            render_and_play(page)
            assert not page.problems, page.problems
        except Exception:
            print(log.read_text(errors="replace")[-4000:])
            raise
        finally:
            page.close()
