"""The OSS publisher over real HTTP against tests/helpers/oss_server.py, which verifies V4 and V1
signatures with its own key table: uploads (single PUT and multipart), signed-URL downloads,
provider errors, network failures, retries, progress, key prefix, URL lifetime, clean-up."""
from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import oss2
import pytest
import requests
from helpers import make_settings
from helpers.oss_server import TEST_KEY_ID, TEST_REGION, TEST_SECRET, HungServer, OssTestServer, closed_port
from helpers.storage import draft_zip, fetch, publish

from capcut_drafts.storage import MAX_URL_LIFETIME, PublishError, open_publisher
from capcut_drafts.storage.local import LocalPublisher
from capcut_drafts.storage.oss import OssPublisher

KiB = 1024
SMALL_MB = 256 * KiB / (1024 * 1024)        # multipart threshold used by these tests
PART_MB = 128 * KiB / (1024 * 1024)


@pytest.fixture(scope="module")
def oss():
    with OssTestServer() as server:
        yield server


@pytest.fixture(autouse=True)
def clean_server(oss):
    oss.reset()


def settings_for(server: OssTestServer, **overrides):
    """Service settings for the test server; upload_* values small so tests stay quick."""
    config = {"bucket_name": "drafts", "access_key_id": TEST_KEY_ID, "access_key_secret": TEST_SECRET,
              "endpoint": server.endpoint, "region": TEST_REGION}
    config.update(overrides.pop("oss", {}))
    values = dict(is_upload_draft=True, storage="oss", oss_config=config,
                  upload_multipart_threshold_mb=SMALL_MB, upload_part_size_mb=PART_MB,
                  upload_retries=2, upload_retry_backoff_ms=20, upload_timeout_seconds=5)
    values.update(overrides)
    return SimpleNamespace(**values)


# -- uploads and downloads -----------------------------------------------------------------

@pytest.mark.parametrize("version", ["v4", "v1"])
def test_small_zip_is_one_signed_put_and_downloads_through_the_signed_url(oss, tmp_path, version):
    zip_path = draft_zip(tmp_path, 40 * KiB)
    settings = settings_for(oss, oss={"signature_version": version})
    before = time.time()
    published, calls = publish(settings, zip_path)

    assert published.key == "dfd_test_1.zip" and published.size == zip_path.stat().st_size
    assert before + 86400 - 5 <= published.expires_at <= time.time() + 86400
    assert fetch(published.url) == zip_path.read_bytes()
    puts = [r for r in oss.requests if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].content_md5 and puts[0].status == 200
    assert oss.object("drafts", "dfd_test_1.zip").content_type == "application/zip"
    query = parse_qs(urlparse(published.url).query)
    if version == "v4":
        assert query["x-oss-signature-version"] == ["OSS4-HMAC-SHA256"] and query["x-oss-expires"] == ["86400"]
    else:
        assert set(query) == {"OSSAccessKeyId", "Expires", "Signature"}
    assert calls[-1] == (published.size, published.size)
    assert zip_path.exists()                          # kept unless upload_delete_local


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_large_zip_goes_multipart_with_checksummed_parts(oss, tmp_path, version):
    zip_path = draft_zip(tmp_path, 700 * KiB)
    size = zip_path.stat().st_size
    published, calls = publish(settings_for(oss, oss={"signature_version": version}), zip_path)

    assert fetch(published.url) == zip_path.read_bytes()
    parts = [r for r in oss.requests if r.method == "PUT"]
    expected_parts = -(-size // (128 * KiB))
    assert len(parts) == expected_parts and all(r.content_md5 for r in parts)
    assert sorted(int(r.query["partNumber"]) for r in parts) == list(range(1, expected_parts + 1))
    assert [r.method for r in oss.requests if r.method == "POST"] == ["POST", "POST"]   # initiate, complete
    assert oss.object("drafts", "dfd_test_1.zip").etag.endswith(f'-{expected_parts}"')
    assert not oss.uploads
    # progress: monotonic, several steps, ends at the total
    assert calls[-1] == (size, size) and len(calls) > 2
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False)) and all(t == size for _, t in calls)


def test_head_and_get_of_the_published_object_through_oss2(oss, tmp_path):
    zip_path = draft_zip(tmp_path, 300 * KiB)
    published, _ = publish(settings_for(oss), zip_path)
    bucket = oss2.Bucket(oss2.make_auth(TEST_KEY_ID, TEST_SECRET, "v4"), oss.endpoint, "drafts", region=TEST_REGION)
    head = bucket.head_object(published.key)
    assert head.content_length == zip_path.stat().st_size
    assert bucket.get_object(published.key).read() == zip_path.read_bytes()   # oss2 checks the CRC-64 too


