"""`null` means "default" for every optional top-level parameter of every POST route
(`RequestModel.parse`), as upstream clients send null for every argument they did not set.

* every route's documented example with one optional field set to null succeeds and gives the
  same result as the example without that field: the draft (its /query_script JSON) for routes
  that change or create one, the output for the others; ids, draft names and times are ignored;
* so does a single keyframe (the example is a batch) with `property_type`, `time` or `value` null;
* the fields whose null has its own meaning keep it (/add_text and /add_subtitle `font: null`
  = the app's default font), and required parameters sent as null still answer upstream's
  missing-parameter message, as do /add_text `start`/`end` null (upstream's check) and a null
  /add_video_keyframe `draft_id`.
"""
from __future__ import annotations

import json
import re
import zipfile
from typing import Any

import pytest
from helpers import fail, make_settings, new_draft, ok, post
from helpers.media import MediaServer, make_video

from capcut_drafts.api import registry

# Fields whose null is a value of its own (the field's type admits None): null != omitted.
NULL_HAS_MEANING = {("/add_text", "font"), ("/add_subtitle", "font")}
# Upstream's own checks: these nulls answer its missing-parameter message (omitted: the default).
NULL_IS_MISSING = {("/add_text", "start"), ("/add_text", "end"), ("/add_video_keyframe", "draft_id")}

_ID = re.compile(r"import_\d+|dfd_cat_\d+_[0-9a-f]{8}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                 r"[0-9A-Fa-f]{12}|\b[0-9a-f]{32}\b")


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A MediaServer serving clip.mp4, the file name of the examples' video URL, and /import_draft's zip."""
    folder = tmp_path_factory.mktemp("null_media")
    make_video(folder / "clip.mp4", seconds=2, size=(32, 32))
    (folder / "drafts").mkdir()                     # /import_draft's example: an (empty) app draft, zipped
    with zipfile.ZipFile(folder / "drafts" / "summer-promo.zip", "w") as archive:
        archive.writestr("draft_content.json", json.dumps({"tracks": [], "materials": {}}))
    with MediaServer(folder) as server:
        yield server


@pytest.fixture
def client(tmp_path, media):
    from capcut_drafts.web.app import create_app
    app = create_app(make_settings(tmp_path, store="memory", fetch_allow_hosts=["127.0.0.1"]))
    return app.test_client()


def _optional_fields(route: registry.Route) -> list[str]:
    """The body keys of the route's model that the route runs without."""
    schema = route.model.model_json_schema(by_alias=True)
    required = set(route.model.REQUIRED) | set(schema.get("required", []))
    return [key for key in schema["properties"] if key not in required]


# A render's reply moves on between two calls (PENDING, then SUCCESS): tests/render/
# test_render_routes.py checks that null gives the same render task as the default there.
RENDER_ROUTES = {"/generate_video", "/task_status"}
# A listing moves on too (each call here makes a draft): tests/routes/test_manage.py checks null there.
LISTING_ROUTES = {"/list_drafts"}
NO_OPTIONAL_FIELDS = {"/delete_draft", "/template_fields", "/export_otio"}
CASES = [(route.path, key) for route in registry.ROUTES for key in _optional_fields(route)
         if (route.path, key) not in NULL_HAS_MEANING | NULL_IS_MISSING
         and route.path not in RENDER_ROUTES | LISTING_ROUTES]


# Routes that change an existing segment or step through the history.
SEGMENT_ROUTES = {"/update_segment", "/move_segment", "/remove_segment", "/undo", "/redo"}


def _prepare(client, path: str) -> tuple[str, str]:
    """A fresh draft the route's example can act on (with a clip on video_main for keyframes, a
    text to change or undo, an undone change to redo, saved for a status query, a text with a merge
    field for the template routes) and the id of its segment."""
    draft, segment = new_draft(client), registry.SEGMENT_ID
    if path == "/add_video_keyframe":
        ok(client, "/add_video", {"draft_id": draft, "video_url": registry.VIDEO_URL, "end": 5,
                                  "track_name": "video_main"})
    if path in SEGMENT_ROUTES:
        segment = ok(client, "/add_text", {"draft_id": draft, "text": "a", "start": 0, "end": 1})["segment_id"]
    if path == "/redo":
        ok(client, "/undo", {"draft_id": draft})
    if path in ("/render_template", "/template_fields"):     # a template with the example's merge field
        ok(client, "/add_text", {"draft_id": draft, "text": "{{title}}", "start": 0, "end": 1})
    if path == "/query_draft_status":
        ok(client, "/save_draft", {"draft_id": draft})
    return draft, segment


def _example(route: registry.Route, prepared: tuple[str, str], media: MediaServer) -> dict[str, Any]:
    """The route's example acting on the prepared draft and segment, its example.com URLs served by `media`."""
    draft, segment = prepared
    text = json.dumps(dict(route.example)).replace(registry.EXAMPLE_ID, draft).replace(registry.SEGMENT_ID, segment)
    return json.loads(text.replace("https://example.com/", media.url("")))


def _normalised(value: Any) -> Any:
    """`value` with ids and draft names replaced and times (`*_at` keys) dropped."""
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items() if not key.endswith("_at")}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    if isinstance(value, str):
        return _ID.sub("<id>", value)
    return value


