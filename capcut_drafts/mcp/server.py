"""MCP server: every route of the HTTP service as a Model Context Protocol tool.

    python mcp_server.py                                        # stdio (what desktop agents launch)
    python mcp_server.py --http --host 127.0.0.1 --port 9002    # streamable HTTP at http://127.0.0.1:9002/mcp

The tools are generated from the HTTP route tables, so they cannot drift from the routes:

* one tool per POST route of `capcut_drafts.api.registry.ROUTES` (`create_draft`, `add_video`, …,
  `save_draft`, `query_draft_status`), named after the path. Its description starts with the
  route record's `description`; its input schema is the route's pydantic request model's JSON
  schema (by alias, so `async` stays `async`), with the route's required keys marked required
  and a hint on each parameter whose value must be a catalogue name. A call runs exactly
  what the HTTP route runs (`capcut_drafts.api.dispatch.run_route`: the model's `parse`, then the service
  function) and answers the same `{success, output, error, code?, warnings?}` envelope, as JSON
  text and as structured content;
* one tool per catalogue route of `capcut_drafts.model.catalog.ROUTES` (`get_transition_types`, …) with an
  optional `profile` argument, answering the same list as `GET /get_…_types?profile=…`.

Settings come from `load_settings()` exactly as for `app.py` (config.json / `CAPCUT_CONFIG`, then
`CAPCUT_*` variables), so with the same settings the MCP server and the HTTP service share one
draft store (the SQLite file in `data_dir`, or Redis): a draft made by an agent over MCP can be
continued with curl, and the other way round. Logs go to stderr; on stdio, stdout is the protocol.
"""
from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from capcut_drafts.api import dispatch, registry
from capcut_drafts.context import Context, build_context
from capcut_drafts.errors import ApiError, ErrorCode
from capcut_drafts.model import catalog, profiles
from capcut_drafts.routes.effect import EFFECT_CATEGORIES
from capcut_drafts.routes.keyframe import PROPERTIES as KEYFRAME_PROPERTIES
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

# Parameters whose value must be a catalogue name -> catalogue category (a tuple: one of several,
# chosen by another parameter). ROUTE_NAME_PARAMS overrides per route.
NAME_PARAMS: Mapping[str, str | tuple[str, ...]] = {
    "transition": "transition",
    "mask_type": "mask",
    "filter_type": "filter",
    "font": "font",
    "animation": "intro",
    "intro_animation": "intro",
    "outro_animation": "outro",
    "combo_animation": "combo",
    "loop_animation": "text_loop",
    "effect_type": tuple(EFFECT_CATEGORIES.values()),
}
ROUTE_NAME_PARAMS: Mapping[str, Mapping[str, str | tuple[str, ...]]] = {
    "/add_text": {"intro_animation": "text_intro", "outro_animation": "text_outro"},
    "/add_subtitle": {"intro_animation": "text_intro", "outro_animation": "text_outro"},
    "/add_audio": {"effect_type": "audio_effect"},
}

ENVELOPE_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean"},
        "output": {"description": "The route's result; \"\" when success is false."},
        "error": {"type": "string", "description": "\"\" on success, else what went wrong and how to fix it."},
        "code": {"type": "string", "description": "Stable error key, present on failures (e.g. missing_parameter, "
                                                  "unknown_name, draft_not_found)."},
        "warnings": {"type": "array", "items": {"type": "string"},
                     "description": "Present when something was adjusted or could not be used."},
    },
    "required": ["success", "output", "error"],
}

INSTRUCTIONS = (
    "Builds CapCut / JianYing video-editing drafts. Typical flow: create_draft -> add_video / add_audio / "
    "add_image / add_text / add_subtitle / add_effect / add_filter / add_sticker / add_video_keyframe with the "
    "returned draft_id -> save_draft -> query_draft_status (task_id = draft_id). Every tool answers "
    "{success, output, error} (+ code on failures, warnings when something was adjusted). Times are seconds. "
    "Names of transitions, animations, masks, effects, fonts and filters are exact and case-sensitive: take "
    "them from the get_*_types tools (CapCut profiles use English names, JianYing profiles Chinese ones). "
    "Media URLs must be http(s) URLs the service can download.")


