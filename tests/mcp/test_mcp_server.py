"""The MCP server (`mcp_server.py`), driven by the `mcp` package's own client.

* over stdio: `python mcp_server.py` as a subprocess (SQLite store in the test's tmp dir, media
  served from 127.0.0.1): tool listing, the typical editing flow with a real save, error replies,
  and drafts/tasks shared with the Flask app on the same data dir;
* over streamable HTTP: `python mcp_server.py --http` on a free port;
* in process: every catalogue pointer in the tool schemas names the get_names category the route
  really checks, get_names answers what the GET catalogue routes answer, and
  `capcut_drafts.api.dispatch` answers exactly what the Flask routes answer.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import pytest
from helpers import REPO_ROOT, check_envelope, free_port, make_settings, stop_process
from helpers.media import MediaServer, make_audio, make_video
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from PIL import Image

SERVER = str(REPO_ROOT / "mcp_server.py")
SRT = "1\n00:00:00,000 --> 00:00:02,500\nHello\n\n2\n00:00:02,500 --> 00:00:05,000\nWorld\n"


def _tool_name(path: str) -> str:
    return path.strip("/")


def _post_routes():
    from capcut_drafts.api import registry
    return registry.BY_PATH


def _catalogue_routes():
    from capcut_drafts.model import catalog
    return catalog.ROUTES


def _expected_tools() -> set[str]:
    return {_tool_name(p) for p in _post_routes()} | {"get_names", "get_frame"}


# -- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server_env(tmp_path, data_dir) -> dict:
    """Environment of the MCP server process: SQLite in <tmp>/data, an empty config file (a
    developer's config.json is never read), loopback media allowed."""
    config = tmp_path / "config.json"
    config.write_text("{}", encoding="utf-8")
    return {"CAPCUT_STORE": "sqlite", "CAPCUT_DATA_DIR": str(data_dir), "CAPCUT_CONFIG": str(config),
            "CAPCUT_FETCH_ALLOW_HOSTS": "127.0.0.1", "CAPCUT_LOG_LEVEL": "INFO"}


@pytest.fixture
def media_urls(tmp_path):
    """Two 5 s videos and an 8 s MP3 on a loopback HTTP server: yields {name: url}."""
    folder = tmp_path / "media"
    folder.mkdir()
    make_video(folder / "v1.mp4", seconds=5)
    make_video(folder / "v2.mp4", seconds=5)
    make_audio(folder / "a.mp3", seconds=8)
    with MediaServer(folder) as server:
        yield {name: server.url(name) for name in ("v1.mp4", "v2.mp4", "a.mp3")}


@asynccontextmanager
async def stdio_session(env: dict, log_path: Path):
    params = StdioServerParameters(command=sys.executable, args=[SERVER], env=env, cwd=str(REPO_ROOT))
    with open(log_path, "w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


def run_stdio(env: dict, tmp_path: Path, body) -> None:
    """Run `body(session)` against a fresh stdio server; on failure show the server's stderr."""
    log_path = tmp_path / "mcp_server.log"

    async def main():
        async with stdio_session(env, log_path) as session:
            await body(session)

    try:
        anyio.run(main)
    except BaseException:
        if log_path.exists():
            sys.stderr.write("---- mcp_server.py stderr ----\n" + log_path.read_text(errors="replace")[-8000:])
        raise


async def call(session: ClientSession, name: str, arguments: dict) -> dict:
    """Call a tool; check the text and structured content carry the same envelope; return it."""
    result = await session.call_tool(name, arguments)
    assert len(result.content) == 1 and result.content[0].type == "text", result
    envelope = json.loads(result.content[0].text)
    assert result.structured_content == envelope
    assert result.is_error is (not envelope["success"])
    return check_envelope(envelope)


async def ok(session: ClientSession, name: str, arguments: dict):
    envelope = await call(session, name, arguments)
    assert envelope["success"], f"{name} failed: {envelope}"
    return envelope["output"]


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


# -- stdio -----------------------------------------------------------------------------------------

def test_stdio_lists_one_tool_per_route_with_the_route_parameters(server_env, tmp_path):
    from capcut_drafts.api import params
    from capcut_drafts.mcp.server import GLOSSARY, SHARED, hidden_params, shared_label
    from capcut_drafts.model import catalog

    async def body(session: ClientSession):
        assert session.initialize_result.server_info.name == "capcut-api"
        assert session.initialize_result.capabilities.tools is not None
        instructions = session.initialize_result.instructions
        listing = await session.list_tools()
        tools = {t.name: t for t in listing.tools}
        assert set(tools) == _expected_tools()
        # what an agent pays on every connection: the tools/list result as sent, and the instructions
        # (which say the shared parameter texts once: they must not become where the cost hides)
        size = len(listing.model_dump_json(by_alias=True, exclude_none=True).encode())
        print(f"tools/list: {size} bytes for {len(tools)} tools; instructions: {len(instructions.encode())} bytes")
        # 30 000 until /import_draft and render_template's replace and fit (33 tools): each raise is a
        # decision, not a drift
        assert size < 32_000
        assert len(instructions.encode()) < 3_000

        # each POST tool's parameters are its request model's, by alias, without the hidden ones (the
        # canvas size only where a draft is created on purpose, upstream's no-ops and legacy names); each
        # is described in its schema or, in the same words, once in the instructions
        assert set(GLOSSARY) == set(SHARED), f"params.py describes none of {set(SHARED) - set(GLOSSARY)}"
        for path, route in _post_routes().items():
            model = route.model
            schema = tools[_tool_name(path)].input_schema
            assert schema["type"] == "object"
            expected_names = set(model.model_json_schema(by_alias=True)["properties"]) - hidden_params(path)
            assert set(schema["properties"]) == expected_names, path
            for name in params.undescribed(schema):
                label = shared_label(name)
                assert label and params.describe(path, name) == GLOSSARY[label], (path, name)
                assert f"{label}: {GLOSSARY[label]}" in instructions, (path, name)
            alone = {name for name in model.REQUIRED if not model.ALTERNATIVES.get(name)}
            assert alone <= set(schema.get("required", [])), path
            assert not any("$ref" in node for node in _walk(schema)), f"{path}: unresolved $ref"
            assert tools[_tool_name(path)].description.strip(), path
            if model.REQUIRED and not alone:      # "a or b": said in the description
                assert "Required: " + " or ".join((model.REQUIRED[0], *model.ALTERNATIVES[model.REQUIRED[0]])) \
                    in tools[_tool_name(path)].description, path

        video = tools["add_video"].input_schema
        assert video["required"] == ["video_url"]
        for name in ("draft_id", "start", "end", "target_start", "speed", "volume", "track_name", "transition",
                     "transition_duration", "mask_type", "background_blur", "transform_x", "scale_x"):
            assert name in video["properties"], name
        assert "draft_folder" not in video["properties"]
        assert "draft_folder" in tools["save_draft"].input_schema["properties"]
        assert "animation" not in tools["add_image"].input_schema["properties"]
        assert "get_names category=transition" in video["properties"]["transition"]["description"]
        assert "get_names category=mask" in video["properties"]["mask_type"]["description"]
        assert video["properties"]["start"]["description"].startswith("Start of the cut in the source file")
        assert "description" not in video["properties"]["draft_id"]      # the instructions say it
        assert "draft_id: Draft id from create_draft" in instructions

        # upstream's MCP mismatches are gone: the HTTP names are the tool names
        assert "srt" in tools["add_subtitle"].input_schema["properties"]
        assert "srt_path" not in tools["add_subtitle"].input_schema["properties"]
        assert "sticker_id" in tools["add_sticker"].input_schema["required"]
        assert "resource_id" not in tools["add_sticker"].input_schema["properties"]
        assert "effect_category" in tools["add_effect"].input_schema["properties"]
        assert "effect_type" in tools["add_audio"].input_schema["properties"]
        assert "sound_effects" not in tools["add_audio"].input_schema["properties"]
        assert "async" in tools["save_draft"].input_schema["properties"]
        assert "Required: task_id or draft_id" in tools["query_draft_status"].description
        text = tools["add_text"].input_schema["properties"]
        assert "get_names category=text_intro" in text["intro_animation"]["description"]
        assert "get_names category=font" in text["text_styles"]["items"]["properties"]["font"]["description"]

        # get_names: a required category (one per catalogue route), an optional profile, read-only
        names = tools["get_names"]
        assert set(names.input_schema["properties"]) == {"category", "profile"}
        assert names.input_schema["required"] == ["category"]
        assert names.input_schema["properties"]["category"]["enum"] == list(catalog.ROUTES.values())
        assert names.annotations.read_only_hint is True

        # every catalogue pointer names a get_names category; none names a GET route's tool any more
        categories = set(catalog.ROUTES.values())
        for tool in tools.values():
            texts = [tool.description or "", *(str(node.get("description", "")) for node in _walk(tool.input_schema))]
            for text in texts:
                assert not re.search(r"get_\w+_types", text), f"{tool.name}: {text}"
                for category in re.findall(r"get_names category=(\w+)", text):
                    assert category in categories, f"{tool.name} points to unknown category {category}"
        assert "get_names" in instructions and "get_*_types" not in instructions

    run_stdio(server_env, tmp_path, body)


def test_stdio_typical_flow_save_and_errors(server_env, tmp_path, media_urls, data_dir):
    state = {}

    async def body(session: ClientSession):
        created = await ok(session, "create_draft", {"width": 1080, "height": 1920})
        draft_id = created["draft_id"]
        assert draft_id.startswith("dfd_cat_") and created["draft_url"].endswith(f"/drafts/{draft_id}")

        for arguments in (
            {"video_url": media_urls["v1.mp4"], "start": 0, "end": 5, "target_start": 0, "track_name": "video_main",
             "transition": "Dissolve", "transition_duration": 1.0},
            {"video_url": media_urls["v2.mp4"], "start": 0, "end": 5, "target_start": 5, "track_name": "video_main",
             "volume": 0.5, "background_blur": 2},
        ):
            out = await ok(session, "add_video", {"draft_id": draft_id, **arguments})
            assert out["draft_id"] == draft_id
        steps = [
            ("add_audio", {"audio_url": media_urls["a.mp3"], "start": 0, "end": 8, "target_start": 0, "volume": 0.6,
                           "effect_type": "Big_House", "effect_params": [50]}),
            ("add_text", {"text": "My Title", "start": 0, "end": 3, "font": "思源中宋", "font_color": "#FFD700",
                          "font_size": 12, "transform_y": 0.6, "track_name": "title", "shadow_enabled": True,
                          "intro_animation": "Fade_In", "outro_animation": "Fade_Out"}),
            ("add_subtitle", {"srt": SRT, "font": "思源粗宋", "font_size": 6, "border_width": 20}),
            ("add_effect", {"effect_type": "Blur", "effect_category": "scene", "start": 0, "end": 2,
                            "params": [40]}),
        ]
        for name, arguments in steps:
            out = await ok(session, name, {"draft_id": draft_id, **arguments})
            assert out["draft_id"] == draft_id, name
        keyframes = await ok(session, "add_video_keyframe", {
            "draft_id": draft_id, "track_name": "video_main",
            "property_types": ["alpha", "alpha", "uniform_scale", "uniform_scale"],
            "times": [0, 1, 5.5, 9], "values": ["0", "1", "1.0", "1.2"]})
        assert keyframes["added_keyframes_count"] == 4

        script = await ok(session, "query_script", {"draft_id": draft_id, "force_update": False})
        assert isinstance(script, str)
        document = json.loads(script)
        assert document["canvas_config"]["width"] == 1080 and document["canvas_config"]["height"] == 1920
        kinds = [t["type"] for t in document["tracks"]]
        assert {"video", "audio", "text", "effect"} <= set(kinds), kinds
        video_main = next(t for t in document["tracks"] if t.get("name") == "video_main")
        assert len(video_main["segments"]) == 2

        # the agent looks at its edit: the frame at 1 s as image content it can see
        seen = await session.call_tool("get_frame", {"draft_id": draft_id, "t": 1, "width": 160})
        assert not seen.is_error and seen.content[0].type == "image" and seen.content[0].mime_type == "image/png"
        picture = base64.b64decode(seen.content[0].data)
        assert picture.startswith(b"\x89PNG") and Image.open(io.BytesIO(picture)).size == (160, 284)
        assert json.loads(seen.content[1].text)["output"] == {"draft_id": draft_id, "t": 1.0}
        missing_frame = await session.call_tool("get_frame", {"draft_id": "nope"})
        assert missing_frame.is_error and json.loads(missing_frame.content[0].text)["code"] == "draft_not_found"

        saved = await ok(session, "save_draft", {"draft_id": draft_id})
        assert saved["success"] is True and saved["status"] == "completed", saved
        assert saved["draft_url"].endswith(f"/drafts/{draft_id}.zip")
        status = await ok(session, "query_draft_status", {"task_id": draft_id})
        assert status["status"] == "completed" and status["progress"] == 100
        assert status["completed_files"] == status["total_files"] == 3
        assert (data_dir / "drafts").exists() or any(data_dir.rglob("draft_meta_info.json"))

        # failures are envelopes (is_error set), not protocol errors; wording as over HTTP
        missing = await call(session, "add_video", {"draft_id": draft_id})
        assert missing["success"] is False and missing["code"] == "missing_parameter"
        assert missing["error"] == "Hi, the required parameters 'video_url' are missing."
        unknown = await call(session, "add_video", {"draft_id": draft_id, "video_url": media_urls["v1.mp4"],
                                                    "target_start": 20, "transition": "NoSuch"})
        assert unknown["code"] == "unknown_name"
        assert unknown["error"].startswith("Error occurred while processing video: Unknown transition 'NoSuch'")
        assert "/get_transition_types" in unknown["error"]
        wrong_type = await call(session, "add_text", {"draft_id": draft_id, "text": "x", "font_size": "big"})
        assert wrong_type["code"] == "invalid_parameter" and "font_size" in wrong_type["error"]
        not_found = await call(session, "query_script", {"draft_id": "nope"})
        assert not_found["code"] == "draft_not_found" and not_found["error"] == "Draft nope does not exist in cache."
        no_task = await call(session, "query_draft_status", {"task_id": "nope2"})
        assert no_task["error"] == "Task with ID nope2 not found. Please check if the task ID is correct."
        empty = await call(session, "save_draft", {})
        assert empty["error"] == "Hi, the required parameter 'draft_id' is missing. Please add it and try again."

        # catalogue names: default profile, another profile, a bad profile, a bad category
        transitions = await ok(session, "get_names", {"category": "transition"})
        assert "Dissolve" in [item["name"] for item in transitions]
        masks = await ok(session, "get_names", {"category": "mask", "profile": "jianying"})
        assert "圆形" in [item["name"] for item in masks]
        bad = await call(session, "get_names", {"category": "mask", "profile": "nope"})
        assert bad["code"] == "unknown_name" and bad["error"].startswith("Invalid parameter 'profile'")
        no_such = await call(session, "get_names", {"category": "transitions"})
        assert no_such["code"] == "invalid_parameter" and "category" in no_such["error"]

        # a tool that does not exist is the one protocol error
        with pytest.raises(MCPError):
            await session.call_tool("add_nothing", {})
        state["draft_id"] = draft_id

    run_stdio(server_env, tmp_path, body)
    assert state.get("draft_id")


def test_drafts_are_shared_with_the_http_app(server_env, tmp_path, data_dir):
    """Same settings -> same SQLite file: MCP and the Flask routes work on one draft."""
    from capcut_drafts.web.app import create_app
    flask = create_app(make_settings(data_dir, store="sqlite")).test_client()

    def http(path: str, body: dict):
        resp = flask.post(path, json=body)
        assert resp.status_code == 200
        return check_envelope(resp.get_json())

    async def body(session: ClientSession):
        # MCP -> HTTP
        made = await ok(session, "create_draft", {"width": 1280, "height": 720})
        draft_id = made["draft_id"]
        await ok(session, "add_text", {"draft_id": draft_id, "text": "from MCP", "start": 0, "end": 2})
        seen = http("/query_script", {"draft_id": draft_id})
        assert seen["success"], seen
        document = json.loads(seen["output"])
        assert document["canvas_config"]["width"] == 1280
        assert "from MCP" in seen["output"]

        # HTTP -> MCP, then MCP changes the HTTP draft and HTTP sees it
        other = http("/create_draft", {"width": 720, "height": 1280})["output"]["draft_id"]
        assert http("/add_text", {"draft_id": other, "text": "from HTTP", "start": 0, "end": 2})["success"]
        script = await ok(session, "query_script", {"draft_id": other})
        assert "from HTTP" in script and json.loads(script)["canvas_config"]["height"] == 1280
        await ok(session, "add_text", {"draft_id": other, "text": "then MCP", "start": 2, "end": 4})
        both = http("/query_script", {"draft_id": other})["output"]
        assert "from HTTP" in both and "then MCP" in both

        # tasks are shared too: a save over HTTP is visible to query_draft_status over MCP
        saved = http("/save_draft", {"draft_id": other})
        assert saved["success"], saved
        status = await ok(session, "query_draft_status", {"task_id": other})
        assert status["status"] == "completed"

    run_stdio(server_env, tmp_path, body)


def test_bad_settings_stop_the_server_with_a_message(server_env):
    env = {**os.environ, **server_env, "CAPCUT_PORT": "not-a-port"}
    proc = subprocess.run([sys.executable, SERVER], cwd=REPO_ROOT, env=env, input="", capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "CAPCUT_PORT" in proc.stderr and proc.stdout == ""


# -- streamable HTTP ---------------------------------------------------------------------------

@contextmanager
def http_server(env: dict, tmp_path: Path):
    """`mcp_server.py --http` on a free 127.0.0.1 port; yields the MCP endpoint URL."""
    port = free_port()
    log_path = tmp_path / "mcp_http.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, SERVER, "--http", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=REPO_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mcp_server.py --http exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"no listener on {port} after 30 s:\n{log_path.read_text()}")
                time.sleep(0.1)
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        except BaseException:
            sys.stderr.write("---- mcp_server.py --http log ----\n" + log_path.read_text(errors="replace")[-8000:])
            raise
    finally:
        stop_process(proc)
    assert b"Traceback" not in log_path.read_bytes(), log_path.read_text(errors="replace")


def test_streamable_http_lists_tools_and_creates_a_draft(server_env, tmp_path, data_dir):
    result = {}

    async def main(url: str):
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            names = {t.name for t in (await session.list_tools()).tools}
            assert names == _expected_tools()
            result["draft"] = await ok(session, "create_draft", {"width": 1080, "height": 1920})
            missing = await call(session, "add_audio", {})
            assert missing["code"] == "missing_parameter"

    with http_server(server_env, tmp_path) as url:
        anyio.run(main, url)
    assert result["draft"]["draft_id"].startswith("dfd_cat_")
    # the draft is in the shared store
    from capcut_drafts.web.app import create_app
    flask = create_app(make_settings(data_dir, store="sqlite")).test_client()
    seen = flask.post("/query_script", json={"draft_id": result["draft"]["draft_id"]}).get_json()
    assert seen["success"], seen


def test_streamable_http_requires_the_api_key_when_keys_are_set(server_env, tmp_path):
    import httpx2

    async def main(url: str):
        async with httpx2.AsyncClient() as plain:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}):
                resp = await plain.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)
                assert resp.status_code == 401
                assert resp.json() == {"success": False, "output": "", "code": "unauthorized",
                                       "error": "Missing or wrong API key: send 'Authorization: Bearer <key>' "
                                                "or 'X-API-Key: <key>'."}
        for headers in ({"Authorization": "Bearer key-two"}, {"X-API-Key": "key-one"}):
            async with (httpx2.AsyncClient(headers=headers) as client,
                        streamable_http_client(url, http_client=client) as (read, write),
                        ClientSession(read, write) as session):
                await session.initialize()
                assert await ok(session, "get_names", {"category": "mask"})

    with http_server({**server_env, "CAPCUT_API_KEYS": "key-one,key-two"}, tmp_path) as url:
        anyio.run(main, url)


