"""Templates (editing/templates.py): `{{name}}` merge fields in texts, media URLs and numbers,
listed by /template_fields (and GET /templates/<id>/fields) and filled into a new draft by
/render_template, and `fit` for filled clips.

Flask test client, in-memory store. Nothing is fetched: the media cache records the URLs it is
asked to prefetch, and placeholder URLs never reach it; filled URLs name 127.0.0.1. The `fit`
tests save real media made here (helpers.media) from a MediaServer through a `service` (SQLite,
real fetching and probing) and read the saved draft.
"""
from __future__ import annotations

import json

import pytest
from helpers import fail, make_settings, new_draft, ok, post
from helpers.media import make_audio, make_video
from helpers.save import saved_track

from capcut_drafts.errors import ApiError
from capcut_drafts.routes.schema import RequestModel, number_keys
from capcut_drafts.save.probe import probe

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


# --- numbers -------------------------------------------------------------------------------------

def fields_by_name(client, draft_id: str) -> dict[str, list[str]]:
    listing = ok(client, "/template_fields", {"template_draft_id": draft_id})["fields"]
    return {f["name"]: [o["parameter"] for o in f["occurrences"]] for f in listing}


def test_a_number_field_is_planned_with_its_default_kept_listed_and_filled(client):
    draft = new_draft(client)
    ok(client, "/add_video", {"draft_id": draft, "video_url": "{{clip}}", "end": "{{length}}",
                              "target_start": "{{at}}", "speed": "{{speed}}", "relative_index": "{{layer}}"})
    [video] = by_kind(timeline(client, draft))["video"]
    assert video["target"] == {"start": 0.0, "end": None} and video["speed"] == 1.0     # the defaults: open, at 0
    assert video["params"] == {"video_url": "{{clip}}", "end": "{{length}}", "target_start": "{{at}}",
                               "speed": "{{speed}}", "relative_index": "{{layer}}"}
    assert fields_by_name(client, draft) == {"clip": ["video_url"], "length": ["end"], "at": ["target_start"],
                                             "speed": ["speed"], "layer": ["relative_index"]}
    merge = {"clip": f"{HOST}/v.mp4", "length": 3, "at": "2", "speed": " 2.0 ", "layer": 1}
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": merge})
    [video] = by_kind(timeline(client, out["draft_id"]))["video"]
    assert video["target"] == {"start": 2.0, "end": 3.5} and video["source"] == {"start": 0.0, "end": 3.0}
    assert video["speed"] == 2.0 and video["params"]["relative_index"] == 1
    assert "{{" not in json.dumps(video["params"]) and sorted(out["fields_used"]) == sorted(merge)


def test_text_and_subtitle_numbers_fill_by_name_and_alias(client):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "Hi", "start": "{{from}}", "end": "{{to}}", "size": "{{size}}"})
    ok(client, "/add_subtitle", {"draft_id": draft, "srt": SRT, "font_size": "{{size}}", "transform_y": "{{y}}"})
    assert fields_by_name(client, draft) == {"from": ["start"], "to": ["end"], "who": ["text"],
                                             "size": ["size", "font_size", "font_size"],
                                             "y": ["transform_y", "transform_y"]}
    merge = {"from": 1, "to": "2.5", "size": 12, "who": "Ann", "y": "-0.5"}
    kinds = by_kind(timeline(client, ok(client, "/render_template", {"template_draft_id": draft, "merge": merge})
                             ["draft_id"]))
    [text] = kinds["text"]
    assert text["target"] == {"start": 1.0, "end": 2.5} and text["params"]["font_size"] == 12.0
    assert [(s["params"]["font_size"], s["params"]["transform_y"]) for s in kinds["subtitle"]] == [(12.0, -0.5)] * 2
    assert [s["target"] for s in kinds["subtitle"]] == [{"start": 0.0, "end": 1.0}, {"start": 1.0, "end": 2.0}]