def tool_name(path: str) -> str:
    return path.strip("/")


CATALOGUE_TOOL = {category: tool_name(path) for path, category in catalog.ROUTES.items()}


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool: what tools/list shows and what tools/call runs (arguments -> (envelope, status))."""
    tool: types.Tool
    run: Callable[[dict[str, Any]], tuple[dict[str, Any], int]]


# -- schemas ---------------------------------------------------------------------------------

def _inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its definition (no `$defs` left): some MCP
    clients do not resolve references. Request models have no recursive types."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline_refs(target, defs), **_inline_refs(siblings, defs)}
    return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}


def _tidy(node: Any) -> Any:
    """Remove pydantic's generated `title` keywords (noise for a model; property names are kept)
    and `anyOf` lists with an empty (= anything) branch, which equal no constraint at all."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "anyOf" and isinstance(value, list) and {} in value:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _tidy(sub) for name, sub in value.items()}
        else:
            out[key] = _tidy(value)
    return out


def _catalogue_hint(category: str | tuple[str, ...], route: str) -> str:
    if isinstance(category, tuple):
        if route == "/add_effect":
            choices = "; ".join(f"effect_category '{word}': a name listed by the {CATALOGUE_TOOL[cat]} tool"
                                for word, cat in EFFECT_CATEGORIES.items())
            return f"Exact, case-sensitive catalogue name ({choices})."
        return ("Exact, case-sensitive catalogue name listed by one of the "
                + ", ".join(CATALOGUE_TOOL[c] for c in category) + " tools.")
    if category in ("font", "filter"):          # one table for every profile
        return f"Exact, case-sensitive name listed by the {CATALOGUE_TOOL[category]} tool."
    return (f"Exact, case-sensitive name listed by the {CATALOGUE_TOOL[category]} tool "
            "(for the draft's profile: CapCut English names, JianYing Chinese names).")


def name_params(route: str) -> dict[str, str | tuple[str, ...]]:
    """This route's parameters that take catalogue names -> category (or categories)."""
    model = registry.route(route).model
    schema = model.model_json_schema(by_alias=True)
    mapping = {**NAME_PARAMS, **ROUTE_NAME_PARAMS.get(route, {})}
    return {name: mapping[name] for name in schema.get("properties", {}) if name in mapping}


# Parameter hints that differ on one route.
ROUTE_NOTES: Mapping[str, Mapping[str, str]] = {
    "/add_video_keyframe": {
        "draft_id": "The draft whose clips get the keyframes (output.draft_id of create_draft).",
        "track_name": "Existing track whose clips get the keyframes.",
    },
}


def _profile_names() -> str:
    return (", ".join(profiles.PROFILES) + " (upstream aliases such as "
            + ", ".join(sorted(profiles.ALIASES)[:2]) + " are accepted too)")


