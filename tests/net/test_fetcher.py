"""The safe fetcher against a real HTTP(S) server on 127.0.0.1 (see helpers.media.MediaServer).

Refused URLs never reach a socket: private ranges are literal addresses, so nothing is resolved
outside this machine.
"""
from __future__ import annotations

import dataclasses
import hashlib
import socket
import ssl
import threading
import time

import pytest
from helpers.media import MediaServer, pattern_bytes

from capcut_drafts.net.fetcher import (
    FetchError,
    FetchPolicy,
    checked_target,
    download_to,
    fetch_bytes,
    is_public_address,
    open_stream,
    policy_from,
)

BODY = pattern_bytes(5000, seed=7)
LOCAL = FetchPolicy(allow_hosts=("127.0.0.1",), connect_timeout=2, read_timeout=5, deadline=10, backoff=0.01)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "body.bin").write_bytes(BODY)
    (root / "name with space é.txt").write_bytes(b"spaced")
    return root


@pytest.fixture
def media_server(served):
    with MediaServer(served) as s:
        yield s


def refused(url: str, policy: FetchPolicy = FetchPolicy()) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch_bytes(url, policy)
    return info.value


# -- SSRF ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://10.0.0.1/a.mp4", "http://10.255.255.254:8080/a.mp4", "http://192.168.1.1/a.mp4",
    "http://172.16.0.1/a.mp4", "http://172.31.255.255/a.mp4", "http://100.64.0.1/a.mp4",
    "http://127.0.0.1/a.mp4", "http://127.8.9.10/a.mp4", "http://0.0.0.0/a.mp4",
    "http://169.254.169.254/latest/meta-data/", "http://100.100.100.200/latest/meta-data/",
    "http://[::1]/a.mp4", "http://[fd00:ec2::254]/latest/meta-data/", "http://[fc00::1]/a.mp4",
    "http://[fe80::1]/a.mp4", "http://[::ffff:10.0.0.1]/a.mp4", "http://[::ffff:127.0.0.1]/a.mp4",
    "http://[64:ff9b::a9fe:a9fe]/latest/", "http://[2002:7f00:1::]/a.mp4", "http://[ff02::1]/a.mp4",
    "https://192.168.0.10/a.mp4", "http://224.0.0.1/a.mp4",
])
def test_private_loopback_link_local_and_metadata_addresses_are_refused(url):
    error = refused(url)
    assert error.code == "fetch_forbidden" and not error.retryable
    assert "fetch_allow_hosts" in str(error)


def test_numeric_forms_of_loopback_are_refused():
    # glibc reads "2130706433" as 127.0.0.1 without DNS; make sure of that before relying on it
    assert socket.getaddrinfo("2130706433", 80, flags=socket.AI_NUMERICHOST)[0][4][0] == "127.0.0.1"
    assert refused("http://2130706433/a.mp4").code == "fetch_forbidden"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/a.mp4", "gopher://127.0.0.1/",
                                 "data:text/plain,hi", "//127.0.0.1/a.mp4", "/etc/passwd",
                                 "dict://127.0.0.1:6379/info"])
def test_only_http_and_https_schemes(url):
    assert refused(url, LOCAL).code == "fetch_scheme"


@pytest.mark.parametrize("url", ["", "http://", "http://[::1/", "http://127.0.0.1:99999/"])
def test_malformed_urls(url):
    assert refused(url, LOCAL).code == "fetch_url"


def test_loopback_server_refused_unless_allowed(media_server):
    assert refused(media_server.url("body.bin")).code == "fetch_forbidden"
    assert fetch_bytes(media_server.url("body.bin"), LOCAL) == BODY
    assert media_server.hits("/body.bin") == 1            # the refused request never connected


def test_localhost_name_refused_when_its_address_is_not_allowed(media_server):
    assert refused(media_server.url("body.bin", host="localhost")).code == "fetch_forbidden"
    assert refused(media_server.url("body.bin", host="localhost"),
                   FetchPolicy(allow_hosts=("10.0.0.0/8", "127.0.0.2"))).code == "fetch_forbidden"
    assert media_server.requests == []