@pytest.mark.parametrize("value", ["{{x}} ", " {{x}}", "1{{x}}", "{{x}}{{y}}", "{x}", "{{x y}}", "", "abc"])
def test_a_number_that_is_not_one_whole_field_is_refused_as_before(client, value):
    draft = new_draft(client)
    message = fail(client, "/add_text", {"draft_id": draft, "text": "t", "end": value}, "invalid_parameter")
    assert "Invalid parameter 'end': Input should be a valid number" in message
    assert fields_by_name(client, draft) == {}


@pytest.mark.parametrize("route,body", [
    ("/add_text", {"text": "t", "width": "{{w}}"}),                    # the canvas of a new draft
    ("/add_subtitle", {"srt": SRT, "time_offset": "{{t}}"}),           # spent on the cues
    ("/move_segment", {"segment_id": "s", "target_start": "{{t}}"}),   # no route a template fills
    ("/add_video_keyframe", {"track_name": "v", "property_type": "alpha", "time": "{{t}}", "value": "1"}),
])
def test_numbers_outside_the_routes_a_template_fills_stay_numbers(client, route, body):
    message = fail(client, route, {"draft_id": new_draft(client), **body}, "invalid_parameter")
    assert "valid number" in message or "valid integer" in message


def test_a_required_number_cannot_be_a_merge_field():
    class Body(RequestModel):
        MERGE_NUMBERS = True
        needed: float
        optional: float = 2.0
        flag: bool = False
        many: list[float] = []

    with pytest.raises(ApiError) as caught:
        Body.parse({"needed": "{{x}}"})
    assert caught.value.code == "invalid_parameter" and "'needed'" in caught.value.message
    assert "required number cannot be a merge field" in caught.value.message
    parsed = Body.parse({"needed": 1, "optional": "{{x}}"})
    assert parsed.optional == 2.0 and parsed.merge_numbers == {"optional": "{{x}}"}
    assert parsed.given() == {"needed": 1.0, "optional": "{{x}}"}
    assert number_keys(Body) == {"needed", "optional"}


def test_every_route_a_template_fills_takes_number_fields():
    from capcut_drafts.editing.segments import EDITORS
    assert all(editor.model.MERGE_NUMBERS for editor in EDITORS.values())
    keys = number_keys(EDITORS["/add_video"].model)
    assert {"start", "end", "target_start", "speed", "volume", "scale_x", "mask_size", "background_blur"} <= keys
    assert not keys & {"width", "height", "mask_invert", "dry_run", "video_url"}


@pytest.mark.parametrize("value", ["abc", "NaN", "nan", "1e999", "-inf", "Infinity", "1_0", "0x10", "", "3 4"])
def test_a_number_field_takes_only_a_finite_number(client, value):
    draft = new_draft(client)
    ok(client, "/add_text", {"draft_id": draft, "text": "t", "end": "{{to}}"})
    count = draft_count(client)
    message = fail(client, "/render_template", {"template_draft_id": draft, "merge": {"to": value}},
                   "invalid_parameter")
    assert "'merge.to'" in message and "'end'" in message and "finite number" in message
    message = fail(client, "/render_template", {"template_draft_id": draft, "merge": {}, "defaults": {"to": value}},
                   "invalid_parameter")
    assert "'defaults.to'" in message
    assert fail(client, "/render_template", {"template_draft_id": draft, "merge": {"to": True}},
                "invalid_parameter").count("merge.to") == 1
    assert draft_count(client) == count


@pytest.mark.parametrize("route,body,value,words", [
    ("/add_text", {"text": "t", "start": 1, "end": "{{v}}"}, "0.5", "must be greater than start"),
    ("/add_text", {"text": "t", "font_size": "{{v}}"}, "0", "font_size"),
    ("/add_video", {"video_url": f"{HOST}/v.mp4", "end": 2, "speed": "{{v}}"}, "-2", "speed"),
    ("/add_text", {"text": "t", "end": "{{v}}"}, "1e10", "1e+09"),
    ("/add_text", {"text": "t", "relative_index": "{{v}}"}, "1.5", "integer"),
])
def test_filled_numbers_get_every_check_of_their_route(client, route, body, value, words):
    draft = new_draft(client)
    segment = ok(client, route, {"draft_id": draft, **body})["segment_id"]
    count = draft_count(client)
    message = fail(client, "/render_template", {"template_draft_id": draft, "merge": {"v": value}},
                   "invalid_parameter")
    assert segment in message and words in message
    assert draft_count(client) == count