def _result(client, path: str, body: dict[str, Any]) -> Any:
    """What the call did: the /query_script JSON of the draft it answered, else its output; a
    failure's code and message."""
    reply = post(client, path, body)
    if not reply["success"]:
        return reply["code"], reply["error"]
    output = reply["output"]
    if path.startswith(("/add_", "/create_")) or path in SEGMENT_ROUTES | {"/batch"}:
        output = json.loads(ok(client, "/query_script", {"draft_id": output["draft_id"]}))
    elif path == "/query_script":
        output = json.loads(output)
    return _normalised(output)


def _twice(client, media, path: str, key: str, value: Any) -> tuple[Any, Any]:
    """(result with `key` set to `value`, result without `key`), each on a fresh draft."""
    route = registry.route(path)
    results = []
    for body_change in ({key: value}, None):
        body = _example(route, _prepare(client, path), media)
        if body_change is None:
            body.pop(key, None)
        else:
            body.update(body_change)
        results.append(_result(client, path, body))
    return results[0], results[1]


def test_every_route_has_optional_fields_to_check():
    assert {path for path, _ in CASES} == \
        {route.path for route in registry.ROUTES} - RENDER_ROUTES - LISTING_ROUTES - NO_OPTIONAL_FIELDS
    assert ("/add_video", "height") in CASES and ("/save_draft", "async") in CASES


@pytest.mark.parametrize("path,key", CASES)
def test_null_is_the_default(client, media, path, key):
    with_null, without = _twice(client, media, path, key, None)
    assert with_null == without
    if isinstance(without, tuple):        # the example needs this key (one list of a keyframe batch, the move)
        assert (path, key) in {("/add_video_keyframe", name) for name in ("property_types", "times", "values")} | {
            ("/move_segment", "target_start")}


def test_nulls_of_upstream_clients_are_accepted_together(client, media):
    body = {"draft_id": new_draft(client), "video_url": media.url("clip.mp4"), "height": None, "width": None,
            "start": None, "end": 2, "target_start": None, "transition": None, "speed": None, "volume": None}
    ok(client, "/add_video", body)


@pytest.mark.parametrize("key", ["property_type", "time", "value"])
def test_null_is_the_default_for_a_single_keyframe(client, key):
    results = []
    for body_change in ({key: None}, {}):
        draft, _ = _prepare(client, "/add_video_keyframe")
        body = {"draft_id": draft, "track_name": "video_main", "property_type": "alpha", "time": 1, "value": "0.5"}
        body.pop(key)
        results.append(_result(client, "/add_video_keyframe", {**body, **body_change}))
    assert not isinstance(results[1], tuple) and results[0] == results[1]


@pytest.mark.parametrize("path", ["/add_text", "/add_subtitle"])
def test_font_null_still_means_the_app_default_font(client, media, path):
    with_null, without = _twice(client, media, path, "font", None)
    assert with_null != without
    named, _ = _twice(client, media, path, "font", registry.route(path).model.model_fields["font"].default)
    assert named == without


@pytest.mark.parametrize("path,body,message", [
    ("/add_video", {"video_url": None, "height": None}, "Hi, the required parameters 'video_url' are missing."),
    ("/add_subtitle", {"srt": None, "srt_url": None}, "Hi, the required parameters 'srt' are missing."),
    ("/query_draft_status", {"task_id": None, "draft_id": None},
     "Hi, the required parameter 'task_id' is missing. Please add it and try again."),
    ("/get_duration", {"media_url": None, "url": None},
     "Hi, the required parameter 'media_url' is missing. Please add it and try again."),
    ("/add_text", {"text": "x", "start": None}, "Hi, the required parameters 'text', 'start' or 'end' are missing."),
    ("/add_text", {"text": "x", "end": None}, "Hi, the required parameters 'text', 'start' or 'end' are missing."),
    ("/add_video_keyframe", {"draft_id": None, "property_type": "alpha", "time": 0, "value": "1"},
     "Hi, the required parameter 'draft_id' is missing. Please add it and try again."),
])
def test_a_required_parameter_sent_as_null_is_missing(client, path, body, message):
    assert fail(client, path, body, "missing_parameter").startswith(message)
