"""The route registry (`capcut_drafts/api/registry.py`) is the one list of POST routes, and the context
module (`capcut_drafts/context.py`) starts a process without the Flask app.

* the Flask rules, the OpenAPI paths and the MCP tools are exactly the registry's routes plus
  the catalogue routes, in the registry's order;
* each record is complete, and a path declared twice is refused;
* `mcp_server` and `worker` start without importing `app`, and the modules that used to form an
  import cycle import on their own in a fresh interpreter;
* the HTTP service and the MCP server's HTTP transport answer every API-key header the same way.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import anyio
import pytest
from helpers import REPO_ROOT, make_settings

PACKAGE = REPO_ROOT / "capcut_drafts"

OPERATIONS = ["/healthz", "/readyz", "/metrics"]    # GET routes of capcut_drafts/web/surface.py, not tools
DOWNLOADS = ["/drafts/{draft_id}", "/drafts/{draft_id}.zip",    # GET routes of web/app.py and web/render_routes.py
             "/drafts/{draft_id}/preview", "/drafts/{draft_id}/frame.png", "/drafts/{draft_id}/renders/{task_id}.mp4",
             "/drafts/{draft_id}/task_status", "/drafts/{draft_id}/timeline.json",
             "/templates/{template_draft_id}/fields", "/drafts/{draft_id}.otio"]
DRAFT_POSTS = ["/drafts/<draft_id>/generate_video"]      # a registry route again under the draft's path
DRAFT_LIST = ["/drafts"]                                 # POST /list_drafts as a GET (web/app.py)


def _isolated(code: str, tmp_path) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter in the repository, on the memory store and an empty
    config file (a developer's config.json is never read)."""
    config = tmp_path / "config.json"
    config.write_text("{}", encoding="utf-8")
    env = {**os.environ, "CAPCUT_STORE": "memory", "CAPCUT_CONFIG": str(config),
           "CAPCUT_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


# -- one list of routes --------------------------------------------------------------------

def test_flask_openapi_and_mcp_serve_exactly_the_registry(app, client):
    from capcut_drafts.api import registry
    from capcut_drafts.mcp import server as mcp_server
    from capcut_drafts.model import catalog
    posts = [route.path for route in registry.ROUTES]
    gets = list(catalog.ROUTES)

    rules = {method: sorted(r.rule for r in app.url_map.iter_rules() if method in r.methods)
             for method in ("POST", "GET")}
    assert rules["POST"] == sorted(posts + DRAFT_POSTS)
    assert set(gets) | set(OPERATIONS) <= set(rules["GET"])

    paths = client.get("/openapi.json").get_json()["paths"]          # served with sorted keys
    assert sorted(p for p, item in paths.items() if "post" in item) == \
        sorted(posts + [p.replace("<", "{").replace(">", "}") for p in DRAFT_POSTS])
    assert sorted(p for p, item in paths.items() if "get" in item) == sorted(gets + OPERATIONS + DOWNLOADS + DRAFT_LIST)

    tools = mcp_server.build_tools(app.extensions["capcut"])
    assert list(tools) == [p.strip("/") for p in posts] + ["get_names", "get_frame"]
    for route in registry.ROUTES:
        tool = tools[route.name].tool
        assert tool.description.startswith(route.description), route.path
        assert bool(tool.annotations.read_only_hint) is route.read_only, route.path
        assert bool(tool.annotations.destructive_hint) is route.destructive, route.path
        assert paths[route.path]["post"]["summary"] == route.summary


def test_every_record_is_complete():
    from capcut_drafts.api import registry
    for route in registry.ROUTES:
        assert route.path.startswith("/") and route.name == route.path[1:], route
        assert route.summary.strip() and route.description.strip(), route.path
        assert "{}" in route.error_template, route.path
        assert callable(route.handler) != callable(route.plan), route.path
        assert set(route.model.REQUIRED) <= set(route.example), f"{route.path}: example lacks a required key"
        route.model.parse(dict(route.example))
    assert list(registry.BY_PATH) == [route.path for route in registry.ROUTES]


def test_a_path_declared_twice_is_refused():
    from capcut_drafts.api import registry
    first = registry.ROUTES[0]
    again = dataclasses.replace(registry.ROUTES[1], path=first.path)
    with pytest.raises(ValueError, match=f"route {first.path} is declared twice"):
        registry._by_path([first, again])


def test_the_document_never_aliases_the_registry():
    """Changing a served document (a test, a fuzzer) leaves the registry's examples as they are."""
    from capcut_drafts.api import registry
    from capcut_drafts.model import catalog
    from capcut_drafts.web.openapi import build_document
    document = build_document(registry.ROUTES, catalog.ROUTES, "test")
    body = document["paths"]["/add_text"]["post"]["requestBody"]["content"]["application/json"]["example"]
    body["text_styles"][0]["style"]["color"] = "#000000"
    assert registry.route("/add_text").example["text_styles"][0]["style"]["color"] == "#FF0000"


# -- imports ---------------------------------------------------------------------------------

def test_mcp_server_and_worker_start_without_the_flask_app(tmp_path):
    result = _isolated("import mcp_server, worker; import sys; "
                       "assert not {'app', 'capcut_drafts.web.app'} & set(sys.modules)", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("module", ["capcut_drafts.context", "capcut_drafts.api.registry",
                                    "capcut_drafts.api.dispatch", "capcut_drafts.routes.drafts",
                                    "capcut_drafts.routes.save", "capcut_drafts.routes.query",
                                    "capcut_drafts.routes.video", "capcut_drafts.routes.text",
                                    "capcut_drafts.routes.keyframe", "capcut_drafts.web.openapi", "mcp_server", "app"])
def test_each_module_imports_on_its_own(module, tmp_path):
    result = _isolated(f"import {module}", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_route_modules_need_no_flask(tmp_path):
    code = ("import sys; import capcut_drafts.context, capcut_drafts.api.registry, capcut_drafts.api.dispatch; "
            "assert not [m for m in sys.modules if m == 'flask' or m.startswith('flask.')], 'flask imported'")
    result = _isolated(code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


# -- one API-key check -----------------------------------------------------------------------

KEYS = ["key-one", "clé-deux"]
# header sets as bytes on the wire, and whether a key is accepted
HEADER_CASES = [
    ({}, False),
    ({"Authorization": b"Bearer key-one"}, True),
    ({"Authorization": b"bEaReR   key-one  "}, True),
    ({"Authorization": b"Bearer "}, False),
    ({"Authorization": b"key-one"}, False),
    ({"Authorization": b"Basic key-one", "X-API-Key": b"key-one"}, True),
    ({"Authorization": b"Bearer wrong", "X-API-Key": b"key-one"}, False),
    ({"X-API-Key": b"key-one"}, True),
    ({"X-API-Key": b""}, False),
    ({"X-API-Key": b"key-on"}, False),
    ({"X-API-Key": "clé-deux".encode()}, True),
    ({"X-API-Key": "clé-deux".encode("latin-1")}, False),
]


def _flask_accepts(client, headers: dict[str, bytes]) -> bool:
    # a WSGI server hands header values to the app decoded as ISO-8859-1
    sent = {name: value.decode("latin-1") for name, value in headers.items()}
    status = client.get("/get_mask_types", headers=sent).status_code
    assert status in (200, 401)
    return status == 200


def _mcp_accepts(headers: dict[str, bytes]) -> bool:
    from capcut_drafts.mcp import server as mcp_server
    statuses = []

    async def inner(scope, receive, send):
        statuses.append(200)

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {"type": "http", "headers": [(name.lower().encode(), value) for name, value in headers.items()]}
    anyio.run(mcp_server.RequireApiKey(inner, KEYS), scope, None, send)
    assert statuses in ([200], [401])
    return statuses == [200]


def test_http_service_and_mcp_transport_share_one_key_check(tmp_path):
    from capcut_drafts.web import guards
    from capcut_drafts.web.app import create_app
    client = create_app(make_settings(tmp_path, store="memory", api_keys=KEYS)).test_client()
    for headers, accepted in HEADER_CASES:
        identity = guards.api_key_identity(headers.get("Authorization", b""), headers.get("X-API-Key", b""), KEYS)
        assert (identity is not None) is accepted, headers
        assert _flask_accepts(client, headers) is accepted, headers
        assert _mcp_accepts(headers) is accepted, headers


def test_the_key_identity_names_the_key_not_the_header():
    from capcut_drafts.web import guards
    one = guards.api_key_identity(b"Bearer key-one", b"", KEYS)
    assert one == guards.api_key_identity(b"", b"key-one", KEYS)
    assert one != guards.api_key_identity(b"", "clé-deux".encode(), KEYS)
    assert "key-one" not in one and len(one) == 16