def test_dry_run_batch_and_update_segment_keep_number_fields(client):
    draft = new_draft(client)
    preview = ok(client, "/add_text", {"draft_id": draft, "text": "t", "end": "{{to}}", "dry_run": True})
    [planned] = preview["segments"]
    assert preview["dry_run"] and planned["params"]["end"] == "{{to}}" and planned["target"] == {"start": 0.0,
                                                                                                "end": 5.0}
    assert fields_by_name(client, draft) == {}
    ok(client, "/batch", {"draft_id": draft, "operations": [
        {"route": "/add_text", "body": {"text": "b", "start": 1, "end": "{{later}}", "track_name": "second"}}]})
    segment = ok(client, "/add_text", {"draft_id": draft, "text": "t", "end": 2})["segment_id"]
    ok(client, "/update_segment", {"draft_id": draft, "segment_id": segment, "font_size": "{{size}}"})   # = default
    ok(client, "/update_segment", {"draft_id": draft, "segment_id": segment, "transform_x": 0.5})
    assert fields_by_name(client, draft) == {"later": ["end"], "size": ["font_size"]}
    ok(client, "/update_segment", {"draft_id": draft, "segment_id": segment, "font_size": 9})
    assert fields_by_name(client, draft) == {"later": ["end"]}


# --- fit -----------------------------------------------------------------------------------------

S = 1_000_000


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    """The files the fit tests serve: a 2 s and a 6 s video, a 3 s tone."""
    folder = tmp_path_factory.mktemp("template_media")
    make_video(folder / "short.mp4", seconds=2, size=(32, 32))
    make_video(folder / "long.mp4", seconds=6, size=(32, 32))
    make_audio(folder / "tone.mp3", seconds=3)
    return folder


def length_of(media_dir, name: str) -> int:
    return probe(media_dir / name).duration_us


def saved_timings(svc, draft_id: str, track_name: str) -> list[tuple]:
    """((source start, duration), (target start, duration), speed) of each clip of the saved track."""
    segments = saved_track(svc.content(draft_id), track_name)["segments"]
    return [((s["source_timerange"]["start"], s["source_timerange"]["duration"]),
             (s["target_timerange"]["start"], s["target_timerange"]["duration"]), s["speed"]) for s in segments]


def rendered(svc, template_id: str, merge: dict, **body) -> dict:
    return svc.ok("/render_template", {"template_draft_id": template_id, "merge": merge, **body})


def test_trim_keeps_clips_of_long_media_and_ends_clips_with_shorter_media(service, media_server, media_dir):
    svc = service()
    template_id = svc.draft()
    svc.add("video", template_id, video_url="{{a}}", end="{{length}}")
    svc.add("video", template_id, video_url="{{b}}", end=4, target_start=5)
    out = rendered(svc, template_id, {"a": media_server.url("long.mp4"), "b": media_server.url("short.mp4"),
                                      "length": "4"})
    assert out["fit"] == {"a": "trim", "b": "trim"}
    svc.saved(out["draft_id"])
    short = length_of(media_dir, "short.mp4")
    assert saved_timings(svc, out["draft_id"], "video_main") == [((0, 4 * S), (0, 4 * S), 1.0),
                                                                 ((0, short), (5 * S, short), 1.0)]


def test_stretch_plays_the_whole_media_in_the_clip_per_field(service, media_server, media_dir):
    svc = service()
    template_id = svc.draft()
    svc.add("video", template_id, video_url="{{clip}}", end=4)
    svc.add("audio", template_id, audio_url="{{song}}", end=6)
    out = rendered(svc, template_id, {"clip": media_server.url("short.mp4"), "song": media_server.url("tone.mp3")},
                   fit={"clip": "stretch", "song": "stretch", "logo": "extend"})
    assert out["fit"] == {"clip": "stretch", "song": "stretch"}
    assert len(out["warnings"]) == 1 and "'logo'" in out["warnings"][0]
    svc.saved(out["draft_id"])
    short, tone = length_of(media_dir, "short.mp4"), length_of(media_dir, "tone.mp3")
    [(source, target, speed)] = saved_timings(svc, out["draft_id"], "video_main")
    assert source == (0, short) and target == (0, 4 * S) and speed == pytest.approx(short / (4 * S))
    [(source, target, speed)] = saved_timings(svc, out["draft_id"], "audio_main")
    assert source == (0, tone) and target == (0, 6 * S) and speed == pytest.approx(tone / (6 * S))


