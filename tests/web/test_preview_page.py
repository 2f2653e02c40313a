"""The preview page without a browser: every segment of every kind is a block with its id, label
and times; hostile text stays text; the API calls carry the page's query string; an empty draft
still gets a page. Drafts are built through the Flask test client; the page comes from
`preview_page`/`preview_view` directly and through GET /drafts/<id>/preview (with API keys: through
the signed draft link)."""
from __future__ import annotations

import html
import json
import re

import pytest
from helpers import ok

from capcut_drafts.web.preview import PreviewSegment, PreviewView, preview_page, preview_view

HOST = "http://127.0.0.1:9"                     # nothing listens: media lengths stay unknown
HOSTILE = '<script>alert(1)</script>'
SIGNED = "?expires=4102444800&sig=0123456789abcdef0123456789abcdef"


@pytest.fixture
def app(make_app):
    return make_app(prefetch_on_add=False)


def stored(app, draft_id: str):
    return app.extensions["capcut"].cache.versioned_copy(draft_id)[1]


def every_kind(client) -> str:
    d = ok(client, "/create_draft", {"width": 1280, "height": 720})["draft_id"]
    for path, body in (
        ("/add_video", {"video_url": f"{HOST}/clip.mp4", "start": 0, "end": 3}),
        ("/add_video", {"video_url": f"{HOST}/open.mp4", "target_start": 3}),          # open: end unknown
        ("/add_image", {"image_url": f"{HOST}/photo.png", "start": 0, "end": 2, "track_name": "pics"}),
        ("/add_audio", {"audio_url": f"{HOST}/music.mp3", "start": 0, "end": 5}),
        ("/add_text", {"text": "Hello there", "start": 1, "end": 4}),
        ("/add_effect", {"effect_type": "Blur", "start": 0, "end": 1}),
        ("/add_filter", {"filter_type": "ABG", "start": 0, "end": 2}),
        ("/add_sticker", {"sticker_id": "7107529669750066445", "start": 2, "end": 3}),
    ):
        ok(client, path, {"draft_id": d, **body})
    return d


def segment_ids(page: str) -> list[str]:
    return re.findall(r'data-segment-id="([^"]+)"', page)


def test_every_segment_is_a_block_with_label_and_times(app):
    client = app.test_client()
    d = every_kind(client)
    draft = stored(app, d)
    view = preview_view(draft, "", ["from the builder"])
    page = preview_page(d, view, "")

    assert sorted(segment_ids(page)) == sorted(s.id for t in draft.tracks for s in t.segments)
    labels = {s.label: s for t in view.tracks for s in t.segments}
    assert set(labels) == {"clip.mp4", "open.mp4", "photo.png", "music.mp3", "Hello there", "Blur", "ABG",
                           "sticker 7107529669750066445"}
    assert (labels["clip.mp4"].start_s, labels["clip.mp4"].end_s) == (0, 3)
    assert labels["open.mp4"] == PreviewSegment(labels["open.mp4"].id, "open.mp4", 3, None)
    assert ">3–? s<" in page and ">1–4 s<" in page and ">0–3 s<" in page
    assert view.duration_s == 5 and (view.width, view.height, view.profile) == (1280, 720, draft.profile)
    assert "1280×720, 5 s long" in page
    # top row first: text over stickers, filters, effects, the video tracks; audio at the bottom
    assert [t.kind for t in view.tracks] == ["text", "sticker", "effect", "filter", "video", "video", "audio"]
    # the builder's warnings first, then the timing ones (the open clip's unknown length), once each
    assert view.warnings[0] == "from the builder"
    assert any("the media length is not known yet" in w for w in view.warnings)
    assert "<li>from the builder</li>" in page
    # thumbnails for clips of video tracks only, at the clip's middle
    thumbs = re.findall(r'<img class="thumb" loading="lazy" alt="" src="([^"]+)"', page)
    assert html.unescape(thumbs[0]) in {f"/drafts/{d}/frame.png?t={t}&width=160" for t in ("1.5", "1", "3")}
    assert len(thumbs) == 3
    assert 'id="zip-link"' not in page and "Not saved yet" in page