def test_signed_url_is_really_verified(oss, tmp_path):
    published, _ = publish(settings_for(oss), draft_zip(tmp_path, 10 * KiB))
    tampered = published.url.replace("dfd_test_1.zip", "dfd_test_2.zip")
    assert requests.get(tampered, timeout=10).status_code == 403
    unsigned = published.url.split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403


# -- provider errors -----------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v4", "v1"])
def test_wrong_secret_fails_with_the_provider_code_and_keeps_the_zip(oss, tmp_path, version):
    zip_path = draft_zip(tmp_path, 10 * KiB)
    settings = settings_for(oss, upload_delete_local=True,
                            oss={"access_key_secret": "not-the-secret", "signature_version": version})
    with pytest.raises(PublishError) as caught:
        publish(settings, zip_path)
    err = caught.value
    assert (err.code, err.status, err.attempts) == ("SignatureDoesNotMatch", 403, 1)   # not retried
    assert "access_key_secret" in str(err) and str(err).startswith("SignatureDoesNotMatch: ")
    assert err.request_id
    assert zip_path.exists()


def test_wrong_secret_fails_for_multipart_too_and_leaves_no_upload(oss, tmp_path):
    settings = settings_for(oss, oss={"access_key_secret": "not-the-secret"})
    with pytest.raises(PublishError) as caught:
        publish(settings, draft_zip(tmp_path, 700 * KiB))
    assert caught.value.code == "SignatureDoesNotMatch"
    assert not oss.uploads and oss.object("drafts", "dfd_test_1.zip") is None


def test_unknown_access_key_id(oss, tmp_path):
    with pytest.raises(PublishError) as caught:
        publish(settings_for(oss, oss={"access_key_id": "LTAI5tNobody"}), draft_zip(tmp_path, 10 * KiB))
    assert caught.value.code == "InvalidAccessKeyId" and caught.value.status == 403


def test_missing_bucket(oss, tmp_path):
    with pytest.raises(PublishError) as caught:
        publish(settings_for(oss, oss={"bucket_name": "no-such-bucket"}), draft_zip(tmp_path, 10 * KiB))
    err = caught.value
    assert (err.code, err.status) == ("NoSuchBucket", 404)
    assert "no-such-bucket" in str(err)


def test_a_part_that_keeps_failing_aborts_the_multipart_upload(oss, tmp_path):
    oss.fail_next(1, 403, "AccessDenied", match=lambda method, q: q.get("partNumber") == "3")
    zip_path = draft_zip(tmp_path, 700 * KiB)
    with pytest.raises(PublishError) as caught:
        publish(settings_for(oss, upload_delete_local=True), zip_path)
    assert caught.value.code == "AccessDenied" and "part 3" in str(caught.value)
    assert not oss.uploads                                       # aborted
    assert any(r.method == "DELETE" and "uploadId" in r.query for r in oss.requests)
    assert oss.object("drafts", "dfd_test_1.zip") is None and zip_path.exists()


# -- network failures and retries ----------------------------------------------------------

def test_network_down_fails_quickly_with_a_readable_reason(tmp_path):
    settings = SimpleNamespace(is_upload_draft=True, storage="oss", upload_retries=2, upload_retry_backoff_ms=20,
                               oss_config={"bucket_name": "drafts", "access_key_id": TEST_KEY_ID,
                                           "access_key_secret": TEST_SECRET, "endpoint": closed_port(),
                                           "region": TEST_REGION})
    started = time.monotonic()
    with pytest.raises(PublishError) as caught:
        publish(settings, draft_zip(tmp_path, 10 * KiB))
    err = caught.value
    assert time.monotonic() - started < 5
    assert (err.code, err.attempts) == ("NetworkError", 3)
    assert "Connection refused" in err.message and "cannot reach http://127.0.0.1:" in err.message


def test_a_server_that_never_answers_times_out(tmp_path):
    with HungServer() as hung:
        settings = SimpleNamespace(is_upload_draft=True, storage="oss", upload_retries=1, upload_retry_backoff_ms=20,
                                   upload_timeout_seconds=0.5,
                                   oss_config={"bucket_name": "drafts", "access_key_id": TEST_KEY_ID,
                                               "access_key_secret": TEST_SECRET, "endpoint": hung.endpoint,
                                               "region": TEST_REGION})
        started = time.monotonic()
        with pytest.raises(PublishError) as caught:
            publish(settings, draft_zip(tmp_path, 10 * KiB))
        elapsed = time.monotonic() - started
    assert (caught.value.code, caught.value.attempts) == ("Timeout", 2)
    assert 0.9 <= elapsed < 5
    assert "no answer from http://127.0.0.1:" in str(caught.value) and "0.5 s" in str(caught.value)


