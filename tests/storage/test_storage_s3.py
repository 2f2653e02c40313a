"""The S3 publisher over real HTTP against moto's server mode (`python -m moto.server`, a
separate process on 127.0.0.1).

Two moto processes: `open_s3` without authentication, where objects are published and then
downloaded through their presigned URLs (moto in this mode does not check signatures), and
`auth_s3` with IAM authentication switched on after setup, where moto verifies each request's
SigV4 signature against an IAM user's key, so a wrong secret or an unknown key really fails
(moto cannot serve presigned GETs in that mode, so there the object is read back with the key).
A small proxy in front of moto answers 503 SlowDown to the first requests for the retry tests.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests
from botocore.config import Config
from helpers import free_port, make_settings, stop_process
from helpers.oss_server import HungServer, closed_port
from helpers.storage import draft_zip, fetch, publish

from capcut_drafts.storage import MAX_URL_LIFETIME, PublishError, open_publisher
from capcut_drafts.storage.local import LocalPublisher
from capcut_drafts.storage.s3 import S3Publisher

KiB, MiB = 1024, 1024 * 1024
BUCKET = "drafts"
ANY_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


pytestmark = pytest.mark.usefixtures("no_instance_metadata")      # tests/storage/conftest.py


def _start_moto(tmp_path_factory) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"moto.server exited with {proc.returncode}: {log_path.read_text(errors='replace')}")
        try:
            if requests.get(url + "/moto-api/data.json", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"moto.server did not answer within 60 s: {log_path.read_text(errors='replace')}")
        time.sleep(0.1)


def _client(url: str, **keys):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}), **(keys or ANY_KEYS))


@pytest.fixture(scope="module")
def open_s3(tmp_path_factory):
    proc, url = _start_moto(tmp_path_factory)
    try:
        _client(url).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def auth_s3(tmp_path_factory):
    """moto with IAM authentication: an IAM user allowed s3:*, then every request is checked."""
    proc, url = _start_moto(tmp_path_factory)
    try:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", **ANY_KEYS)
        iam.create_user(UserName="publisher")
        key = iam.create_access_key(UserName="publisher")["AccessKey"]
        iam.put_user_policy(UserName="publisher", PolicyName="s3", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        _client(url).create_bucket(Bucket=BUCKET)
        requests.post(url + "/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()
        yield SimpleNamespace(url=url, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    finally:
        stop_process(proc)


class FlakyProxy:
    """Forwards HTTP requests to moto, but answers 503 SlowDown to the first `fail` of them;
    `rewrite(method, path, body) -> body` may alter moto's answers."""

    def __init__(self, target: str, fail: int = 0, rewrite=None):
        self.target, self.fail, self.seen, self.rewrite = target, fail, [], rewrite
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append((time.monotonic(), self.command, self.path))
                if len(proxy.seen) <= proxy.fail:
                    payload = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                               b"<Message>Please reduce your request rate.</Message>"
                               b"<RequestId>FLAKY</RequestId></Error>")
                    status, headers = 503, {"Content-Type": "application/xml"}
                else:
                    answer = requests.request(self.command, proxy.target + self.path, data=body, timeout=10,
                                              headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                    status, payload = answer.status_code, answer.content
                    if proxy.rewrite:
                        payload = proxy.rewrite(self.command, self.path, payload)
                    headers = {k: v for k, v in answer.headers.items()
                               if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                                    "content-encoding")}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def settings_for(endpoint: str, **overrides):
    config = {"bucket": BUCKET, "region": "us-east-1", "endpoint_url": endpoint, "path_style": True,
              "access_key_id": "testing", "secret_access_key": "testing"}
    config.update(overrides.pop("s3", {}))
    values = dict(is_upload_draft=True, storage="s3", s3_config=config, upload_multipart_threshold_mb=1,
                  upload_part_size_mb=5, upload_retries=2, upload_retry_backoff_ms=20, upload_timeout_seconds=5)
    values.update(overrides)
    return SimpleNamespace(**values)


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# -- uploads and downloads -----------------------------------------------------------------

