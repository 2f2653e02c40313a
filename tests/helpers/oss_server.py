"""A small Alibaba-OSS-compatible HTTP server for the storage tests, plus two dead endpoints.

`OssTestServer` is a threaded HTTP/1.1 server on 127.0.0.1 that keeps objects in memory and
checks every request's signature against its own table of keys, so a wrong secret really fails.
It implements the subset of the OSS API that oss2 uses to publish and fetch a draft:

| request                                   | OSS operation                           |
|-------------------------------------------|-----------------------------------------|
| PUT /<bucket>/<key>                       | PutObject (Content-MD5 checked)         |
| POST /<bucket>/<key>?uploads              | InitiateMultipartUpload                 |
| PUT /<bucket>/<key>?partNumber=N&uploadId | UploadPart (Content-MD5 checked)        |
| POST /<bucket>/<key>?uploadId=ID          | CompleteMultipartUpload (ETags, order, 100 KiB minimum part) |
| DELETE /<bucket>/<key>?uploadId=ID        | AbortMultipartUpload                    |
| HEAD /<bucket>/<key>, GET /<bucket>/<key> | HeadObject, GetObject (no Range)        |

Addressing is path style (what oss2 uses for an IP endpoint). Authentication, written from
Alibaba's published signing rules:

* V1 header `Authorization: OSS <id>:<base64 HMAC-SHA1>`, `Date` within 15 minutes;
* V1 query (signed URL) `OSSAccessKeyId`, `Expires`, `Signature`;
* V4 header `Authorization: OSS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/oss/
  aliyun_v4_request[, AdditionalHeaders=...], Signature=<hex>` with `x-oss-date` within
  15 minutes and `x-oss-content-sha256` (`UNSIGNED-PAYLOAD` or the body's SHA-256, checked);
* V4 query (signed URL) `x-oss-signature-version`, `x-oss-credential`, `x-oss-date`,
  `x-oss-expires` (at most 604800), `x-oss-signature`.

Errors are OSS's XML `<Error>` bodies (and `x-oss-err` for HEAD): InvalidAccessKeyId,
SignatureDoesNotMatch, AccessDenied (anonymous or expired URL), RequestTimeTooSkewed,
NoSuchBucket, NoSuchKey, NoSuchUpload, InvalidDigest, InvalidPart, InvalidPartOrder,
EntityTooSmall, InvalidArgument, MalformedXML, NotImplemented. Every stored object and part
answers with `x-oss-hash-crc64ecma`, which oss2 compares with its own CRC-64.

Test hooks: `fail_next(n, status, code, match)` makes the next n (matching) requests fail
(after reading their bodies), `requests` records what arrived (method, path, query, auth kind, status, body size).

`HungServer` accepts connections and reads them but never answers (a timeout);
`closed_port()` is a port nobody listens on (connection refused).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

import crcmod

TEST_KEY_ID = "LTAI5tTestKeyId0001"
TEST_SECRET = "test-secret-0123456789abcdefghij"
TEST_REGION = "cn-test"
MAX_SKEW = 15 * 60
MAX_V4_EXPIRES = 7 * 24 * 3600

_crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)

# Query parameters that are part of a V1 canonical resource (the ones this server meets, plus
# the response-* overrides a signed URL may carry).
_V1_SUBRESOURCES = {
    "acl", "uploads", "uploadId", "partNumber", "security-token", "x-oss-process", "append",
    "position", "response-content-type", "response-content-language", "response-expires",
    "response-cache-control", "response-content-disposition", "response-content-encoding",
}
_V4_SIGNED_ALWAYS = {"content-type", "content-md5"}


class OssFault(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass
class StoredObject:
    data: bytes
    etag: str
    content_type: str
    modified: float = field(default_factory=time.time)

    @property
    def crc(self) -> int:
        return _crc64(self.data)


@dataclass
class Upload:
    bucket: str
    key: str
    content_type: str
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    bucket: str
    key: str
    query: dict[str, str]
    auth: str
    body_size: int
    content_md5: str
    status: int = 0


def _v4_encode(text: str, keep_slash: bool) -> str:
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~" + (b"/" if keep_slash else b"")
    return "".join(chr(b) if b in safe else f"%{b:02X}" for b in text.encode("utf-8"))


def _hmac(key: bytes, text: str, algo=hashlib.sha256) -> bytes:
    return hmac.new(key, text.encode("utf-8"), algo).digest()


def _xml(root: str, **children: str) -> bytes:
    element = ET.Element(root)
    for name, value in children.items():
        ET.SubElement(element, name).text = value
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up (a timed-out test, interpreter exit) are not errors here."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class OssTestServer:
    """In-memory OSS on 127.0.0.1. Use as a context manager or call start()/stop()."""

    def __init__(self, keys: dict[str, str] | None = None, region: str = TEST_REGION,
                 buckets: tuple[str, ...] = ("drafts",), min_part_size: int = 100 * 1024):
        self.keys = dict(keys or {TEST_KEY_ID: TEST_SECRET})
        self.region = region
        self.buckets = set(buckets)
        self.min_part_size = min_part_size
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.uploads: dict[str, Upload] = {}
        self.requests: list[Recorded] = []
        self.request_times: list[float] = []
        self._faults: list[tuple[int, str, Callable | None]] = []
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> OssTestServer:
        handler = type("Handler", (_Handler,), {"oss": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="oss-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OssTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._httpd, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # test hooks
    def fail_next(self, count: int, status: int = 503, code: str = "ServiceUnavailable",
                  match: Callable[[str, dict[str, str]], bool] | None = None) -> None:
        """Fail the next `count` requests (those for which match(method, query) is true)."""
        with self.lock:
            self._faults.extend([(status, code, match)] * count)

    def reset(self) -> None:
        """Forget objects, uploads, pending failures and the request log (buckets stay)."""
        with self.lock:
            self.objects.clear()
            self.uploads.clear()
            self._faults.clear()
            self.requests.clear()
            self.request_times.clear()

    def object(self, bucket: str, key: str) -> StoredObject | None:
        return self.objects.get((bucket, key))

    # -- authentication ------------------------------------------------------------------
    def authenticate(self, method: str, bucket: str, key: str, query: list[tuple[str, str]],
                     headers, body: bytes) -> str:
        """The auth kind ('v1', 'v4', 'v1-url', 'v4-url'); raises OssFault when it fails."""
        auth = headers.get("Authorization", "")
        params = dict(query)
        if auth.startswith("OSS4-HMAC-SHA256 "):
            self._check_v4(method, bucket, key, query, headers, body, auth)
            return "v4"
        if auth.startswith("OSS "):
            self._check_v1_header(method, bucket, key, query, headers, auth)
            return "v1"
        if "x-oss-signature" in params:
            self._check_v4_url(method, bucket, key, query, headers)
            return "v4-url"
        if "Signature" in params and "OSSAccessKeyId" in params:
            self._check_v1_url(method, bucket, key, query, headers)
            return "v1-url"
        raise OssFault(403, "AccessDenied", "You have no right to access this object because of bucket acl.")

    def _secret(self, key_id: str) -> str:
        if key_id not in self.keys:
            raise OssFault(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist "
                           "in our records.", OSSAccessKeyId=key_id)
        return self.keys[key_id]

    @staticmethod
    def _v1_resource(bucket: str, key: str, query: list[tuple[str, str]]) -> str:
        sub = sorted((k, v) for k, v in query if k in _V1_SUBRESOURCES)
        tail = "&".join(f"{k}={v}" if v else k for k, v in sub)
        path = f"/{bucket}/{key}" if bucket else "/"
        return path + (f"?{tail}" if tail else "")

    @staticmethod
    def _v1_oss_headers(headers) -> str:
        found = sorted((name.lower(), value.strip()) for name, value in headers.items()
                       if name.lower().startswith("x-oss-"))
        return "".join(f"{name}:{value}\n" for name, value in found)

    def _v1_check(self, secret: str, given: str, method: str, headers, date: str, resource: str) -> None:
        text = "\n".join([method, headers.get("Content-MD5", ""), headers.get("Content-Type", ""), date,
                          self._v1_oss_headers(headers) + resource])
        expected = base64.b64encode(_hmac(secret.encode(), text, hashlib.sha1)).decode()
        if not hmac.compare_digest(expected, given):
            raise OssFault(403, "SignatureDoesNotMatch", "The request signature we calculated does not "
                           "match the signature you provided. Check your key and signing method.",
                           StringToSign=text)

    def _check_v1_header(self, method, bucket, key, query, headers, auth: str) -> None:
        key_id, _, signature = auth[4:].partition(":")
        secret = self._secret(key_id.strip())
        date = headers.get("x-oss-date") or headers.get("Date", "")
        try:
            when = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            raise OssFault(403, "AccessDenied", "OSS authentication requires a valid Date.") from None
        if abs(time.time() - when) > MAX_SKEW:
            raise OssFault(403, "RequestTimeTooSkewed", "The difference between the request time and "
                           "the current time is too large.")
        self._v1_check(secret, signature.strip(), method, headers, date,
                       self._v1_resource(bucket, key, query))

    def _check_v1_url(self, method, bucket, key, query, headers) -> None:
        params = dict(query)
        secret = self._secret(params["OSSAccessKeyId"])
        expires = params.get("Expires", "")
        if not expires.isdigit():
            raise OssFault(403, "AccessDenied", "Expires must be a Unix time.")
        if time.time() > int(expires):
            raise OssFault(403, "AccessDenied", "Request has expired.", Expires=expires)
        rest = [(k, v) for k, v in query if k not in ("OSSAccessKeyId", "Expires", "Signature")]
        self._v1_check(secret, params["Signature"], method, headers, expires,
                       self._v1_resource(bucket, key, rest))

    def _v4_signature(self, secret: str, method, bucket, key, query, headers, additional: list[str],
                      payload_hash: str, stamp: str, scope: str) -> tuple[str, str]:
        uri = _v4_encode(f"/{bucket}/{key}" if bucket else "/", keep_slash=True)
        encoded = sorted((_v4_encode(k, False), _v4_encode(v, False)) for k, v in query)
        canonical_query = "&".join(f"{k}={v}" if v else k for k, v in encoded)
        signed = sorted((name.lower(), value.strip()) for name, value in headers.items()
                        if name.lower().startswith("x-oss-") or name.lower() in _V4_SIGNED_ALWAYS
                        or name.lower() in additional)
        canonical_headers = "".join(f"{name}:{value}\n" for name, value in signed)
        request = "\n".join([method, uri, canonical_query, canonical_headers, ";".join(additional),
                             payload_hash])
        text = "\n".join(["OSS4-HMAC-SHA256", stamp, scope,
                          hashlib.sha256(request.encode("utf-8")).hexdigest()])
        date, region, product, terminator = scope.split("/")
        signing = ("aliyun_v4" + secret).encode()
        for part in (date, region, product, terminator):
            signing = _hmac(signing, part)
        return hmac.new(signing, text.encode(), hashlib.sha256).hexdigest(), request

    def _v4_scope(self, credential: str, stamp: str) -> tuple[str, str]:
        """(key id, scope) from `id/date/region/oss/aliyun_v4_request`, checked."""
        pieces = credential.split("/")
        if len(pieces) != 5:
            raise OssFault(400, "InvalidArgument", f"Invalid credential in Authorization: {credential}")
        key_id, date, region, product, terminator = pieces
        if date != stamp[:8] or product != "oss" or terminator != "aliyun_v4_request":
            raise OssFault(400, "InvalidArgument", f"Invalid credential scope: {credential}")
        if region != self.region:
            raise OssFault(400, "InvalidArgument", f"Invalid signing region in Authorization header: "
                           f"{region}, expected {self.region}")
        return key_id, "/".join(pieces[1:])

    @staticmethod
    def _v4_time(stamp: str) -> float:
        try:
            return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise OssFault(400, "InvalidArgument", f"Invalid x-oss-date: {stamp}") from None

    def _check_v4(self, method, bucket, key, query, headers, body: bytes, auth: str) -> None:
        fields = {}
        for item in auth[len("OSS4-HMAC-SHA256 "):].split(","):
            name, _, value = item.strip().partition("=")
            fields[name] = value
        stamp = headers.get("x-oss-date", "")
        if abs(time.time() - self._v4_time(stamp)) > MAX_SKEW:
            raise OssFault(403, "RequestTimeTooSkewed", "The difference between the request time and "
                           "the current time is too large.")
        key_id, scope = self._v4_scope(fields.get("Credential", ""), stamp)
        secret = self._secret(key_id)
        payload = headers.get("x-oss-content-sha256", "")
        if not payload:
            raise OssFault(400, "InvalidArgument", "x-oss-content-sha256 is required for V4 signing.")
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
            raise OssFault(400, "InvalidArgument", "x-oss-content-sha256 does not match the body.")
        additional = [h.strip().lower() for h in fields.get("AdditionalHeaders", "").split(";") if h.strip()]
        expected, request = self._v4_signature(secret, method, bucket, key, query, headers, additional,
                                               payload, stamp, scope)
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            raise OssFault(403, "SignatureDoesNotMatch", "The request signature we calculated does not "
                           "match the signature you provided. Check your key and signing method.",
                           CanonicalRequest=request)

    def _check_v4_url(self, method, bucket, key, query, headers) -> None:
        params = dict(query)
        if params.get("x-oss-signature-version") != "OSS4-HMAC-SHA256":
            raise OssFault(400, "InvalidArgument", "x-oss-signature-version must be OSS4-HMAC-SHA256.")
        stamp = params.get("x-oss-date", "")
        issued = self._v4_time(stamp)
        expires = params.get("x-oss-expires", "")
        if not expires.isdigit() or not 0 < int(expires) <= MAX_V4_EXPIRES:
            raise OssFault(400, "InvalidArgument", f"x-oss-expires must be 1..{MAX_V4_EXPIRES}, got {expires!r}.")
        if time.time() > issued + int(expires):
            raise OssFault(403, "AccessDenied", "Request has expired.")
        key_id, scope = self._v4_scope(params.get("x-oss-credential", ""), stamp)
        secret = self._secret(key_id)
        additional = [h for h in params.get("x-oss-additional-headers", "").split(";") if h]
        rest = [(k, v) for k, v in query if k != "x-oss-signature"]
        expected, request = self._v4_signature(secret, method, bucket, key, rest, headers, additional,
                                               "UNSIGNED-PAYLOAD", stamp, scope)
        if not hmac.compare_digest(expected, params["x-oss-signature"]):
            raise OssFault(403, "SignatureDoesNotMatch", "The request signature we calculated does not "
                           "match the signature you provided. Check your key and signing method.",
                           CanonicalRequest=request)

    # -- operations ----------------------------------------------------------------------
    def handle(self, method: str, bucket: str, key: str, query: list[tuple[str, str]], headers,
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            for index, (status, code, match) in enumerate(self._faults):
                if match is None or match(method, dict(query)):
                    del self._faults[index]
                    raise OssFault(status, code, "Injected failure: please try again.")
        self.authenticate(method, bucket, key, query, headers, body)
        if not bucket:
            raise OssFault(501, "NotImplemented", "Service-level requests are not implemented here.")
        if bucket not in self.buckets:
            raise OssFault(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)
        params = dict(query)
        if not key:
            raise OssFault(501, "NotImplemented", "Bucket-level requests are not implemented here.")
        if method == "PUT" and "uploadId" in params:
            return self._upload_part(params, headers, body)
        if method == "PUT":
            return self._put(bucket, key, headers, body)
        if method == "POST" and "uploads" in params:
            upload_id = secrets.token_hex(16).upper()
            with self.lock:
                self.uploads[upload_id] = Upload(bucket, key, headers.get("Content-Type", ""))
            return 200, {"Content-Type": "application/xml"}, _xml(
                "InitiateMultipartUploadResult", Bucket=bucket, Key=key, UploadId=upload_id)
        if method == "POST" and "uploadId" in params:
            return self._complete(bucket, key, params["uploadId"], body)
        if method == "DELETE" and "uploadId" in params:
            with self.lock:
                if self.uploads.pop(params["uploadId"], None) is None:
                    raise OssFault(404, "NoSuchUpload", "The specified upload does not exist.")
            return 204, {}, b""
        if method in ("GET", "HEAD"):
            found = self.objects.get((bucket, key))
            if found is None:
                raise OssFault(404, "NoSuchKey", "The specified key does not exist.", Key=key)
            return 200, {"Content-Type": found.content_type or "application/octet-stream",
                         "ETag": found.etag, "x-oss-hash-crc64ecma": str(found.crc),
                         "Last-Modified": formatdate(found.modified, usegmt=True),
                         "x-oss-object-type": "Multipart" if "-" in found.etag else "Normal",
                         "Content-Length": str(len(found.data))}, found.data
        raise OssFault(501, "NotImplemented", f"{method} with {sorted(params)} is not implemented here.")

    @staticmethod
    def _check_md5(headers, body: bytes) -> str:
        digest = hashlib.md5(body).digest()
        given = headers.get("Content-MD5")
        if given is not None and given.strip() != base64.b64encode(digest).decode():
            raise OssFault(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        return f'"{digest.hex().upper()}"'

    def _put(self, bucket, key, headers, body):
        etag = self._check_md5(headers, body)
        stored = StoredObject(body, etag, headers.get("Content-Type", ""))
        with self.lock:
            self.objects[(bucket, key)] = stored
        return 200, {"ETag": etag, "x-oss-hash-crc64ecma": str(_crc64(body)),
                     "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}, b""

    def _upload_part(self, params, headers, body):
        number = params.get("partNumber", "")
        if not number.isdigit() or not 1 <= int(number) <= 10000:
            raise OssFault(400, "InvalidArgument", "Part number must be an integer between 1 and 10000.")
        etag = self._check_md5(headers, body)
        with self.lock:
            upload = self.uploads.get(params["uploadId"])
            if upload is None:
                raise OssFault(404, "NoSuchUpload", "The specified upload does not exist.")
            upload.parts[int(number)] = (body, etag)
        return 200, {"ETag": etag, "x-oss-hash-crc64ecma": str(_crc64(body))}, b""

    def _complete(self, bucket, key, upload_id, body):
        try:
            root = ET.fromstring(body)
            listed = [(int(p.findtext("PartNumber")), (p.findtext("ETag") or "").strip())
                      for p in root.iter("Part")]
        except (ET.ParseError, TypeError, ValueError):
            raise OssFault(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        with self.lock:
            upload = self.uploads.get(upload_id)
            if upload is None or (upload.bucket, upload.key) != (bucket, key):
                raise OssFault(404, "NoSuchUpload", "The specified upload does not exist.")
            if not listed:
                raise OssFault(400, "MalformedXML", "The list of parts is empty.")
            numbers = [n for n, _ in listed]
            if numbers != sorted(set(numbers)):
                raise OssFault(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
            chunks = []
            for index, (number, etag) in enumerate(listed):
                part = upload.parts.get(number)
                if part is None or part[1].strip('"') != etag.strip('"'):
                    raise OssFault(400, "InvalidPart", f"Part {number} was not uploaded or its ETag differs.")
                if index < len(listed) - 1 and len(part[0]) < self.min_part_size:
                    raise OssFault(400, "EntityTooSmall", "Your proposed upload is smaller than the "
                                   "minimum allowed object size.", PartNumber=str(number))
                chunks.append(part[0])
            data = b"".join(chunks)
            joined = b"".join(bytes.fromhex(upload.parts[n][1].strip('"')) for n in numbers)
            etag = f'"{hashlib.md5(joined).hexdigest().upper()}-{len(numbers)}"'
            self.objects[(bucket, key)] = StoredObject(data, etag, upload.content_type)
            del self.uploads[upload_id]
        return 200, {"Content-Type": "application/xml", "ETag": etag,
                     "x-oss-hash-crc64ecma": str(_crc64(data))}, _xml(
            "CompleteMultipartUploadResult", Location=f"/{bucket}/{key}", Bucket=bucket, Key=key, ETag=etag)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AliyunOSS"
    sys_version = ""
    oss: OssTestServer

    def log_message(self, *args) -> None:      # quiet
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        body = self._body()
        raw_path, _, raw_query = self.path.partition("?")
        bucket, _, raw_key = raw_path.lstrip("/").partition("/")
        bucket, key = unquote(bucket), unquote(raw_key)
        query = parse_qsl(raw_query, keep_blank_values=True)
        record = Recorded(self.command, bucket, key, dict(query), "", len(body),
                          self.headers.get("Content-MD5", ""))
        with self.oss.lock:
            self.oss.requests.append(record)
            self.oss.request_times.append(time.monotonic())
        request_id = secrets.token_hex(12).upper()
        try:
            status, headers, payload = self.oss.handle(self.command, bucket, key, query, self.headers, body)
            record.auth = "ok"
        except OssFault as fault:
            status = fault.status
            payload = _xml("Error", Code=fault.code, Message=fault.message, RequestId=request_id,
                           HostId="127.0.0.1", **fault.extra)
            headers = {"Content-Type": "application/xml", "x-oss-ec": "0000-00000000"}
            if self.command == "HEAD":
                headers["x-oss-err"] = base64.b64encode(payload).decode()
        record.status = status
        headers = {**headers, "x-oss-request-id": request_id, "Date": formatdate(usegmt=True)}
        headers.setdefault("Content-Length", str(len(payload)))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve


# -- dead endpoints ---------------------------------------------------------------------------

class HungServer:
    """Accepts TCP connections on 127.0.0.1 and reads whatever arrives, but never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="hung-server").start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not conn.recv(1 << 16):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self.connections:
            conn.close()

    def __enter__(self) -> HungServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def closed_port() -> str:
    """An http://127.0.0.1:<port> endpoint where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
