"""Outbound HTTP for client-supplied URLs, safe by default.

Only http(s); hosts that resolve to loopback, private, link-local, reserved or metadata
addresses are refused unless the `fetch_allow_hosts` setting lists them (a host name, an
address or a CIDR network); every redirect is checked again; connect/read timeouts and a total
deadline; a byte cap enforced while streaming, whatever Content-Length says.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urljoin, urlsplit

import requests

MAX_REDIRECTS = 5
USER_AGENT = "capcut-draft-service/1.0"


class FetchError(Exception):
    """A URL could not be fetched; the message is safe to show the client (no response body)."""

    def __init__(self, message: str, code: str = "fetch_failed"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FetchPolicy:
    allow_hosts: tuple[str, ...] = ()
    max_bytes: int = 2 * 1024 ** 3
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 300.0

    def allows(self, host: str, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        for entry in self.allow_hosts:
            if entry == host:
                return True
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False


def _resolve(host: str) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host '{host}' ({exc.strerror})", code="fetch_dns") from None


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, policy: FetchPolicy) -> None:
    """Raise FetchError unless `url` is http(s) and its host may be contacted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"only http:// and https:// URLs can be fetched (got scheme '{parts.scheme}')",
                         code="fetch_scheme")
    host = parts.hostname
    for address in _resolve(host):
        if not _is_public(address) and not policy.allows(host, address):
            raise FetchError(f"refusing to fetch from '{host}': it resolves to the non-public address "
                             f"{address} (an operator can allow it with the fetch_allow_hosts setting)",
                             code="fetch_forbidden")


def _chunks(response: requests.Response, policy: FetchPolicy, started: float) -> Iterable[bytes]:
    received = 0
    for chunk in response.iter_content(64 * 1024):
        received += len(chunk)
        if received > policy.max_bytes:
            raise FetchError(f"the response is larger than the {policy.max_bytes} byte limit",
                             code="fetch_too_large")
        if time.monotonic() - started > policy.deadline:
            raise FetchError(f"the download took longer than {policy.deadline:g}s", code="fetch_timeout")
        yield chunk


def open_stream(url: str, policy: FetchPolicy, session: requests.Session | None = None):
    """GET `url` following checked redirects; returns (final_url, response) with the body unread."""
    session = session or requests.Session()
    started = time.monotonic()
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, policy)
        try:
            response = session.get(url, stream=True, allow_redirects=False, headers={"User-Agent": USER_AGENT},
                                   timeout=(policy.connect_timeout, policy.read_timeout))
        except requests.Timeout:
            raise FetchError(f"timed out connecting to or reading from {urlsplit(url).hostname}",
                             code="fetch_timeout") from None
        except requests.RequestException as exc:
            raise FetchError(f"could not connect to {urlsplit(url).hostname}: {type(exc).__name__}") from None
        if response.is_redirect:
            url = urljoin(url, response.headers.get("Location", ""))
            response.close()
            continue
        if response.status_code >= 400:
            response.close()
            raise FetchError(f"the server answered HTTP {response.status_code}", code="fetch_http_status")
        return url, response
    raise FetchError(f"more than {MAX_REDIRECTS} redirects", code="fetch_redirects")


def fetch_bytes(url: str, policy: FetchPolicy) -> bytes:
    """The whole body of `url` in memory (for small documents such as SRT files)."""
    started = time.monotonic()
    _, response = open_stream(url, policy)
    with response:
        try:
            return b"".join(_chunks(response, policy, started))
        except requests.RequestException as exc:
            raise FetchError(f"the download failed: {type(exc).__name__}") from None


def policy_from(settings, **limits) -> FetchPolicy:
    return FetchPolicy(allow_hosts=tuple(settings.fetch_allow_hosts), **limits)
