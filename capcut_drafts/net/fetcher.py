"""Outbound HTTP for client-supplied URLs, safe by default. Every outbound URL goes through here.

What it guarantees:

* only ``http://`` and ``https://``;
* the host is resolved **once**; addresses that are loopback, private, link-local, shared
  (CGNAT), reserved, multicast, site-local (fec0::/10) or a cloud metadata endpoint are dropped
  unless ``FetchPolicy.allow_hosts`` lists the host name, the address or a network containing it
  (metadata addresses only when listed exactly); if no address is left the URL is refused. An
  IPv6 address that carries an IPv4 address (IPv4-mapped, -compatible, -translated, NAT64, 6to4,
  Teredo) is judged by the IPv4 address(es) it carries (`embedded_ipv4`), and an allow entry for
  an IPv4 address does not allow its IPv6 forms;
* the connection goes to one of the checked addresses (no second DNS lookup between check and
  connect), while the ``Host`` header, TLS SNI and certificate verification use the host name;
* every redirect is checked again, at most ``max_redirects`` of them (`post_once`, for webhooks,
  follows none and never retries);
* connect and read timeouts, and a total ``deadline`` over all attempts (a server that trickles
  bytes is cut off by it);
* a byte cap: a ``Content-Length`` above it is refused before reading, and the bytes received are
  counted while streaming whatever the headers say;
* retries with exponential backoff on transient failures only (connection errors, timeouts, a
  body cut short, HTTP 408/429/5xx), at most ``attempts`` tries;
* errors are ``FetchError`` with a stable ``code`` and a message safe to show a client (it never
  contains the response body).

Stable error codes (members of capcut_drafts.errors.ErrorCode): ``fetch_url`` (malformed URL),
``fetch_scheme``, ``fetch_forbidden``, ``fetch_dns``, ``fetch_connect``, ``fetch_tls``,
``fetch_timeout``, ``fetch_http_status``, ``fetch_too_large``, ``fetch_incomplete``,
``fetch_redirects``, ``fetch_failed`` (anything else).

Transport: urllib3 connection pools keyed by (scheme, checked address, port, host name), shared
by all threads. Proxies from the environment are deliberately not used (a proxy would resolve
the name itself and defeat the address check).
"""
from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urljoin, urlsplit

import urllib3
from requests.utils import requote_uri
from urllib3.exceptions import (
    HTTPError,
    IncompleteRead,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from capcut_drafts.errors import ErrorCode

if TYPE_CHECKING:                 # annotations only
    from capcut_drafts.settings import Settings

_DEFAULT_CA: str | None
try:  # the CA bundle requests uses; falls back to the system store
    import certifi
    _DEFAULT_CA = certifi.where()
except ImportError:  # pragma: no cover
    _DEFAULT_CA = None

T = TypeVar("T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS = 5
USER_AGENT = "capcut-draft-service/1.0"
CHUNK_SIZE = 1024 * 1024
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: Cloud instance-metadata endpoints: refused even when a network containing them is allowed;
#: only an allow-list entry naming the exact address lets one through.
METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address(a) for a in (
        "169.254.169.254",   # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle ...
        "169.254.170.2",     # AWS ECS task metadata
        "169.254.169.123",   # AWS time sync
        "169.254.169.253",   # AWS VPC DNS
        "100.100.100.200",   # Alibaba Cloud
        "fd00:ec2::254",     # AWS IMDS over IPv6
        "fd00:ec2::23",      # AWS ECS over IPv6
        "fd20:ce::254",      # GCP metadata over IPv6
    )
})
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                            "instance-data.ec2.internal"})


def _low32(value: int) -> tuple[int, ...]:
    return (value & 0xFFFFFFFF,)


def _sixtofour(value: int) -> tuple[int, ...]:
    return ((value >> 80) & 0xFFFFFFFF,)


def _teredo(value: int) -> tuple[int, ...]:
    return ((value >> 64) & 0xFFFFFFFF, ~value & 0xFFFFFFFF)     # server, client (stored inverted)


