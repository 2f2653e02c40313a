"""Alibaba Cloud OSS backend (oss2).

`oss_config` takes upstream's keys as they are — `bucket_name`, `access_key_id`,
`access_key_secret`, `endpoint` — plus optional ones:

* `region` (e.g. `cn-hangzhou`): needed for V4 signing; when absent it is read from an
  `oss-<region>[-internal].aliyuncs.com` endpoint.
* `signature_version`: `"v4"` (default) or `"v1"` (upstream's signing; only when configured).
* `key_prefix`, `expires`: per-backend overrides of `upload_key_prefix` and
  `upload_url_expiry_seconds`.
* `is_cname`: the endpoint is a custom domain bound to the bucket.
* `url_endpoint`: host the signed download URL points at, when uploads go through another one
  (e.g. upload over `oss-cn-hangzhou-internal.aliyuncs.com`, hand out the public endpoint);
  `url_is_cname` (default: `is_cname`) says whether that host is a custom domain.
* `security_token`: STS temporary credentials.

Every PUT carries `Content-MD5` (OSS answers `InvalidDigest` to a body that changed on the way)
and oss2 compares its CRC-64 of what it sent with the one OSS reports, per part and for the
assembled object. URL lifetime: V4 allows at most 7 days; V1 has no limit, but we cap it at
the same 7 days so a link's life does not depend on the signing version.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import oss2
import requests
from oss2 import exceptions as oss_errors

from capcut_drafts.storage.base import PublishError
from capcut_drafts.storage.multipart import FileSlice, ObjectStorePublisher, Piece, UploadOptions, network_reason

_REGION_HOST = re.compile(r"^(?:[a-z0-9-]+\.)?oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$")
_RETRY_CODES = {"RequestTimeout", "InvalidDigest", "ServiceUnavailable", "InternalError",
                "RequestTimeTooSkewed"}
_STATUS_CODES = {400: "BadRequest", 403: "AccessDenied", 404: "NotFound", 409: "Conflict",
                 429: "TooManyRequests", 500: "InternalError", 502: "BadGateway",
                 503: "ServiceUnavailable", 504: "GatewayTimeout"}
_HINTS = {
    "SignatureDoesNotMatch": "check oss_config.access_key_secret (and, for V4 signing, region)",
    "InvalidAccessKeyId": "check oss_config.access_key_id",
    "NoSuchBucket": "create the bucket or fix oss_config.bucket_name / endpoint",
    "AccessDenied": "the access key may not write to this bucket, or the bucket is in another region",
}


def _endpoint(value: str, bucket: str) -> str:
    """scheme://host[:port], https by default; a `<bucket>.` prefix on the host is dropped
    (people paste the bucket's own domain; pass bucket="" for a custom domain)."""
    value = value.strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlparse(value)
    host = parts.hostname or ""
    if bucket and host.startswith(bucket + ".") and host.count(".") > 2:
        host = host[len(bucket) + 1:]
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class OssPublisher(ObjectStorePublisher):
    name = "oss"
    min_part_size = 100 * 1024
    digest_algorithms = ("md5",)

    def __init__(self, config: Mapping[str, Any], options: UploadOptions):
        super().__init__(options)
        cfg = dict(config or {})
        self.bucket = str(cfg.get("bucket_name") or cfg.get("bucket") or "").strip()
        key_id = str(cfg.get("access_key_id") or "").strip()
        secret = str(cfg.get("access_key_secret") or "").strip()
        missing = [name for name, value in (("bucket_name", self.bucket), ("access_key_id", key_id),
                                            ("access_key_secret", secret),
                                            ("endpoint", cfg.get("endpoint"))) if not value]
        if missing:
            raise PublishError("ConfigError", f"oss_config is missing {', '.join(missing)}")
        is_cname = bool(cfg.get("is_cname", False))
        self.endpoint = _endpoint(str(cfg["endpoint"]), "" if is_cname else self.bucket)
        version = str(cfg.get("signature_version") or "v4").lower().lstrip("v")
        if version not in ("1", "4"):
            raise PublishError("ConfigError", "oss_config.signature_version must be \"v4\" or \"v1\", "
                               f"got {cfg.get('signature_version')!r}")
        self.signature_version = "v" + version
        region = str(cfg.get("region") or "").strip()
        if region.startswith("oss-"):
            region = region[4:]
        if not region:
            m = _REGION_HOST.match(urlparse(self.endpoint).hostname or "")
            region = m.group(1) if m else ""
        if self.signature_version == "v4" and not region:
            raise PublishError("ConfigError", "V4 signing needs oss_config.region (e.g. \"cn-hangzhou\"): "
                               f"it cannot be read from the endpoint {self.endpoint}; set it, or set "
                               "signature_version to \"v1\"")
        self.region = region or None
        token = cfg.get("security_token")
        if token:
            auth = oss2.StsAuth(key_id, secret, str(token), auth_version=self.signature_version)
        else:
            auth = oss2.make_auth(key_id, secret, self.signature_version)
        session = oss2.Session(pool_size=max(10, options.concurrency))
        common = dict(connect_timeout=options.timeout, region=self.region, enable_crc=True,
                      is_cname=is_cname, session=session)
        self.client = oss2.Bucket(auth, self.endpoint, self.bucket, **common)
        url_endpoint = cfg.get("url_endpoint")
        if url_endpoint:
            url_cname = bool(cfg.get("url_is_cname", is_cname))
            signer_options = {**common, "is_cname": url_cname}
            self.signer = oss2.Bucket(auth, _endpoint(str(url_endpoint), "" if url_cname else self.bucket),
                                      self.bucket, **signer_options)
        else:
            self.signer = self.client

    def where(self) -> str:
        return f"OSS bucket {self.bucket!r} at {self.endpoint} ({self.signature_version.upper()} signing)"

    # requests
    def ping(self) -> None:
        try:
            self.client.object_exists(f"{self.options.key_prefix}.readiness-probe")
        except Exception as exc:  # noqa: BLE001 — translated into the provider's code
            raise self._translate(exc) from None

    def _put(self, key: str, body: FileSlice, piece: Piece) -> None:
        self.client.put_object(key, body, headers={"Content-MD5": piece.b64("md5"),
                                                   "Content-Type": "application/zip"})

    def _start_multipart(self, key: str) -> str:
        return self.client.init_multipart_upload(key, headers={"Content-Type": "application/zip"}).upload_id

    def _put_part(self, key: str, upload_id: str, body: FileSlice, piece: Piece) -> oss2.models.PartInfo:
        result = self.client.upload_part(key, upload_id, piece.number, body,
                                         headers={"Content-MD5": piece.b64("md5")})
        return oss2.models.PartInfo(piece.number, result.etag, size=piece.length, part_crc=result.crc)

    def _complete_multipart(self, key: str, upload_id: str, parts: list[tuple[Piece, Any]]) -> None:
        # with each part's size and CRC-64, oss2 checks the CRC-64 of the assembled object
        self.client.complete_multipart_upload(key, upload_id, [info for _, info in parts])

    def _abort_multipart(self, key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(key, upload_id)

    def _sign_get(self, key: str, expires: int) -> str:
        return self.signer.sign_url("GET", key, expires, slash_safe=True)

    # errors
    def _translate(self, exc: BaseException) -> PublishError:
        if isinstance(exc, oss_errors.RequestError):
            inner = getattr(exc, "exception", exc)
            if isinstance(inner, requests.Timeout) or "timed out" in str(inner).lower():
                return PublishError("Timeout", f"no answer from {self.endpoint} within "
                                    f"{self.options.timeout:g} s", retryable=True)
            return PublishError("NetworkError", f"cannot reach {self.endpoint}: {network_reason(inner)}",
                                retryable=True)
        if isinstance(exc, oss_errors.InconsistentError):
            return PublishError("InconsistentError", "the CRC-64 OSS computed differs from that of the "
                                "bytes sent", request_id=exc.request_id, retryable=True)
        if isinstance(exc, oss_errors.ClientError):
            return PublishError("ConfigError", str(exc.body).removeprefix("ClientError: "))
        if isinstance(exc, oss_errors.ServerError):
            status = exc.status
            code = exc.code or _STATUS_CODES.get(status, f"HTTP{status}")
            message = (exc.message or f"OSS answered HTTP {status}").rstrip(".")
            hint = _HINTS.get(code)
            return PublishError(code, message + (f"; {hint}" if hint else ""), status=status,
                                request_id=exc.request_id,
                                retryable=status >= 500 or status == 429 or code in _RETRY_CODES)
        if isinstance(exc, OSError):
            return PublishError("LocalFileError", f"cannot read the draft zip: {exc}")
        return PublishError("UploadError", f"{type(exc).__name__}: {exc}")
