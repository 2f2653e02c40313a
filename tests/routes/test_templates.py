"""Templates (editing/templates.py): `{{name}}` merge fields in texts and media URLs, listed by
/template_fields (and GET /templates/<id>/fields) and filled into a new draft by /render_template.

Flask test client, in-memory store. Nothing is fetched: the media cache records the URLs it is
asked to prefetch, and placeholder URLs never reach it; filled URLs name 127.0.0.1.
"""
from __future__ import annotations

import json

import pytest
from helpers import fail, make_settings, new_draft, ok, post

HOST = "http://127.0.0.1:8765"
SRT = "1\n00:00:00,000 --> 00:00:01,000\nHello {{who}}\n\n2\n00:00:01,000 --> 00:00:02,000\nBye\n"


class Recorder:
    """A stand-in media cache: remembers what it was asked to prefetch, fetches nothing."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def prefetch(self, url: str) -> bool:
        self.urls.append(url)
        return True


@pytest.fixture
def app(tmp_path):
    from capcut_drafts.web.app import create_app
    application = create_app(make_settings(tmp_path, store="memory"))
    ctx = application.extensions["capcut"]
    ctx.media.close(wait=True)
    application.config["recorder"] = ctx.media = Recorder()
    return application


@pytest.fixture
def client(app):
    return app.test_client()


def timeline(client, draft_id: str) -> dict:
    return ok(client, "/get_timeline", {"draft_id": draft_id})


def by_kind(doc: dict) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = {}
    for track in doc["tracks"]:
        for segment in track["segments"]:
            kinds.setdefault(segment["kind"], []).append(segment)
    return kinds


def template(client) -> tuple[str, dict[str, str]]:
    """A draft with a video whose URL is a field, an image URL holding one, a text and subtitle cues."""
    draft = new_draft(client)
    ids = {
        "video": ok(client, "/add_video", {"draft_id": draft, "video_url": "{{clip}}", "end": 3})["segment_id"],
        "image": ok(client, "/add_image", {"draft_id": draft, "image_url": HOST + "/{{logo}}.png", "start": 3,
                                           "end": 4})["segment_id"],
        "text": ok(client, "/add_text", {"draft_id": draft, "text": "Hi {{who}}, {{offer}}!", "start": 0,
                                         "end": 2})["segment_id"],
    }
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": SRT})
    return draft, ids


def script(client, draft_id: str) -> str:
    return ok(client, "/query_script", {"draft_id": draft_id})


def draft_count(client) -> int:
    return ok(client, "/list_drafts", {})["total"]


MERGE = {"clip": f"{HOST}/v.mp4", "logo": "brand", "who": "Ann", "offer": "20% off"}


# --- listing fields ------------------------------------------------------------------------------

def test_fields_list_every_placeholder_and_where_it_is(client):
    draft, ids = template(client)
    listing = ok(client, "/template_fields", {"template_draft_id": draft})["fields"]
    fields = {f["name"]: f["occurrences"] for f in listing}
    assert set(fields) == {"clip", "logo", "who", "offer"}
    assert fields["clip"] == [{"segment_id": ids["video"], "track_name": "video_main", "parameter": "video_url"}]
    assert fields["logo"][0]["parameter"] == "image_url"
    assert {(o["track_name"], o["parameter"]) for o in fields["who"]} == {("text_main", "text"), ("subtitle", "text")}
    reply = client.get(f"/templates/{draft}/fields").get_json()
    assert reply["success"] and reply["output"]["fields"] == ok(client, "/template_fields",
                                                                {"template_draft_id": draft})["fields"]


def test_fields_of_an_unknown_draft(client):
    fail(client, "/template_fields", {"template_draft_id": "dfd_cat_1_deadbeef"}, "draft_not_found")
    assert client.get("/templates/nope/fields").get_json()["code"] == "draft_not_found"


def test_placeholder_urls_are_not_prefetched(client, app):
    template(client)
    assert not any("{{" in url for url in app.config["recorder"].urls)


# --- rendering -----------------------------------------------------------------------------------

def test_render_fills_texts_and_urls_in_a_new_independent_draft(client, app):
    draft, _ = template(client)
    before = script(client, draft)
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": MERGE, "name": "Ann's promo"})
    assert out["draft_id"] != draft and sorted(out["fields_used"]) == sorted(MERGE) and out["warnings"] == []
    assert out["draft_url"].endswith(out["draft_id"])
    kinds = by_kind(timeline(client, out["draft_id"]))
    assert [s["media_url"] for s in kinds["video"] + kinds["image"]] == [f"{HOST}/v.mp4", f"{HOST}/brand.png"]
    assert sorted(s["text"] for s in kinds["text"] + kinds["subtitle"]) == ["Bye", "Hello Ann", "Hi Ann, 20% off!"]
    assert "{{" not in script(client, out["draft_id"])
    assert script(client, draft) == before                    # the template is unchanged
    assert f"{HOST}/v.mp4" in app.config["recorder"].urls and not any("{{" in u for u in app.config["recorder"].urls)
    doc = timeline(client, out["draft_id"])
    assert len(doc["undo"]) == 1 and doc["undo"][0]["operation"] == "/render_template"   # one stored operation
    names = {d["draft_id"]: d["name"] for d in ok(client, "/list_drafts", {})["drafts"]}
    assert names[out["draft_id"]] == "Ann's promo"
    ok(client, "/add_text", {"draft_id": out["draft_id"], "text": "later", "start": 5, "end": 6})
    assert script(client, draft) == before                    # editing the copy leaves the template alone


def test_numbers_fill_as_text_and_a_template_without_fields_is_copied(client):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "{{n}} and {{x}}", "start": 0, "end": 1})
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": {"n": 3, "x": 1.5}})
    assert by_kind(timeline(client, out["draft_id"]))["text"][0]["text"] == "3 and 1.5"
    plain = new_draft(client)
    copy = ok(client, "/render_template", {"template_draft_id": plain, "merge": {}})
    assert copy["fields_used"] == [] and copy["draft_id"] != plain


def test_missing_fields_are_all_listed_and_no_draft_is_made(client):
    draft, _ = template(client)
    count = draft_count(client)
    reply = post(client, "/render_template", {"template_draft_id": draft, "merge": {"who": "Ann"}})
    assert reply["code"] == "missing_merge_field" and sorted(reply["missing_fields"]) == ["clip", "logo", "offer"]
    for name in ("clip", "logo", "offer"):
        assert name in reply["error"]
    assert draft_count(client) == count


def test_defaults_fill_what_merge_does_not(client):
    draft, _ = template(client)
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": {"who": "Bo", "clip": MERGE["clip"]},
                                          "defaults": {"logo": "plain", "offer": "new", "who": "ignored"}})
    kinds = by_kind(timeline(client, out["draft_id"]))
    assert "Hi Bo, new!" in [s["text"] for s in kinds["text"]]
    assert kinds["image"][0]["media_url"] == f"{HOST}/plain.png"


def test_unknown_fields_are_a_warning(client):
    draft, _ = template(client)
    reply = post(client, "/render_template", {"template_draft_id": draft, "merge": {**MERGE, "nope": "x"}})
    assert reply["success"] and "nope" in reply["warnings"][0] and reply["output"]["warnings"] == reply["warnings"]


@pytest.mark.parametrize("value", ["file:///etc/passwd", "/srv/media/v.mp4", "ftp://example.com/v.mp4"])
def test_a_filled_url_that_is_not_http_is_refused_and_no_draft_is_made(client, value):
    draft, ids = template(client)
    count = draft_count(client)
    reply = post(client, "/render_template", {"template_draft_id": draft, "merge": {**MERGE, "clip": value}})
    assert reply["code"] == "invalid_url" and ids["video"] in reply["error"]
    assert draft_count(client) == count


def test_a_filled_text_keeps_its_timing(client):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "{{a}}", "start": 0, "end": 1})
    ok(client, "/add_text", {"draft_id": draft, "text": "{{b}}", "start": 1, "end": 2})
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": {"a": "x" * 500, "b": "y"}})
    texts = sorted(by_kind(timeline(client, out["draft_id"]))["text"], key=lambda s: s["target"]["start"])
    assert [(s["text"], s["target"]) for s in texts] == [("x" * 500, {"start": 0.0, "end": 1.0}),
                                                         ("y", {"start": 1.0, "end": 2.0})]


def test_a_value_is_not_filled_again(client):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "{{a}}{{b}}", "start": 0, "end": 1})
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": {"a": "{{b}}", "b": "B"}})
    assert by_kind(timeline(client, out["draft_id"]))["text"][0]["text"] == "{{b}}B"


# --- hostile input -------------------------------------------------------------------------------

def raw(client, body: str) -> dict:
    return client.post("/render_template", data=body, content_type="application/json").get_json()


def test_surrogates_in_merge_values_or_names_are_refused(client):
    draft, _ = template(client)
    count = draft_count(client)
    for merge in ('{"who": "\\ud800"}', '{"\\udfff": "x"}'):
        reply = raw(client, f'{{"template_draft_id": "{draft}", "merge": {merge}}}')
        assert reply["code"] == "invalid_parameter" and "merge" in reply["error"]
    emoji = json.loads('"\\ud83d\\ude00"')
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": {**MERGE, "who": emoji}})
    assert f"Hi {emoji}, 20% off!" in [s["text"] for s in by_kind(timeline(client, out["draft_id"]))["text"]]
    assert draft_count(client) == count + 1


def test_ten_thousand_merge_fields(client):
    draft, _ = template(client)
    merge = {**MERGE, **{f"f{i}": str(i) for i in range(10_000 - len(MERGE))}}
    reply = post(client, "/render_template", {"template_draft_id": draft, "merge": merge})
    assert reply["success"] and len(reply["warnings"]) == 1 and len(reply["warnings"][0]) < 2000
    too_many = {**merge, "one_more": "x"}
    assert fail(client, "/render_template", {"template_draft_id": draft, "merge": too_many}, "invalid_parameter")


@pytest.mark.parametrize("value", [{"a": 1}, ["x"], True, None])
def test_values_that_are_not_strings_or_numbers_name_the_field(client, value):
    draft, _ = template(client)
    count = draft_count(client)
    message = fail(client, "/render_template", {"template_draft_id": draft, "merge": {**MERGE, "who": value}},
                   "invalid_parameter")
    assert "merge.who" in message
    message = fail(client, "/render_template", {"template_draft_id": draft, "merge": MERGE,
                                                "defaults": {"x": value}}, "invalid_parameter")
    assert "defaults.x" in message
    assert draft_count(client) == count


def test_merge_that_is_not_an_object_or_absent(client):
    draft, _ = template(client)
    assert fail(client, "/render_template", {"template_draft_id": draft, "merge": ["a"]}, "invalid_parameter")
    fail(client, "/render_template", {"template_draft_id": draft}, "missing_parameter")
    fail(client, "/render_template", {"template_draft_id": draft, "merge": None}, "missing_parameter")
    fail(client, "/render_template", {"template_draft_id": "dfd_cat_1_deadbeef", "merge": {}}, "draft_not_found")


def test_names_longer_than_64_characters_are_no_fields(client):
    draft = new_draft(client)
    long_name, limit = "n" * 65, "m" * 64
    ok(client, "/add_text", {"draft_id": draft, "text": f"{{{{{long_name}}}}} {{{{{limit}}}}}", "start": 0,
                             "end": 1})
    fields = ok(client, "/template_fields", {"template_draft_id": draft})["fields"]
    assert [f["name"] for f in fields] == [limit]
    fail(client, "/add_video", {"draft_id": draft, "video_url": f"{{{{{long_name}}}}}"}, "invalid_url")
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": {limit: "ok", long_name: "x"}})
    assert by_kind(timeline(client, out["draft_id"]))["text"][0]["text"] == f"{{{{{long_name}}}}} ok"
    assert out["warnings"] and long_name[:64] in out["warnings"][0]
