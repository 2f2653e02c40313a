"""MCP server: every route of the HTTP service as a Model Context Protocol tool.

    python mcp_server.py                                        # stdio (what desktop agents launch)
    python mcp_server.py --http --host 127.0.0.1 --port 9002    # streamable HTTP at http://127.0.0.1:9002/mcp

The tools are generated from the HTTP route tables, so they cannot drift from the routes:

* one tool per POST route of `capcut_drafts.api.registry.ROUTES` (`create_draft`, `add_video`, …,
  `save_draft`, `query_draft_status`), named after the path. Its description is the route
  record's `description` and what the route requires; its input schema is the route's documented
  request schema (`capcut_drafts.api.params.documented_schema`: the pydantic model by alias, every
  parameter described, catalogue parameters pointing to `get_names`), compacted for agents: the
  texts many tools share are said once in the server instructions (`GLOSSARY`), and parameters
  an agent never needs are left out (`hidden_params`; the tools still accept them). A call runs
  exactly what the HTTP route runs (`capcut_drafts.api.dispatch.run_route`: the model's `parse`,
  then the service function) and answers the same `{success, output, error, code?, warnings?}`
  envelope, as JSON text and as structured content;
* `get_names {category, profile?}` for the catalogue routes of `capcut_drafts.model.catalog.ROUTES`:
  `category=transition` answers the same list as `GET /get_transition_types?profile=…` (one tool,
  not one per route: each tool costs an agent tokens on every connection);
* `get_frame`: one frame of a draft as an image the agent can look at.

Settings come from `load_settings()` exactly as for `app.py` (config.json / `CAPCUT_CONFIG`, then
`CAPCUT_*` variables), so with the same settings the MCP server and the HTTP service share one
draft store (the SQLite file in `data_dir`, or Redis): a draft made by an agent over MCP can be
continued with curl, and the other way round. Logs go to stderr; on stdio, stdout is the protocol.
"""
from __future__ import annotations

import argparse
import base64
import copy
import ipaddress
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from pydantic import StrictStr, field_validator

from capcut_drafts.api import dispatch, params, registry
from capcut_drafts.context import Context, build_context
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, profiles
from capcut_drafts.render.job import still
from capcut_drafts.routes.render import FrameRequest
from capcut_drafts.routes.schema import RequestModel
from capcut_drafts.settings import Settings, SettingsError, load_settings
from capcut_drafts.web import guards

if TYPE_CHECKING:                 # annotations only: starlette comes with mcp's HTTP transport
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("capcut.mcp")

SERVER_NAME = "capcut-api"
SERVER_VERSION = "1.0.0"
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 9002
HTTP_PATH = "/mcp"

# Parameters that three or more tools share, by name or by suffix (`*_color`), with their params.py
# texts: INSTRUCTIONS says each text once and the tool schemas leave it out (a parameter a route
# describes in its own words, such as add_video's `start`, keeps them).
SHARED = ("draft_id", "track_name", "relative_index", "start", "end", "target_start", "transform_x",
          "transform_y", "scale_x", "scale_y", "filter_intensity", "segment_id", "dry_run", "*_url", "*_color",
          "*_duration")
GLOSSARY: Mapping[str, str] = {label: text for label in SHARED if (text := params.describe("", label))}

INSTRUCTIONS = (
    "Builds CapCut / JianYing video-editing drafts. Typical flow: create_draft -> add_video / add_audio / "
    "add_image / add_text / add_subtitle / add_effect / add_filter / add_sticker / add_video_keyframe with the "
    "returned draft_id -> get_frame to look at a moment of it (an image), generate_video + task_status to "
    "render it to an MP4 -> save_draft -> query_draft_status (task_id = draft_id). Every tool answers the JSON "
    "object {success: bool, output: the result (\"\" on failure), error: \"\" or what to fix} (+ code: a stable "
    "error key on failures, warnings: [what was adjusted or left out]). Omitted parameters take their default "
    "(null works too). Times are seconds. Every add_* tool answers output {draft_id, draft_url, segment_id "
    "(add_subtitle: segment_ids), track_name}: keep segment_id to change (update_segment, move_segment), "
    "remove (remove_segment) or undo it later; get_timeline shows every id. "
    "Names of transitions, animations, masks, effects, fonts and filters are exact and case-sensitive: take "
    "them from get_names (per profile, except fonts and filters: CapCut profiles use English names, JianYing "
    "profiles Chinese ones; where an error names GET /get_<x>_types, that list is a get_names category). "
    "Media URLs must be http(s) URLs the service can download. "
    "Parameters described here, not in each tool: " + " ".join(f"{label}: {text}" for label, text in GLOSSARY.items()))