def _param_note(route: str, name: str, properties: Mapping[str, Any]) -> str | None:
    """A short hint for a top-level parameter, from its name (None: the schema says enough)."""
    source_cut = "target_start" in properties     # video/audio: start/end cut the source file
    notes = {
        "draft_id": "The draft to work on: output.draft_id of create_draft (or of any add_* call).",
        "width": "Canvas width in pixels; used only when this call creates a new draft.",
        "height": "Canvas height in pixels; used only when this call creates a new draft.",
        "start": ("Seconds: where the cut starts in the source file." if source_cut
                  else "Seconds: where it starts on the timeline."),
        "end": ("Seconds: where the cut ends in the source file (0 or omitted: the end of the media)."
                if source_cut else "Seconds: where it ends on the timeline."),
        "target_start": "Seconds: where the clip starts on the timeline.",
        "duration": "Seconds: length of the source media, if known.",
        "time_offset": "Seconds added to every cue.",
        "speed": "Playback speed factor (2 = twice as fast).",
        "volume": "Volume factor (1 = unchanged, 0 = mute).",
        "transform_x": "Horizontal offset: 1.0 = half the canvas width to the right.",
        "transform_y": "Vertical offset: 1.0 = half the canvas height up (subtitles default to near the bottom).",
        "scale_x": "Scale factor (1 = 100%).",
        "scale_y": "Scale factor (1 = 100%).",
        "track_name": ("Track to put it on; created if missing (one kind of content per track). "
                       "Omitted: the route's main track."),
        "relative_index": "Layer order among tracks of the same kind; used when the track is created.",
        "draft_folder": ("The user's CapCut/JianYing drafts folder on their own computer; material paths in "
                         "the saved draft point inside it."),
        "background_blur": "Canvas blur behind the clip: 1, 2, 3 or 4.",
        "effect_category": ("One of: " + ", ".join(f"'{k}' ({CATALOGUE_TOOL[v]})" for k, v in EFFECT_CATEGORIES.items())
                            + "."),
        "params": ("Effect parameter values 0-100 (null = default), in the order the effect's catalogue tool "
                   "lists them."),
        "effect_params": "Values 0-100, in the order get_audio_effect_types lists the effect's params.",
        "property_type": "Keyframe property: " + ", ".join(KEYFRAME_PROPERTIES) + ".",
        "property_types": "Batch mode: list of keyframe properties (" + ", ".join(KEYFRAME_PROPERTIES) + ").",
        "time": "Seconds on the timeline (absolute, not relative to the clip).",
        "times": "Batch mode: list of timeline times in seconds, one per property.",
        "value": "Keyframe value: a number or a string such as '50%', '45deg', '+0.2'.",
        "values": "Batch mode: list of values, one per property.",
        "profile": f"App profile of the new draft: {_profile_names()}. Omitted: the server's default.",
        "srt": "The SRT text itself, or an http(s) URL of an .srt file.",
        "sticker_id": "CapCut/JianYing sticker resource id, e.g. '7107529669750066445'.",
        "async": "true: answer at once and poll query_draft_status; false: wait for the save to finish.",
        "force_update": "Accepted for upstream compatibility; reading never changes the draft.",
        "task_id": "The draft_id that was passed to save_draft.",
    }
    if name in ROUTE_NOTES.get(route, {}):
        return ROUTE_NOTES[route][name]
    if name in notes:
        return notes[name]
    if name.endswith("_url"):
        return "http(s) URL of the media file (downloaded and probed when the draft is saved)."
    if name.endswith("_color") or name == "color":
        return "Colour as '#RRGGBB'."
    if name.endswith("_duration"):
        return "Seconds."
    return None


def _describe(schema: dict, text: str | None) -> None:
    if text:
        schema["description"] = f"{schema['description']} {text}" if schema.get("description") else text


def _annotate_nested(node: Any, route: str) -> None:
    """Catalogue hints on parameters inside list items / nested objects (e.g. text_styles[].font)."""
    if isinstance(node, list):
        for item in node:
            _annotate_nested(item, route)
        return
    if not isinstance(node, dict):
        return
    for name, sub in (node.get("properties") or {}).items():
        if name in NAME_PARAMS and isinstance(NAME_PARAMS[name], str):
            _describe(sub, _catalogue_hint(NAME_PARAMS[name], route))
        _annotate_nested(sub, route)
    for key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
        if key in node:
            _annotate_nested(node[key], route)


def _required(model: type[RequestModel]) -> list[str]:
    """Keys the route refuses to run without: its upstream checks, then pydantic's required fields."""
    return list(dict.fromkeys([*model.REQUIRED, *(model.model_json_schema(by_alias=True).get("required") or [])]))


def input_schema(route: str) -> dict:
    """The route's request model as the tool's input schema: aliases, required keys, hints."""
    model = registry.route(route).model
    raw = model.model_json_schema(by_alias=True)
    schema = _tidy(_inline_refs(raw, raw.get("$defs", {})))
    schema.pop("description", None)
    properties: dict = schema.get("properties", {})
    required = _required(model)
    first = [n for n in (*required, "draft_id") if n in properties]
    ordered = {n: properties[n] for n in dict.fromkeys([*first, *properties])}
    pointers = name_params(route)
    for name, sub in ordered.items():
        _annotate_nested(sub, route)
        _describe(sub, _param_note(route, name, ordered))
        if name in pointers:
            _describe(sub, _catalogue_hint(pointers[name], route))
    out = {"type": "object", "properties": ordered}
    if required:
        out["required"] = required
    return out


