"""The local publisher and the choice of backend: the service's own zip URL, which the app
really serves, and upstream's rule that nothing is uploaded unless `is_upload_draft` is on."""
from __future__ import annotations

import io
import time
import zipfile
from types import SimpleNamespace

import pytest
from helpers import make_settings

from capcut_drafts.save import delivery
from capcut_drafts.storage import Published, PublishError, backend_name, open_publisher
from capcut_drafts.storage.local import LocalPublisher, link_ok, sign_link

pytestmark = pytest.mark.usefixtures("no_instance_metadata")      # tests/storage/conftest.py


def write_draft(settings, draft_id: str) -> None:
    folder = delivery.folder_path(settings, draft_id)
    (folder / "assets" / "image").mkdir(parents=True)
    (folder / "draft_meta_info.json").write_text('{"draft_name": "x"}')
    (folder / "draft_info.json").write_text('{"tracks": []}')
    (folder / "assets" / "image" / "a.png").write_bytes(b"\x89PNG" + bytes(range(256)) * 10)


def test_local_url_is_the_service_route_and_the_app_serves_it(settings, client):
    write_draft(settings, "dfd_local_1")
    publisher = open_publisher(settings, base_url="http://localhost:9001")
    assert isinstance(publisher, LocalPublisher) and not publisher.uploads
    calls = []
    published = publisher.publish(delivery.zip_path(settings, "dfd_local_1"), "dfd_local_1.zip",
                                  on_progress=lambda d, t: calls.append((d, t)))
    assert published.url == "http://localhost:9001/drafts/dfd_local_1.zip"
    assert (published.key, published.size, calls) == ("dfd_local_1.zip", None, [])   # streamed: no zip file
    resp = client.get(published.url.removeprefix("http://localhost:9001"))
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(resp.data)).namelist())
    assert {"draft_meta_info.json", "draft_info.json", "assets/image/a.png"} <= names


def test_local_reports_the_zip_size_when_one_was_written_and_when_cleanup_removes_it(settings, tmp_path):
    write_draft(settings, "dfd_local_2")
    target = delivery.zip_path(settings, "dfd_local_2")
    size = delivery.make_zip(delivery.folder_path(settings, "dfd_local_2"), target)
    calls = []
    published = open_publisher(settings, base_url="https://api.example.com/").publish(
        target, "dfd_local_2.zip", on_progress=lambda d, t: calls.append((d, t)))
    assert published == Published("https://api.example.com/drafts/dfd_local_2.zip", "dfd_local_2.zip", size,
                                   published.expires_at)
    assert calls == [(size, size)]
    hours = settings.output_retention_hours
    assert abs(published.expires_at - (time.time() + hours * 3600)) < 5
    assert target.exists()                           # the local backend never deletes anything


def test_base_url_falls_back_to_public_base_url_then_to_a_relative_path(tmp_path):
    settings = make_settings(tmp_path, store="memory", public_base_url="https://drafts.example.com")
    assert open_publisher(settings).publish(tmp_path / "x.zip", "x.zip").url == "https://drafts.example.com/drafts/x.zip"
    assert LocalPublisher().publish(tmp_path / "x.zip", "x.zip").url == "/drafts/x.zip"


@pytest.mark.parametrize("values, expected", [
    (dict(), "local"),
    (dict(storage="oss", oss_config={"bucket_name": "b"}), "local"),     # is_upload_draft off: local
    (dict(storage="s3", s3_config={"bucket": "b"}), "local"),
    (dict(is_upload_draft=True), "local"),                               # nothing configured
    (dict(is_upload_draft=True, oss_config={"bucket_name": "b"}), "oss"),  # upstream config.json
    (dict(is_upload_draft=True, storage="oss"), "oss"),
    (dict(is_upload_draft=True, storage="s3"), "s3"),
])
def test_backend_choice_follows_upstream_semantics(tmp_path, values, expected):
    assert backend_name(make_settings(tmp_path, **values)) == expected


def test_settings_objects_without_the_new_fields_still_work():
    """open_publisher reads every setting with a default (the lead adds the fields later)."""
    bare = SimpleNamespace()
    assert backend_name(bare) == "local"
    assert open_publisher(bare, base_url="http://h").publish("/nonexistent.zip", "a.zip").url == "http://h/drafts/a.zip"


def test_a_chosen_cloud_backend_with_no_config_is_a_config_error(tmp_path):
    with pytest.raises(PublishError) as caught:
        open_publisher(make_settings(tmp_path, is_upload_draft=True, storage="oss"))
    assert caught.value.code == "ConfigError" and "bucket_name" in str(caught.value)
    with pytest.raises(PublishError) as caught:
        open_publisher(make_settings(tmp_path, is_upload_draft=True, storage="s3"))
    assert caught.value.code == "ConfigError" and "bucket" in str(caught.value)


@pytest.mark.parametrize("name, value", [("upload_retries", -1), ("upload_part_size_mb", "big"),
                                         ("upload_concurrency", 0), ("upload_url_expiry_seconds", True)])
def test_bad_upload_settings_are_config_errors(name, value):
    settings = SimpleNamespace(is_upload_draft=True, storage="oss", **{name: value},
                               oss_config={"bucket_name": "b", "access_key_id": "i", "access_key_secret": "s",
                                           "endpoint": "oss-cn-hangzhou.aliyuncs.com"})
    with pytest.raises(PublishError) as caught:
        open_publisher(settings)
    assert caught.value.code == "ConfigError" and name in caught.value.message


# -- signed download links (made by the publisher, checked by capcut_drafts/web/guards.py) --------------------

def signed_parts(keys: list[str], path: str, expires: int) -> tuple[str, str]:
    query = dict(pair.split("=", 1) for pair in sign_link(keys, path, expires).lstrip("?").split("&"))
    return query["expires"], query["sig"]


def test_a_signed_link_opens_the_zip_and_its_page_until_it_expires():
    later = int(time.time()) + 60
    expires, sig = signed_parts(["k-1", "k-2"], "/drafts/d1.zip", later)
    assert expires == str(later)
    assert link_ok(["k-2", "k-1"], "/drafts/d1.zip", expires, sig)             # key order does not matter
    assert link_ok(["k-1", "k-2"], "/drafts/d1", expires, sig)                 # the download page
    assert not link_ok(["k-1"], "/drafts/d1.zip", expires, sig)                # other keys
    assert not link_ok(["k-1", "k-2"], "/drafts/d2.zip", expires, sig)         # another draft
    assert not link_ok(["k-1", "k-2"], "/drafts/d1.zip", str(later + 1), sig)  # another expiry
    past = int(time.time()) - 1
    assert not link_ok(["k-1"], "/drafts/d1.zip", *signed_parts(["k-1"], "/drafts/d1.zip", past))


@pytest.mark.parametrize("path, expires, sig", [
    ("/other/d1.zip", None, None),                   # only /drafts/ links are signed
    ("/drafts/d1.zip", "²", None),                   # a digit to str.isdigit, not to int()
    ("/drafts/d1.zip", "9" * 5000, None),            # past int()'s digit limit
    ("/drafts/d1.zip", None, "é" * 32),              # text compare_digest refuses
    ("/drafts/d1.zip", "", ""),
])
def test_malformed_link_queries_are_refused_not_raised(path, expires, sig):
    good_expires, good_sig = signed_parts(["k"], path, int(time.time()) + 60)
    assert not link_ok(["k"], path, good_expires if expires is None else expires, good_sig if sig is None else sig)
