"""GET /drafts/<id>: the draft's page before and after a save, the 404 page of an unknown id, and
escaping of what a client put in the draft. The app runs on a SQLite store with its thread runner,
so saves really write the folder the page links."""
from __future__ import annotations

import html

import pytest
from helpers import make_settings, ok

from capcut_drafts.web.app import create_app

MAC_FOLDER = "/Users/me/Movies/CapCut/User Data/Projects/com.lveditor.draft"
HOSTILE = '<script>alert("x")</script>&<b>'


@pytest.fixture
def client(tmp_path):
    app = create_app(make_settings(tmp_path / "data", store="sqlite", prefetch_on_add=False))
    yield app.test_client()
    ctx = app.extensions["capcut"]
    ctx.runner.shutdown(wait=True)
    ctx.media.close(wait=True)


def page(client, draft_id: str, status: int = 200) -> str:
    resp = client.get(f"/drafts/{draft_id}")
    assert resp.status_code == status and resp.mimetype == "text/html", resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


def test_page_before_a_save_shows_the_contents_and_no_link(client):
    d = ok(client, "/create_draft", {"width": 1920, "height": 1080})["draft_id"]
    ok(client, "/add_text", {"draft_id": d, "text": "hi", "start": 0, "end": 4, "track_name": "titles"})
    ok(client, "/add_video", {"draft_id": d, "video_url": "http://127.0.0.1:9/v.mp4"})    # length known at save
    text = page(client, d)
    assert "1920×1080, 4 s long" in text
    assert "<tr><td>titles</td><td>text</td><td>1</td></tr>" in text
    assert "<tr><td>video_main</td><td>video</td><td>1</td></tr>" in text
    assert "Warnings from building it" in text and "the media length is not known yet" in text
    assert "Not saved yet" in text and ".zip" not in text
    for folder in ("%LOCALAPPDATA%\\CapCut\\", "~/Movies/CapCut/", "%LOCALAPPDATA%\\JianyingPro\\",
                   "~/Movies/JianyingPro/"):
        assert folder in text


def test_page_after_a_save_without_draft_folder(client):
    d = ok(client, "/create_draft", {})["draft_id"]
    ok(client, "/add_text", {"draft_id": d, "text": "hi"})
    assert ok(client, "/save_draft", {"draft_id": d})["status"] == "completed"
    text = page(client, d)
    assert "Status <b>completed</b> (100 %)" in text and "UTC" in text
    assert f'<a href="http://127.0.0.1:9001/drafts/{d}.zip" id="zip-link">' in text
    assert "saved without <code>draft_folder</code>: media paths are relative" in text
    assert "enter your drafts folder above" in text
    assert "Not saved yet" not in text
    assert client.get(f"/drafts/{d}.zip").status_code == 200


def test_page_has_a_drafts_folder_field_the_zip_link_carries(client):
    """A GET form to the zip (works without script) and a script that remembers the folder in
    localStorage and puts it on the link as ?draft_folder=."""
    d = ok(client, "/create_draft", {})["draft_id"]
    ok(client, "/save_draft", {"draft_id": d})
    text = page(client, d)
    assert f'<form id="folder-form" method="get" action="http://127.0.0.1:9001/drafts/{d}.zip">' in text
    assert '<input id="draft-folder" name="draft_folder"' in text
    assert 'localStorage.getItem(key)' in text and 'var key = "capcut-drafts.draft_folder"' in text
    assert '"draft_folder="' in text and 'encodeURIComponent(value)' in text and 'type="hidden"' not in text
    # what the form submits: the zip for that folder
    resp = client.get(f"/drafts/{d}.zip?draft_folder=C%3A%5CUsers%5Cme%5CDrafts")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"


def test_page_after_a_save_for_a_drafts_folder_names_it(client):
    d = ok(client, "/create_draft", {})["draft_id"]
    assert ok(client, "/save_draft", {"draft_id": d, "draft_folder": MAC_FOLDER})["status"] == "completed"
    text = page(client, d)
    assert f"inside <code>{MAC_FOLDER}</code>: unzip it exactly there" in text
    assert "media paths are relative" not in text and "No tracks yet." in text


@pytest.mark.parametrize("draft_id", ["dfd_cat_1764300000_deadbeef", "no.such", "a" * 81])
def test_unknown_draft_gets_an_html_404(client, draft_id):
    text = page(client, draft_id, status=404)
    assert "<h1>Draft not found</h1>" in text and f"<code>{draft_id}</code>" in text
    assert '"success"' not in text and "No route" not in text


def test_hostile_names_are_escaped(client):
    d = ok(client, "/create_draft", {})["draft_id"]
    ok(client, "/add_text", {"draft_id": d, "text": "x", "track_name": HOSTILE})
    ok(client, "/save_draft", {"draft_id": d, "draft_folder": "/Users/me/<img src=x onerror=alert(1)>"})
    text = page(client, d)
    assert f"<td>{html.escape(HOSTILE)}</td>" in text
    assert "<script>alert" not in text and "<b>" not in text.replace("<b>completed</b>", "")
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_with_api_keys_the_links_we_hand_out_open_the_page(tmp_path):
    """With api_keys, draft_url carries a signature a browser can follow; the bare page answers a 401
    page that says which link to use, and `/` still leads to the docs."""
    key = "k" * 32
    app = create_app(make_settings(tmp_path / "data", store="memory", prefetch_on_add=False, api_keys=[key]))
    client = app.test_client()
    headers = {"X-API-Key": key}
    reply = client.post("/create_draft", json={}, headers=headers).get_json()["output"]
    d, link = reply["draft_id"], reply["draft_url"]
    assert f"/drafts/{d}?expires=" in link and "&sig=" in link
    again = client.post("/add_text", json={"draft_id": d, "text": "hi"}, headers=headers).get_json()["output"]
    assert again["draft_url"] == link                   # one link per day, not one per reply
    opened = client.get(link[link.index("/drafts/"):])
    assert opened.status_code == 200 and "text" in opened.get_data(as_text=True)
    client.post("/save_draft", json={"draft_id": d}, headers=headers)
    saved = client.get(link[link.index("/drafts/"):]).get_data(as_text=True)
    expires, sig = link.split("expires=")[1].split("&sig=")
    # the folder form carries the signature, so its download opens without a key
    assert f'<input type="hidden" name="expires" value="{expires}"><input type="hidden" name="sig" value="{sig}">' \
        in saved
    bare = client.get(f"/drafts/{d}")
    assert bare.status_code == 401 and bare.mimetype == "text/html"
    assert "draft_url" in bare.get_data(as_text=True)
    forged = client.get(link[link.index("/drafts/"):].replace(d, d + "x"))
    assert forged.status_code == 401
    assert client.get(f"/drafts/{d}.zip").get_json()["code"] == "unauthorized"
    assert client.get("/").status_code == 302
    app.extensions["capcut"].media.close(wait=True)


def test_a_zip_in_object_storage_gets_no_folder_field():
    """Only the zip this service streams can move its paths (?draft_folder=); an uploaded one is as saved."""
    from capcut_drafts.save import delivery
    uploaded = delivery.SaveView("completed", 100, "", None, None, "https://bucket.example/d.zip?X-Sig=1")
    text = delivery.draft_page("d1", None, uploaded)
    assert 'href="https://bucket.example/d.zip?X-Sig=1" id="zip-link"' in text
    assert 'id="draft-folder"' not in text and "localStorage" not in text and "enter your drafts folder" not in text