@pytest.mark.parametrize("allow", [("localhost",), ("127.0.0.0/8",), ("127.0.0.1",), ("LOCALHOST.",)])
def test_allow_list_names_hosts_addresses_or_networks(media_server, allow):
    policy = dataclasses.replace(LOCAL, allow_hosts=allow)
    assert fetch_bytes(media_server.url("body.bin", host="localhost"), policy) == BODY


def test_metadata_address_needs_an_exact_allow_entry():
    wide = FetchPolicy(allow_hosts=("169.254.0.0/16", "fd00::/8"))
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        with pytest.raises(FetchError) as info:
            checked_target(url, wide)
        assert info.value.code == "fetch_forbidden"
    assert checked_target("http://169.254.169.254/", FetchPolicy(allow_hosts=("169.254.169.254",))).addresses == \
        ("169.254.169.254",)
    assert checked_target("http://169.254.1.2/", wide).addresses == ("169.254.1.2",)


def test_public_address_classification():
    assert is_public_address("8.8.8.8") and is_public_address("2606:4700::1111")
    for address in ("10.1.1.1", "127.0.0.1", "169.254.169.254", "100.64.1.1", "::1", "fd00:ec2::254",
                    "::ffff:192.168.0.1", "64:ff9b::7f00:1", "2002:a00:1::", "0.0.0.0", "255.255.255.255"):
        assert not is_public_address(address), address


# -- IPv6 forms that carry an IPv4 address, and deprecated site-local addresses --------------

# Refused by default. 2130706433 and 127.1 are numeric forms the system resolver reads as 127.0.0.1.
FORBIDDEN_HOSTS = [
    "10.0.0.1", "10.255.255.254", "10.1.1.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "192.168.0.10",
    "192.168.1.20", "100.64.0.1", "100.64.1.1", "127.0.0.1", "127.8.9.10", "2130706433", "127.1", "0.0.0.0",
    "169.254.169.254", "169.254.1.2", "100.100.100.200", "224.0.0.1", "255.255.255.255",
    "::", "::1", "fc00::1", "fd00:ec2::254", "fe80::1", "ff02::1",
    # IPv4-mapped ::ffff:0:0/96
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:192.168.0.1", "::ffff:169.254.169.254",
    # IPv4-compatible ::/96
    "::7f00:1", "::127.0.0.1", "::a9fe:a9fe", "::a00:1", "::c0a8:101",
    # IPv4-translated ::ffff:0:0:0/96
    "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe", "::ffff:0:a00:1",
    # NAT64 64:ff9b::/96 and 64:ff9b:1::/48
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::7f00:1", "64:ff9b:1::a00:1",
    # 6to4 2002::/16: the IPv4 address is bits 16..48
    "2002:7f00:1::", "2002:a00:1::", "2002:a9fe:a9fe::1",
    # Teredo 2001::/32: server 10.0.0.1; client (NOT of the last 32 bits) 127.0.0.1; client 169.254.169.254
    "2001:0:a00:1::f7f7:f7f7", "2001:0:808:808::80ff:fffe", "2001:0:808:808::5601:5601",
    # site-local fec0::/10 (deprecated)
    "fec0::1", "fed0::a:1", "feff::1",
]
QUICK = FetchPolicy(connect_timeout=0.5, read_timeout=0.5, deadline=2, attempts=1)


class Listener:
    """Sockets listening on one port at 127.0.0.1 and, where there is IPv6, ::1. They never
    accept, so every connection that arrives stays queued until `connections()` counts it."""

    def __init__(self):
        self.sockets = [socket.create_server(("127.0.0.1", 0))]
        self.port = self.sockets[0].getsockname()[1]
        try:
            self.sockets.append(socket.create_server(("::1", self.port), family=socket.AF_INET6))
        except OSError:
            pass

    def connections(self) -> int:
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                conn.close()
                count += 1
        return count

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def listener():
    ear = Listener()
    yield ear
    ear.close()


def bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def test_the_listener_counts_connections_that_arrive(listener):
    for address in ("127.0.0.1", "::ffff:127.0.0.1", "0.0.0.0"):
        socket.create_connection((address, listener.port), timeout=2).close()
    assert listener.connections() == 3


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_non_public_addresses_are_refused_before_any_connection(listener, host):
    error = refused(f"http://{bracketed(host)}:{listener.port}/a.mp4", QUICK)
    assert (error.code, error.retryable) == ("fetch_forbidden", False)
    assert listener.connections() == 0


@pytest.mark.parametrize("address", ["::7f00:1", "::ffff:0:7f00:1", "::a9fe:a9fe", "fec0::1", "::ffff:127.0.0.1",
                                     "2002:a9fe:a9fe::", "2001:0:808:808::80ff:fffe"])
def test_a_name_resolving_to_a_form_of_a_private_address_is_refused(listener, address):
    calls = []

    def resolver(host, port):
        calls.append(host)
        return [address]

    error = refused(f"http://media.test:{listener.port}/a.mp4", dataclasses.replace(QUICK, resolver=resolver))
    assert error.code == "fetch_forbidden" and calls == ["media.test"]
    assert listener.connections() == 0
    mixed = dataclasses.replace(QUICK, allow_hosts=("127.0.0.1",), resolver=lambda host, port: [address, "127.0.0.1"])
    assert checked_target("http://media.test/", mixed).addresses == ("127.0.0.1",)


@pytest.mark.parametrize("form", ["::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1",
                                  "2002:7f00:1::"])
def test_allowing_an_ipv4_address_does_not_allow_ipv6_forms_of_it(media_server, form):
    error = refused(media_server.url("body.bin", host=form), dataclasses.replace(QUICK, allow_hosts=("127.0.0.1",)))
    assert error.code == "fetch_forbidden"
    assert media_server.requests == []


def test_an_ipv6_form_is_allowed_by_an_entry_naming_it(media_server):
    url = media_server.url("body.bin", host="::ffff:127.0.0.1")
    for allow in (("::ffff:127.0.0.1",), ("::ffff:127.0.0.0/104",)):
        assert fetch_bytes(url, dataclasses.replace(LOCAL, allow_hosts=allow)) == BODY
    assert [r.local_address for r in media_server.requests] == [("127.0.0.1", media_server.port)] * 2


