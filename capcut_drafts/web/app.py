"""The HTTP service: `create_app(settings)` builds the Flask app with upstream CapCutAPI's routes.

One view per POST route of `capcut_drafts/api/registry.py` and per catalogue route of
`capcut_drafts/model/catalog.py`; each runs the route through `capcut_drafts/api/dispatch.py`,
as the MCP server does.

Every reply is the envelope `{success, output, error}` (plus `code` on failures and
`warnings` where something was adjusted), also for malformed JSON, wrong content types,
unknown paths and crashes. `python app.py` runs the development server; production runs
`gunicorn 'app:create_app()'`.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from flask import Flask, Response, abort, g, has_request_context, jsonify, redirect, request, stream_with_context
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.response import Response as SansioResponse
from werkzeug.wrappers import Response as WerkzeugResponse

from capcut_drafts.api import dispatch, registry
from capcut_drafts.context import build_context
from capcut_drafts.editing import manage
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.export.document import build
from capcut_drafts.interchange import service as interchange
from capcut_drafts.model import catalog
from capcut_drafts.model.timeline import Draft
from capcut_drafts.routes import schema
from capcut_drafts.save import delivery, relocate
from capcut_drafts.save.tasks import Task, TaskBook
from capcut_drafts.settings import Settings, load_settings
from capcut_drafts.store import DraftNotFound
from capcut_drafts.web import render_routes, surface

log = logging.getLogger("capcut.app")


def envelope(output: Any = "", error: str = "", code: str | None = None, status: int = 200,
             **extra: Any) -> tuple[Response, int]:
    return jsonify(dispatch.envelope_body(output, error, code, **extra)), status


class _JSONProvider(DefaultJSONProvider):
    """Replies as Flask writes them (sorted keys, UTF-8 as is), written by orjson."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()

    def response(self, *args: Any, **kwargs: Any) -> SansioResponse:
        """jsonify: an envelope is also kept on `g`, so the request's log line and metrics read its
        outcome without parsing the reply again (web/surface.py)."""
        if len(args) == 1 and isinstance(args[0], dict) and "success" in args[0] and has_request_context():
            g.envelope = args[0]
        return super().response(*args, **kwargs)


_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")        # the draft ids whose folders may be served


def query_value(raw: bytes, name: str) -> str | None:
    """The first `name` parameter of the raw query string, decoded as strict UTF-8 (Werkzeug leaves
    an escape that is not UTF-8, such as an encoded surrogate or %FF, in the text as it came, where
    it would pass for part of a folder name). None when absent; ValueError when not UTF-8."""
    for pair in raw.split(b"&"):
        key, _, value = pair.partition(b"=")
        if unquote_to_bytes(key.replace(b"+", b" ")) != name.encode():
            continue
        try:
            return unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"Invalid {name}: it is not valid UTF-8 (a surrogate or a stray byte); "
                             "percent-encode the path's UTF-8 bytes.") from None
    return None