def test_small_zip_single_put_with_sha256_checksum(open_s3, tmp_path):
    zip_path = draft_zip(tmp_path, 40 * KiB)
    data = zip_path.read_bytes()
    before = time.time()
    published, calls = publish(settings_for(open_s3), zip_path)

    assert published.key == "dfd_test_1.zip" and published.size == len(data)
    assert before + 86400 - 5 <= published.expires_at <= time.time() + 86400
    assert fetch(published.url) == data
    query = parse_qs(urlparse(published.url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["86400"]
    assert urlparse(published.url).path == f"/{BUCKET}/dfd_test_1.zip"         # path style
    head = _client(open_s3).head_object(Bucket=BUCKET, Key="dfd_test_1.zip", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == b64sha256(data) and head["ContentType"] == "application/zip"
    assert calls[-1] == (len(data), len(data))
    assert zip_path.exists()


def test_large_zip_goes_multipart_with_a_verified_composite_checksum(open_s3, tmp_path):
    zip_path = draft_zip(tmp_path, 11 * MiB)              # 5 MiB parts: 3 parts
    data = zip_path.read_bytes()
    published, calls = publish(settings_for(open_s3), zip_path)

    assert fetch(published.url) == data
    stored = _client(open_s3).get_object(Bucket=BUCKET, Key=published.key, ChecksumMode="ENABLED")
    assert stored["ETag"].endswith('-3"')
    # S3's composite checksum: SHA-256 over the parts' SHA-256 digests, so each part carried one
    digests = b"".join(hashlib.sha256(data[i:i + 5 * MiB]).digest() for i in range(0, len(data), 5 * MiB))
    assert stored["ChecksumSHA256"] == f"{b64sha256(digests)}-3"
    assert calls[-1] == (len(data), len(data)) and len(calls) >= 3
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))


def _report_composite(value):
    """moto does not return the composite checksum from CompleteMultipartUpload; S3 does.
    Add one (`value(data)` -> str) so the publisher's comparison runs."""
    def rewrite(method, path, payload):
        if method == "POST" and "uploadId=" in path:
            return payload.replace(b"</CompleteMultipartUploadResult>",
                                   f"<ChecksumSHA256>{value}</ChecksumSHA256></CompleteMultipartUploadResult>".encode())
        return payload
    return rewrite


def test_composite_checksum_reported_by_s3_is_compared_with_the_local_file(open_s3, tmp_path):
    zip_path = draft_zip(tmp_path, 6 * MiB)
    data = zip_path.read_bytes()
    digests = hashlib.sha256(data[:5 * MiB]).digest() + hashlib.sha256(data[5 * MiB:]).digest()
    good = FlakyProxy(open_s3, rewrite=_report_composite(f"{b64sha256(digests)}-2"))
    bad = FlakyProxy(open_s3, rewrite=_report_composite(f"{b64sha256(b'other')}-2"))
    try:
        published, _ = publish(settings_for(good.endpoint), zip_path)
        assert fetch(published.url.replace(good.endpoint, open_s3)) == data
        with pytest.raises(PublishError) as caught:
            publish(settings_for(bad.endpoint, upload_delete_local=True), zip_path)
        assert caught.value.code == "ChecksumMismatch" and zip_path.exists()
    finally:
        good.close()
        bad.close()


@pytest.mark.parametrize("checksum", ["md5", "none"])
def test_other_checksum_modes_for_servers_without_flexible_checksums(open_s3, tmp_path, checksum):
    zip_path = draft_zip(tmp_path, 6 * MiB)               # multipart: 5 MiB + the rest
    published, _ = publish(settings_for(open_s3, s3={"checksum": checksum}), zip_path)
    assert fetch(published.url) == zip_path.read_bytes()
    small = draft_zip(tmp_path / "small", 10 * KiB)
    published, _ = publish(settings_for(open_s3, s3={"checksum": checksum}), small, "small.zip")
    assert fetch(published.url) == small.read_bytes()


def test_signatures_are_verified_by_moto_with_the_right_key(auth_s3, tmp_path):
    zip_path = draft_zip(tmp_path, 6 * MiB)
    settings = settings_for(auth_s3.url, s3={"access_key_id": auth_s3.key_id, "secret_access_key": auth_s3.secret})
    published, _ = publish(settings, zip_path)
    body = _client(auth_s3.url, aws_access_key_id=auth_s3.key_id, aws_secret_access_key=auth_s3.secret) \
        .get_object(Bucket=BUCKET, Key=published.key)["Body"].read()
    assert body == zip_path.read_bytes()


# -- provider errors -----------------------------------------------------------------------

@pytest.mark.parametrize("size", [10 * KiB, 6 * MiB])
def test_wrong_secret_is_signature_does_not_match(auth_s3, tmp_path, size):
    zip_path = draft_zip(tmp_path, size)
    settings = settings_for(auth_s3.url, upload_delete_local=True,
                            s3={"access_key_id": auth_s3.key_id, "secret_access_key": "not-the-secret"})
    with pytest.raises(PublishError) as caught:
        publish(settings, zip_path)
    err = caught.value
    assert (err.code, err.status, err.attempts) == ("SignatureDoesNotMatch", 403, 1)
    assert str(err).startswith("SignatureDoesNotMatch: ") and "secret_access_key" in str(err)
    assert zip_path.exists()


def test_unknown_key_is_invalid_access_key_id(auth_s3, tmp_path):
    settings = settings_for(auth_s3.url, s3={"access_key_id": "AKIANOBODY0000000000", "secret_access_key": "x"})
    with pytest.raises(PublishError) as caught:
        publish(settings, draft_zip(tmp_path, 10 * KiB))
    assert (caught.value.code, caught.value.status) == ("InvalidAccessKeyId", 403)


@pytest.mark.parametrize("size", [10 * KiB, 6 * MiB])
def test_missing_bucket(open_s3, tmp_path, size):
    with pytest.raises(PublishError) as caught:
        publish(settings_for(open_s3, s3={"bucket": "no-such-bucket"}), draft_zip(tmp_path, size))
    err = caught.value
    assert (err.code, err.status) == ("NoSuchBucket", 404) and "no-such-bucket" in str(err)


# -- network failures and retries ----------------------------------------------------------

def test_network_down_fails_quickly_with_a_readable_reason(tmp_path):
    started = time.monotonic()
    with pytest.raises(PublishError) as caught:
        publish(settings_for(closed_port()), draft_zip(tmp_path, 10 * KiB))
    err = caught.value
    assert time.monotonic() - started < 5
    assert (err.code, err.attempts) == ("NetworkError", 3)
    assert "cannot reach http://127.0.0.1:" in err.message


def test_a_server_that_never_answers_times_out(tmp_path):
    with HungServer() as hung:
        started = time.monotonic()
        with pytest.raises(PublishError) as caught:
            publish(settings_for(hung.endpoint, upload_timeout_seconds=0.5, upload_retries=1),
                    draft_zip(tmp_path, 10 * KiB))
        elapsed = time.monotonic() - started
    assert (caught.value.code, caught.value.attempts) == ("Timeout", 2)
    assert 0.9 <= elapsed < 5 and "no answer from" in str(caught.value)


def test_slow_down_is_retried_with_backoff_and_botocore_does_not_retry_on_its_own(open_s3, tmp_path):
    proxy = FlakyProxy(open_s3, fail=2)
    try:
        zip_path = draft_zip(tmp_path, 10 * KiB)
        published, _ = publish(settings_for(proxy.endpoint, upload_retries=3, upload_retry_backoff_ms=200), zip_path)
        assert len(proxy.seen) == 3                      # 503, 503, 200: our retries only
        (t1, *_), (t2, *_), (t3, *_) = proxy.seen
        assert t2 - t1 >= 0.1 and t3 - t2 >= 0.2
        assert fetch(published.url.replace(proxy.endpoint, open_s3)) == zip_path.read_bytes()
    finally:
        proxy.close()


def test_slow_down_until_retries_run_out(open_s3, tmp_path):
    proxy = FlakyProxy(open_s3, fail=10)
    try:
        with pytest.raises(PublishError) as caught:
            publish(settings_for(proxy.endpoint, upload_retries=2), draft_zip(tmp_path, 10 * KiB))
        assert (caught.value.code, caught.value.status, caught.value.attempts) == ("SlowDown", 503, 3)
        assert len(proxy.seen) == 3
    finally:
        proxy.close()


# -- key prefix, lifetime, local copy, configuration ---------------------------------------

def test_key_prefix(open_s3, tmp_path):
    zip_path = draft_zip(tmp_path, 10 * KiB)
    published, _ = publish(settings_for(open_s3, s3={"key_prefix": "capcut/drafts/"}), zip_path)
    assert published.key == "capcut/drafts/dfd_test_1.zip"
    assert urlparse(published.url).path == f"/{BUCKET}/capcut/drafts/dfd_test_1.zip"
    assert fetch(published.url) == zip_path.read_bytes()
    published, _ = publish(settings_for(open_s3, upload_key_prefix="global-"), zip_path)
    assert published.key == "global-dfd_test_1.zip" and fetch(published.url) == zip_path.read_bytes()


def test_url_lifetime_is_capped_at_seven_days(open_s3, tmp_path):
    published, _ = publish(settings_for(open_s3, upload_url_expiry_seconds=90 * 86400), draft_zip(tmp_path, 10 * KiB))
    assert parse_qs(urlparse(published.url).query)["X-Amz-Expires"] == [str(MAX_URL_LIFETIME)]
    assert abs(published.expires_at - (time.time() + MAX_URL_LIFETIME)) < 5
    published, _ = publish(settings_for(open_s3, s3={"expires": 600}), draft_zip(tmp_path / "b", 10 * KiB))
    assert parse_qs(urlparse(published.url).query)["X-Amz-Expires"] == ["600"]


def test_local_zip_is_deleted_only_when_asked(open_s3, tmp_path):
    kept = draft_zip(tmp_path / "a", 10 * KiB)
    publish(settings_for(open_s3), kept)
    assert kept.exists()
    dropped = draft_zip(tmp_path / "b", 6 * MiB)
    published, _ = publish(settings_for(open_s3, upload_delete_local=True), dropped)
    assert not dropped.exists() and published.size > 6 * MiB


def test_public_endpoint_url_is_used_for_the_download_link(open_s3, tmp_path):
    public = open_s3.replace("127.0.0.1", "localhost")
    zip_path = draft_zip(tmp_path, 10 * KiB)
    published, _ = publish(settings_for(open_s3, s3={"public_endpoint_url": public}), zip_path)
    assert published.url.startswith(public + f"/{BUCKET}/")
    assert fetch(published.url) == zip_path.read_bytes()


def test_real_settings_class_selects_s3_only_when_uploading(open_s3, tmp_path):
    config = {"bucket": BUCKET, "endpoint_url": open_s3, "path_style": True,
              "access_key_id": "testing", "secret_access_key": "testing"}
    publisher = open_publisher(make_settings(tmp_path / "data", is_upload_draft=True, storage="s3", s3_config=config))
    assert isinstance(publisher, S3Publisher) and publisher.uploads
    zip_path = draft_zip(tmp_path, 10 * KiB)
    assert fetch(publisher.publish(zip_path, "x.zip").url) == zip_path.read_bytes()
    assert isinstance(open_publisher(make_settings(tmp_path / "data", is_upload_draft=False, storage="s3",
                                                   s3_config=config)), LocalPublisher)


@pytest.mark.parametrize("config, words", [
    ({"region": "us-east-1"}, "bucket"),
    ({"bucket": BUCKET}, "credentials"),
    ({"bucket": BUCKET, "checksum": "crc7"}, "checksum"),
])
def test_incomplete_config_is_refused(config, words, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(PublishError) as caught:
        open_publisher(SimpleNamespace(is_upload_draft=True, storage="s3", s3_config=config))
    assert caught.value.code == "ConfigError" and words in caught.value.message


def test_parts_stay_within_the_provider_limits():
    publisher = open_publisher(settings_for("http://127.0.0.1:9", upload_part_size_mb=1))
    assert {length for _, length in publisher.plan_parts(12 * MiB)[:-1]} == {5 * MiB}    # S3 minimum
    plan = publisher.plan_parts(100_000 * MiB)
    assert len(plan) <= 10_000 and sum(length for _, length in plan) == 100_000 * MiB
