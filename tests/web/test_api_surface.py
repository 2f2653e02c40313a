"""The doors around the routes (capcut_drafts/web/surface.py, capcut_drafts/web/guards.py,
capcut_drafts/web/openapi.py, capcut_drafts/metrics.py): the OpenAPI 3.1 document and offline
Swagger UI, health and readiness, API keys, body size, rate limits (per key, shared through
Redis), CORS, request ids, Prometheus metrics.

Most tests drive apps through Flask's test client; the last section runs real gunicorn with two
workers (multiprocess metrics, request ids in the server's log lines, keys never logged, 413 over
a real socket). Nothing is mocked; media comes from helpers.media on 127.0.0.1.
"""
from __future__ import annotations

import copy
import html.parser
import json
import logging
import re
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from helpers import check_envelope, post
from helpers.media import MediaServer, make_video
from helpers.processes import running_gunicorn, worker_pids
from helpers.redis import redis_url_for_tests, require_redis

EXAMPLE_ROUTES = ["/create_draft", "/add_video", "/add_audio", "/add_image", "/add_text", "/add_subtitle",
                  "/add_effect", "/add_filter", "/add_sticker", "/add_video_keyframe", "/query_script",
                  "/generate_draft_url", "/save_draft", "/query_draft_status"]     # capcut_drafts/api/registry.py
EXAMPLE_ROUTES += ["/list_drafts", "/delete_draft", "/duplicate_draft", "/rename_draft"]     # editing/manage.py
EXAMPLE_ROUTES += ["/get_timeline", "/update_segment", "/move_segment", "/remove_segment", "/undo", "/redo",
                   "/batch"]                                  # editing/timeline.py, segments.py, batch.py
EXAMPLE_ROUTES += ["/render_template", "/template_fields"]    # editing/templates.py
EXAMPLE_ROUTES += ["/export_otio", "/import_otio"]            # interchange/service.py


# -- helpers -------------------------------------------------------------------------------

def document_of(client, **headers) -> dict:
    resp = client.get("/openapi.json", headers=headers)
    assert resp.status_code == 200 and resp.is_json
    return resp.get_json()


def example_of(document: dict, path: str) -> dict:
    return document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]


def with_draft(body: dict, draft_id: str) -> dict:
    return {k: draft_id if k in ("draft_id", "task_id", "template_draft_id") else v for k, v in body.items()}


