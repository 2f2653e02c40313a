"""Parameters and routes of the wider client family, on real media served from 127.0.0.1.

* POST /get_duration {media_url} answers the length in seconds, downloads a URL once (the media
  cache), and reports fetch and probe failures with their codes;
* /add_subtitle takes `srt_url` as well as `srt` (`srt` wins, with a warning);
* /query_draft_status takes `draft_id` as an alias of `task_id`.
"""
from __future__ import annotations

import json

import pytest
from helpers import fail, make_settings, new_draft, ok, post
from helpers.media import MediaServer, make_audio, make_image, make_video, pattern_bytes

SRT = "1\n00:00:00,000 --> 00:00:01,500\nHello\n\n2\n00:00:01,500 --> 00:00:03,000\nWorld\n"


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("family_media")
    make_video(folder / "clip.mp4", seconds=3, size=(32, 32))
    make_audio(folder / "tone.mp3", seconds=4.5)
    make_image(folder / "still.png")
    (folder / "noise.mp4").write_bytes(pattern_bytes(20_000, seed=3))
    (folder / "subs.srt").write_text(SRT, encoding="utf-8")
    with MediaServer(folder) as server:
        yield server


def _client(tmp_path, **overrides):
    from capcut_drafts.web.app import create_app
    return create_app(make_settings(tmp_path, store="memory", **overrides)).test_client()


@pytest.fixture
def client(tmp_path, media):
    media.reset()
    return _client(tmp_path, fetch_allow_hosts=["127.0.0.1"])


@pytest.fixture
def closed_client(tmp_path, media):
    """A client whose fetcher refuses private addresses (no allow-list)."""
    return _client(tmp_path, fetch_allow_hosts=[])


# -- /get_duration ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,seconds", [("clip.mp4", 3.0), ("tone.mp3", 4.5)])
def test_duration_of_a_video_and_an_audio_file(client, media, name, seconds):
    output = ok(client, "/get_duration", {"media_url": media.url(name)})
    assert list(output) == ["duration"] and isinstance(output["duration"], float)
    assert abs(output["duration"] - seconds) < 0.1


def test_the_second_call_reads_the_media_cache(client, media):
    first = ok(client, "/get_duration", {"media_url": media.url("clip.mp4")})
    second = ok(client, "/get_duration", {"media_url": media.url("clip.mp4")})
    assert first == second
    assert media.hits("/clip.mp4") == 1


def test_url_is_an_alias_of_media_url(client, media):
    assert ok(client, "/get_duration", {"url": media.url("tone.mp3")}) == \
        ok(client, "/get_duration", {"media_url": media.url("tone.mp3")})


def test_a_missing_file_answers_fetch_http_status(client, media):
    message = fail(client, "/get_duration", {"media_url": media.url("status/404")}, "fetch_http_status")
    assert "404" in message and "SECRET-BODY" not in message


def test_a_private_address_without_allow_list_answers_fetch_forbidden(closed_client, media):
    fail(closed_client, "/get_duration", {"media_url": media.url("clip.mp4")}, "fetch_forbidden")
    assert media.hits("/clip.mp4") == 0


@pytest.mark.parametrize("name,code", [("noise.mp4", "probe_failed"), ("still.png", "wrong_media_kind")])
def test_a_file_without_duration_is_refused(client, media, name, code):
    fail(client, "/get_duration", {"media_url": media.url(name)}, code)


# -- /add_subtitle srt_url -------------------------------------------------------------------

def _texts(client, draft: str) -> list[str]:
    doc = json.loads(ok(client, "/query_script", {"draft_id": draft}))
    return sorted(json.loads(m["content"])["text"] for m in doc["materials"]["texts"])


def test_srt_url_adds_the_cues_of_the_file(client, media):
    draft = new_draft(client)
    ok(client, "/add_subtitle", {"draft_id": draft, "srt_url": media.url("subs.srt")})
    assert _texts(client, draft) == ["Hello", "World"]
    assert media.hits("/subs.srt") == 1


def test_srt_wins_over_srt_url_with_a_warning(client, media):
    draft = new_draft(client)
    reply = post(client, "/add_subtitle", {"draft_id": draft, "srt": "1\n00:00:00,000 --> 00:00:01,000\nMine\n",
                                           "srt_url": media.url("subs.srt")})
    assert reply["success"] and reply["warnings"] == [
        "Both 'srt' and 'srt_url' were sent: 'srt' was used and 'srt_url' ignored."]
    assert _texts(client, draft) == ["Mine"]
    assert media.hits("/subs.srt") == 0


@pytest.mark.parametrize("srt_url,code", [("status/404", "fetch_http_status"), ("/etc/passwd", "fetch_scheme")])
def test_srt_url_follows_the_fetch_rules(client, media, srt_url, code):
    url = media.url(srt_url) if srt_url.startswith("status") else srt_url
    fail(client, "/add_subtitle", {"draft_id": new_draft(client), "srt_url": url}, code)


def test_srt_url_on_a_private_address_without_allow_list_is_forbidden(closed_client, media):
    fail(closed_client, "/add_subtitle", {"srt_url": media.url("subs.srt")}, "fetch_forbidden")


# -- /query_draft_status draft_id ------------------------------------------------------------

def test_draft_id_is_an_alias_of_task_id(client):
    draft = new_draft(client)
    ok(client, "/save_draft", {"draft_id": draft})
    by_draft = post(client, "/query_draft_status", {"draft_id": draft})
    assert by_draft == post(client, "/query_draft_status", {"task_id": draft})
    assert by_draft["output"]["status"] == "completed" and "warnings" not in by_draft


def test_task_id_wins_over_another_draft_id_with_a_warning(client):
    saved, other = new_draft(client), new_draft(client)
    ok(client, "/save_draft", {"draft_id": saved})
    reply = post(client, "/query_draft_status", {"task_id": saved, "draft_id": other})
    assert reply["success"] and reply["output"]["status"] == "completed"      # the other has no save
    assert reply["warnings"] == [f"Both 'task_id' and 'draft_id' were sent: 'task_id' ({saved}) was used and "
                                 "'draft_id' ignored."]
    fail(client, "/query_draft_status", {"draft_id": other}, "task_not_found")