def test_transient_errors_are_retried_with_growing_backoff(oss, tmp_path):
    oss.fail_next(2)                                  # 503 ServiceUnavailable twice
    zip_path = draft_zip(tmp_path, 10 * KiB)
    published, _ = publish(settings_for(oss, upload_retries=3, upload_retry_backoff_ms=200), zip_path)
    assert fetch(published.url) == zip_path.read_bytes()
    statuses = [r.status for r in oss.requests if r.method == "PUT"]
    assert statuses == [503, 503, 200]
    first, second, third = oss.request_times[:3]
    assert second - first >= 0.1                      # 200 ms × [0.5, 1)
    assert third - second >= 0.2                      # 400 ms × [0.5, 1)


def test_a_flaky_part_is_retried_alone(oss, tmp_path):
    oss.fail_next(2, 500, "InternalError", match=lambda method, q: q.get("partNumber") == "2")
    zip_path = draft_zip(tmp_path, 700 * KiB)
    published, calls = publish(settings_for(oss), zip_path)
    assert fetch(published.url) == zip_path.read_bytes()
    part2 = [r.status for r in oss.requests if r.query.get("partNumber") == "2"]
    assert part2 == [500, 500, 200]
    assert sum(1 for r in oss.requests if r.query.get("partNumber") == "1") == 1
    assert calls[-1][0] == zip_path.stat().st_size


def test_retries_run_out(oss, tmp_path):
    oss.fail_next(5)
    with pytest.raises(PublishError) as caught:
        publish(settings_for(oss, upload_retries=2), draft_zip(tmp_path, 10 * KiB))
    err = caught.value
    assert (err.code, err.status, err.attempts) == ("ServiceUnavailable", 503, 3)
    assert "after 3 attempts" in str(err)


# -- key prefix, lifetime, local copy ------------------------------------------------------

def test_key_prefix_from_oss_config_or_global_setting(oss, tmp_path):
    zip_path = draft_zip(tmp_path, 10 * KiB)
    published, _ = publish(settings_for(oss, oss={"key_prefix": "team-a/drafts/"}), zip_path)
    assert published.key == "team-a/drafts/dfd_test_1.zip"
    assert oss.object("drafts", "team-a/drafts/dfd_test_1.zip") is not None
    assert urlparse(published.url).path == "/drafts/team-a/drafts/dfd_test_1.zip"
    assert fetch(published.url) == zip_path.read_bytes()

    published, _ = publish(settings_for(oss, upload_key_prefix="/global/"), zip_path)
    assert published.key == "global/dfd_test_1.zip" and fetch(published.url) == zip_path.read_bytes()


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_url_lifetime_is_capped_at_seven_days(oss, tmp_path, version):
    settings = settings_for(oss, upload_url_expiry_seconds=30 * 86400, oss={"signature_version": version})
    published, _ = publish(settings, draft_zip(tmp_path, 10 * KiB))
    query = parse_qs(urlparse(published.url).query)
    if version == "v4":
        assert query["x-oss-expires"] == [str(MAX_URL_LIFETIME)]
    else:
        assert abs(int(query["Expires"][0]) - (time.time() + MAX_URL_LIFETIME)) < 5
    assert abs(published.expires_at - (time.time() + MAX_URL_LIFETIME)) < 5
    assert fetch(published.url)


def test_the_configured_lifetime_reaches_the_url(oss, tmp_path):
    settings = settings_for(oss, oss={"expires": 1})
    published, _ = publish(settings, draft_zip(tmp_path, 10 * KiB))
    assert fetch(published.url)
    time.sleep(2.1)
    resp = requests.get(published.url, timeout=10)
    assert resp.status_code == 403 and b"expired" in resp.content


def test_local_zip_is_deleted_only_when_asked(oss, tmp_path):
    kept = draft_zip(tmp_path / "a", 10 * KiB)
    publish(settings_for(oss), kept)
    assert kept.exists()
    dropped = draft_zip(tmp_path / "b", 10 * KiB)
    published, _ = publish(settings_for(oss, upload_delete_local=True), dropped)
    assert not dropped.exists() and published.size > 0


def test_a_missing_zip_is_a_local_error(oss, tmp_path):
    with pytest.raises(PublishError) as caught:
        publish(settings_for(oss), tmp_path / "nope.zip")
    assert caught.value.code == "LocalFileError" and not oss.requests