# -- in process: catalogue pointers and dispatch ------------------------------------------------------

# The smallest valid body of each route that has name-valued parameters (no draft_id: a new draft).
MINIMAL = {
    "/add_video": {"video_url": "http://127.0.0.1:9/v.mp4", "end": 2},
    "/add_audio": {"audio_url": "http://127.0.0.1:9/a.mp3", "end": 2},
    "/add_image": {"image_url": "http://127.0.0.1:9/i.png"},
    "/add_text": {"text": "hello"},
    "/add_subtitle": {"srt": SRT},
    "/add_effect": {"effect_type": "Blur"},
    "/add_filter": {"filter_type": "x"},
}


@pytest.fixture
def tool_table(tmp_path):
    from capcut_drafts.context import build_context
    from capcut_drafts.mcp import server as mcp_server
    ctx = build_context(make_settings(tmp_path, store="memory", prefetch_on_add=False))
    return mcp_server.build_tools(ctx)


def test_every_catalogue_pointer_names_the_catalogue_the_route_checks(tool_table):
    """For each name-valued parameter: a bogus name is refused with the pointed catalogue's route,
    and the first name get_names lists for the pointed category is accepted."""
    from capcut_drafts.api import params
    from capcut_drafts.routes.effect import EFFECT_CATEGORIES

    checked = 0
    for path, route in _post_routes().items():
        pointers = params.catalogue_params(route)
        if not pointers:
            continue
        assert path in MINIMAL, f"add a minimal body for {path}"
        for param, category in pointers.items():
            cases = ([(c, {"effect_category": word}) for word, c in EFFECT_CATEGORIES.items()]
                     if isinstance(category, tuple) else [(category, {})])
            for cat, extra in cases:
                run = tool_table[_tool_name(path)].run
                listing, _ = tool_table["get_names"].run({"category": cat})
                first = listing["output"][0]["name"]
                good, _ = run({**MINIMAL[path], **extra, param: first})
                assert good["success"], f"{path} {param}={first!r} ({cat}): {good}"
                bad, _ = run({**MINIMAL[path], **extra, param: "NoSuchName_zz"})
                # refused (unknown_name), or left out with a warning where upstream ignores the name
                said = " ".join(bad.get("warnings", [])) if bad["success"] else bad["error"]
                assert bad["success"] or bad["code"] == "unknown_name", f"{path} {param}: {bad}"
                assert f"GET /{params.catalogue_route(cat)}" in said, \
                    f"{path} {param} points to {cat} but the route says: {bad}"
                checked += 1
    assert checked >= 17

    bad, _ = tool_table["add_text"].run({"text": "hello",
                                         "text_styles": [{"start": 0, "end": 2, "font": "NoSuchName_zz"}]})
    assert bad["code"] == "unknown_name" and "GET /get_font_types" in bad["error"]


