"""Amazon S3 and S3-compatible backend (boto3): AWS, MinIO, Cloudflare R2, Ceph, Wasabi, ...

`s3_config` keys:

* `bucket` (alias `bucket_name`), `region` (default `us-east-1`), `endpoint_url` (empty: AWS).
* `access_key_id`, `secret_access_key` (aliases `aws_access_key_id`, `aws_secret_access_key`),
  `session_token`; with no keys boto3's usual chain applies (environment, profile, instance role).
* `path_style`: true for MinIO-like servers that want `http://host/bucket/key`; false forces
  virtual-hosted style; absent: virtual-hosted on AWS (regional host), botocore's choice for
  a custom `endpoint_url`.
* `checksum`: `"sha256"` (default: each PUT carries x-amz-checksum-sha256, and the composite
  checksum S3 reports for a multipart object is compared with ours), `"md5"` (Content-MD5 only,
  for servers without flexible checksums) or `"none"`.
* `public_endpoint_url`: host the presigned URL points at, when the service reaches the
  storage through another address (e.g. an internal MinIO name).
* `key_prefix`, `expires`: overrides of `upload_key_prefix` / `upload_url_expiry_seconds`.

Presigned URLs are SigV4 and so live at most 7 days (604800 s); longer settings are capped.
botocore's own retries are off: the shared machinery retries with the `upload_*` settings.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import boto3
from botocore import exceptions as boto_errors
from botocore.config import Config

from capcut_drafts.storage.base import PublishError
from capcut_drafts.storage.multipart import FileSlice, ObjectStorePublisher, Piece, UploadOptions, network_reason

_RETRY_CODES = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling",
                "ThrottlingException", "BadDigest", "XAmzContentChecksumMismatch",
                "XAmzContentSHA256Mismatch", "RequestTimeTooSkewed"}
_STATUS_CODES = {"400": "BadRequest", "403": "AccessDenied", "404": "NotFound", "405": "MethodNotAllowed",
                 "500": "InternalError", "503": "ServiceUnavailable"}
_HINTS = {
    "SignatureDoesNotMatch": "check s3_config.secret_access_key (and region)",
    "InvalidAccessKeyId": "check s3_config.access_key_id",
    "NoSuchBucket": "create the bucket or fix s3_config.bucket / endpoint_url",
    "AccessDenied": "the credentials may not write to this bucket",
    "PermanentRedirect": "the bucket is in another region: fix s3_config.region",
    "AuthorizationHeaderMalformed": "the region in s3_config does not match the bucket's",
}
_CHECKSUMS = {"sha256": ("sha256",), "md5": ("md5",), "none": ()}


class S3Publisher(ObjectStorePublisher):
    name = "s3"
    min_part_size = 5 * 1024 * 1024       # S3's minimum for every part but the last

    def __init__(self, config: Mapping[str, Any], options: UploadOptions):
        super().__init__(options)
        cfg = dict(config or {})
        self.bucket = str(cfg.get("bucket") or cfg.get("bucket_name") or "").strip()
        if not self.bucket:
            raise PublishError("ConfigError", "s3_config is missing bucket")
        self.checksum = str(cfg.get("checksum") or "sha256").lower()
        if self.checksum not in _CHECKSUMS:
            raise PublishError("ConfigError", "s3_config.checksum must be sha256, md5 or none, "
                               f"got {cfg.get('checksum')!r}")
        self.digest_algorithms = _CHECKSUMS[self.checksum]
        self.region = str(cfg.get("region") or "us-east-1")
        self.endpoint_url = str(cfg.get("endpoint_url") or "") or None
        path_style = cfg.get("path_style")
        if path_style is None:
            # on AWS, explicit virtual hosting gives regional URLs (bucket.s3.<region>.amazonaws.com);
            # botocore's "auto" presigns on the global host, which other regions redirect
            addressing = "auto" if self.endpoint_url else "virtual"
        else:
            addressing = "path" if path_style else "virtual"
        config = Config(
            region_name=self.region, signature_version="s3v4", s3={"addressing_style": addressing},
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=options.timeout, read_timeout=options.timeout,
            max_pool_connections=max(10, options.concurrency),
            # md5/none: no CRC32 of botocore's own (servers without flexible checksums reject it)
            request_checksum_calculation="when_supported" if self.checksum == "sha256" else "when_required",
            response_checksum_validation="when_required")
        credentials = dict(
            aws_access_key_id=cfg.get("access_key_id") or cfg.get("aws_access_key_id") or None,
            aws_secret_access_key=cfg.get("secret_access_key") or cfg.get("aws_secret_access_key") or None,
            aws_session_token=cfg.get("session_token") or None)
        try:
            session = boto3.session.Session(**credentials)
            if session.get_credentials() is None:
                raise PublishError("ConfigError", "no S3 credentials: set s3_config.access_key_id and "
                                   "secret_access_key (or AWS_ACCESS_KEY_ID / an instance role)")
            self.client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
            public = cfg.get("public_endpoint_url")
            self.signer = session.client("s3", endpoint_url=str(public), config=config) if public else self.client
        except (boto_errors.BotoCoreError, ValueError) as exc:
            raise PublishError("ConfigError", f"s3_config is not usable: {exc}") from None

    def where(self) -> str:
        return f"S3 bucket {self.bucket!r} at {self.endpoint_url or 'AWS ' + self.region}"

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 — translated into the provider's code
            raise self._translate(exc) from None

    def _checksum_args(self, piece: Piece) -> dict[str, str]:
        if self.checksum == "sha256":
            return {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": piece.b64("sha256")}
        if self.checksum == "md5":
            return {"ContentMD5": piece.b64("md5")}
        return {}

    # requests
    def _put(self, key: str, body: FileSlice, piece: Piece) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentLength=piece.length,
                               ContentType="application/zip", **self._checksum_args(piece))

    def _start_multipart(self, key: str) -> str:
        extra = {"ChecksumAlgorithm": "SHA256"} if self.checksum == "sha256" else {}
        return self.client.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                   ContentType="application/zip", **extra)["UploadId"]

    def _put_part(self, key: str, upload_id: str, body: FileSlice, piece: Piece) -> dict:
        args = self._checksum_args(piece)
        args.pop("ChecksumAlgorithm", None)
        answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                         PartNumber=piece.number, Body=body,
                                         ContentLength=piece.length, **args)
        part = {"PartNumber": piece.number, "ETag": answer["ETag"]}
        if self.checksum == "sha256":
            part["ChecksumSHA256"] = answer.get("ChecksumSHA256") or piece.b64("sha256")
        return part

    def _complete_multipart(self, key: str, upload_id: str, parts: list[tuple[Piece, Any]]) -> None:
        answer = self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [part for _, part in parts]})
        reported = answer.get("ChecksumSHA256")
        if self.checksum == "sha256" and reported:
            # S3's composite checksum: SHA-256 of the parts' raw SHA-256 digests, then "-<count>"
            combined = hashlib.sha256(b"".join(p.digests["sha256"] for p, _ in parts)).digest()
            expected = f"{base64.b64encode(combined).decode()}-{len(parts)}"
            if reported != expected:
                raise PublishError("ChecksumMismatch", f"the assembled object's checksum {reported} "
                                   f"is not the local file's {expected}")

    def _abort_multipart(self, key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def _sign_get(self, key: str, expires: int) -> str:
        return self.signer.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=expires, HttpMethod="GET")

    # errors
    def _translate(self, exc: BaseException) -> PublishError:
        where = self.endpoint_url or f"S3 ({self.region})"
        if isinstance(exc, (boto_errors.ConnectTimeoutError, boto_errors.ReadTimeoutError)):
            return PublishError("Timeout", f"no answer from {where} within {self.options.timeout:g} s",
                                retryable=True)
        if isinstance(exc, (boto_errors.ConnectionError, boto_errors.HTTPClientError)):
            return PublishError("NetworkError", f"cannot reach {where}: {network_reason(exc)}", retryable=True)
        if isinstance(exc, boto_errors.ClientError):
            error = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            status = meta.get("HTTPStatusCode")
            code = str(error.get("Code") or status or "Unknown")
            code = _STATUS_CODES.get(code, code)
            message = str(error.get("Message") or f"S3 answered HTTP {status}").rstrip(".")
            hint = _HINTS.get(code)
            return PublishError(code, message + (f"; {hint}" if hint else ""), status=status,
                                request_id=meta.get("RequestId", ""),
                                retryable=(status or 0) >= 500 or status == 429 or code in _RETRY_CODES)
        if isinstance(exc, (boto_errors.NoCredentialsError, boto_errors.PartialCredentialsError,
                            boto_errors.ParamValidationError, boto_errors.BotoCoreError)):
            return PublishError("ConfigError", str(exc))
        if isinstance(exc, OSError):
            return PublishError("LocalFileError", f"cannot read the draft zip: {exc}")
        return PublishError("UploadError", f"{type(exc).__name__}: {exc}")