# IPv6 ranges whose addresses carry IPv4 addresses, and where those sit in the 128 bits.
_IPV4_CARRIERS = (
    (ipaddress.ip_network("::ffff:0:0/96"), _low32),      # IPv4-mapped
    (ipaddress.ip_network("::/96"), _low32),              # IPv4-compatible (deprecated); :: and ::1 too
    (ipaddress.ip_network("::ffff:0:0:0/96"), _low32),    # IPv4-translated (SIIT)
    (ipaddress.ip_network("64:ff9b::/96"), _low32),       # NAT64 well-known prefix
    (ipaddress.ip_network("64:ff9b:1::/48"), _low32),     # NAT64 local-use prefix, read with the /96 layout
    (ipaddress.ip_network("2002::/16"), _sixtofour),      # 6to4: bits 16..48
    (ipaddress.ip_network("2001::/32"), _teredo),         # Teredo: server bits 32..64, client NOT bits 96..128
)
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")           # deprecated (RFC 3879); Python calls it global

# Connection pools shared by every thread; urllib3 keys them by host, port, scheme and the TLS
# settings (server_hostname, assert_hostname, ca_certs), so pools never mix host names.
_POOLS = urllib3.PoolManager(num_pools=128, maxsize=32, block=False, retries=False)


class FetchError(Exception):
    """A URL could not be fetched; the message is safe to show the client (no response body).

    `code` is stable (see the module doc); `retryable` tells whether trying again later may help;
    `status` is the HTTP status for ``fetch_http_status``; `retry_after` the seconds its
    Retry-After header asked for, if any.
    """

    def __init__(self, message: str, code: ErrorCode = ErrorCode.FETCH_FAILED, *, retryable: bool = False,
                 status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.code = ErrorCode.of(code)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Callable[..., FetchError], tuple[object, ...]]:
        # picklable (process pools, job queues) with its keyword fields
        return (_rebuild_error, (str(self), self.code, self.retryable, self.status, self.retry_after))