def test_get_names_answers_what_the_get_routes_answer(tool_table, app):
    client = app.test_client()
    for path, category in _catalogue_routes().items():
        for profile in (None, "jianying", "jianying_pro_10", "capcut_legacy", "nope"):
            query = f"?profile={profile}" if profile else ""
            expected = client.get(path + query).get_json()
            arguments = {"category": category, **({"profile": profile} if profile else {})}
            got, status = tool_table["get_names"].run(arguments)
            if profile == "nope":
                assert expected["error"].replace("query parameter", "parameter") == got["error"]
                assert expected["code"] == got["code"] and got["success"] is False
            else:
                assert got == expected, (path, profile)
            assert status == 200


def test_get_names_refuses_what_no_route_lists(tool_table):
    run = tool_table["get_names"].run
    missing, _ = run({"profile": "capcut"})
    assert missing["code"] == "missing_parameter" and "'category'" in missing["error"]
    for bad_category in ("get_font_types", "fonts", 3):
        bad, _ = run({"category": bad_category})
        assert bad["code"] == "invalid_parameter" and "'category'" in bad["error"], bad_category
    bad_profile, _ = run({"category": "font", "profile": 3})
    assert bad_profile["code"] == "invalid_parameter" and bad_profile["success"] is False


def test_hidden_parameters_are_still_read(tool_table):
    """Left out of the schemas, not out of the tools: clients written for the HTTP routes keep working."""
    first_intro = tool_table["get_names"].run({"category": "intro"})[0]["output"][0]["name"]
    added, _ = tool_table["add_image"].run({**MINIMAL["/add_image"], "animation": first_intro,
                                            "animation_duration": 1, "draft_folder": "C:\\Drafts"})
    assert added["success"], added
    refused, _ = tool_table["add_image"].run({**MINIMAL["/add_image"], "animation": "NoSuchName_zz"})
    assert refused["code"] == "unknown_name", refused
    read, _ = tool_table["query_script"].run({"draft_id": added["output"]["draft_id"], "force_update": True})
    assert read["success"], read


