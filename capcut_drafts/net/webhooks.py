"""One webhook attempt: a signed JSON POST through the fetcher (capcut_drafts/net/fetcher.py), so a
callback URL obeys the media URLs' rules: http(s) only, resolved once, private and loopback
addresses refused unless `fetch_allow_hosts` allows them, the checked address connected to.

* headers: `Content-Type: application/json`, `X-Webhook-Id` (the same on every attempt of one
  delivery: the receiver's idempotency key), `X-Webhook-Attempt` (1, 2, …) and, with a secret,
  `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + the body bytes, keyed by the secret>`;
* no redirect is followed: a 3xx is a failed attempt that is not retried (send the final URL);
* time: connect within `CONNECT_SECONDS`, the whole attempt within the policy's deadline;
* at most `RESPONSE_LIMIT` bytes of the answer are read, then the connection is closed; its
  content is never kept or shown (the URL may be an allowed internal host);
* the outcome: delivered on 2xx; worth a retry on network errors, timeouts, 408, 429 and 5xx
  (the fetcher's RETRY_STATUSES); final otherwise (refused address, bad certificate, other statuses).
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
from dataclasses import dataclass

from capcut_drafts.errors import ErrorCode
from capcut_drafts.net.fetcher import RETRY_STATUSES, FetchError, FetchPolicy, Response, post_once

CONNECT_SECONDS = 3.0
RESPONSE_LIMIT = 4096


@dataclass(frozen=True)
class Attempt:
    """What one POST came to: `delivered`, or `error` ("<code>: <reason>") and whether to `retry`."""
    delivered: bool
    retry: bool = False
    error: str = ""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Signature value: `t=<timestamp>,v1=<hex HMAC-SHA256 over "<timestamp>." + body>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def headers(webhook_id: str, attempt: int, body: bytes, secret: str, now: int) -> dict[str, str]:
    """The headers of attempt `attempt`; signed at `now` when there is a secret."""
    sent = {"Content-Type": "application/json", "X-Webhook-Id": webhook_id, "X-Webhook-Attempt": str(attempt)}
    if secret:
        sent["X-Signature"] = signature(secret, now, body)
    return sent


def policy(base: FetchPolicy, seconds: float) -> FetchPolicy:
    """`base` (the service's address rules) with a webhook's limits: `seconds` for the whole attempt."""
    return dataclasses.replace(base, max_bytes=RESPONSE_LIMIT, connect_timeout=min(CONNECT_SECONDS, seconds),
                               read_timeout=seconds, deadline=seconds, attempts=1, max_redirects=0)


def send(url: str, body: bytes, sent: dict[str, str], rules: FetchPolicy) -> Attempt:
    """POST `body` to `url` once under `rules` (see `policy`)."""
    try:
        response = post_once(url, body, sent, rules)
    except FetchError as exc:
        return Attempt(False, exc.retryable, f"{exc.code.value}: {exc}")
    with response:
        _drain(response)
    status = response.status
    if 200 <= status < 300:
        return Attempt(True)
    if 300 <= status < 400:
        return Attempt(False, False, f"{ErrorCode.FETCH_HTTP_STATUS.value}: the receiver answered HTTP {status}; "
                                     "redirects are not followed, use the final URL")
    return Attempt(False, status in RETRY_STATUSES,
                   f"{ErrorCode.FETCH_HTTP_STATUS.value}: the receiver answered HTTP {status}")


def _drain(response: Response) -> None:
    """Read at most RESPONSE_LIMIT bytes of the answer (the status decides; a slow body does not)."""
    read = 0
    try:
        for chunk in response.iter_content(RESPONSE_LIMIT):
            read += len(chunk)
            if read >= RESPONSE_LIMIT:
                return
    except FetchError:
        return