def _rebuild_error(message: str, code: ErrorCode, retryable: bool, status: int | None,
                   retry_after: float | None = None) -> FetchError:
    return FetchError(message, code, retryable=retryable, status=status, retry_after=retry_after)


Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one kind of fetch. Immutable; build variants with `dataclasses.replace`.

    allow_hosts: host names, addresses or CIDR networks that may be contacted although they are
        not public (tests use ``("127.0.0.1",)``).
    max_bytes: the byte cap (default 2 GiB).
    connect_timeout / read_timeout: seconds for one connect and for one wait on the socket.
    deadline: seconds for the whole fetch, all redirects, attempts and backoff included.
    attempts: tries for transient failures (1 = no retry); backoff: the first wait, doubled after
        each failure and capped at max_backoff (a Retry-After header up to max_backoff is honoured).
    ca_bundle: a PEM file of trusted CAs for https (default: certifi's bundle).
    resolver: ``f(host, port) -> [address, ...]`` replacing the system resolver (tests, custom DNS);
        its answer is what gets checked and connected to.
    """
    allow_hosts: tuple[str, ...] = ()
    max_bytes: int = 2 * 1024 ** 3
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 300.0
    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_redirects: int = MAX_REDIRECTS
    user_agent: str = USER_AGENT
    ca_bundle: str | None = None
    resolver: Resolver | None = field(default=None, compare=False)

    def allows(self, host: str, address: str) -> bool:
        """True if an `allow_hosts` entry names `host`, or names or contains `address`.

        Addresses match as written: an IPv4 entry does not allow the IPv6 forms carrying that
        address (``::ffff:127.0.0.1`` needs its own entry), and a network entry never allows an
        address that is or carries a metadata address.
        """
        ip = _unscoped(ipaddress.ip_address(address))
        host = host.lower().rstrip(".")
        for entry in self.allow_hosts:
            entry = entry.strip().lower()
            if not entry:
                continue
            if entry.rstrip(".") == host:
                return True
            try:
                network = ipaddress.ip_network(entry.strip("[]"), strict=False)
            except ValueError:
                continue
            if ip in network and (not _is_metadata(ip) or network.num_addresses == 1):
                return True
        return False

    def permits(self, host: str, address: str) -> bool:
        """True if `address` (one that `host` resolved to) may be connected to."""
        ip = ipaddress.ip_address(address)
        if is_public_address(ip) and host.lower().rstrip(".") not in METADATA_HOSTS:
            return True
        return self.allows(host, address)


@dataclass(frozen=True)
class Target:
    """A URL that passed `checked_target`: where to connect and what to send."""
    url: str
    scheme: str
    host: str                     # the host name (or literal) from the URL, IDNA-encoded
    port: int
    addresses: tuple[str, ...]    # checked addresses, in the resolver's order
    request_target: str           # path?query, percent-encoded
    host_header: str


def _unscoped(ip: IPAddress) -> IPAddress:
    """`ip` without its IPv6 scope id (``fe80::1%eth0`` -> ``fe80::1``)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return ipaddress.IPv6Address(str(ip).split("%")[0])
    return ip


def embedded_ipv4(ip: str | IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (see `_IPV4_CARRIERS`); () for any other address.

    Traffic to such an address ends at the carried IPv4 address (through the kernel, a
    translator or a tunnel), so that address decides whether it is public.
    """
    ip = ipaddress.ip_address(ip)
    if not isinstance(ip, ipaddress.IPv6Address):
        return ()
    for network, carried in _IPV4_CARRIERS:
        if ip in network:
            return tuple(ipaddress.IPv4Address(v) for v in carried(int(ip)))
    return ()


def _is_metadata(ip: IPAddress) -> bool:
    return ip in METADATA_ADDRESSES or any(v4 in METADATA_ADDRESSES for v4 in embedded_ipv4(ip))


def is_public_address(ip: str | IPAddress) -> bool:
    """True for a globally routable unicast address; an IPv6 address carrying IPv4 addresses is
    public only when every carried address is."""
    ip = _unscoped(ipaddress.ip_address(ip))
    if ip in METADATA_ADDRESSES:
        return False
    carried = embedded_ipv4(ip)
    if carried:
        return all(is_public_address(v4) for v4 in carried)
    return ip.is_global and not ip.is_multicast and ip not in _SITE_LOCAL


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve(host: str, port: int, policy: FetchPolicy) -> list[str]:
    """Addresses for `host`, literal or resolved once, deduplicated in resolver order."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = (policy.resolver or _system_resolve)(host, port)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host '{host}' ({exc.strerror or exc})", code=ErrorCode.FETCH_DNS,
                         retryable=exc.errno == socket.EAI_AGAIN) from None
    except UnicodeError as exc:
        raise FetchError(f"cannot resolve host '{host}' ({exc})", code=ErrorCode.FETCH_DNS) from None
    ordered: list[str] = []
    for address in found:
        address = str(ipaddress.ip_address(str(address).split("%")[0]))
        if address not in ordered:
            ordered.append(address)
    if not ordered:
        raise FetchError(f"cannot resolve host '{host}' (no address)", code=ErrorCode.FETCH_DNS)
    return ordered


def _ascii_host(host: str) -> str:
    try:
        host.encode("ascii")
        return host.lower()
    except UnicodeEncodeError:
        try:
            import idna
            return idna.encode(host, uts46=True).decode("ascii")
        except Exception:
            raise FetchError(f"the host name '{host}' is not valid", code=ErrorCode.FETCH_URL) from None


def checked_target(url: str, policy: FetchPolicy) -> Target:
    """Where to connect for `url`: its scheme checked, its host resolved once and every address
    the policy does not permit dropped. FetchError unless it may be fetched (no address left,
    not http(s), malformed). Callers that only want the check can ignore the result."""
    if not isinstance(url, str) or not url.strip():
        raise FetchError("the URL is empty", code=ErrorCode.FETCH_URL)
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError("the URL is not valid (bad host or port)", code=ErrorCode.FETCH_URL) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"only http:// and https:// URLs can be fetched (got scheme '{parts.scheme}')",
                         code=ErrorCode.FETCH_SCHEME)
    if not parts.hostname:
        raise FetchError("the URL has no host", code=ErrorCode.FETCH_URL)
    host = _ascii_host(parts.hostname.rstrip(".") or parts.hostname)
    port = port or (443 if scheme == "https" else 80)
    addresses = resolve(host, port, policy)
    permitted = [a for a in addresses if policy.permits(host, a)]
    if not permitted:
        raise FetchError(f"refusing to fetch from '{host}': it resolves to the non-public address {addresses[0]} "
                         f"(an operator can allow it with the fetch_allow_hosts setting)",
                         code=ErrorCode.FETCH_FORBIDDEN)
    path = requote_uri(parts.path or "/")
    if not path.startswith("/"):
        path = "/" + path
    if parts.query:
        path += "?" + requote_uri(parts.query)
    shown_host = f"[{host}]" if ":" in host else host
    default_port = 443 if scheme == "https" else 80
    host_header = shown_host if port == default_port else f"{shown_host}:{port}"
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=tuple(permitted),
                  request_target=path, host_header=host_header)


