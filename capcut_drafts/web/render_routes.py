"""The draft's pages and media below /drafts/<id>/: the preview page, still frames, rendered MP4s,
the timeline as JSON, and the two render routes again under the draft's path; and the merge
fields of a template draft, GET /templates/<id>/fields (editing/templates.py).

Everything here sits below the draft's path, so with API keys the signed link of the draft page
opens it too (capcut_drafts/storage/local.py `link_ok`): the preview page starts renders and
polls them through `/drafts/<id>/generate_video` and `/drafts/<id>/task_status`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, jsonify, request, send_file
from werkzeug.exceptions import NotFound

from capcut_drafts.api import dispatch
from capcut_drafts.context import Context
from capcut_drafts.errors import ApiError
from capcut_drafts.export.document import build
from capcut_drafts.render.job import still, video_path
from capcut_drafts.routes.render import FrameRequest
from capcut_drafts.save import delivery
from capcut_drafts.store import DraftNotFound
from capcut_drafts.web import preview


def install(app: Flask, ctx: Context, body_object: Callable[[], dict[str, Any]],
            draft_id_ok: Callable[[str], str]) -> None:
    """The routes on `app`; `body_object` decodes a JSON body, `draft_id_ok` aborts 404 on an id
    that cannot name a draft's folder."""
    settings = ctx.settings

    def failed(exc: ApiError) -> tuple[Response, int]:
        """The envelope with the real HTTP status: these GET routes serve <img> and <video> elements,
        which need a failing status to show a broken image."""
        return jsonify(dispatch.envelope_body(error=exc.message, code=exc.code)), exc.http_status

    @app.get("/drafts/<draft_id>/frame.png")
    def frame(draft_id: str) -> Response | tuple[Response, int]:
        try:
            req = FrameRequest.parse({"draft_id": draft_id_ok(draft_id), "t": request.args.get("t"),
                                      "width": request.args.get("width")})
            png, warnings = still(ctx, req.draft_id, req.t, req.width)
        except ApiError as exc:
            return failed(exc)
        response = Response(png, mimetype="image/png")
        response.headers["Cache-Control"] = "no-store"
        if warnings:
            response.headers["X-Render-Warnings"] = str(len(warnings))
        return response

    @app.get("/drafts/<draft_id>/renders/<task_id>.mp4")
    def rendered(draft_id: str, task_id: str) -> Response:
        path = video_path(settings.data_dir, draft_id_ok(draft_id), draft_id_ok(task_id))
        if not path.is_file():
            abort(404)
        return send_file(path, mimetype="video/mp4", conditional=True, max_age=3600)   # Range requests too

    @app.post("/drafts/<draft_id>/generate_video")
    def generate(draft_id: str) -> tuple[Response, int]:
        try:
            body = body_object() if request.content_length else {}
        except ApiError as exc:
            reply, status = dispatch.error_body(settings, exc)
            return jsonify(reply), status
        reply, status = dispatch.run_route(ctx, "/generate_video", {**body, "draft_id": draft_id_ok(draft_id)})
        return jsonify(reply), status

    @app.get("/drafts/<draft_id>/timeline.json")
    def timeline_json(draft_id: str) -> tuple[Response, int]:
        reply, code = dispatch.run_route(ctx, "/get_timeline", {"draft_id": draft_id_ok(draft_id)})
        return jsonify(reply), code

    @app.get("/templates/<template_draft_id>/fields")
    def template_fields_get(template_draft_id: str) -> tuple[Response, int]:
        reply, code = dispatch.run_route(ctx, "/template_fields", {"template_draft_id": template_draft_id})
        return jsonify(reply), code

    @app.get("/drafts/<draft_id>/task_status")
    def status(draft_id: str) -> tuple[Response, int]:
        reply, code = dispatch.run_route(ctx, "/task_status", {"task_id": request.args.get("task_id", "")})
        output = reply.get("output")
        if isinstance(output, dict) and output.get("draft_id") != draft_id:
            abort(404)                          # a draft's link opens only that draft's renders
        return jsonify(reply), code

    @app.get("/drafts/<draft_id>/preview")
    def preview_page(draft_id: str) -> tuple[str, int, dict[str, str]]:
        html_type = {"Content-Type": "text/html; charset=utf-8"}
        try:
            _, draft = ctx.cache.versioned_copy(draft_id_ok(draft_id))
        except (DraftNotFound, NotFound):        # NotFound: an id that cannot name a draft
            return delivery.missing_page(draft_id), 404, html_type
        saved = delivery.is_saved_folder(delivery.folder_path(settings, draft_id))
        query = f"?{request.query_string.decode()}" if request.query_string else ""
        zip_url = f"{ctx.base_url()}/drafts/{draft_id}.zip{query}" if saved else ""
        view = preview.preview_view(draft, zip_url, build(draft).warnings)
        return preview.preview_page(draft_id, view, query), 200, html_type