@pytest.mark.parametrize("http_error_status", [False, True])
def test_dispatch_answers_exactly_what_the_flask_routes_answer(tmp_path, http_error_status):
    """`capcut_drafts.api.dispatch.run_route` is the Flask view without Flask: same envelope, same status."""
    from capcut_drafts.api.dispatch import run_route
    from capcut_drafts.web.app import create_app

    app = create_app(make_settings(tmp_path, store="memory", http_error_status=http_error_status,
                                   prefetch_on_add=False))
    client, ctx = app.test_client(), app.extensions["capcut"]
    draft_id = client.post("/create_draft", json={}).get_json()["output"]["draft_id"]
    cases = [
        ("/add_video", {}),
        ("/add_video", {"draft_id": draft_id, "video_url": "http://127.0.0.1:9/v.mp4", "speed": "fast"}),
        ("/add_video", {"draft_id": draft_id, "video_url": "http://127.0.0.1:9/v.mp4", "transition": "NoSuch"}),
        ("/add_text", {"draft_id": draft_id, "text": "hi", "alpha": 2}),
        ("/add_text", {"text": ""}),
        ("/add_effect", {"draft_id": draft_id, "effect_type": "Like", "effect_category": "other"}),
        ("/add_sticker", {}),
        ("/add_video_keyframe", {"draft_id": draft_id, "property_types": ["alpha"], "times": [0, 1],
                                 "values": ["1", "0"]}),
        ("/query_script", {"draft_id": "nope"}),
        ("/query_draft_status", {"task_id": "nope2"}),
        ("/save_draft", {"draft_id": "nope"}),
        ("/generate_draft_url", {}),
        ("/add_text", ["not", "an", "object"]),
        ("/generate_draft_url", {"draft_id": draft_id}),
        ("/query_script", {"draft_id": draft_id, "unknown_key": 1}),
        ("/create_draft", {"width": 640, "height": 480}),
    ]
    for path, body in cases:
        resp = client.post(path, json=body)
        envelope, status = run_route(ctx, path, body)
        expected = resp.get_json()
        if expected["success"]:
            assert envelope["success"] and set(envelope) == set(expected), (path, body)
            output = expected["output"]
            assert type(envelope["output"]) is type(output)
            if isinstance(output, dict):
                assert envelope["output"].keys() == output.keys()
        else:
            assert envelope == expected, (path, body)
        assert status == resp.status_code, (path, body, status, resp.status_code)
