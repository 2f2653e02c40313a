"""Build the Postman collection (v2.1) from the service's OpenAPI document.

Run from the repository root whenever a route, a request model or an example changes; the
output is committed:

    .venv/bin/python tools/make_postman.py            # writes postman/capcut-api.postman_collection.json
    .venv/bin/python tools/make_postman.py --check    # exit 1 if the committed file is stale
    .venv/bin/python tools/make_postman.py --out FILE

The document is the one `/openapi.json` serves (capcut_drafts/web/openapi.py, built from the route records of
`capcut_drafts/api/registry.py` and the catalogue routes); no server is needed. The collection holds:

* "Typical flow": the sequence of the compatibility spec §11.1 in order (create a draft, two
  video clips, music, a title, subtitles, an effect, keyframes, query, save, save status), each
  with its route's example body. The create step's test script stores the new draft's id in the
  collection variable `draft_id`; later bodies send `{{draft_id}}` (also as the save's `task_id`).
  Every request's test script checks the envelope's `success`; the last one also checks that the
  save task is `completed` with a `draft_url` (a failed save answers the envelope too).
* "More routes": the other POST routes with their examples.
* "Catalogue": every GET catalogue route (the optional `profile` query parameter is listed,
  disabled).
* "Health": `/healthz` and `/readyz`.

Collection variables: `baseUrl` (http://127.0.0.1:9001), `apiKey` (sent as `X-API-Key: {{apiKey}}`
on every route that needs a key) and `draft_id`. The output is deterministic: ids are UUIDv5
derived from item names, folders other than the flow are sorted by path, JSON keys keep a fixed
order, so `--check` can compare byte for byte.
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "postman" / "capcut-api.postman_collection.json"
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
BASE_URL = "http://127.0.0.1:9001"
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "capcut-api.postman_collection")
DRAFT_VARIABLE = "{{draft_id}}"

# The typical flow of spec §11.1: (item name, route, how the body differs from the route's example).
# "second_clip" places a second clip of another file right after the example's clip.
FLOW: list[tuple[str, str, str]] = [
    ("01 Create a draft", "/create_draft", ""),
    ("02 Add a video clip", "/add_video", ""),
    ("03 Add a second video clip after it", "/add_video", "second_clip"),
    ("04 Add background music", "/add_audio", ""),
    ("05 Add a title", "/add_text", ""),
    ("06 Add subtitles", "/add_subtitle", ""),
    ("07 Add an effect", "/add_effect", ""),
    ("08 Add keyframes", "/add_video_keyframe", ""),
    ("09 Query the draft", "/query_script", ""),
    ("10 Save the draft", "/save_draft", ""),
    ("11 Query the save", "/query_draft_status", ""),
]

CHECK_SUCCESS = [
    'pm.test("answers the envelope with success", function () {',
    "    const reply = pm.response.json();",
    "    pm.expect(reply.success, reply.error).to.equal(true);",
    "});",
]
# "11 Query the save" also checks that the save really finished: a task that failed or still runs
# answers the envelope with success too. The save step waits for the task (up to save_wait_seconds),
# so by then it is "completed" unless the save failed (e.g. media URLs still the placeholders).
CHECK_SAVE_COMPLETED = [
    'pm.test("the save completed and has a download link", function () {',
    "    const reply = pm.response.json();",
    '    pm.expect(reply.output.status, reply.output.message).to.equal("completed");',
    "    pm.expect(reply.output.draft_url).to.match(/^https?:\\/\\/\\S+/);",
    "});",
]
CAPTURE_DRAFT_ID = [
    "const created = pm.response.json();",
    "if (created.success) {",
    '    pm.collectionVariables.set("draft_id", created.output.draft_id);',
    "}",
]


def load_document() -> dict:
    """The OpenAPI document `/openapi.json` serves, built the same way capcut_drafts/web/surface.py builds it."""
    sys.path.insert(0, str(ROOT))
    from capcut_drafts.api import registry
    from capcut_drafts.model import catalog
    from capcut_drafts.web.openapi import build_document
    from capcut_drafts.web.surface import VERSION
    return build_document(registry.ROUTES, catalog.ROUTES, VERSION)


def _id(*names: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(names)))


def _example(document: dict, path: str) -> dict:
    return document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]


def _with_draft_variable(body: dict) -> dict:
    """The example body with the draft (and save task) id replaced by `{{draft_id}}`."""
    return {key: DRAFT_VARIABLE if key in ("draft_id", "task_id") else value for key, value in body.items()}


def _second_clip(body: dict) -> dict:
    """A second clip of another file placed where the example clip ends (no transition)."""
    clip = {key: value for key, value in body.items() if not key.startswith("transition")}
    clip["video_url"] = body["video_url"].replace("clip.", "clip2.")
    clip["target_start"] = body.get("target_start", 0) + body["end"] - body.get("start", 0)
    return clip


def _needs_key(operation: dict) -> bool:
    """Whether the route needs a key on a service with api_keys (the document marks open routes with
    `security: []`; the served document adds the requirement only when keys are configured)."""
    return operation.get("security") != []


def _url(path: str, query: list[dict] | None = None) -> dict:
    url: dict[str, Any] = {"raw": "{{baseUrl}}" + path, "host": ["{{baseUrl}}"], "path": path.strip("/").split("/")}
    if query:
        url["query"] = query
    return url


def _item(folder: str, name: str, method: str, path: str, operation: dict, document: dict,
          body: dict | None = None, tests: list[str] | None = None, query: list[dict] | None = None) -> dict:
    header = []
    if body is not None:
        header.append({"key": "Content-Type", "value": "application/json"})
    if _needs_key(operation):
        header.append({"key": "X-API-Key", "value": "{{apiKey}}"})
    request: dict[str, Any] = {"method": method, "header": header}
    if body is not None:
        request["body"] = {"mode": "raw", "raw": json.dumps(body, ensure_ascii=False, indent=2),
                           "options": {"raw": {"language": "json"}}}
    request["url"] = _url(path, query)
    request["description"] = "\n\n".join(part for part in (operation.get("summary"), operation.get("description"))
                                         if part)
    item: dict[str, Any] = {"id": _id(folder, name), "name": name}
    if tests:
        item["event"] = [{"listen": "test", "script": {"id": _id(folder, name, "test"), "type": "text/javascript",
                                                       "exec": tests}}]
    item["request"] = request
    item["response"] = []
    return item


def _folder(name: str, description: str, items: list[dict]) -> dict:
    return {"id": _id(name), "name": name, "description": description, "item": items}


def build_collection(document: dict) -> dict:
    """The Postman v2.1 collection for `document` (a dict ready for json.dumps)."""
    paths = document["paths"]
    flow_items = []
    for name, path, variant in FLOW:
        operation = paths[path]["post"]
        body = _example(document, path)
        if variant == "second_clip":
            body = _second_clip(body)
        tests = CHECK_SUCCESS + (CAPTURE_DRAFT_ID if path == "/create_draft" else []) \
            + (CHECK_SAVE_COMPLETED if path == "/query_draft_status" else [])
        flow_items.append(_item("Typical flow", name, "POST", path, operation, document,
                                body=_with_draft_variable(body), tests=tests))

    in_flow = {path for _, path, _ in FLOW}
    more = [_item("More routes", path.strip("/"), "POST", path, paths[path]["post"], document,
                  body=_with_draft_variable(_example(document, path)), tests=CHECK_SUCCESS)
            for path in sorted(paths) if "post" in paths[path] and path not in in_flow
            and "preview" not in paths[path]["post"]["tags"]]      # the preview page's own doors

    gets: dict[str, list[dict]] = {"catalogue": [], "operations": []}
    for path in sorted(paths):
        operation = paths[path].get("get")
        if operation is None or "application/json" not in operation["responses"]["200"].get("content", {}) \
                or "preview" in operation["tags"] or "drafts" in operation["tags"]:
            continue        # metrics, pages and files are for Prometheus and browsers; GET /drafts = POST /list_drafts
        query = [{"key": p["name"], "value": "", "description": p.get("description", ""), "disabled": True}
                 for p in operation.get("parameters", []) if p.get("in") == "query"]
        folder = "Catalogue" if "catalogue" in operation.get("tags", []) else "Health"
        gets["catalogue" if folder == "Catalogue" else "operations"].append(
            _item(folder, path.strip("/"), "GET", path, operation, document, tests=CHECK_SUCCESS, query=query))

    info = document["info"]
    return {
        "info": {
            "_postman_id": _id("collection"),
            "name": info["title"],
            "description": f"{info.get('description', '')}\n\nGenerated by tools/make_postman.py from the "
                           f"OpenAPI document (version {info['version']}) served at /openapi.json. Set the "
                           "collection variables baseUrl and, when the service has api_keys, apiKey; run "
                           "\"Typical flow\" in order (the first request stores draft_id).",
            "schema": SCHEMA_URL,
        },
        "item": [
            _folder("Typical flow", "Spec §11.1: a draft with two clips, music, a title, subtitles, an effect "
                                    "and keyframes, then query and save it. Run in order; the first request "
                                    "stores draft_id. The example media URLs are placeholders: put your own "
                                    "before saving (the save fails on them, and the last request checks "
                                    "that the save completed).", flow_items),
            _folder("More routes", "The other POST routes with their examples (they use {{draft_id}}).", more),
            _folder("Catalogue", "Names accepted by the name parameters (transitions, animations, masks, effects, "
                                 "fonts, filters); enable the profile parameter for another app profile.",
                    gets["catalogue"]),
            _folder("Health", "Liveness and readiness; they need no API key.", gets["operations"]),
        ],
        "variable": [
            {"key": "apiKey", "value": "", "type": "string",
             "description": "one of the service's api_keys (leave empty when it has none)"},
            {"key": "baseUrl", "value": BASE_URL, "type": "string"},
            {"key": "draft_id", "value": "", "type": "string",
             "description": "set by \"01 Create a draft\""},
        ],
    }


def render(collection: dict) -> str:
    return json.dumps(collection, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT})")
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file is not up to date")
    args = parser.parse_args(argv)
    text = render(build_collection(load_document()))
    if args.check:
        try:
            current = args.out.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            print(f"{args.out} is stale: run .venv/bin/python tools/make_postman.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
