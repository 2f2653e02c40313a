"""The doors around the routes: request ids and access log, API keys, rate limit, CORS, body
size, health and readiness, Prometheus metrics, the OpenAPI document and offline Swagger UI."""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence

from flask import Flask, Response, g, jsonify, request
from flask_cors import CORS
from flask_swagger_ui import get_swaggerui_blueprint

from capcut_drafts import metrics
from capcut_drafts.api.registry import Route
from capcut_drafts.context import Context
from capcut_drafts.errors import ErrorCode
from capcut_drafts.model import catalog
from capcut_drafts.save import delivery
from capcut_drafts.store.redis import RedisStore
from capcut_drafts.web import guards
from capcut_drafts.web.openapi import build_document

log = logging.getLogger("capcut.http")
VERSION = "1.0.0"

Envelope = Callable[..., tuple[Response, int]]
"""`web.app.envelope`: (output, error, code, status, **extra) -> (JSON reply, status)."""


def _deny(envelope: Envelope, status: int, code: ErrorCode, message: str, **headers: str) -> Response:
    body, _ = envelope(error=message, code=code, status=status)
    body.status_code = status
    body.headers.update(headers)
    return body


def install(app: Flask, ctx: Context, routes: Sequence[Route], envelope: Envelope) -> None:
    """The doors on `app`; `routes` (the registry's POST routes) go into the OpenAPI document."""
    settings = ctx.settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    if settings.cors_origins:
        CORS(app, origins=settings.cors_origins, allow_headers=["Content-Type", "Authorization", "X-API-Key",
                                                                "X-Request-ID"], expose_headers=["X-Request-ID"])
    store = ctx.cache.store       # with drafts in Redis, the limit is shared there by every host
    limiter = guards.RateLimiter(settings.rate_limit_per_minute,
                                 redis_client=store.client if isinstance(store, RedisStore) else None)
    guards.install_request_id_logging()
    if guards.listens_beyond_loopback(settings.host) and not settings.api_keys:
        log.warning("listening on %s without api_keys: anyone who can reach this port can use the API",
                    settings.host)
    if not settings.public_base_url and not guards.listen_base(settings):
        log.warning("listening on %s without public_base_url: download links are root-relative (/drafts/…) "
                    "except for hosts in trusted_hosts; set public_base_url to the address clients use",
                    settings.host)

    @app.before_request
    def before() -> Response | None:
        g.started = time.perf_counter()
        guards.assign_request_id()
        if guards.is_open_path(request.path) or request.method == "OPTIONS":
            return None
        identity = request.remote_addr or "-"
        if settings.api_keys and guards.signed_link_ok(settings.api_keys):
            identity = f"link:{request.path}"
        elif settings.api_keys:
            key = guards.check_key(settings.api_keys)
            if key is None and guards.is_page(request.path):
                return Response(delivery.locked_page(), 401, {"Content-Type": "text/html; charset=utf-8",
                                                              "WWW-Authenticate": "Bearer"})
            if key is None:
                return _deny(envelope, 401, ErrorCode.UNAUTHORIZED, "Missing or wrong API key: send "
                             "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
                             **{"WWW-Authenticate": "Bearer"})
            identity = key
        wait = limiter.hit(identity)
        if wait:
            return _deny(envelope, 429, ErrorCode.RATE_LIMITED, f"Too many requests; retry in {wait} s.",
                         **{"Retry-After": str(wait)})
        return None

    @app.after_request
    def after(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        body = g.pop("envelope", None) or _envelope_of(response)
        outcome = str(response.status_code)
        if body is not None and response.status_code == 200:
            outcome = "success" if body.get("success") else "error"
        metrics.request_done(rule, outcome, elapsed)
        code = body.get("code") if body is not None and body.get("success") is False else None
        log.info("%s %s %s %.1fms%s", request.method, request.path, response.status_code, elapsed * 1000,
                 f" code={code}" if code else "")
        return response

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return envelope({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        problems = readiness_problems(ctx)
        if problems:
            return envelope(error="Not ready: " + "; ".join(problems), code=ErrorCode.NOT_READY, status=503,
                            checks=problems)
        return envelope({"status": "ready"})

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE_LATEST)

    @functools.cache
    def document() -> dict:
        """Built on first use, not at every worker's start (about 0.1 s of CPU)."""
        return build_document(routes, catalog.ROUTES, VERSION, secured=bool(settings.api_keys))

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(document())

    app.register_blueprint(get_swaggerui_blueprint("/docs", "/openapi.json",
                                                   config={"app_name": "CapCut draft service",
                                                           "validatorUrl": None}))


def _envelope_of(response: Response) -> dict | None:
    """The JSON object a reply carries (an envelope, for the API's replies), or None."""
    body = response.get_json(silent=True) if response.is_json else None
    return body if isinstance(body, dict) else None


def readiness_problems(ctx: Context) -> list[str]:
    """Each dependency checked; an empty list means ready."""
    problems = []
    checks: list[tuple[str, Callable[[], None]]] = [("store", ctx.cache.store.ping)]
    if ctx.runner is not None:                  # a job worker's context has none
        checks.append(("job runner", ctx.runner.ping))
    checks.append(("storage", ctx.publisher_ping))
    for name, check in checks:
        try:
            check()
        except Exception as exc:        # noqa: BLE001 — report any failure as a reason
            problems.append(f"{name}: {exc}")
    return problems