def test_hostile_text_stays_text(app):
    client = app.test_client()
    d = ok(client, "/create_draft", {})["draft_id"]
    ok(client, "/add_text", {"draft_id": d, "text": f"</script>{HOSTILE}", "track_name": f"<b>{HOSTILE}"})
    view = preview_view(stored(app, d), 'https://x.example/a.zip?"><script>', [f"warn {HOSTILE}"])
    page = preview_page(d, view, '?x="></script><script>alert(2)</script>')
    assert HOSTILE not in page and "<b>" not in page and "alert(2)</script>" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2       # the data block and the code
    assert html.escape(HOSTILE) in page and f"warn {html.escape(HOSTILE)}" in page
    data = re.search(r'<script type="application/json" id="preview-data">(.*?)</script>', page, re.S)
    assert json.loads(data.group(1))["query"] == 'x="></script><script>alert(2)</script>'


def test_api_calls_and_links_carry_the_query_string(app):
    client = app.test_client()
    d = ok(client, "/create_draft", {})["draft_id"]
    ok(client, "/add_video", {"draft_id": d, "video_url": f"{HOST}/clip.mp4", "end": 2})
    page = preview_page(d, preview_view(stored(app, d), f"http://h/drafts/{d}.zip{SIGNED}", []), SIGNED)
    data = json.loads(re.search(r'id="preview-data">(.*?)</script>', page).group(1))
    assert data == {"generate": f"/drafts/{d}/generate_video", "status": f"/drafts/{d}/task_status",
                    "query": SIGNED[1:]}
    assert "withQuery(url)" in page and "cfg.status + '?task_id='" in page
    assert f'href="/drafts/{d}{html.escape(SIGNED)}"' in page
    assert f'src="/drafts/{d}/frame.png?t=1&amp;width=160&amp;{html.escape(SIGNED[1:])}"' in page
    assert f'<a id="zip-link" href="http://h/drafts/{d}.zip{html.escape(SIGNED)}">' in page


def test_an_empty_draft_gets_a_page(app):
    client = app.test_client()
    d = ok(client, "/create_draft", {})["draft_id"]
    view = preview_view(stored(app, d), "", [])
    assert view == PreviewView(view.profile, 1080, 1920, 0.0, [], [], "")
    page = preview_page(d, view, "")
    assert segment_ids(page) == [] and "No tracks yet" in page and "0 s long" in page
    assert "<section id=\"warnings\"><p>None.</p></section>" in page
    assert 'id="render-button"' in page and '<option value="480P" selected>' in page


def test_the_route_serves_the_page(app):
    client = app.test_client()
    d = every_kind(client)
    resp = client.get(f"/drafts/{d}/preview")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert sorted(segment_ids(page)) == sorted(s.id for t in stored(app, d).tracks for s in t.segments)
    assert client.get("/drafts/dfd_cat_1764300000_deadbeef/preview").status_code == 404


def test_with_api_keys_the_signed_link_opens_the_page(make_app):
    key = "k" * 32
    app = make_app(prefetch_on_add=False, api_keys=[key])
    client = app.test_client()
    headers = {"X-API-Key": key}
    reply = client.post("/create_draft", json={}, headers=headers).get_json()["output"]
    d, link = reply["draft_id"], reply["draft_url"]
    client.post("/add_text", json={"draft_id": d, "text": "hi"}, headers=headers)
    path, query = link[link.index("/drafts/"):].split("?")
    opened = client.get(f"{path}/preview?{query}")
    assert opened.status_code == 200, opened.get_data(as_text=True)[:300]
    page = opened.get_data(as_text=True)
    assert len(segment_ids(page)) == 1 and html.escape(query) in page
    assert client.get(f"{path}/preview").status_code == 401