def _safe_id(draft_id: str) -> str:
    if not _ID.fullmatch(draft_id):
        abort(404)
    return draft_id


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    surface.guards.install_request_id_logging()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    app = Flask(__name__)
    app.json = _JSONProvider(app)
    ctx = build_context(settings)
    ctx.base_url = lambda: surface.guards.link_base(settings)     # never an unlisted Host header
    app.extensions["capcut"] = ctx
    if settings.draft_retention_days > 0:
        app.extensions["capcut_retention"] = manage.RetentionSweeper(ctx).start()

    def body_object() -> dict[str, Any]:
        if not request.is_json:
            raise ApiError("Send the body as JSON with the header 'Content-Type: application/json'.",
                           code=ErrorCode.UNSUPPORTED_MEDIA_TYPE, http_status=415)
        try:
            raw = request.get_data(cache=False)
        except OSError:                 # the server's read timeout: the client stopped sending
            raise ApiError("The request body did not arrive in time; send the whole body at once.",
                           code=ErrorCode.REQUEST_TIMEOUT, http_status=408) from None
        if request.content_length is None and len(raw) >= settings.max_body_bytes:
            abort(413)                  # a chunked body: Werkzeug stops reading at the limit
        try:
            data = json.loads(raw or b"")
        except ValueError:
            raise ApiError("The request body is not valid JSON; send a JSON object such as "
                           "{\"draft_id\": \"...\"}.", code=ErrorCode.MALFORMED_JSON, http_status=400) from None
        except RecursionError:          # nesting deeper than the parser's recursion limit
            raise schema.too_deep() from None
        if not isinstance(data, dict):
            raise ApiError(f"The request body must be a JSON object, not {type(data).__name__}.",
                           code=ErrorCode.MALFORMED_JSON, http_status=400)
        return data

    def make_post(path: str) -> Callable[[], tuple[Response, int]]:
        takes_upload = registry.route(path).upload is not None

        def view() -> tuple[Response, int]:
            if takes_upload and request.mimetype == "multipart/form-data":
                reply, status = upload_reply(path)
                return jsonify(reply), status
            try:
                body = body_object()
            except ApiError as exc:
                reply, status = dispatch.error_body(settings, exc)
            else:
                reply, status = dispatch.run_route(ctx, path, body)
            return jsonify(reply), status
        return view

    def upload_reply(path: str) -> tuple[dict, int]:
        """A multipart request: its text fields are the body, its `file` field the upload."""
        try:
            upload = request.files.get("file")
            fields = request.form.to_dict()
        except OSError:                 # the server's read timeout: the client stopped sending
            upload, fields = None, {}
        if upload is None:
            return dispatch.error_body(settings, ApiError(
                "Send the zip in the multipart form field 'file' (curl -F file=@draft.zip), or a JSON body "
                "with draft_zip_url.", code=ErrorCode.MISSING_PARAMETER))
        return dispatch.run_route(ctx, path, fields, upload=upload.stream)

    for route in registry.ROUTES:
        app.add_url_rule(route.path, route.name, make_post(route.path), methods=["POST"])

    def make_listing(path: str) -> Callable[[], tuple[Response, int]]:
        def view() -> tuple[Response, int]:
            reply, status = dispatch.run_listing(settings, path, request.args.get("profile"))
            return jsonify(reply), status
        return view

    for path in catalog.ROUTES:
        app.add_url_rule(path, path.strip("/"), make_listing(path), methods=["GET"])

    def saved_folder(draft_id: str) -> Path:
        """The saved folder of a draft, or 404 (unknown id, never saved, cleaned up, or a symbolic link)."""
        folder = delivery.folder_path(settings, _safe_id(draft_id))
        if not delivery.is_saved_folder(folder):
            abort(404)
        return folder

    @app.get("/")
    def root() -> WerkzeugResponse:
        return redirect("/docs/", code=302)          # Swagger UI: every route with an example

    @app.get("/drafts")
    def drafts_list() -> tuple[Response, int]:
        """POST /list_drafts with the query string's offset, limit and name."""
        query = {key: request.args[key] for key in ("offset", "limit", "name") if key in request.args}
        reply, status = dispatch.run_route(ctx, "/list_drafts", query)
        return jsonify(reply), status

    @app.get("/drafts/<draft_id>.zip")
    def download_zip(draft_id: str) -> Response | tuple[Response, int]:
        """The saved folder as a zip; with ?draft_folder=, its paths moved into that folder."""
        folder = saved_folder(draft_id)
        try:
            relocation = relocation_for(folder)
        except ValueError as exc:
            return envelope(error=f"Invalid parameter 'draft_folder': {exc}", code=ErrorCode.INVALID_PARAMETER,
                            status=400)
        return Response(stream_with_context(delivery.stream_zip(folder, rewriter=relocation)),
                        mimetype="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{draft_id}.zip"'})

    @app.get("/drafts/<draft_id>.otio")
    def download_otio(draft_id: str) -> Response | tuple[Response, int]:
        """The draft as an OpenTimelineIO timeline file (POST /export_otio's output.otio)."""
        try:
            text = interchange.otio_file(ctx, draft_id)
        except ApiError as exc:
            return envelope(error=exc.message, code=exc.code, status=exc.http_status)
        return Response(text, mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{draft_id}.otio"'})

    def relocation_for(folder: Path) -> relocate.Relocation | None:
        """The download's ?draft_folder= as a relocation of `folder`; None when absent or empty."""
        value = query_value(request.query_string, "draft_folder")
        if value is None or not value.strip():
            return None
        return relocate.plan(delivery.read_file(folder, "draft_meta_info.json") or b"", folder.name, value)

    @app.get("/drafts/<draft_id>")
    def draft_page(draft_id: str) -> tuple[str, int, dict[str, str]]:
        html_type = {"Content-Type": "text/html; charset=utf-8"}
        known = _ID.fullmatch(draft_id) is not None
        draft = draft_view(draft_id) if known else None
        save = save_view(draft_id) if known else None
        if draft is None and save is None:
            return delivery.missing_page(draft_id), 404, html_type
        return delivery.draft_page(draft_id, draft, save), 200, html_type

    def draft_view(draft_id: str) -> delivery.DraftView | None:
        """The draft as /query_script builds it (read-only), or None when the store has no such draft."""
        def summarize(draft: Draft) -> delivery.DraftView:
            built = build(draft)
            tracks = [(str(t.get("name", "")), str(t.get("type", "")), len(t.get("segments", [])))
                      for t in built.content.get("tracks", [])]
            return delivery.DraftView(draft.profile, draft.canvas.width, draft.canvas.height,
                                      int(built.content.get("duration", 0)), tracks, built.warnings)
        try:
            return ctx.cache.read(draft_id, summarize)
        except DraftNotFound:
            return None

    def save_view(draft_id: str) -> delivery.SaveView | None:
        """The save's task record and zip link; None when there is neither a task nor a saved folder."""
        task = TaskBook(ctx.cache.store, Task).get(draft_id)
        folder = delivery.folder_path(settings, draft_id)
        saved = delivery.is_saved_folder(folder)
        if task is None and not saved:
            return None
        query = f"?{request.query_string.decode()}" if request.query_string else ""
        zip_url = f"{ctx.base_url()}/drafts/{draft_id}.zip{query}" if saved else ""
        if task is None:
            return delivery.SaveView("completed", 100, "", None, None, zip_url, delivery.folder_size(folder),
                                     served_here=True)
        if not saved and task.status == "completed" and not task.draft_url.startswith("/"):
            zip_url = task.draft_url                      # uploaded to object storage
        return delivery.SaveView(task.status, task.progress, task.message, task.finished_at or task.started_at,
                                 task.draft_folder, zip_url, delivery.folder_size(folder) if saved else None,
                                 served_here=saved)

    render_routes.install(app, ctx, body_object, _safe_id)
    surface.install(app, ctx, registry.ROUTES, envelope)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED,
                413: ErrorCode.PAYLOAD_TOO_LARGE}.get(status, ErrorCode.HTTP_ERROR)
        hint = {404: f"No route {request.path}; see GET /docs for the route list.",
                405: f"{request.method} is not allowed on {request.path}.",
                413: f"The request body is larger than {settings.max_body_bytes} bytes."}.get(status)
        return envelope(error=hint or exc.description or exc.name, code=code, status=status)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s", request.path)
        return envelope(error=f"Internal error while handling {request.path}: {type(exc).__name__}. "
                              "The draft was not changed; please report this.",
                        code=ErrorCode.INTERNAL_ERROR, status=500 if settings.http_error_status else 200)

    return app