def test_a_network_entry_never_allows_an_embedded_metadata_address():
    wide = FetchPolicy(allow_hosts=("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "2002::/16"))
    for host in ("::a9fe:a9fe", "::ffff:169.254.169.254", "::ffff:0:a9fe:a9fe", "64:ff9b::a9fe:a9fe",
                 "2002:a9fe:a9fe::"):
        with pytest.raises(FetchError) as info:
            checked_target(f"http://[{host}]/", wide)
        assert info.value.code == "fetch_forbidden", host
    assert checked_target("http://[64:ff9b::a9fe:102]/", wide).addresses == ("64:ff9b::a9fe:102",)   # 169.254.1.2


def test_ipv6_forms_are_judged_by_the_ipv4_address_they_carry():
    for address in ("::ffff:8.8.8.8", "::808:808", "::ffff:0:808:808", "64:ff9b::808:808", "64:ff9b:1::808:808",
                    "2002:808:808::1", "2001:0:808:808::f7f7:f7f7"):
        assert is_public_address(address), address
    for address in FORBIDDEN_HOSTS:
        if address not in ("2130706433", "127.1"):
            assert not is_public_address(address), address


@pytest.mark.parametrize("target", ["http://10.0.0.1/x.mp4", "http://169.254.169.254/latest/meta-data/",
                                    "http://192.168.1.20:8080/", "http://[::1]:80/"])
def test_redirect_to_a_forbidden_host_is_refused(media_server, target):
    error = refused(media_server.url(f"redirect?to={target}"), LOCAL)
    assert error.code == "fetch_forbidden"
    assert media_server.hits("/redirect") == 1            # not retried


def test_redirect_to_another_scheme_is_refused(media_server):
    assert refused(media_server.url("redirect?to=file:///etc/passwd"), LOCAL).code == "fetch_scheme"


def test_allowed_redirects_are_followed_and_bounded(media_server):
    final_url, response = open_stream(media_server.url("redirect?to=/redirect%3Fto%3D/body.bin&code=307"), LOCAL)
    with response:
        assert response.read() == BODY
    assert final_url.endswith("/body.bin")
    error = refused(media_server.url("loop"), LOCAL)
    assert error.code == "fetch_redirects"
    assert media_server.hits("/loop") == LOCAL.max_redirects + 1


def test_refusal_is_not_retried_and_resolves_once():
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["10.9.8.7"]

    error = refused("http://media.test/a.mp4", FetchPolicy(resolver=resolver, attempts=5))
    assert error.code == "fetch_forbidden" and calls == ["media.test"]


def test_unresolvable_host_is_a_dns_error():
    def resolver(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    error = refused("http://nowhere.test/a.mp4", FetchPolicy(resolver=resolver))
    assert error.code == "fetch_dns" and not error.retryable


# -- the address checked is the address connected to ------------------------------------------

def test_connection_goes_to_the_checked_address_without_a_second_lookup(served):
    """A rebinding resolver answers an allowed address first and a forbidden one after; the
    fetcher must connect to the first answer and never ask again."""
    with MediaServer(served, host="127.0.0.2") as allowed:
        other = None
        for _ in range(20):   # the same port on 127.0.0.1, the address a second lookup would give
            try:
                other = MediaServer(served, host="127.0.0.1", port=allowed.port).start()
                break
            except OSError:
                continue
        assert other is not None
        try:
            answers = iter([["127.0.0.2"], ["127.0.0.1"], ["127.0.0.1"]])
            calls = []

            def resolver(host, port):
                calls.append((host, port))
                return next(answers)

            policy = dataclasses.replace(LOCAL, allow_hosts=("127.0.0.2",), resolver=resolver)
            final_url, response = open_stream(f"http://media.test:{allowed.port}/body.bin", policy)
            with response:
                assert response.read() == BODY
            assert calls == [("media.test", allowed.port)]
            assert response.peer == ("127.0.0.2", allowed.port)
            record = allowed.requests[-1]
            assert record.local_address == ("127.0.0.2", allowed.port)
            assert record.host_header == f"media.test:{allowed.port}"
            assert other.requests == []
        finally:
            other.stop()


def test_system_resolution_is_used_once_and_the_peer_is_the_checked_address(media_server):
    target = checked_target(media_server.url("body.bin", host="localhost"), LOCAL)
    _, response = open_stream(media_server.url("body.bin", host="localhost"), LOCAL)
    with response:
        response.read()
    assert response.peer[0] in target.addresses
    assert media_server.requests[-1].local_address == response.peer
    assert media_server.requests[-1].host_header == f"localhost:{media_server.port}"


def test_unreachable_first_address_falls_back_to_the_next_checked_one(media_server):
    policy = dataclasses.replace(LOCAL, allow_hosts=("127.0.0.0/8",),
                                 resolver=lambda host, port: ["127.0.0.3", "127.0.0.1"])
    _, response = open_stream(f"http://media.test:{media_server.port}/body.bin", policy)
    with response:
        assert response.read() == BODY
    assert response.peer == ("127.0.0.1", media_server.port)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("media.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, str(ca_file)


def test_https_to_a_pinned_address_keeps_sni_and_certificate_checks(served, tls):
    context, ca_file = tls
    with MediaServer(served, ssl_context=context) as media_server:
        policy = dataclasses.replace(LOCAL, ca_bundle=ca_file, resolver=lambda host, port: ["127.0.0.1"])
        url = f"https://media.test:{media_server.port}/body.bin"
        assert fetch_bytes(url, policy) == BODY
        assert media_server.requests[-1].sni == "media.test"
        assert media_server.requests[-1].host_header == f"media.test:{media_server.port}"

        wrong_name = refused(f"https://other.test:{media_server.port}/body.bin", policy)
        assert wrong_name.code == "fetch_tls" and not wrong_name.retryable
        untrusted = refused(url, dataclasses.replace(policy, ca_bundle=None))
        assert untrusted.code == "fetch_tls"
        assert len(media_server.requests) == 1           # failed handshakes never sent a request


def test_ipv6_loopback_when_allowed(served):
    try:
        media_server = MediaServer(served, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert refused(media_server.url("body.bin"), LOCAL).code == "fetch_forbidden"
        policy = dataclasses.replace(LOCAL, allow_hosts=("::1",))
        _, response = open_stream(media_server.url("body.bin"), policy)
        with response:
            assert response.read() == BODY
        assert response.peer == ("::1", media_server.port)
        assert media_server.requests[-1].host_header == f"[::1]:{media_server.port}"
    finally:
        media_server.stop()


def test_unfollowable_3xx_is_an_error(media_server):
    error = refused(media_server.url("status/304"), LOCAL)
    assert (error.code, error.status) == ("fetch_http_status", 304)


# -- size caps ---------------------------------------------------------------------------------

def test_body_over_the_cap_is_stopped_while_streaming(media_server):
    small = dataclasses.replace(LOCAL, max_bytes=1000)
    for path in ("bytes/5000?nolength=1", "lie/body.bin?length=none"):
        error = refused(media_server.url(path), small)
        assert error.code == "fetch_too_large" and not error.retryable
    assert media_server.hits("/bytes/5000") == 1


def test_content_length_over_the_cap_is_refused_before_reading(media_server):
    small = dataclasses.replace(LOCAL, max_bytes=1000)
    started = time.monotonic()
    # the slow endpoint would need ~50 s to send its body; the refusal must not wait for it
    error = refused(media_server.url("slow/body.bin?chunk=100&interval=1"), small)
    assert error.code == "fetch_too_large"
    assert time.monotonic() - started < 2


def test_content_length_smaller_than_the_body_yields_only_the_announced_bytes(media_server):
    assert fetch_bytes(media_server.url("lie/body.bin?length=100"), LOCAL) == BODY[:100]
    capped = dataclasses.replace(LOCAL, max_bytes=1000)
    assert fetch_bytes(media_server.url("lie/body.bin?length=900"), capped) == BODY[:900]


def test_content_length_larger_than_the_body_is_an_incomplete_download(media_server):
    error = refused(media_server.url("lie/body.bin?length=9000"), LOCAL)
    assert error.code == "fetch_incomplete" and error.retryable
    assert media_server.hits("/lie/body.bin") == LOCAL.attempts


def test_default_cap_is_two_gib():
    assert FetchPolicy().max_bytes == 2 * 1024 ** 3


# -- time limits ---------------------------------------------------------------------------------

def test_a_trickling_server_is_stopped_by_the_deadline(media_server):
    policy = dataclasses.replace(LOCAL, deadline=1.0, read_timeout=30)
    started = time.monotonic()
    error = refused(media_server.url("slow/body.bin?chunk=10&interval=0.05"), policy)
    elapsed = time.monotonic() - started
    assert error.code == "fetch_timeout" and not error.retryable
    assert 0.9 < elapsed < 1.6


def test_a_stalled_server_hits_the_read_timeout_and_is_retried(media_server):
    policy = dataclasses.replace(LOCAL, read_timeout=0.3, deadline=10, attempts=2)
    started = time.monotonic()
    error = refused(media_server.url("slow/body.bin?chunk=1&interval=5"), policy)
    assert error.code == "fetch_timeout" and error.retryable
    assert time.monotonic() - started < 2.5
    assert media_server.hits("/slow/body.bin") == 2


def test_deadline_bounds_retries_and_backoff(media_server):
    policy = dataclasses.replace(LOCAL, attempts=10, backoff=0.4, max_backoff=5, deadline=1.0)
    started = time.monotonic()
    error = refused(media_server.url("status/503"), policy)
    assert error.code == "fetch_http_status" and error.status == 503
    assert time.monotonic() - started < 1.2


# -- retries ---------------------------------------------------------------------------------

def test_flaky_server_succeeds_within_the_attempts(media_server):
    assert fetch_bytes(media_server.url("flaky/body.bin?fail=2&key=ok"), LOCAL) == BODY
    assert media_server.hits("/flaky/body.bin") == 3


def test_flaky_server_beyond_the_attempts_fails_with_its_status(media_server):
    error = refused(media_server.url("flaky/body.bin?fail=5&key=bad"), LOCAL)
    assert (error.code, error.status, error.retryable) == ("fetch_http_status", 503, True)
    assert media_server.hits("/flaky/body.bin") == LOCAL.attempts


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_client_errors_are_not_retried(media_server, status):
    error = refused(media_server.url(f"status/{status}"), LOCAL)
    assert (error.code, error.status, error.retryable) == ("fetch_http_status", status, False)
    assert media_server.hits(f"/status/{status}") == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(media_server, status):
    error = refused(media_server.url(f"status/{status}?retry_after=0"), LOCAL)
    assert error.retryable and media_server.hits(f"/status/{status}") == LOCAL.attempts


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # bound, not listening: connections are refused
        policy = dataclasses.replace(LOCAL, backoff=0.1)
        started = time.monotonic()
        error = refused(f"http://127.0.0.1:{port}/a.mp4", policy)
    assert error.code == "fetch_connect" and error.retryable
    assert time.monotonic() - started >= 0.1 + 0.2 - 0.05      # two backoff waits: three attempts


def test_error_messages_never_contain_the_body(media_server):
    for status in (403, 500):
        error = refused(media_server.url(f"status/{status}"), LOCAL)
        assert "SECRET" not in str(error) and str(status) in str(error)


# -- the API ---------------------------------------------------------------------------------

def test_download_to_writes_the_file_with_hash_and_type(media_server, served, tmp_path):
    dest = tmp_path / "out.bin"
    got = download_to(media_server.url("flaky/body.bin?fail=1&key=dl"), str(dest), LOCAL)
    assert dest.read_bytes() == BODY
    assert got.size == len(BODY) and got.sha256 == hashlib.sha256(BODY).hexdigest()
    assert got.content_type == "application/octet-stream" and got.peer[0] == "127.0.0.1"


def test_paths_with_spaces_and_unicode_are_encoded(media_server):
    assert fetch_bytes(media_server.url("name with space é.txt"), LOCAL) == b"spaced"
    raw = f"http://127.0.0.1:{media_server.port}/name with space é.txt"
    assert fetch_bytes(raw, LOCAL) == b"spaced"


def test_keep_alive_connections_are_reused_and_parallel_fetches_work(media_server):
    results = []

    def work():
        for _ in range(5):
            results.append(fetch_bytes(media_server.url("body.bin"), LOCAL))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [BODY] * 40
    clients = {r.client_address for r in media_server.requests}
    assert len(clients) < 40                       # pooled connections served several requests


def test_policy_from_settings(tmp_path):
    from helpers import make_settings
    settings = make_settings(tmp_path, fetch_allow_hosts=["127.0.0.1", "10.0.0.0/8"], max_download_bytes=1234,
                             download_deadline_seconds=42)
    policy = policy_from(settings)
    assert (policy.allow_hosts, policy.max_bytes, policy.deadline) == (("127.0.0.1", "10.0.0.0/8"), 1234, 42)
    assert policy_from(settings, max_bytes=10, deadline=3.0).max_bytes == 10


def test_fetch_error_pickles_with_its_fields():
    import pickle
    error = pickle.loads(pickle.dumps(FetchError("boom", "fetch_http_status", retryable=True, status=503)))
    assert (str(error), error.code, error.retryable, error.status) == ("boom", "fetch_http_status", True, 503)
