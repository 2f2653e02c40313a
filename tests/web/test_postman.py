"""The Postman collection (postman/capcut-api.postman_collection.json, made by tools/make_postman.py).

It must equal a fresh generation from the OpenAPI document the app serves, hold the typical flow
of a typical client session in order and every catalogue route, and its typical flow must really run: the
requests, variables and test scripts are replayed against an app (Flask test client) with small
real media served on 127.0.0.1.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import pytest
from helpers import REPO_ROOT, check_envelope, make_settings
from helpers.media import MediaServer, make_audio, make_video

sys.path.insert(0, str(REPO_ROOT / "tools"))
import make_postman  # noqa: E402

COLLECTION_PATH = REPO_ROOT / "postman" / "capcut-api.postman_collection.json"
FLOW_ROUTES = ["/create_draft", "/add_video", "/add_video", "/add_audio", "/add_text", "/add_subtitle", "/add_effect",
               "/add_video_keyframe", "/query_script", "/save_draft", "/query_draft_status"]     # a typical session


@pytest.fixture(scope="module")
def collection() -> dict:
    return json.loads(COLLECTION_PATH.read_text(encoding="utf-8"))


def folder(collection: dict, name: str) -> list[dict]:
    [found] = [f for f in collection["item"] if f["name"] == name]
    return found["item"]


def route(item: dict) -> str:
    return "/" + "/".join(item["request"]["url"]["path"])


def all_items(collection: dict) -> list[dict]:
    return [item for f in collection["item"] for item in f["item"]]


# -- in sync -------------------------------------------------------------------------------

def test_committed_collection_equals_a_fresh_generation_from_the_served_document(client):
    document = make_postman.load_document()        # key order as built (Flask's jsonify sorts keys)
    assert client.get("/openapi.json").get_json() == document, "the generator's document is not /openapi.json"
    expected = make_postman.render(make_postman.build_collection(document))
    assert COLLECTION_PATH.read_text(encoding="utf-8") == expected, \
        "postman/capcut-api.postman_collection.json is stale: run .venv/bin/python tools/make_postman.py"


def test_check_flag_exit_codes(tmp_path):
    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "tools/make_postman.py", "--check", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
    fresh = check()
    assert fresh.returncode == 0, fresh.stderr
    stale = tmp_path / "stale.json"
    stale.write_text(COLLECTION_PATH.read_text(encoding="utf-8").replace("01 Create a draft", "01 Create"),
                     encoding="utf-8")
    result = check("--out", str(stale))
    assert result.returncode == 1 and "stale" in result.stderr
    assert check("--out", str(tmp_path / "missing.json")).returncode == 1


def test_generation_is_deterministic(tmp_path):
    out = tmp_path / "c.json"
    for _ in range(2):
        done = subprocess.run([sys.executable, "tools/make_postman.py", "--out", str(out)], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == COLLECTION_PATH.read_bytes()


# -- contents ------------------------------------------------------------------------------

def test_postman_v21_shape(collection):
    info = collection["info"]
    assert info["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    assert info["name"] and uuid.UUID(info["_postman_id"])
    ids = [info["_postman_id"]] + [f["id"] for f in collection["item"]] + [i["id"] for i in all_items(collection)]
    assert len(ids) == len(set(ids)) and all(uuid.UUID(i).version == 5 for i in ids)
    assert [f["name"] for f in collection["item"]] == ["Typical flow", "More routes", "Catalogue", "Health"]
    for item in all_items(collection):
        request = item["request"]
        assert request["method"] in ("GET", "POST")
        assert request["url"]["raw"] == "{{baseUrl}}" + route(item) and request["url"]["host"] == ["{{baseUrl}}"]
        if request["method"] == "POST":
            assert {"key": "Content-Type", "value": "application/json"} in request["header"]
            assert request["body"]["mode"] == "raw" and isinstance(json.loads(request["body"]["raw"]), dict)
        else:
            assert "body" not in request
        for event in item.get("event", []):
            assert event["listen"] == "test" and event["script"]["type"] == "text/javascript"
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables == {"baseUrl": "http://127.0.0.1:9001", "apiKey": "", "draft_id": ""}


def test_typical_flow_in_spec_order_with_draft_id_captured_and_reused(collection):
    flow = folder(collection, "Typical flow")
    assert [route(i) for i in flow] == FLOW_ROUTES
    assert [i["name"][:2] for i in flow] == [f"{n:02d}" for n in range(1, len(flow) + 1)]
    capture = "\n".join(flow[0]["event"][0]["script"]["exec"])
    assert 'pm.collectionVariables.set("draft_id", created.output.draft_id)' in capture
    for item in flow[1:]:
        body = json.loads(item["request"]["body"]["raw"])
        key = "task_id" if route(item) == "/query_draft_status" else "draft_id"
        assert body[key] == "{{draft_id}}", item["name"]
    bodies = [json.loads(i["request"]["body"]["raw"]) for i in flow]
    first, second = bodies[1], bodies[2]
    assert second["target_start"] == first["target_start"] + first["end"] - first["start"]
    assert second["video_url"] != first["video_url"]


def test_examples_are_the_documents(collection, client):
    document = client.get("/openapi.json").get_json()
    for item in folder(collection, "Typical flow")[:2] + folder(collection, "More routes"):
        example = document["paths"][route(item)]["post"]["requestBody"]["content"]["application/json"]["example"]
        body = json.loads(item["request"]["body"]["raw"])
        assert body == {k: "{{draft_id}}" if k in ("draft_id", "task_id") else v for k, v in example.items()}


def test_every_route_is_in_the_collection(collection, app):
    from capcut_drafts.api import registry
    from capcut_drafts.model import catalog
    posts = {route(i) for i in all_items(collection) if i["request"]["method"] == "POST"}
    assert posts == set(registry.BY_PATH)
    catalogue = folder(collection, "Catalogue")
    assert [route(i) for i in catalogue] == sorted(catalog.ROUTES)
    for item in catalogue:
        assert item["request"]["method"] == "GET"
        assert item["request"]["url"]["query"] == [{"key": "profile", "value": "", "disabled": True,
                                                    "description": item["request"]["url"]["query"][0]["description"]}]
    assert [route(i) for i in folder(collection, "Health")] == ["/healthz", "/readyz"]


def test_api_key_header_on_every_route_but_health(collection):
    for item in all_items(collection):
        keyed = {"key": "X-API-Key", "value": "{{apiKey}}"} in item["request"]["header"]
        assert keyed == (route(item) not in ("/healthz", "/readyz")), item["name"]


# -- the typical flow runs -----------------------------------------------------------------

def substitute(text: str, variables: dict) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: variables[m.group(1)], text)


# The test scripts are run by a small interpreter of the statements the generator writes; a
# `pm.*` statement it does not know fails the test, so no check in the collection goes unrun.
BIND = re.compile(r"const (\w+) = pm\.response\.json\(\);")
EXPECT = re.compile(r"pm\.expect\(([\w.]+)(?:, [\w.]+)?\)\.to\.(equal|match)\((.+)\);")
CAPTURE = re.compile(r'pm\.collectionVariables\.set\("(\w+)", ([\w.]+)\);')
GUARD = re.compile(r"if \(([\w.]+)\) \{")


def lookup(expression: str, bound: dict) -> object:
    """`reply.output.status` with `reply` bound to the reply; None where a key is missing (JS undefined)."""
    name, *keys = expression.split(".")
    value = bound[name]
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def run_script(lines: list[str], reply: dict, variables: dict) -> list[str]:
    """Run a test script on a reply as Postman would: returns the failed `pm.expect`s, in order
    (a failure ends its `pm.test` block), and applies `pm.collectionVariables.set` to `variables`."""
    bound: dict = {}
    failures: list[str] = []
    skipping = False              # inside an `if` whose condition is false
    failed_test = False           # inside a `pm.test` block that already failed
    for raw in lines:
        line = raw.strip()
        if skipping:
            skipping = line != "}"
            continue
        if failed_test:
            failed_test = line != "});"
            continue
        if (m := BIND.fullmatch(line)):
            bound[m.group(1)] = reply
        elif (m := EXPECT.fullmatch(line)):
            actual, matcher, argument = lookup(m.group(1), bound), m.group(2), m.group(3)
            if matcher == "equal":
                passed = actual == json.loads(argument)
            else:
                assert argument.startswith("/") and argument.endswith("/"), line
                pattern = argument[1:-1].replace("\\/", "/")
                passed = isinstance(actual, str) and re.search(pattern, actual) is not None
            if not passed:
                failures.append(f"{line} (got {actual!r})")
                failed_test = True
        elif (m := CAPTURE.fullmatch(line)):
            variables[m.group(1)] = lookup(m.group(2), bound)
        elif (m := GUARD.fullmatch(line)):
            skipping = not lookup(m.group(1), bound)
        else:
            assert line.startswith(("pm.test(", "}")), f"the test runner does not know {line!r}"
    return failures


def run_item(client, item: dict, variables: dict):
    """Send one request as Postman would (variables substituted) and run its test script; returns
    the response, the reply and the failed checks of the script."""
    request = item["request"]
    headers = {h["key"]: substitute(h["value"], variables) for h in request["header"]}
    path = substitute(request["url"]["raw"], variables).removeprefix(variables["baseUrl"])
    body = substitute(request["body"]["raw"], variables).encode() if "body" in request else None
    resp = client.open(path, method=request["method"], data=body, headers=headers)
    reply = check_envelope(resp.get_json())
    script = item.get("event", [{}])[0].get("script", {}).get("exec", [])
    return resp, reply, run_script(script, reply, variables)


def run_flow(collection: dict, tmp_path, missing: str = "") -> list[tuple[str, dict, list[str]]]:
    """Run "Typical flow" in order against an app with an API key, the example media URLs pointed
    at real files on 127.0.0.1 (`missing`: that one at a file the server does not have). Returns
    (item name, reply, failed checks of its script) per request, then of the Catalogue and Health
    requests; the variables end in the last tuple's reply under "variables"."""
    from capcut_drafts.web.app import create_app
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "clip.mp4", seconds=6, size=(64, 48))
    make_video(media / "clip2.mp4", seconds=6, size=(48, 64))
    make_audio(media / "music.mp3", seconds=9)
    app = create_app(make_settings(tmp_path / "data", store="memory", api_keys=["flow-key"],
                                   fetch_allow_hosts=["127.0.0.1"]))
    client = app.test_client()
    ctx = app.extensions["capcut"]
    results = []
    try:
        with MediaServer(media) as server:
            variables = {"baseUrl": "http://127.0.0.1:9001", "apiKey": "flow-key", "draft_id": ""}
            for item in folder(collection, "Typical flow"):
                raw = item["request"]["body"]["raw"]
                for name in ("clip2.mp4", "clip.mp4", "music.mp3", "hooks/capcut-save"):     # the save's callback: 501
                    served = "absent-" + name if name == missing else name
                    raw = raw.replace(f"https://example.com/{name}", server.url(served))
                assert "example.com" not in raw
                resp, reply, failures = run_item(client, {**item, "request": {**item["request"], "body": {"raw": raw}}},
                                                 variables)
                results.append((item["name"], reply, failures))
            if not missing:
                link = results[-1][1]["output"]["draft_url"].removeprefix(variables["baseUrl"])
                download = client.get(link)          # signed link: no key header needed
                assert download.status_code == 200 and download.data[:2] == b"PK", link
                for item in folder(collection, "Catalogue") + folder(collection, "Health"):
                    resp, reply, failures = run_item(client, item, variables)
                    assert resp.status_code == 200, item["name"]
                    results.append((item["name"], reply, failures))
            results.append(("variables", variables, []))
    finally:
        ctx.shutdown(wait=True)
        ctx.media.close(wait=True)
    return results