def tool_name(path: str) -> str:
    return path.strip("/")


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool: what tools/list shows and what tools/call runs (arguments -> (envelope, status))."""
    tool: types.Tool
    run: Callable[[dict[str, Any]], tuple[dict[str, Any], int]]
    to_result: Callable[[dict[str, Any]], types.CallToolResult] = field(default=lambda envelope: result_of(envelope))


# -- schemas and descriptions ------------------------------------------------------------------

def _zero(value: Any) -> bool:
    """None, false, "" or 0: what an omitted optional parameter is taken to be anyway."""
    return value is None or value is False or value == "" or (type(value) in (int, float) and value == 0)


def _compact(node: Any) -> Any:
    """A documented schema without what costs an agent tokens and tells it nothing: the null
    branch of optional parameters (omitting one is the same as null), zero defaults and empty
    `items` schemas (a list of anything)."""
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _compact(value) for key, value in node.items()
           if not (key == "default" and _zero(value)) and not (key == "items" and value == {})}
    branches = out.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [branch for branch in branches if branch != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1:
            out = {**rest[0], **out}
        elif rest:
            out["anyOf"] = rest
    return out


# catalogue category -> the GET route that lists its names (catalog.ROUTES the other way round)
CATEGORY_ROUTES: Mapping[str, str] = {category: path for path, category in catalog.ROUTES.items()}
_ROUTE_NAME = re.compile(r"\b(?:" + "|".join(tool_name(path) for path in catalog.ROUTES) + r")\b")


def names_pointer(text: str) -> str:
    """`text` with each catalogue route it names (`get_font_types`: the parameter texts are the
    HTTP docs' too) replaced by the get_names call that lists the same names."""
    return _ROUTE_NAME.sub(lambda found: f"get_names category={catalog.ROUTES['/' + found.group()]}", text)


def _pointing_to_get_names(node: Any) -> Any:
    """A schema whose descriptions point to get_names (`names_pointer`)."""
    if isinstance(node, list):
        return [_pointing_to_get_names(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: names_pointer(value) if key == "description" and isinstance(value, str)
            else _pointing_to_get_names(value) for key, value in node.items()}


# Parameters left out of the tool schemas; the tools still accept them, as the HTTP routes do.
# UNUSED never matter to an agent: the hosted service's license_key, upstream's no-op force_update
# and legacy names (animation, animation_duration: intro_animation's).
UNUSED = ("license_key", "force_update", "animation", "animation_duration")
# These matter on the listed routes only: the canvas size where a call creates its draft (agents call
# create_draft first, INSTRUCTIONS); the user's drafts folder where the media paths are written
# (save_draft's overrides the one add_* calls record; generate_draft_url ignores it).
ONLY_ON: Mapping[str, tuple[str, ...]] = {
    "width": ("/create_draft",), "height": ("/create_draft",),
    "draft_folder": ("/save_draft", "/query_script"),
}


def hidden_params(route: str) -> set[str]:
    """The parameters of `route` that its tool schema leaves out."""
    return {*UNUSED, *(name for name, routes in ONLY_ON.items() if route not in routes)}


def shared_label(name: str) -> str | None:
    """The GLOSSARY entry for parameter `name`: its own or its suffix's (`*_color`); None: neither."""
    return next((label for label in (name, "*_" + name.rsplit("_", 1)[-1]) if label in GLOSSARY), None)


def input_schema(route: str) -> dict:
    """The route's request schema as the tool's input schema (params.documented_schema, compacted),
    without the hidden parameters and the texts INSTRUCTIONS gives (GLOSSARY)."""
    schema = _pointing_to_get_names(_compact(params.documented_schema(registry.route(route))))
    for name in hidden_params(route):
        schema["properties"].pop(name, None)
    for name, sub in schema["properties"].items():
        label = shared_label(name)
        if label and sub.get("description") == GLOSSARY[label]:
            del sub["description"]
    return schema


def route_description(route: str) -> str:
    """The tool description: the route record's text and what it needs."""
    record = registry.route(route)
    if not any(record.model.ALTERNATIVES.get(name) for name in record.model.REQUIRED):
        return record.description            # the input schema's `required` says it
    return f"{record.description}\nRequired: {params.required_text(record.model)}."


def tool_annotations(read_only: bool, destructive: bool = False) -> types.ToolAnnotations:
    """Read-only tools say so; the others say whether they destroy what cannot be undone (the spec
    assumes they do unless told; the hint means nothing for a read-only tool, so it is left out)."""
    if read_only:
        return types.ToolAnnotations(read_only_hint=True, idempotent_hint=True)
    return types.ToolAnnotations(destructive_hint=destructive)


# -- the tool table ------------------------------------------------------------------------------

def build_tools(ctx: Context) -> dict[str, ToolSpec]:
    """All tools for a service context (`capcut_drafts.context.build_context`), in registry order."""
    tools: dict[str, ToolSpec] = {}
    for route in registry.ROUTES:
        tool = types.Tool(name=route.name, description=route_description(route.path),
                          input_schema=input_schema(route.path),
                          annotations=tool_annotations(route.read_only, route.destructive))
        tools[route.name] = ToolSpec(tool, partial(dispatch.run_route, ctx, route.path))
    tools["get_names"] = _names_tool(ctx)
    tools["get_frame"] = _frame_tool(ctx)
    return tools


class NamesRequest(RequestModel):
    """get_names: which catalogue, for which profile (omitted: the service's)."""
    REQUIRED = ("category",)
    MISSING = "Hi, the required parameter 'category' is missing. Please add it and try again."
    category: StrictStr = ""
    profile: StrictStr | None = None

    @field_validator("category")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATEGORY_ROUTES:
            raise ValueError(f"use one of {', '.join(CATEGORY_ROUTES)}")
        return value


def _names_tool(ctx: Context) -> ToolSpec:
    """get_names: what the catalogue routes (`GET /get_<x>_types`) answer, one tool for all of them."""
    schema = {"type": "object", "properties": {
        "category": {"type": "string", "enum": list(CATEGORY_ROUTES), "description": (
            "transition, mask, filter, font; intro, outro, combo: video/image animations; text_intro, text_outro, "
            "text_loop: text animations; scene_effect, character_effect: video effects; audio_effect: voice "
            "effects.")},
        "profile": {"type": "string", "description": (
            f"The draft's profile: {', '.join(profiles.PROFILES)} (default '{ctx.settings.profile}').")}},
        "required": ["category"]}
    tool = types.Tool(name="get_names", description=(
        "The valid names (exact, case-sensitive) of the parameters that say 'Name from get_names category=...'. "
        "output: [{name, title, is_vip, ...}]; effects also list their params."),
        input_schema=schema, annotations=tool_annotations(read_only=True))
    return ToolSpec(tool, partial(_run_names, ctx))


def _run_names(ctx: Context, args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    try:
        req = NamesRequest.parse(args if isinstance(args, dict) else {})
    except ApiError as exc:
        return dispatch.error_body(ctx.settings, exc)
    return dispatch.run_listing(ctx.settings, CATEGORY_ROUTES[req.category], req.profile, label="parameter")


def _frame_tool(ctx: Context) -> ToolSpec:
    """get_frame: one frame of a draft as an image the agent can look at."""
    schema = _compact(params.model_schema(FrameRequest, "get_frame"))
    tool = types.Tool(name="get_frame", description=(
        "Look at the draft: the frame at t seconds as a PNG image, to check your edit."), input_schema=schema,
        annotations=tool_annotations(read_only=True))
    return ToolSpec(tool, partial(_run_frame, ctx), to_result=_frame_result)


def _run_frame(ctx: Context, args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    try:
        req = FrameRequest.parse(args if isinstance(args, dict) else {})
        png, warnings = still(ctx, req.draft_id, req.t, req.width)
    except ApiError as exc:
        return dispatch.error_body(ctx.settings, exc)
    output = {"draft_id": req.draft_id, "t": req.t, "png_base64": base64.b64encode(png).decode("ascii")}
    return dispatch.envelope_body(output, warnings=warnings) if warnings else dispatch.envelope_body(output), 200


def _frame_result(envelope: dict[str, Any]) -> types.CallToolResult:
    """The frame as image content, and the envelope without the picture as text."""
    if not envelope.get("success"):
        return result_of(envelope)
    output = dict(envelope["output"])
    picture = output.pop("png_base64")
    summary = {**envelope, "output": output}
    return types.CallToolResult(content=[types.ImageContent(data=picture, mime_type="image/png"),
                                         types.TextContent(text=json.dumps(summary, ensure_ascii=False))],
                                is_error=False)


def result_of(envelope: dict[str, Any]) -> types.CallToolResult:
    """The envelope as the tool result: JSON text for every client, structured content for newer
    ones; `is_error` mirrors `success` so a model sees a failed call as one."""
    text = json.dumps(envelope, ensure_ascii=False, sort_keys=True)
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=envelope,
                                is_error=not envelope.get("success", False))


def create_server(ctx: Context) -> Server:
    """The low-level MCP server over `ctx`; schemas come from the request models, not signatures."""
    tools = build_tools(ctx)
    listing = [spec.tool for spec in tools.values()]
    log.info("%d tools: %s", len(listing), ", ".join(tools))

    async def on_list_tools(_rctx: ServerRequestContext[Any],
                            _params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[copy.deepcopy(t) for t in listing])

    async def on_call_tool(_rctx: ServerRequestContext[Any],
                           params: types.CallToolRequestParams) -> types.CallToolResult:
        spec = tools.get(params.name)
        if spec is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool '{params.name}'; tools/list names the "
                                                 f"{len(tools)} tools of this server.")
        arguments = params.arguments if params.arguments is not None else {}
        envelope, _status = await anyio.to_thread.run_sync(spec.run, arguments)
        if not envelope["success"]:
            log.info("%s failed: %s (%s)", params.name, envelope["error"][:300], envelope.get("code"))
        return spec.to_result(envelope)

    return Server(SERVER_NAME, version=SERVER_VERSION, title="CapCut / JianYing draft service",
                  instructions=INSTRUCTIONS, on_list_tools=on_list_tools, on_call_tool=on_call_tool)


def open_context(settings: Settings) -> Context:
    """The HTTP service's context for these settings (same store), with links to the HTTP service."""
    ctx = build_context(settings)
    base = settings.public_base_url or guards.listen_base(settings)
    ctx.base_url = lambda: base          # save links (zip, download page) are served by app.py
    if settings.store == "memory":
        log.warning("store is 'memory': drafts made here are not shared with the HTTP service and vanish on exit")
    return ctx


# -- transports ------------------------------------------------------------------------------------

async def serve_stdio(server: Server) -> None:
    from mcp.server.stdio import stdio_server
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


class RequireApiKey:
    """ASGI guard for the HTTP transport: with `api_keys` set, every request must carry one of them
    as `Authorization: Bearer <key>` or `X-API-Key: <key>` (the HTTP service's rule)."""

    def __init__(self, app: ASGIApp, keys: list[str]):
        self.app, self.keys = app, keys

    def _allowed(self, headers: Mapping[bytes, bytes]) -> bool:
        # ASGI header names arrive lower-cased; the check is capcut_drafts/web/guards.py's, as for the HTTP service
        return guards.api_key_identity(headers.get(b"authorization", b""), headers.get(b"x-api-key", b""),
                                       self.keys) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(dict(scope.get("headers") or [])):
            await self.app(scope, receive, send)
            return
        body = json.dumps(dispatch.envelope_body(
            error="Missing or wrong API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
            code=ErrorCode.UNAUTHORIZED)).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _beyond_loopback(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host != "localhost"


def serve_http(server: Server, host: str, port: int, api_keys: list[str]) -> None:
    import uvicorn
    web: ASGIApp = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
    if api_keys:
        web = RequireApiKey(web, api_keys)
    elif _beyond_loopback(host):
        log.warning("listening on %s without api_keys: anyone who can reach this port can edit drafts", host)
    log.info("MCP streamable HTTP on http://%s:%d%s", host, port, HTTP_PATH)
    # log_config=None: uvicorn's loggers go to our stderr handler (its default sends access logs to stdout)
    uvicorn.run(web, host=host, port=port, log_config=None, log_level=logging.getLogger().level)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MCP server for the CapCut/JianYing draft service "
                                                 "(stdio by default).")
    parser.add_argument("--http", action="store_true", help=f"serve streamable HTTP at {HTTP_PATH} instead of stdio")
    parser.add_argument("--host", default=DEFAULT_HTTP_HOST, help=f"HTTP host (default {DEFAULT_HTTP_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT, help=f"HTTP port (default {DEFAULT_HTTP_PORT})")
    args = parser.parse_args(list(argv) if argv is not None else None)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"mcp_server: {exc}", file=sys.stderr)
        return 2
    guards.install_request_id_logging()          # log records escape control characters
    logging.basicConfig(stream=sys.stderr, level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ctx = open_context(settings)
    server = create_server(ctx)
    log.info("store %s in %s", settings.store, settings.data_dir)
    try:
        if args.http:
            serve_http(server, args.host, args.port, settings.api_keys)
        else:
            anyio.run(serve_stdio, server)
    except KeyboardInterrupt:
        pass
    finally:
        ctx.shutdown(wait=True)                  # let a running save finish writing
    return 0


if __name__ == "__main__":
    sys.exit(main())