def test_url_endpoint_is_used_for_the_download_link(oss, tmp_path):
    public = oss.endpoint.replace("127.0.0.1", "localhost")
    zip_path = draft_zip(tmp_path, 10 * KiB)
    published, _ = publish(settings_for(oss, oss={"url_endpoint": public}), zip_path)
    assert published.url.startswith(public + "/drafts/")
    assert fetch(published.url) == zip_path.read_bytes()


# -- configuration -------------------------------------------------------------------------

def test_upstream_oss_config_with_the_real_settings_class(oss, tmp_path):
    """An upstream config.json: is_upload_draft + oss_config, no `storage`: publishes to OSS
    with the default upload options (settings fields the lead has not added yet)."""
    config = {"bucket_name": "drafts", "access_key_id": TEST_KEY_ID, "access_key_secret": TEST_SECRET,
              "endpoint": oss.endpoint, "region": TEST_REGION}
    settings = make_settings(tmp_path / "data", is_upload_draft=True, oss_config=config)
    publisher = open_publisher(settings)
    assert isinstance(publisher, OssPublisher) and publisher.uploads
    zip_path = draft_zip(tmp_path, 10 * KiB)
    published = publisher.publish(zip_path, "dfd_test_1.zip")
    assert fetch(published.url) == zip_path.read_bytes()
    assert isinstance(open_publisher(make_settings(tmp_path / "data", is_upload_draft=False, storage="oss",
                                                   oss_config=config)), LocalPublisher)


def test_region_is_read_from_an_aliyun_endpoint_and_bucket_domains_are_accepted():
    base = {"bucket_name": "my-drafts", "access_key_id": "id", "access_key_secret": "secret"}
    settings = SimpleNamespace(is_upload_draft=True, storage="oss",
                               oss_config={**base, "endpoint": "my-drafts.oss-cn-hangzhou-internal.aliyuncs.com"})
    publisher = open_publisher(settings)
    assert publisher.region == "cn-hangzhou" and publisher.signature_version == "v4"
    assert publisher.endpoint == "https://oss-cn-hangzhou-internal.aliyuncs.com"
    settings.oss_config = {**base, "endpoint": "https://oss-ap-southeast-1.aliyuncs.com", "region": "oss-eu-west-1"}
    assert open_publisher(settings).region == "eu-west-1"


@pytest.mark.parametrize("config, words", [
    ({"bucket_name": "drafts", "endpoint": "https://oss-cn-hangzhou.aliyuncs.com"},
     "access_key_id, access_key_secret"),
    ({"bucket_name": "drafts", "access_key_id": "i", "access_key_secret": "s", "endpoint": "https://files.example.com"},
     "region"),
    ({"bucket_name": "drafts", "access_key_id": "i", "access_key_secret": "s",
      "endpoint": "oss-cn-hangzhou.aliyuncs.com", "signature_version": "v2"}, "signature_version"),
])
def test_incomplete_config_is_refused_before_anything_is_sent(config, words):
    with pytest.raises(PublishError) as caught:
        open_publisher(SimpleNamespace(is_upload_draft=True, storage="oss", oss_config=config))
    assert caught.value.code == "ConfigError" and words in caught.value.message


def test_v1_needs_no_region(oss, tmp_path):
    settings = settings_for(oss, oss={"region": None, "signature_version": "v1"})
    zip_path = draft_zip(tmp_path, 10 * KiB)
    published, _ = publish(settings, zip_path)
    assert fetch(published.url) == zip_path.read_bytes()


def test_custom_domain_endpoint_signs_urls_on_that_domain():
    """is_cname: the domain is bound to the bucket, so the URL has no bucket in host or path
    (signing happens locally; nothing is sent)."""
    settings = SimpleNamespace(is_upload_draft=True, storage="oss", upload_key_prefix="d/", oss_config={
        "bucket_name": "my-drafts", "access_key_id": "id", "access_key_secret": "secret",
        "endpoint": "https://my-drafts.files.example.com", "is_cname": True, "region": "cn-hangzhou"})
    publisher = open_publisher(settings)
    assert publisher.endpoint == "https://my-drafts.files.example.com"
    url = urlparse(publisher._sign_get(publisher.object_key("dfd_1.zip"), 3600))
    assert (url.scheme, url.netloc, url.path) == ("https", "my-drafts.files.example.com", "/d/dfd_1.zip")
    assert "cn-hangzhou" in parse_qs(url.query)["x-oss-credential"][0]