def test_typical_flow_runs_against_the_service(collection, tmp_path):
    """Every request of the flow, and every catalogue and health request, passes its test script
    with an API key, the save included: the last request sees a completed save whose link
    downloads the zip."""
    *results, (_, variables, _) = run_flow(collection, tmp_path)
    for name, reply, failures in results:
        assert reply["success"] and not failures, (name, failures, reply)
    assert re.fullmatch(r"dfd_cat_\d+_[0-9a-f]{8}", variables["draft_id"])
    flow = folder(collection, "Typical flow")
    _, reply, _ = results[len(flow) - 1]
    assert reply["output"]["status"] == "completed" and reply["output"]["progress"] == 100, reply
    assert reply["output"]["completed_files"] == reply["output"]["total_files"] == 3


def test_the_last_request_fails_when_the_save_did_not_complete(collection, tmp_path):
    """A save whose media cannot be fetched: "10 Save the draft" fails its envelope check, and
    "11 Query the save" answers the envelope with success (a task that exists) but fails the
    check that the save completed, as it would in Postman with the placeholder URLs."""
    *results, _ = run_flow(collection, tmp_path, missing="clip2.mp4")
    by_name = {name: (reply, failures) for name, reply, failures in results}
    for name, (reply, failures) in list(by_name.items())[:9]:
        assert reply["success"] and not failures, (name, failures)
    save_reply, save_failures = by_name["10 Save the draft"]
    assert not save_reply["success"] and save_reply["code"] == "save_failed" and save_failures
    query_reply, query_failures = by_name["11 Query the save"]
    assert query_reply["success"] and query_reply["output"]["status"] == "failed", query_reply
    assert len(query_failures) == 1 and '"completed"' in query_failures[0], query_failures


def test_the_save_check_needs_a_download_link(collection):
    [script] = [item["event"][0]["script"]["exec"] for item in folder(collection, "Typical flow")
                if route(item) == "/query_draft_status"]
    output = {"status": "completed", "message": "", "draft_url": ""}
    done = {"success": True, "error": "", "output": output}
    assert len(run_script(script, done, {})) == 1
    output["draft_url"] = "http://127.0.0.1:9001/drafts/x.zip"
    assert run_script(script, done, {}) == []
    output["status"] = "processing"
    assert len(run_script(script, done, {})) == 1
