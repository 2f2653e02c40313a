"""The OpenAPI 3.1 document, generated from the route registry (one source of truth): each POST
route's request schema (every parameter described, `capcut_drafts/api/params.py`), summary and
worked example come from its `Route`; the GET routes the service also serves (catalogues,
download page and zip, health, metrics) are listed here."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from capcut_drafts.api import params
from capcut_drafts.api.registry import Route

ENVELOPE = {
    "type": "object",
    "required": ["success", "output", "error"],
    "properties": {
        "success": {"type": "boolean"},
        "output": {"description": "route-specific result; \"\" on failure"},
        "error": {"type": "string", "description": "what is wrong and how to fix it; \"\" on success"},
        "code": {"type": "string", "description": "stable machine-readable error code (failures only)"},
        "warnings": {"type": "array", "items": {"type": "string"},
                     "description": "what was adjusted or left out (present when there is something to say)"},
    },
}
ENVELOPE_PATH = "#/components/schemas/Envelope"
_ENVELOPE_REPLY = {"content": {"application/json": {"schema": {"$ref": ENVELOPE_PATH}}}}
_DRAFT_ID = {"name": "draft_id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The draft's id (output.draft_id of create_draft)."}
_SIGNATURE = [
    {"name": "expires", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Signed links only: expiry (unix seconds), as in the link the save returned."},
    {"name": "sig", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Signed links only: the signature; with api_keys set, a signed link needs no key."},
]


def build_document(routes: Iterable[Route], catalogue_routes: Mapping[str, str], version: str,
                   secured: bool = False) -> dict[str, Any]:
    """The document for these POST routes (`registry.ROUTES`) and catalogue routes (`catalog.ROUTES`).
    `secured` (the service has `api_keys`) marks the routes that need a key."""
    routes = list(routes)
    paths: dict[str, Any] = {route.path: {"post": _post(route)} for route in routes}
    for path, category in catalogue_routes.items():
        paths[path] = {"get": _catalogue(path, category)}
    paths.update(_operations_routes())
    render = next((route for route in routes if route.path == "/generate_video"), None)
    if render is not None:
        paths["/drafts/{draft_id}/generate_video"] = _draft_render(render)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "CapCut / JianYing draft service", "version": version,
                 "description": "Drop-in replacement for the CapCutAPI HTTP routes. Every reply is "
                                "{success, output, error} (+ code on failures, warnings when something was "
                                "adjusted). Times are seconds."},
        "paths": paths,
        "components": {"schemas": {"Envelope": ENVELOPE}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
    }
    if secured:
        document["security"] = [{"bearer": []}, {"apiKey": []}]
    return document


def _post(route: Route) -> dict[str, Any]:
    return {
        "operationId": route.name,
        "summary": route.summary,
        "description": f"{route.description}\n\nRequired: {params.required_text(route.model)}. "
                       "null means the default; unknown keys are ignored.",
        "tags": ["drafts"],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": params.documented_schema(route),
            "example": copy.deepcopy(dict(route.example))}, **(_upload(route) if route.upload else {})}},
        "responses": {"200": {"description": "the envelope (also for handled errors)", **_ENVELOPE_REPLY}},
    }


def _upload(route: Route) -> dict[str, Any]:
    """The multipart form a route that takes an upload also accepts: the file, and the JSON
    body's other parameters as text fields."""
    schema = params.documented_schema(route)
    fields = {name: spec for name, spec in schema["properties"].items() if not name.endswith("_url")}
    return {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": "The zip to import."},
                       **fields}}}}


def _catalogue(path: str, category: str) -> dict[str, Any]:
    return {
        "operationId": path.strip("/"),
        "summary": f"Names accepted for {category.replace('_', ' ')} parameters",
        "tags": ["catalogue"],
        "parameters": [{"name": "profile", "in": "query", "required": False,
                        "description": "capcut, capcut_legacy, jianying or jianying_pro_10 (default: the "
                                       "service's profile)", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "output: a list of {name, ...}", **_ENVELOPE_REPLY}},
    }


