"""Run one route without Flask: the request body in, the `{success, output, error}` envelope out.

The HTTP app and the MCP server (`mcp_server.py`) both answer through these functions, so a
route behaves the same whichever way it is called:

* `run_route(ctx, path, body)` — a POST route of `registry.ROUTES` (`"/add_video"`, …);
* `run_listing(settings, path, profile)` — a catalogue route of `catalog.ROUTES`
  (`"/get_transition_types"`, …).

Both return `(envelope, http_status)`. The status is 200 unless the `http_error_status`
setting asks for the error's own 4xx/5xx, exactly as the HTTP app answers.

Envelope rules (the HTTP app's): failures carry `output: ""`, a message and a stable `code`;
a service that adjusted something answers a `Reply` whose notes go to a `warnings` list.
Messages of a route's own failures are wrapped in its upstream template (`Error occurred while
processing video: …`), except "missing parameter" messages, which upstream sends bare. A body
that is not a JSON object and an unavailable store are reported without the template.
"""
from __future__ import annotations

import logging
from typing import IO, TYPE_CHECKING, Any

from capcut_drafts.api import registry
from capcut_drafts.editing.pipeline import run_edit
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, profiles
from capcut_drafts.routes.drafts import unknown_draft
from capcut_drafts.routes.schema import Reply
from capcut_drafts.settings import Settings
from capcut_drafts.store import DraftNotFound, StoreUnavailable

if TYPE_CHECKING:                 # annotations only: capcut_drafts.context imports the save job
    from capcut_drafts.context import Context

log = logging.getLogger("capcut.dispatch")

__all__ = ["envelope_body", "error_body", "run_route", "run_listing"]


def envelope_body(output: Any = "", error: str = "", code: str | None = None, **extra: Any) -> dict:
    """The reply object: `success` is true exactly when there is no error; `output` is "" on failure."""
    body = {"success": not error, "output": output if not error else "", "error": error, **extra}
    if code:
        body["code"] = code
    return body


def error_body(settings: Settings, exc: ApiError, template: str = "{}") -> tuple[dict, int]:
    """A handled failure: the message in the route's template (missing parameters stay bare)."""
    message = exc.message if exc.code == ErrorCode.MISSING_PARAMETER else template.format(exc.message)
    status = exc.http_status if settings.http_error_status else 200
    return envelope_body(error=message, code=exc.code, **exc.details), status


def run_route(ctx: Context, path: str, body: Any, upload: IO[bytes] | None = None) -> tuple[dict, int]:
    """Validate `body` with the route's request model, run its service, answer the envelope.

    `path` is a key of `registry.BY_PATH` (KeyError otherwise); `body` is the decoded JSON body, or
    the form fields of an `upload` (the file of a multipart request to a route that takes one).
    Never raises for anything the client sent or the service hit: unexpected exceptions become
    the `internal_error` envelope the HTTP app's crash handler answers.
    """
    route = registry.route(path)
    model, template = route.model, route.error_template
    settings = ctx.settings
    if not isinstance(body, dict):
        return error_body(settings, ApiError(f"The request body must be a JSON object, not {type(body).__name__}.",
                                             code=ErrorCode.MALFORMED_JSON, http_status=400))
    try:
        if upload is not None and route.upload is not None:
            output = route.upload(ctx, body, upload)
        else:
            req = model.parse(body)
            output = run_edit(ctx, path, route.plan, req) if route.plan else route.call(ctx, req)
    except ApiError as exc:
        return error_body(settings, exc, template)
    except DraftNotFound as exc:       # vanished between the route's check and its write
        return error_body(settings, unknown_draft(exc.draft_id), template)
    except StoreUnavailable as exc:
        log.error("store unavailable: %s", exc)
        return error_body(settings, ApiError(f"The draft store is unavailable, try again shortly ({exc}).",
                                             code=ErrorCode.STORE_UNAVAILABLE, http_status=503))
    except Exception as exc:      # noqa: BLE001 — the same reply as the HTTP app's crash handler
        log.exception("unhandled error on %s", path)
        return (envelope_body(error=f"Internal error while handling {path}: {type(exc).__name__}. "
                                    "The draft was not changed; please report this.", code=ErrorCode.INTERNAL_ERROR),
                500 if settings.http_error_status else 200)
    if isinstance(output, Reply) and output.warnings:
        return envelope_body(output.output, warnings=output.warnings), 200
    if isinstance(output, Reply):
        return envelope_body(output.output), 200
    return envelope_body(output), 200


def run_listing(settings: Settings, path: str, profile: str | None = None,
                label: str = "query parameter") -> tuple[dict, int]:
    """A catalogue route (`catalog.ROUTES` key) for `profile` (default: the settings' profile).

    `label` names where `profile` came from in the error message ("query parameter" over HTTP).
    """
    category = catalog.ROUTES[path]
    chosen = profile or settings.profile
    try:
        return envelope_body(catalog.listing(profiles.resolve(chosen).app, category)), 200
    except ValueError as exc:
        return error_body(settings, ApiError(f"Invalid {label} 'profile': {exc}.", code=ErrorCode.UNKNOWN_NAME))
