"""MCP server: every route of the HTTP service as a Model Context Protocol tool.

    python mcp_server.py                                        # stdio (what desktop agents launch)
    python mcp_server.py --http --host 127.0.0.1 --port 9002    # streamable HTTP at http://127.0.0.1:9002/mcp

The tools are generated from the HTTP route tables, so they cannot drift from the routes:

* one tool per POST route of `capcut_drafts.api.registry.ROUTES` (`create_draft`, `add_video`, …,
  `save_draft`, `query_draft_status`), named after the path. Its description is the route
  record's `description` and what the route requires; its input schema is the route's documented
  request schema (`capcut_drafts.api.params.documented_schema`: the pydantic model by alias, every
  parameter described, catalogue parameters pointing to their catalogue tool), compacted for
  agents. A call runs exactly what the HTTP route runs (`capcut_drafts.api.dispatch.run_route`: the
  model's `parse`, then the service function) and answers the same `{success, output, error,
  code?, warnings?}` envelope, as JSON text and as structured content;
* one tool per catalogue route of `capcut_drafts.model.catalog.ROUTES` (`get_transition_types`, …) with an
  optional `profile` argument, answering the same list as `GET /get_…_types?profile=…`.

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

from capcut_drafts.api import dispatch, params, registry
from capcut_drafts.context import Context, build_context
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog
from capcut_drafts.render.job import still
from capcut_drafts.routes.render import FrameRequest
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

INSTRUCTIONS = (
    "Builds CapCut / JianYing video-editing drafts. Typical flow: create_draft -> add_video / add_audio / "
    "add_image / add_text / add_subtitle / add_effect / add_filter / add_sticker / add_video_keyframe with the "
    "returned draft_id -> get_frame to look at a moment of it (an image), generate_video + task_status to "
    "render it to an MP4 -> save_draft -> query_draft_status (task_id = draft_id). Every tool answers the JSON "
    "object {success: bool, output: the result (\"\" on failure), error: \"\" or what to fix} (+ code: a stable "
    "error key on failures, warnings: [what was adjusted or left out]). Omitted parameters take their default "
    "(null works too). Times are seconds; colours are '#RRGGBB'. "
    "Names of transitions, animations, masks, effects, fonts and filters are exact and case-sensitive: take "
    "them from the get_*_types tools (per profile, except fonts and filters: CapCut profiles use English "
    "names, JianYing profiles Chinese ones). "
    "Media URLs must be http(s) URLs the service can download.")


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
    branch of optional parameters (omitting one is the same as null) and zero defaults."""
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _compact(value) for key, value in node.items() if not (key == "default" and _zero(value))}
    branches = out.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [branch for branch in branches if branch != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1:
            out = {**rest[0], **out}
        elif rest:
            out["anyOf"] = rest
    return out


# Parameters an agent never needs, left out of the tool schemas (the tools still accept them): the
# canvas size matters only when a call creates its draft, and agents call create_draft first
# (INSTRUCTIONS); license_key is the hosted service's and does nothing here.
CREATE_ONLY = ("width", "height")
UNUSED = ("license_key",)


def input_schema(route: str) -> dict:
    """The route's request schema as the tool's input schema (params.documented_schema, compacted)."""
    schema = _compact(params.documented_schema(registry.route(route)))
    hidden = UNUSED if route == "/create_draft" else CREATE_ONLY + UNUSED
    for name in hidden:
        schema["properties"].pop(name, None)
    return schema


def route_description(route: str) -> str:
    """The tool description: the route record's text and what it needs."""
    record = registry.route(route)
    if not any(record.model.ALTERNATIVES.get(name) for name in record.model.REQUIRED):
        return record.description            # the input schema's `required` says it
    return f"{record.description}\nRequired: {params.required_text(record.model)}."


_CATALOGUE_WORDS = {
    "transition": "transitions", "intro": "video/image intro (entrance) animations",
    "outro": "video/image outro (exit) animations", "combo": "video/image combo animations",
    "mask": "mask shapes", "audio_effect": "audio (voice) effects with their params",
    "font": "fonts", "text_intro": "text intro animations", "text_outro": "text outro animations",
    "text_loop": "text loop animations", "scene_effect": "scene video effects with their params",
    "character_effect": "character video effects with their params", "filter": "colour filters",
}


def catalogue_description(path: str) -> str:
    category = catalog.ROUTES[path]
    what = _CATALOGUE_WORDS.get(category, category.replace("_", " "))
    return f"Names of {what}."


# -- the tool table ------------------------------------------------------------------------------

def build_tools(ctx: Context) -> dict[str, ToolSpec]:
    """All tools for a service context (`capcut_drafts.context.build_context`), in registry order."""
    tools: dict[str, ToolSpec] = {}
    for route in registry.ROUTES:
        name, read_only = route.name, route.read_only
        tool = types.Tool(
            name=name, description=route_description(route.path),
            input_schema=input_schema(route.path),
            annotations=types.ToolAnnotations(read_only_hint=read_only or None, destructive_hint=False,
                                              idempotent_hint=read_only or None))   # None: the spec's default
        tools[name] = ToolSpec(tool, partial(dispatch.run_route, ctx, route.path))

    schema = {"type": "object", "properties": {"profile": {
        "type": "string", "description": f"App profile (default '{ctx.settings.profile}')."}}}
    for path in catalog.ROUTES:
        name = tool_name(path)
        tool = types.Tool(
            name=name, description=catalogue_description(path),
            input_schema=schema, annotations=types.ToolAnnotations(read_only_hint=True, idempotent_hint=True))
        tools[name] = ToolSpec(tool, partial(_run_listing, ctx, path))
    tools["get_frame"] = _frame_tool(ctx)
    return tools


def _frame_tool(ctx: Context) -> ToolSpec:
    """get_frame: one frame of a draft as an image the agent can look at."""
    schema = _compact(params.model_schema(FrameRequest, "get_frame"))
    tool = types.Tool(name="get_frame", description=(
        "Look at the draft: the frame at t seconds as a PNG image, to check your edit."), input_schema=schema,
        annotations=types.ToolAnnotations(read_only_hint=True, idempotent_hint=True))
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


def _run_listing(ctx: Context, path: str, args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    profile = args.get("profile") if isinstance(args, dict) else None
    if profile is not None and not isinstance(profile, str):
        return dispatch.error_body(ctx.settings, ApiError(
            f"Invalid parameter 'profile': use a profile name (a string), not {type(profile).__name__}.",
            code=ErrorCode.INVALID_PARAMETER))
    return dispatch.run_listing(ctx.settings, path, profile, label="parameter")


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
        if ctx.runner is not None:
            ctx.runner.shutdown(wait=True)       # let a running save finish writing
    return 0


if __name__ == "__main__":
    sys.exit(main())
