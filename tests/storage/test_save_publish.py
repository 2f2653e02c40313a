"""/save_draft publishing to object storage end to end: real media over HTTP on 127.0.0.1, the
save job, the zip uploaded to our signature-checking OSS server, downloaded back through the
signed draft_url and compared with the saved folder; an upload failure keeps the folder."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests
from helpers import make_settings, post
from helpers.media import MediaServer, make_audio, make_image, make_video
from helpers.oss_server import TEST_KEY_ID, TEST_REGION, TEST_SECRET, OssTestServer

from capcut_drafts.save import delivery


@pytest.fixture(scope="module")
def media_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    make_video(folder / "v.mp4", seconds=1)
    make_audio(folder / "a.mp3", seconds=1)
    make_image(folder / "i.png", fmt="png")
    with MediaServer(folder) as server:
        yield server


@pytest.fixture()
def oss():
    with OssTestServer() as server:
        yield server


def oss_app(tmp_path: Path, oss: OssTestServer, secret: str = TEST_SECRET):
    from capcut_drafts.web.app import create_app
    settings = make_settings(tmp_path, store="sqlite", fetch_allow_hosts=["127.0.0.1"], is_upload_draft=True,
                             storage="oss", upload_key_prefix="drafts/", upload_retries=0,
                             oss_config={"bucket_name": "drafts", "access_key_id": TEST_KEY_ID,
                                         "access_key_secret": secret, "endpoint": oss.endpoint,
                                         "region": TEST_REGION})
    return create_app(settings), settings


def build_draft(client, media_server) -> str:
    draft = post(client, "/create_draft", {})["output"]["draft_id"]
    for path, body in (("/add_video", {"video_url": media_server.url("v.mp4"), "end": 1}),
                       ("/add_audio", {"audio_url": media_server.url("a.mp3")}),
                       ("/add_image", {"image_url": media_server.url("i.png"), "start": 1, "end": 2,
                                       "track_name": "img"})):
        assert post(client, path, {"draft_id": draft, **body})["success"]
    return draft


def test_save_uploads_the_zip_and_draft_url_downloads_it(tmp_path, media_server, oss):
    app, settings = oss_app(tmp_path, oss)
    client = app.test_client()
    draft = build_draft(client, media_server)
    reply = post(client, "/save_draft", {"draft_id": draft})
    assert reply["success"], reply
    url = reply["output"]["draft_url"]
    assert url.startswith(oss.endpoint.split("//")[0]) and f"drafts/{draft}.zip" in url and "x-oss-signature" in url
    task = post(client, "/query_draft_status", {"task_id": draft})["output"]
    assert task["status"] == "completed" and task["progress"] == 100
    assert task["bytes_uploaded"] == task["bytes_to_upload"] > 0
    archive = zipfile.ZipFile(io.BytesIO(requests.get(url, timeout=10).content))
    folder = delivery.folder_path(settings, draft)
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(archive.namelist()) == on_disk
    assert archive.read("draft_content.json") == (folder / "draft_content.json").read_bytes()


def test_a_wrong_secret_fails_the_save_with_the_provider_code_and_keeps_the_folder(tmp_path, media_server, oss):
    app, settings = oss_app(tmp_path, oss, secret="not-the-secret")
    client = app.test_client()
    draft = build_draft(client, media_server)
    reply = post(client, "/save_draft", {"draft_id": draft})
    assert reply["success"] is False and reply["code"] == "save_failed"
    assert "SignatureDoesNotMatch" in reply["error"]
    task = post(client, "/query_draft_status", {"task_id": draft})["output"]
    assert task["status"] == "failed" and task["upload_error_code"] == "SignatureDoesNotMatch"
    assert (delivery.folder_path(settings, draft) / "draft_meta_info.json").is_file()   # kept for a retry

    fixed, _ = oss_app(tmp_path, oss)          # same data dir, right key: the retry publishes
    assert post(fixed.test_client(), "/save_draft", {"draft_id": draft})["output"]["status"] == "completed"


def test_readiness_reports_unreachable_storage(tmp_path, oss):
    app, _ = oss_app(tmp_path, oss, secret="not-the-secret")
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503 and "storage" in reply.get_json()["error"]


def test_with_api_keys_the_download_links_are_signed_and_open_without_a_key(tmp_path, media_server):
    from capcut_drafts.web.app import create_app
    app = create_app(make_settings(tmp_path, store="sqlite", fetch_allow_hosts=["127.0.0.1"], api_keys=["k-1"]))
    client = app.test_client()
    key = {"X-API-Key": "k-1"}
    draft = client.post("/create_draft", json={}, headers=key).get_json()["output"]["draft_id"]
    assert client.post("/add_video", json={"draft_id": draft, "video_url": media_server.url("v.mp4"), "end": 1},
                       headers=key).get_json()["success"]
    output = client.post("/save_draft", json={"draft_id": draft}, headers=key).get_json()["output"]
    zip_url, page_url = output["draft_url"], output["download_page"]
    assert "sig=" in zip_url and "sig=" in page_url
    path = zip_url.split("127.0.0.1:9001", 1)[1]
    assert zipfile.ZipFile(io.BytesIO(client.get(path).data)).testzip() is None     # no key needed
    page = client.get(page_url.split("127.0.0.1:9001", 1)[1])
    assert page.status_code == 200 and "sig=" in page.get_data(as_text=True)
    tampered = path[:-1] + ("0" if path[-1] != "0" else "1")
    assert client.get(tampered).status_code == 401
    assert client.get(path.replace(draft, "dfd_cat_1_00000000")).status_code == 401    # signed for another draft
    expired = path.split("?")[0] + "?expires=1&" + path.split("&", 1)[1]
    assert client.get(expired).status_code == 401


def test_a_render_is_uploaded_with_is_upload_draft(tmp_path, media_server, oss):
    """/generate_video on a service that uploads: the MP4 goes to the bucket, result is its signed URL."""
    import time

    import av
    app, _ = oss_app(tmp_path, oss)
    client = app.test_client()
    draft = build_draft(client, media_server)
    task_id = post(client, "/generate_video", {"draft_id": draft, "resolution": "480P"})["output"]["task_id"]
    deadline = time.monotonic() + 90
    while (task := post(client, "/task_status", {"task_id": task_id})["output"])["status"] not in ("SUCCESS", "FAILED"):
        assert time.monotonic() < deadline, task
        time.sleep(0.1)
    assert task["status"] == "SUCCESS", task
    url = task["result"]
    assert f"renders/{draft}/{task_id}.mp4" in url and "x-oss-signature" in url
    with av.open(io.BytesIO(requests.get(url, timeout=10).content)) as container:
        assert container.streams.video and container.streams.audio
    app.extensions["capcut"].runner.shutdown(wait=True)