# -- descriptions -----------------------------------------------------------------------------

def route_description(route: str) -> str:
    """The tool description: the route record's text, required keys, catalogue pointers, reply."""
    record = registry.route(route)
    lines = [record.description]
    model = record.model
    required = _required(model)
    if required:
        lines.append("Required: " + ", ".join(required) + ".")
    pointers = name_params(route)
    if pointers:
        parts = []
        for name, category in pointers.items():
            cats = category if isinstance(category, tuple) else (category,)
            parts.append(f"{name} -> " + " / ".join(CATALOGUE_TOOL[c] for c in cats))
        lines.append("Valid names come from the catalogue tools: " + "; ".join(parts) + ".")
    lines.append("Returns JSON {success, output, error} (+ code on failure, warnings when something was "
                 f"adjusted), the same reply as POST {route} of the HTTP service.")
    return "\n".join(lines)


def _catalogue_users() -> dict[str, list[str]]:
    """category -> ['add_video.transition', ...]: where each catalogue's names are used."""
    users: dict[str, list[str]] = {}
    for route in registry.BY_PATH:
        for name, category in name_params(route).items():
            for cat in (category if isinstance(category, tuple) else (category,)):
                users.setdefault(cat, []).append(f"{tool_name(route)}.{name}")
    return users


_CATALOGUE_WORDS = {
    "transition": "transitions", "intro": "video/image intro (entrance) animations",
    "outro": "video/image outro (exit) animations", "combo": "video/image combo animations",
    "mask": "mask shapes", "audio_effect": "audio (voice) effects with their params",
    "font": "fonts", "text_intro": "text intro animations", "text_outro": "text outro animations",
    "text_loop": "text loop animations", "scene_effect": "scene video effects with their params",
    "character_effect": "character video effects with their params", "filter": "colour filters",
}


def catalogue_description(path: str, default_profile: str, users: Mapping[str, list[str]]) -> str:
    category = catalog.ROUTES[path]
    what = _CATALOGUE_WORDS.get(category, category.replace("_", " "))
    lines = [f"List the valid names of {what}: output is a list of {{name, ...}}; send the exact `name`."]
    if users.get(category):
        lines.append("Used by: " + ", ".join(users[category]) + ".")
    if category in ("font", "filter"):
        lines.append("The same names for every profile.")
    else:
        lines.append(f"Names depend on the draft's profile (default '{default_profile}'): CapCut profiles use "
                     "English names, JianYing profiles Chinese ones.")
    lines.append(f"Read-only; the same reply as GET {path}.")
    return "\n".join(lines)


# -- the tool table ------------------------------------------------------------------------------

def build_tools(ctx: Context) -> dict[str, ToolSpec]:
    """All tools for a service context (`capcut_drafts.context.build_context`), in registry order."""
    tools: dict[str, ToolSpec] = {}
    for route in registry.ROUTES:
        name, read_only = route.name, route.read_only
        tool = types.Tool(
            name=name, title=name.replace("_", " ").capitalize(), description=route_description(route.path),
            input_schema=input_schema(route.path), output_schema=ENVELOPE_SCHEMA,
            annotations=types.ToolAnnotations(read_only_hint=read_only, destructive_hint=False,
                                              idempotent_hint=read_only or None))
        tools[name] = ToolSpec(tool, partial(dispatch.run_route, ctx, route.path))

    users = _catalogue_users()
    profile_names = _profile_names()
    for path in catalog.ROUTES:
        name = tool_name(path)
        schema = {"type": "object", "properties": {"profile": {
            "type": "string",
            "description": f"Profile whose names to list: {profile_names}. Omitted: the server's default "
                          f"'{ctx.settings.profile}'."}}}
        tool = types.Tool(
            name=name, title=name.replace("_", " ").capitalize(),
            description=catalogue_description(path, ctx.settings.profile, users),
            input_schema=schema, output_schema=ENVELOPE_SCHEMA,
            annotations=types.ToolAnnotations(read_only_hint=True, idempotent_hint=True))
        tools[name] = ToolSpec(tool, partial(_run_listing, ctx, path))
    return tools


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
        return result_of(envelope)

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