def _query(name: str, kind: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": description}


def _draft_render(route: Route) -> dict[str, Any]:
    """POST /drafts/{draft_id}/generate_video: /generate_video with the draft id in the path."""
    schema = params.documented_schema(route)
    schema["properties"].pop("draft_id", None)
    schema.pop("required", None)
    return {"post": {
        "operationId": "draft_generate_video", "summary": "/generate_video under the draft's path (the preview "
                                                          "page's Render button)",
        "tags": ["preview"], "parameters": [_DRAFT_ID, *_SIGNATURE],
        "requestBody": {"required": False, "content": {"application/json": {"schema": schema}}},
        "responses": {"200": {"description": "the envelope of /generate_video", **_ENVELOPE_REPLY},
                      "404": {"description": "an id that cannot name a draft", **_ENVELOPE_REPLY}}}}


def _operations_routes() -> dict[str, Any]:
    """The GET routes beside the API: health, metrics, the draft list, the draft page and the zip download."""
    def get(operation_id: str, summary: str, responses: dict[str, Any], *, open_: bool = False,
            parameters: list[dict[str, Any]] | None = None, tag: str = "operations") -> dict[str, Any]:
        operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag],
                                     "responses": responses}
        if parameters:
            operation["parameters"] = parameters
        if open_:
            operation["security"] = []
        return {"get": operation}

    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "/healthz": get("healthz", "The process is alive", {"200": {"description": "alive", **_ENVELOPE_REPLY}},
                        open_=True),
        "/readyz": get("readyz", "Store, job runner and storage are reachable",
                       {"200": {"description": "ready", **_ENVELOPE_REPLY},
                        "503": {"description": "not ready; output.checks says what failed", **_ENVELOPE_REPLY}},
                       open_=True),
        "/metrics": get("metrics", "Prometheus metrics (requests, latency, saves, jobs, store)",
                        {"200": {"description": "Prometheus text exposition format",
                                 "content": {"text/plain": {"schema": {"type": "string"}}}}}),
        "/drafts": get(
            "drafts", "The drafts, most recently changed first: POST /list_drafts with a query string",
            {"200": {"description": "the envelope of /list_drafts", **_ENVELOPE_REPLY}},
            parameters=[_query("offset", "integer", "Drafts to skip (default 0)."),
                        _query("limit", "integer", "Drafts per page, 1-500 (default 50)."),
                        _query("name", "string", "Only drafts whose name contains this, ignoring case.")],
            tag="drafts"),
        "/drafts/{draft_id}": get(
            "draft_page", "The draft's page: what it holds, the save state, the zip link, install steps",
            {"200": {"description": "the page", **html}, "404": {"description": "no such draft", **html}},
            parameters=[_DRAFT_ID, *_SIGNATURE], tag="downloads"),
        "/drafts/{draft_id}/preview": get(
            "draft_preview", "The preview page: the timeline, frame thumbnails, a Render button and the video",
            {"200": {"description": "the page", **html}, "404": {"description": "no such draft", **html}},
            parameters=[_DRAFT_ID, *_SIGNATURE], tag="preview"),
        "/drafts/{draft_id}/frame.png": get(
            "draft_frame", "One frame of the draft as it is now, rendered here",
            {"200": {"description": "the frame", "content": {"image/png": {
                "schema": {"type": "string", "contentMediaType": "image/png"}}}},
             "400": {"description": "bad t or width", **_ENVELOPE_REPLY},
             "404": {"description": "no such draft", **_ENVELOPE_REPLY},
             "422": {"description": "nothing to show", **_ENVELOPE_REPLY},
             "502": {"description": "a media file could not be used", **_ENVELOPE_REPLY}},
            parameters=[_DRAFT_ID, _query("t", "number", "Seconds on the timeline (default 0)."),
                        _query("width", "integer", "Width in pixels, 16-4096 (default 640)."), *_SIGNATURE],
            tag="preview"),
        "/drafts/{draft_id}/renders/{task_id}.mp4": get(
            "draft_render", "A finished render (output.result of /task_status); answers Range requests",
            {"200": {"description": "the MP4", "content": {"video/mp4": {
                "schema": {"type": "string", "contentMediaType": "video/mp4"}}}},
             "404": {"description": "no such render (or it was cleaned up)", **_ENVELOPE_REPLY}},
            parameters=[_DRAFT_ID, {**_DRAFT_ID, "name": "task_id", "description": "The render's task id."},
                        *_SIGNATURE], tag="preview"),
        "/drafts/{draft_id}/timeline.json": get(
            "draft_timeline", "The draft as a timeline in seconds (the envelope of /get_timeline)",
            {"200": {"description": "the envelope of /get_timeline", **_ENVELOPE_REPLY}},
            parameters=[_DRAFT_ID, *_SIGNATURE], tag="drafts"),
        "/drafts/{draft_id}.otio": get(
            "draft_otio", "The draft as an OpenTimelineIO timeline file (POST /export_otio's output.otio)",
            {"200": {"description": "the .otio JSON", "content": {"application/json": {"schema": {"type": "object"}}}},
             "400": {"description": "draft_id is malformed (invalid_parameter)", **_ENVELOPE_REPLY},
             "404": {"description": "no such draft (draft_not_found)", **_ENVELOPE_REPLY}},
            parameters=[_DRAFT_ID], tag="drafts"),
        "/templates/{template_draft_id}/fields": get(
            "template_fields_get", "The merge fields of a template draft (the envelope of /template_fields)",
            {"200": {"description": "the envelope of /template_fields", **_ENVELOPE_REPLY}},
            parameters=[{**_DRAFT_ID, "name": "template_draft_id", "description": "The template draft's id."}],
            tag="drafts"),
        "/drafts/{draft_id}/task_status": get(
            "draft_task_status", "/task_status under the draft's path (what the preview page polls)",
            {"200": {"description": "the envelope of /task_status", **_ENVELOPE_REPLY},
             "404": {"description": "the task is another draft's", **_ENVELOPE_REPLY}},
            parameters=[_DRAFT_ID, _query("task_id", "string", "The render's task id."), *_SIGNATURE],
            tag="preview"),
        "/drafts/{draft_id}.zip": get(
            "draft_zip", "The saved draft folder as a zip (after /save_draft completed)",
            {"200": {"description": "the zip", "content": {"application/zip": {
                "schema": {"type": "string", "contentMediaType": "application/zip"}}}},
             "400": {"description": "draft_folder is not a usable drafts folder (invalid_parameter)",
                     **_ENVELOPE_REPLY},
             "404": {"description": "not saved (or the saved folder was cleaned up)"}},
            parameters=[_DRAFT_ID, _query("draft_folder", "string", "The client's drafts folder: the media and "
                                          "meta paths in the zip point into <draft_folder>/<draft_id>, as the apps "
                                          "write them (e.g. C:/…), whatever folder the save was made for."),
                        *_SIGNATURE], tag="downloads"),
    }