class Response:
    """An open response whose body is not read yet. Use as a context manager or call `close()`.

    `url` is the final URL (after redirects), `peer` the (address, port) actually connected to.
    `iter_content()` yields the body while enforcing the byte cap and the deadline.
    """

    def __init__(self, raw: urllib3.BaseHTTPResponse, target: Target, peer: tuple[str, int], policy: FetchPolicy,
                 deadline_at: float):
        self._raw = raw
        self._policy = policy
        self._deadline_at = deadline_at
        self.url = target.url
        self.target = target
        self.peer = peer
        self.status = raw.status
        self.headers = raw.headers
        self.received = 0

    @property
    def content_type(self) -> str | None:
        value = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        return value or None

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        if value is None or encoding not in ("", "identity"):
            return None  # the decoded body has another length
        try:
            n = int(value.split(",")[0].strip())
        except ValueError:
            return None
        return n if n >= 0 else None

    def iter_content(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The body in chunks of at most `chunk_size` bytes (whatever has arrived)."""
        policy, host = self._policy, self.target.host
        expected = self.content_length
        while True:
            remaining = self._deadline_at - time.monotonic()
            if remaining <= 0:
                raise _deadline_error(policy)
            self._set_socket_timeout(min(policy.read_timeout, remaining))
            try:
                chunk = self._raw.read1(chunk_size)
            except (TimeoutError, ReadTimeoutError):
                if self._deadline_at - time.monotonic() <= 0.05:
                    raise _deadline_error(policy) from None
                raise FetchError(f"timed out reading from {host}", code=ErrorCode.FETCH_TIMEOUT,
                                 retryable=True) from None
            except ProtocolError as exc:
                if any(isinstance(a, IncompleteRead) for a in exc.args):
                    raise _incomplete(host) from None
                raise FetchError(f"the connection to {host} broke during the download",
                                 code=ErrorCode.FETCH_INCOMPLETE, retryable=True) from None
            except (HTTPError, OSError) as exc:
                raise FetchError(f"the download from {host} failed ({type(exc).__name__})",
                                 code=ErrorCode.FETCH_INCOMPLETE, retryable=True) from None
            if not chunk:
                break
            self.received += len(chunk)
            if self.received > policy.max_bytes:
                raise _too_large(policy)
            yield chunk
        if expected is not None and self.received < expected:
            raise _incomplete(host)

    def read(self) -> bytes:
        """The whole body (bounded by the byte cap)."""
        return b"".join(self.iter_content())

    def _set_socket_timeout(self, seconds: float) -> None:
        connection = getattr(self._raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.settimeout(max(seconds, 0.001))
            except OSError:
                pass

    def close(self) -> None:
        """Release the connection: back to the pool when the body was read to the end."""
        raw = self._raw
        if not raw.closed:       # body not read to the end: the connection cannot be reused
            raw.close()
        raw.release_conn()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _deadline_error(policy: FetchPolicy) -> FetchError:
    return FetchError(f"the download took longer than {policy.deadline:g}s", code=ErrorCode.FETCH_TIMEOUT)


def _too_large(policy: FetchPolicy) -> FetchError:
    return FetchError(f"the response is larger than the {policy.max_bytes} byte limit", code=ErrorCode.FETCH_TOO_LARGE)


def _incomplete(host: str) -> FetchError:
    return FetchError(f"the response from {host} ended before its announced length", code=ErrorCode.FETCH_INCOMPLETE,
                      retryable=True)


def _pool(target: Target, address: str, policy: FetchPolicy) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        kwargs = dict(server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                      ca_certs=policy.ca_bundle or _DEFAULT_CA)
    else:
        kwargs = {}
    return _POOLS.connection_from_host(address, port=target.port, scheme=target.scheme, pool_kwargs=kwargs)


def _send(target: Target, policy: FetchPolicy, deadline_at: float, method: str = "GET", body: bytes | None = None,
          extra: Mapping[str, str] | None = None) -> Response:
    """One request (a GET unless told) of `target`, trying its checked addresses in order until one connects."""
    headers = {"Host": target.host_header, "User-Agent": policy.user_agent, "Accept": "*/*",
               "Accept-Encoding": "identity", **(extra or {})}
    last: FetchError | None = None
    for address in target.addresses:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise _deadline_error(policy)
        timeout = urllib3.Timeout(connect=min(policy.connect_timeout, remaining),
                                  read=min(policy.read_timeout, remaining))
        try:
            raw = _pool(target, address, policy).urlopen(
                method, target.request_target, body=body, headers=headers, redirect=False, retries=False,
                preload_content=False, release_conn=False, assert_same_host=False, timeout=timeout,
                decode_content=True)
        except NewConnectionError:
            last = FetchError(f"could not connect to {target.host}", code=ErrorCode.FETCH_CONNECT, retryable=True)
            continue
        except Urllib3Timeout as exc:
            if isinstance(exc, ReadTimeoutError) and deadline_at - time.monotonic() <= 0.05:
                raise _deadline_error(policy) from None
            last = FetchError(f"timed out connecting to or reading from {target.host}", code=ErrorCode.FETCH_TIMEOUT,
                              retryable=True)
            if isinstance(exc, ReadTimeoutError):
                raise last from None
            continue
        except SSLError as exc:
            reason = "certificate verification failed" if "CERTIFICATE" in str(exc).upper() or \
                "HOSTNAME" in str(exc).upper() else "TLS handshake failed"
            raise FetchError(f"{reason} for {target.host}", code=ErrorCode.FETCH_TLS) from None
        except LocationParseError:
            raise FetchError("the URL is not valid", code=ErrorCode.FETCH_URL) from None
        except (ProtocolError, HTTPError, OSError) as exc:
            raise FetchError(f"the connection to {target.host} failed ({type(exc).__name__})",
                             code=ErrorCode.FETCH_CONNECT, retryable=True) from None
        connection = getattr(raw, "connection", None)
        sock = getattr(connection, "sock", None)
        try:
            peer = sock.getpeername()[:2] if sock is not None else (address, target.port)
        except OSError:
            peer = (address, target.port)
        return Response(raw, target, peer, policy, deadline_at)
    raise last or FetchError(f"could not connect to {target.host}", code=ErrorCode.FETCH_CONNECT, retryable=True)


def _open_once(url: str, policy: FetchPolicy, deadline_at: float) -> Response:
    """GET `url` following checked redirects; raises FetchError for error statuses and oversize."""
    for _ in range(policy.max_redirects + 1):
        target = checked_target(url, policy)
        response = _send(target, policy, deadline_at)
        if response.status in REDIRECT_STATUSES and response.headers.get("Location"):
            location = response.headers["Location"]
            response.close()
            url = urljoin(target.url, location)
            continue
        if not 200 <= response.status < 300:   # errors, and 3xx that cannot be followed
            status = response.status
            retry_after = response.headers.get("Retry-After")
            response.close()
            raise FetchError(f"the server answered HTTP {status}", code=ErrorCode.FETCH_HTTP_STATUS,
                             retryable=status in RETRY_STATUSES, status=status,
                             retry_after=_retry_after(retry_after))
        length = response.content_length
        if length is not None and length > policy.max_bytes:
            response.close()
            raise _too_large(policy)
        return response
    raise FetchError(f"more than {policy.max_redirects} redirects", code=ErrorCode.FETCH_REDIRECTS)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def with_retries(policy: FetchPolicy, attempt: Callable[[float], T], deadline_at: float | None = None) -> T:
    """Call ``attempt(deadline_at)`` until it succeeds, retrying retryable FetchErrors with backoff.

    At most `policy.attempts` tries, all within the policy's deadline. Returns what `attempt`
    returns; raises the last FetchError.
    """
    if deadline_at is None:
        deadline_at = time.monotonic() + policy.deadline
    tries = max(1, policy.attempts)
    for number in range(1, tries + 1):
        try:
            return attempt(deadline_at)
        except FetchError as exc:
            if not exc.retryable or number == tries:
                raise
            wait = min(policy.backoff * 2 ** (number - 1), policy.max_backoff)
            if exc.retry_after is not None:
                wait = max(wait, min(exc.retry_after, policy.max_backoff))
            remaining = deadline_at - time.monotonic()
            if remaining <= wait:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def open_stream(url: str, policy: FetchPolicy, session: object = None) -> tuple[str, Response]:
    """GET `url` following checked redirects; returns ``(final_url, response)`` with the body unread.

    Retries transient failures up to the point where the body starts; close the response (or use
    it as a context manager) when done. `session` is accepted for compatibility and ignored.
    """
    deadline_at = time.monotonic() + policy.deadline
    response = with_retries(policy, lambda d: _open_once(url, policy, d), deadline_at)
    return response.url, response


def post_once(url: str, body: bytes, headers: Mapping[str, str], policy: FetchPolicy) -> Response:
    """One POST of `body` to `url`, checked as every fetch is (http(s) only, resolved once, the
    policy's address rules, the checked address connected to). No redirect is followed and nothing
    is retried: the response comes back whatever its status, its body unread (read it with
    `iter_content`, within the policy's byte cap and deadline, and close it)."""
    deadline_at = time.monotonic() + policy.deadline
    return _send(checked_target(url, policy), policy, deadline_at, "POST", body, headers)


def fetch_bytes(url: str, policy: FetchPolicy) -> bytes:
    """The whole body of `url` in memory (for small documents such as SRT files)."""
    def attempt(deadline_at: float) -> bytes:
        with _open_once(url, policy, deadline_at) as response:
            return response.read()
    return with_retries(policy, attempt)


@dataclass(frozen=True)
class Downloaded:
    """What `download_to` wrote."""
    url: str                      # as requested
    final_url: str                # after redirects
    path: str
    size: int
    content_type: str | None
    sha256: str | None         # of the content, when asked for
    peer: tuple[str, int]         # (address, port) the body came from


def download_to(url: str, path: str, policy: FetchPolicy, *, hash_content: bool = True,
                on_chunk: Callable[[int], None] | None = None,
                on_response: Callable[[int | None], None] | None = None) -> Downloaded:
    """Stream `url` into the file `path` (created or truncated; rewritten from the start on a retry).

    The caller owns `path` and removes it on failure; write to a temporary name and rename it
    when this returns (see MediaCache). `on_chunk(n)` is called with each chunk's size;
    `on_response(length)` when an attempt's response arrives, before its first chunk, with its
    Content-Length (None when the response has none), so a retry's count can start again.
    """
    def attempt(deadline_at: float) -> Downloaded:
        digest = hashlib.sha256() if hash_content else None
        with _open_once(url, policy, deadline_at) as response, open(path, "wb") as out:
            if on_response is not None:
                on_response(response.content_length)
            for chunk in response.iter_content():
                out.write(chunk)
                if digest is not None:
                    digest.update(chunk)
                if on_chunk is not None:
                    on_chunk(len(chunk))
            return Downloaded(url=url, final_url=response.url, path=path, size=response.received,
                              content_type=response.content_type,
                              sha256=digest.hexdigest() if digest is not None else None, peer=response.peer)
    return with_retries(policy, attempt)


def policy_from(settings: Settings, *, max_bytes: int | None = None, deadline: float | None = None) -> FetchPolicy:
    """The policy the settings describe (allow list, byte cap, deadline); `max_bytes` and
    `deadline` override the settings' values."""
    return FetchPolicy(allow_hosts=tuple(settings.fetch_allow_hosts),
                       max_bytes=settings.max_download_bytes if max_bytes is None else max_bytes,
                       deadline=float(settings.download_deadline_seconds if deadline is None else deadline))