def scrape(client, **headers) -> dict[tuple[str, frozenset], float]:
    """The /metrics samples: (sample name, labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families
    resp = client.get("/metrics", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(resp.get_data(as_text=True)) for s in family.samples}


def metric(samples: dict, name: str, **labels: str) -> float:
    """Sum of `name` over the samples whose labels include `labels` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def fresh_rate_window() -> None:
    """Fixed one-minute windows: wait when the current one ends within 5 s, so a test's requests
    all fall in one window."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.2)


# -- OpenAPI document ----------------------------------------------------------------------

def test_openapi_document_is_valid_openapi_3_1(client):
    import jsonschema_rs
    import schemathesis
    document = document_of(client)
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] and document["info"]["version"]
    # the OpenAPI 3.1 meta-schema that ships with schemathesis
    schemathesis.openapi.from_dict(copy.deepcopy(document)).validate()
    broken = copy.deepcopy(document)
    broken["paths"]["/create_draft"]["post"]["responses"] = "none"
    with pytest.raises(jsonschema_rs.ValidationError):
        schemathesis.openapi.from_dict(broken).validate()
    # every schema is a valid JSON Schema 2020-12, every $ref resolves, operation ids are unique
    bodies = [op["requestBody"]["content"]["application/json"]["schema"]
              for item in document["paths"].values() for op in item.values() if "requestBody" in op]
    for schema in [*document["components"]["schemas"].values(), *bodies]:
        jsonschema_rs.meta.validate({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema})
    refs = re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(document))
    assert refs and all(name in document["components"][kind] for kind, name in refs)
    operations = [op for item in document["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for op in operations:
        assert op["summary"] and "200" in op["responses"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_route_is_documented(app, client):
    from capcut_drafts.api import registry
    from capcut_drafts.model import catalog
    document = document_of(client)
    paths = document["paths"]
    # /get_duration's example downloads its URL: tests/routes/test_client_family.py posts it to a local
    # server; the render routes need media: tests/render/test_render_routes.py posts their examples
    # /import_draft downloads its zip: tests/imports/test_import_draft.py posts it to a local server
    assert set(registry.BY_PATH) == set(EXAMPLE_ROUTES) | {"/get_duration", "/generate_video", "/task_status",
                                                          "/import_draft"}
    assert {p for p, item in paths.items() if "get" in item} == set(catalog.ROUTES) | {
        "/healthz", "/readyz", "/metrics", "/drafts", "/drafts/{draft_id}", "/drafts/{draft_id}.zip",
        "/drafts/{draft_id}/preview", "/drafts/{draft_id}/frame.png", "/drafts/{draft_id}/renders/{task_id}.mp4",
        "/drafts/{draft_id}/task_status", "/drafts/{draft_id}/timeline.json", "/templates/{template_draft_id}/fields",
        "/drafts/{draft_id}.otio"}
    for path in catalog.ROUTES:
        op = paths[path]["get"]
        assert "catalogue" in op["tags"]
        assert [p["name"] for p in op["parameters"]] == ["profile"]
    for path in ("/healthz", "/readyz"):
        assert paths[path]["get"]["security"] == []
    served = {r.rule.replace("<", "{").replace(">", "}") for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert served == {p for p, item in paths.items() if "post" in item} == \
        set(registry.BY_PATH) | {"/drafts/{draft_id}/generate_video"}, \
        "a POST route the app serves is not documented (or the other way round)"
    served_gets = {r.rule.replace("<", "{").replace(">", "}") for r in app.url_map.iter_rules()
                   if "GET" in r.methods and not r.rule.startswith(("/docs", "/static"))}
    assert served_gets - {"/", "/openapi.json"} == {p for p, item in paths.items() if "get" in item}, \
        "a GET route the app serves is not documented (or the other way round)"


def test_no_padlock_without_api_keys_and_one_with_them(make_app):
    """Swagger UI draws a padlock where the document asks for a key: only when keys are configured."""
    open_document = document_of(make_app().test_client())
    assert "security" not in open_document
    keyed = make_app(api_keys=["k" * 32]).test_client()
    document = keyed.get("/openapi.json").get_json()       # documentation stays public
    assert document["security"] == [{"bearer": []}, {"apiKey": []}]
    for path in ("/healthz", "/readyz"):
        assert document["paths"][path]["get"]["security"] == []
    assert keyed.get("/").status_code == 302                  # / leads to the docs without a key


def test_request_schemas_are_the_documented_request_models(client):
    """One source of truth: each POST body schema is its pydantic model's, every parameter (nested
    ones too) described, and the "Required" line says what the model requires."""
    from capcut_drafts.api import params, registry
    document = document_of(client)
    for route in registry.ROUTES:
        operation = document["paths"][route.path]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == params.documented_schema(route), route.path
        assert set(schema["properties"]) == set(route.model.model_json_schema(by_alias=True)["properties"])
        assert params.undescribed(schema) == [], route.path
        assert f"Required: {params.required_text(route.model)}." in operation["description"]
    assert "Required: text." in document["paths"]["/add_text"]["post"]["description"]
    assert "Required: draft_id." in document["paths"]["/add_video_keyframe"]["post"]["description"]
    assert "Required: task_id or draft_id." in document["paths"]["/query_draft_status"]["post"]["description"]
    assert "Required: nothing." in document["paths"]["/create_draft"]["post"]["description"]


def test_every_example_validates_against_its_request_schema(client):
    import jsonschema_rs

    from capcut_drafts.api import registry
    document = document_of(client)
    for path, model in ((route.path, route.model) for route in registry.ROUTES):
        example = example_of(document, path)
        schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        errors = [e.message for e in jsonschema_rs.Draft202012Validator(schema).iter_errors(example)]
        assert not errors, f"{path} example: {errors}"
        model.parse(example)                      # and the route's own validation accepts it


@pytest.mark.parametrize("path", EXAMPLE_ROUTES)
def test_every_example_is_accepted_by_its_route(make_app, path):
    """Each example, posted to a fresh app as documented (its draft id swapped for a real draft's),
    succeeds. No media is fetched: prefetch is off and the saved draft has no media."""
    client = make_app(prefetch_on_add=False).test_client()
    example = example_of(document_of(client), path)
    draft_id = post(client, "/create_draft", {})["output"]["draft_id"]
    if path == "/query_draft_status":          # a save task to ask about
        assert post(client, "/save_draft", {"draft_id": draft_id})["output"]["status"] == "completed"
    if path == "/add_video_keyframe":          # keyframes go on a clip of the example's track
        clip = with_draft(example_of(document_of(client), "/add_video"), draft_id)
        assert post(client, "/add_video", clip)["success"]
    if path in ("/update_segment", "/move_segment", "/remove_segment", "/undo", "/redo"):   # a text to change
        text = post(client, "/add_text", {"draft_id": draft_id, "text": "x", "start": 0, "end": 1})["output"]
        example = {**example, "segment_id": text["segment_id"]} if "segment_id" in example else example
        if path == "/redo":
            assert post(client, "/undo", {"draft_id": draft_id})["success"]
    reply = post(client, path, with_draft(example, draft_id))
    assert reply["success"], f"{path} rejects its own example: {reply}"
    if "draft_id" in example and path != "/create_draft":
        unknown = post(client, path, example)               # the example's id itself names no draft
        assert unknown["code"] == "draft_not_found", unknown


# -- Swagger UI ----------------------------------------------------------------------------

class _Assets(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append((tag, value))


def test_docs_serves_swagger_ui_with_local_assets(client):
    resp = client.get("/docs", follow_redirects=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert "SwaggerUIBundle" in page and '"/openapi.json"' in page
    parser = _Assets()
    parser.feed(page)
    kinds = {tag for tag, _ in parser.urls}
    assert {"script", "link"} <= kinds
    for url in re.findall(r"https?://[^\s\"'<>)]+", page):
        assert urlsplit(url).hostname == "localhost", f"the page refers to another host: {url}"
    for _tag, url in parser.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"asset {url} is not served locally"
        asset = client.get(parts.path)
        assert asset.status_code == 200 and asset.data, url
        if url.endswith(".js"):
            assert "javascript" in asset.mimetype
        elif url.endswith(".css"):
            assert asset.mimetype == "text/css"
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert len(bundle.data) > 500_000 and b"SwaggerUIBundle" in bundle.data


def test_docs_page_contacts_no_online_validator(client):
    page = client.get("/docs/").get_data(as_text=True)
    config = json.loads(re.search(r"var user_config = (\{.*?\});", page).group(1))
    assert config.get("validatorUrl", "default") in (None, "none")


# -- health and readiness ------------------------------------------------------------------

def test_healthz_and_readyz_when_ready(client):
    for path, status in (("/healthz", "ok"), ("/readyz", "ready")):
        resp = client.get(path)
        assert resp.status_code == 200
        assert check_envelope(resp.get_json())["output"] == {"status": status}


def test_readyz_is_503_with_reasons_when_the_store_is_unreachable(make_app):
    client = make_app(store="redis", redis_url="redis://127.0.0.1:1/0").test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 503
    reply = check_envelope(resp.get_json())
    assert reply["code"] == "not_ready"
    [reason] = reply["checks"]
    assert reason.startswith("store: ") and "127.0.0.1:1" in reason and reason in reply["error"]
    alive = client.get("/healthz")                # the process itself is fine
    assert alive.status_code == 200 and alive.get_json()["success"]


def test_readyz_names_unreachable_or_misconfigured_storage(make_app):
    s3 = {"bucket": "drafts", "endpoint_url": "http://127.0.0.1:1", "path_style": True,
          "access_key_id": "id", "secret_access_key": "secret"}
    for config, words in ((s3, "127.0.0.1:1"), ({}, "bucket")):
        client = make_app(is_upload_draft=True, storage="s3", s3_config=config, upload_timeout_seconds=5).test_client()
        resp = client.get("/readyz")
        assert resp.status_code == 503
        [reason] = check_envelope(resp.get_json())["checks"]
        assert reason.startswith("storage: ") and words in reason, reason
        assert "secret" not in resp.get_data(as_text=True)


def test_readyz_names_an_unreachable_job_queue(make_app):
    client = make_app(store="memory", job_runner="huey", redis_url="redis://127.0.0.1:1/0").test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 503
    reply = check_envelope(resp.get_json())
    assert [r.split(":")[0] for r in reply["checks"]] == ["job runner"], reply


# -- API keys ------------------------------------------------------------------------------

KEYS = ["key-one-5f2c9a", "key-two-8d41e7"]


@pytest.fixture
def keyed(make_app):
    return make_app(api_keys=list(KEYS)).test_client()


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {KEYS[0]}"}, {"Authorization": f"bearer {KEYS[1]}"},
                                     {"X-API-Key": KEYS[0]}, {"X-API-Key": KEYS[1]}],
                         ids=["bearer", "bearer-lowercase-second-key", "x-api-key", "x-api-key-second-key"])
def test_a_valid_key_in_either_header_opens_every_route(keyed, headers):
    resp = keyed.post("/create_draft", json={}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["success"]
    assert keyed.get("/get_mask_types", headers=headers).get_json()["success"]
    assert keyed.get("/metrics", headers=headers).status_code == 200
    assert keyed.get("/openapi.json", headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": KEYS[0]}, {"X-API-Key": ""},
                                     {"X-API-Key": KEYS[0] + " "}, {"X-API-Key": KEYS[0][:-1]}],
                         ids=["missing", "wrong-x-api-key", "wrong-bearer", "no-bearer-scheme", "empty",
                              "trailing-space", "prefix-of-a-key"])
@pytest.mark.parametrize("method,path", [("POST", "/create_draft"), ("POST", "/query_script"),
                                         ("GET", "/get_transition_types"), ("GET", "/metrics"),
                                         ("GET", "/drafts/dfd_cat_1_0a0b0c0d.zip"), ("GET", "/no/such/route")])
def test_a_missing_or_wrong_key_is_refused_everywhere_but_health_and_docs(keyed, headers, method, path):
    resp = keyed.open(path, method=method, json={} if method == "POST" else None, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    reply = check_envelope(resp.get_json())
    assert reply["code"] == "unauthorized" and "X-API-Key" in reply["error"]


def test_health_and_documentation_need_no_key(keyed):
    for path in ("/healthz", "/readyz"):
        resp = keyed.get(path)
        assert resp.status_code == 200 and resp.get_json()["success"], path
    assert keyed.get("/openapi.json").get_json()["openapi"] == "3.1.0"
    assert keyed.get("/docs/").status_code == 200


def test_keys_never_reach_the_log(make_app, caplog):
    caplog.set_level(logging.DEBUG)
    secret, wrong = "sk-live-" + uuid.uuid4().hex, "sk-wrong-" + uuid.uuid4().hex
    app = make_app(api_keys=[secret], store="redis", redis_url="redis://127.0.0.1:1/0")
    client = app.test_client()
    for headers in ({"X-API-Key": secret}, {"Authorization": f"Bearer {secret}"}, {"X-API-Key": wrong},
                    {"Authorization": f"Bearer {wrong}"}):
        client.post("/create_draft", json={}, headers=headers)      # store down: logs an error
        client.post("/add_text", data="{broken", content_type="application/json", headers=headers)
        client.get("/no/such/route", headers=headers)
        client.get("/readyz", headers=headers)
    assert any(r.name == "capcut.http" for r in caplog.records) and any(r.levelno >= logging.ERROR
                                                                       for r in caplog.records)
    logged = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    assert secret not in logged and wrong not in logged
    assert secret not in repr(app.extensions["capcut"].settings)


@pytest.mark.parametrize("host,keys,warned", [("0.0.0.0", [], True), ("::", [], True), ("10.1.2.3", [], True),
                                              ("0.0.0.0", ["k-" + "x" * 20], False), ("127.0.0.1", [], False),
                                              ("::1", [], False), ("localhost", [], False)])
def test_start_up_warning_when_listening_beyond_loopback_without_keys(make_app, caplog, host, keys, warned):
    caplog.set_level(logging.WARNING)
    make_app(host=host, api_keys=keys)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "api_keys" in r.getMessage()]
    assert bool(warnings) == warned, [r.getMessage() for r in caplog.records]
    if warned:
        assert host in warnings[0].getMessage()


# -- request body size ---------------------------------------------------------------------

def test_a_body_over_max_body_bytes_is_413_in_the_envelope(make_app):
    client = make_app(max_body_bytes=2048).test_client()
    text = "x" * 3000
    resp = client.post("/add_text", data=json.dumps({"text": text}), content_type="application/json")
    assert resp.status_code == 413
    reply = check_envelope(resp.get_json())
    assert reply["code"] == "payload_too_large" and "2048" in reply["error"]
    fits = client.post("/add_text", json={"text": "x" * 1500})
    assert fits.status_code == 200 and fits.get_json()["success"]


# -- rate limit ----------------------------------------------------------------------------

def test_rate_limit_is_429_with_retry_after_per_key(make_app):
    client = make_app(api_keys=list(KEYS), rate_limit_per_minute=3).test_client()
    one, two = {"X-API-Key": KEYS[0]}, {"Authorization": f"Bearer {KEYS[1]}"}
    fresh_rate_window()
    for _ in range(3):
        assert client.get("/get_mask_types", headers=one).status_code == 200
    resp = client.get("/get_mask_types", headers=one)
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    reply = check_envelope(resp.get_json())
    assert reply["code"] == "rate_limited" and resp.headers["Retry-After"] in reply["error"]
    assert client.post("/create_draft", json={}, headers=one).status_code == 429      # every route counts
    for _ in range(3):                                         # the other key has its own count
        assert client.get("/get_mask_types", headers=two).status_code == 200
    assert client.get("/get_mask_types", headers=two).status_code == 429
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200


def test_rate_limit_without_keys_counts_per_client_address(make_app):
    client = make_app(rate_limit_per_minute=2).test_client()
    fresh_rate_window()
    here = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(2):
        assert client.get("/get_mask_types", environ_base=here).status_code == 200
    assert client.get("/get_mask_types", environ_base=here).status_code == 429
    assert client.get("/get_mask_types", environ_base={"REMOTE_ADDR": "192.0.2.11"}).status_code == 200


def test_rate_limit_is_shared_through_redis(make_app):
    import hashlib

    import redis
    url = require_redis(urlsplit(redis_url_for_tests())._replace(path="/11").geturl())
    key = "rk-" + uuid.uuid4().hex              # a new identity: nothing counted yet
    client = redis.Redis.from_url(url)
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16]     # the limiter's identity for the key

    def counters() -> list:
        return list(client.scan_iter(match=f"capcut:rate:{fingerprint}:*"))
    first = make_app(store="redis", redis_url=url, api_keys=[key], rate_limit_per_minute=3).test_client()
    second = make_app(store="redis", redis_url=url, api_keys=[key], rate_limit_per_minute=3).test_client()
    headers = {"X-API-Key": key}
    fresh_rate_window()
    try:
        assert first.get("/get_mask_types", headers=headers).status_code == 200
        assert second.get("/get_mask_types", headers=headers).status_code == 200
        assert first.get("/get_mask_types", headers=headers).status_code == 200
        resp = second.get("/get_mask_types", headers=headers)
        assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
        assert first.get("/get_mask_types", headers=headers).status_code == 429
        assert counters(), "the count is not kept in Redis"
    finally:
        stale = counters()
        if stale:
            client.delete(*stale)
        client.close()


# -- CORS ----------------------------------------------------------------------------------

ORIGIN, OTHER_ORIGIN = "https://studio.example", "http://localhost:5173"


def test_cors_is_closed_by_default(client):
    resp = client.post("/create_draft", json={}, headers={"Origin": ORIGIN})
    assert resp.status_code == 200 and "Access-Control-Allow-Origin" not in resp.headers
    pre = client.options("/create_draft", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert not any(h.lower().startswith("access-control-") for h in pre.headers.keys())  # noqa: SIM118 (iterating Headers gives pairs)


def test_cors_allow_list(make_app):
    client = make_app(cors_origins=[ORIGIN, OTHER_ORIGIN], api_keys=[KEYS[0]]).test_client()
    for origin in (ORIGIN, OTHER_ORIGIN):
        allowed = client.post("/create_draft", json={}, headers={"Origin": origin, "X-API-Key": KEYS[0]})
        assert allowed.headers["Access-Control-Allow-Origin"] == origin
        assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
        assert "Origin" in allowed.headers.get("Vary", "")
    other = client.post("/create_draft", json={}, headers={"Origin": "https://evil.example", "X-API-Key": KEYS[0]})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    # a preflight carries no key and must not be refused for that
    pre = client.options("/add_video", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type, x-api-key"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    allowed_headers = {h.strip().lower() for h in pre.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-api-key"} <= allowed_headers
    bad = client.options("/add_video", headers={"Origin": "https://evil.example",
                                                "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in bad.headers


# -- request ids ---------------------------------------------------------------------------

def test_request_id_generated_when_absent(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("given", ["abc-123", "trace.ID_42", "x" * 64, str(uuid.uuid4())])
def test_a_sane_request_id_is_echoed(client, given):
    assert client.post("/create_draft", json={}, headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["abc\r\nSet-Cookie: a=b", "line\nbreak", "x" * 65, "<script>", "a b", "ünï",
                                   ""], ids=["crlf", "newline", "too-long", "markup", "space", "non-ascii", "empty"])
def test_a_malicious_request_id_is_replaced(client, caplog, given):
    caplog.set_level(logging.INFO)
    resp = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": given})
    replaced = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert all(r.request_id == replaced for r in caplog.records if r.name == "capcut.http")
    if given:
        assert given not in caplog.text


def test_request_id_is_on_every_log_line_of_the_request(make_app, caplog):
    caplog.set_level(logging.INFO)
    client = make_app(store="redis", redis_url="redis://127.0.0.1:1/0").test_client()
    resp = client.post("/create_draft", json={}, headers={"X-Request-ID": "req-7f3a"})
    assert resp.headers["X-Request-ID"] == "req-7f3a"
    mine = [r for r in caplog.records if getattr(r, "request_id", None) == "req-7f3a"]
    names = {r.name for r in mine}
    assert {"capcut.http", "capcut.dispatch"} <= names, [(r.name, r.getMessage()) for r in caplog.records]
    access = [r for r in mine if r.name == "capcut.http"]
    assert access and "POST /create_draft 200" in access[0].getMessage()
    outside = logging.getLogRecordFactory()("capcut.test", logging.INFO, __file__, 1, "x", (), None)
    assert outside.request_id == "-"                  # a line logged outside any request


# -- metrics -------------------------------------------------------------------------------

def test_metrics_count_requests_by_route_and_outcome(client):
    before = scrape(client)
    draft_id = post(client, "/create_draft", {})["output"]["draft_id"]
    post(client, "/add_text", {"draft_id": draft_id, "text": "hi"})
    post(client, "/add_text", {"draft_id": draft_id, "text": "hi again", "start": 5, "end": 6})
    post(client, "/add_text", {"draft_id": "dfd_missing", "text": "x"})
    client.get("/get_transition_types")
    client.get("/nowhere")
    after = scrape(client)

    def delta(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)
    assert delta("capcut_requests_total", route="/create_draft", outcome="success") == 1
    assert delta("capcut_requests_total", route="/add_text", outcome="success") == 2
    assert delta("capcut_requests_total", route="/add_text", outcome="error") == 1
    assert delta("capcut_requests_total", route="/get_transition_types", outcome="success") == 1
    assert delta("capcut_requests_total", route="unmatched", outcome="404") == 1
    assert delta("capcut_request_seconds_count", route="/add_text") == 3
    assert delta("capcut_request_seconds_sum", route="/add_text") > 0
    assert metric(after, "capcut_request_seconds_bucket", route="/add_text", le="+Inf") >= 3
    assert delta("capcut_draft_cache_lookups_total", result="hit") >= 2


def test_metrics_content_type_is_parseable(client):
    content_type = client.get("/metrics").headers["Content-Type"]
    params = [p.split("=")[0].strip() for p in content_type.split(";")[1:]]
    assert content_type.split(";")[0] == "text/plain" and len(params) == len(set(params)), content_type


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    make_video(folder / "clip.mp4", seconds=2, size=(32, 32))
    return folder


def saved_metrics(make_app, clip, **overrides) -> tuple[dict, dict, dict, int]:
    """Create a draft with one clip, save it twice; (before, after first save, after re-save, file size)."""
    client = make_app(fetch_allow_hosts=["127.0.0.1"], **overrides).test_client()
    with MediaServer(clip) as server:
        before = scrape(client)
        draft_id = post(client, "/create_draft", {})["output"]["draft_id"]
        post(client, "/add_video", {"draft_id": draft_id, "video_url": server.url("clip.mp4"), "start": 0, "end": 1})
        deadline = time.monotonic() + 10             # a prefetch, if any, has finished
        while overrides.get("prefetch_on_add", True) and server.hits("/clip.mp4") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        scrapes = []
        for saves in (1, 2):
            reply = post(client, "/save_draft", {"draft_id": draft_id})
            assert reply["success"] and reply["output"]["status"] == "completed", reply
            # the job counts its save just after it marks the task completed: wait for that
            deadline = time.monotonic() + 10
            while True:
                samples = scrape(client)
                done = metric(samples, "capcut_saves_total") - metric(before, "capcut_saves_total")
                if done >= saves and metric(samples, "capcut_jobs", state="running") == 0:
                    break
                assert time.monotonic() < deadline, f"save {saves} never counted"
                time.sleep(0.01)
            scrapes.append(samples)
    return before, scrapes[0], scrapes[1], (clip / "clip.mp4").stat().st_size


def test_metrics_of_a_real_save(make_app, clip):
    before, first, second, size = saved_metrics(make_app, clip, prefetch_on_add=False)

    def delta(a, b, name, **labels):
        return metric(b, name, **labels) - metric(a, name, **labels)
    assert delta(before, first, "capcut_saves_total", outcome="completed") == 1
    assert delta(before, first, "capcut_save_seconds_count", outcome="completed") == 1
    assert delta(before, first, "capcut_bytes_downloaded_total") == size
    assert delta(before, first, "capcut_media_cache_lookups_total", result="miss") == 1
    assert delta(before, first, "capcut_media_cache_lookups_total", result="hit") == 0
    # the re-save finds the file cached and downloads nothing
    assert delta(first, second, "capcut_saves_total", outcome="completed") == 1
    assert delta(first, second, "capcut_media_cache_lookups_total", result="hit") == 1
    assert delta(first, second, "capcut_media_cache_lookups_total", result="miss") == 0
    assert delta(first, second, "capcut_bytes_downloaded_total") == 0
    assert metric(second, "capcut_jobs", state="running") == 0


def test_bytes_downloaded_counts_prefetched_media(make_app, clip):
    before, first, _second, size = saved_metrics(make_app, clip)          # prefetch_on_add: default (on)
    assert metric(first, "capcut_bytes_downloaded_total") - metric(before, "capcut_bytes_downloaded_total") == size


def test_metrics_show_queued_jobs(make_app, clip):
    _before, first, _second, _size = saved_metrics(make_app, clip, prefetch_on_add=False)
    assert ("capcut_jobs", frozenset({("state", "queued")})) in first


# -- a real gunicorn -----------------------------------------------------------------------

GUNICORN_KEY = "gk-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def keyed_gunicorn(tmp_path_factory):
    """gunicorn with 2 workers, an API key and max_body_bytes=4096: (base URL, process, log path,
    metrics dir)."""
    with running_gunicorn(tmp_path_factory.mktemp("gunicorn"), api_keys=GUNICORN_KEY,
                          max_body_bytes="4096") as server:
        yield server


def served_by(metrics_dir: Path, route: str) -> dict[int, float]:
    """Requests to `route` per worker pid, read from each worker's own metrics file."""
    from prometheus_client.multiprocess import MultiProcessCollector
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        total = sum(s.value for m in MultiProcessCollector.merge([str(path)], accumulate=False)
                    for s in m.samples if s.name == "capcut_requests_total" and s.labels.get("route") == route)
        if total:
            counts[int(path.stem.split("_")[-1])] = total
    return counts


def test_multiprocess_metrics_add_up_every_worker(keyed_gunicorn):
    base, proc, _log, metrics_dir = keyed_gunicorn
    headers = {"X-API-Key": GUNICORN_KEY}
    sent = 0
    while sent < 20 or (len(served_by(metrics_dir, "/get_filter_types")) < 2 and sent < 400):
        with requests.Session() as session:                    # a new connection each time
            assert session.get(base + "/get_filter_types", headers=headers, timeout=10).ok
        sent += 1
    per_worker = served_by(metrics_dir, "/get_filter_types")
    assert set(per_worker) == worker_pids(proc.pid), f"{sent} requests did not reach both workers: {per_worker}"
    from prometheus_client.parser import text_string_to_metric_families
    text = requests.get(base + "/metrics", headers=headers, timeout=10).text
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert metric(samples, "capcut_requests_total", route="/get_filter_types", outcome="success") == sent
    assert metric(samples, "capcut_request_seconds_count", route="/get_filter_types") == sent


def test_real_server_request_ids_in_log_lines_and_keys_never_logged(keyed_gunicorn):
    base, _proc, log_path, _metrics = keyed_gunicorn
    trace = "trace-" + uuid.uuid4().hex[:12]
    resp = requests.post(base + "/create_draft", json={}, headers={"X-API-Key": GUNICORN_KEY, "X-Request-ID": trace},
                         timeout=10)
    assert resp.headers["X-Request-ID"] == trace and resp.json()["success"]
    refused = requests.post(base + "/create_draft", json={}, headers={"Authorization": "Bearer not-" + GUNICORN_KEY},
                            timeout=10)
    assert refused.status_code == 401
    deadline = time.monotonic() + 5
    while f"[{trace}] POST /create_draft 200" not in log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-2000:]
        time.sleep(0.05)
    log = log_path.read_text(errors="replace")
    assert GUNICORN_KEY not in log
    access = [line for line in log.splitlines() if " capcut.http " in line]
    assert access and all(re.search(r" \[[A-Za-z0-9._-]{1,64}\] ", line) for line in access)


def test_real_server_limits_and_health(keyed_gunicorn):
    base, _proc, _log, _metrics = keyed_gunicorn
    headers = {"X-API-Key": GUNICORN_KEY}
    big = requests.post(base + "/add_text", data=json.dumps({"text": "x" * 5000}),
                        headers={**headers, "Content-Type": "application/json"}, timeout=10)
    assert big.status_code == 413 and check_envelope(big.json())["code"] == "payload_too_large"
    assert requests.post(base + "/create_draft", json={}, timeout=10).status_code == 401
    assert requests.get(base + "/healthz", timeout=10).json()["output"] == {"status": "ok"}
    assert requests.get(base + "/readyz", timeout=10).json()["output"] == {"status": "ready"}


def test_real_server_chunked_body_over_the_limit_is_413(keyed_gunicorn):
    base, _proc, _log, _metrics = keyed_gunicorn
    chunked = requests.post(base + "/add_text", data=iter([b'{"text": "', b"x" * 5000, b'"}']),
                            headers={"X-API-Key": GUNICORN_KEY, "Content-Type": "application/json"}, timeout=10)
    assert chunked.status_code == 413 and check_envelope(chunked.json())["code"] == "payload_too_large"