def test_extend_runs_clips_to_the_media_end_but_not_over_the_next_clip(service, media_server, media_dir):
    svc = service()
    template_id = svc.draft()
    svc.add("video", template_id, video_url="{{a}}", end=2)
    svc.add("video", template_id, video_url="{{b}}", end=1, target_start=4)
    out = rendered(svc, template_id, {"a": media_server.url("long.mp4"), "b": media_server.url("short.mp4")},
                   fit="extend")
    assert out["fit"] == {"a": "extend", "b": "extend"}
    reply = svc.saved(out["draft_id"])
    short = length_of(media_dir, "short.mp4")
    assert saved_timings(svc, out["draft_id"], "video_main") == [((0, 4 * S), (0, 4 * S), 1.0),
                                                                 ((0, short), (4 * S, short), 1.0)]
    assert [w for w in reply["warnings"] if "cut there" in w and "clip at 0s" in w]


def test_open_clips_follow_their_media_and_the_timeline_shows_fitted_clips_once_probed(service, media_server,
                                                                                         media_dir):
    svc = service()
    template_id = svc.draft()
    svc.add("video", template_id, video_url="{{a}}")
    svc.add("video", template_id, video_url="{{b}}", end=1, target_start=10)
    out = rendered(svc, template_id, {"a": media_server.url("short.mp4"), "b": media_server.url("short.mp4")},
                   fit="stretch")
    [_, before] = by_kind(svc.ok("/get_timeline", {"draft_id": out["draft_id"]}))["video"]
    assert before["target"] == {"start": 10.0, "end": 11.0} and before["fit"] == "stretch"
    svc.saved(out["draft_id"])
    short = length_of(media_dir, "short.mp4")
    [first, second] = saved_timings(svc, out["draft_id"], "video_main")
    assert first == ((0, short), (0, short), 1.0)
    assert second[:2] == ((0, short), (10 * S, S)) and second[2] == pytest.approx(short / S)
    [_, after] = by_kind(svc.ok("/get_timeline", {"draft_id": out["draft_id"]}))["video"]
    assert after["source"] == {"start": 0.0, "end": short / S} and after["speed"] == pytest.approx(short / S)
    assert after["target"] == {"start": 10.0, "end": 11.0}


@pytest.mark.parametrize("fit", ["squash", {"clip": "fast"}, {"clip": None}, 3, ["trim"], ""])
def test_an_unknown_fit_is_refused_with_the_three_modes(client, fit):
    draft, _ = template(client)
    count = draft_count(client)
    message = fail(client, "/render_template", {"template_draft_id": draft, "merge": MERGE, "fit": fit},
                   "invalid_parameter")
    assert "'fit'" in message and all(f"'{mode}'" in message for mode in ("trim", "stretch", "extend"))
    assert draft_count(client) == count


def test_fit_defaults_to_trim_and_leaves_images_and_texts_alone(client):
    draft, _ = template(client)
    for body in ({}, {"fit": None}, {"fit": "trim"}, {"fit": {}}):
        out = ok(client, "/render_template", {"template_draft_id": draft, "merge": MERGE, **body})
        assert out["fit"] == {"clip": "trim"} and out["warnings"] == []
    out = ok(client, "/render_template", {"template_draft_id": draft, "merge": MERGE, "fit": "extend"})
    kinds = by_kind(timeline(client, out["draft_id"]))
    assert [s.get("fit") for s in kinds["video"] + kinds["image"] + kinds["text"]] == ["extend", None, None]
