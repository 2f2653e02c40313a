"""POST /import_draft: app-written drafts become our drafts, save as they were, and fill as templates.

Every reference draft (../shared/reference/drafts) is zipped as its app folder and imported; its
app JSON comes back from /query_script unchanged, and a save of it passes capcut-cli lint. Media
in the zip are kept and saved into the folder; `replace` swaps texts and media keeping the
designer's styles. Hostile zips (slip, links, bombs, encrypted drafts, bad JSON) are refused with
a precise code and leave nothing behind.
"""
from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path, PureWindowsPath

import pytest
from helpers import fail, post, require_reference
from helpers.lint import lint
from helpers.media import make_image, make_video

CONTENT_NAMES = ("draft_content.json", "draft_info.json")


def draft_files() -> list[Path]:
    """Every app-written draft file of the references (repositories renamed some: any JSON object
    with a `tracks` list and a `materials` object counts), the Timelines/ copies left out."""
    root = require_reference() / "drafts"
    found = []
    for path in sorted(root.rglob("*.json")):
        try:
            content = json.loads(path.read_bytes())
        except ValueError:
            continue
        if isinstance(content, dict) and isinstance(content.get("tracks"), list) \
                and isinstance(content.get("materials"), dict) and "Timelines" not in path.parts:
            found.append(path)
    return found


def zip_draft(path: Path) -> bytes:
    """One draft file zipped as the app names it, in a folder named after its reference."""
    name = "draft_info.json" if "draft_info" in path.name else "draft_content.json"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, f"{path.parent.name}/{name}")
    return buffer.getvalue()


def zip_folder(folder: Path, extra: dict[str, bytes] | None = None, top: str | None = None) -> bytes:
    """An app folder as the app keeps it, zipped under one top-level directory (`top`, default
    its name; "" = at the zip's root)."""
    buffer = io.BytesIO()
    prefix = f"{folder.name if top is None else top}/" if top != "" else ""
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name != "_manifest.tsv":
                archive.write(path, prefix + str(path.relative_to(folder)))
        for name, data in (extra or {}).items():
            archive.writestr(prefix + name, data)
    return buffer.getvalue()


def main_content(folder: Path) -> dict:
    name = next(n for n in CONTENT_NAMES if (folder / n).is_file())
    return json.loads((folder / name).read_bytes())


def upload(client, data: bytes, **fields) -> dict:
    resp = client.post("/import_draft", data={**fields, "file": (io.BytesIO(data), "draft.zip")},
                       content_type="multipart/form-data")
    return resp.get_json()


def drafts_count(client) -> int:
    return post(client, "/list_drafts", {"limit": 1})["output"]["total"]


# -- every reference draft -------------------------------------------------------------------------

@pytest.mark.parametrize("path", draft_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_reference_draft_imports_and_comes_back_unchanged(client, path):
    reply = upload(client, zip_draft(path))
    assert reply["success"], reply
    out = reply["output"]
    original = json.loads(path.read_bytes())
    script = json.loads(post(client, "/query_script", {"draft_id": out["draft_id"]})["output"])
    assert script == original                   # nothing lost, nothing invented
    timeline = post(client, "/get_timeline", {"draft_id": out["draft_id"]})["output"]
    app_texts = {m["id"]: m for m in original["materials"].get("texts", [])}
    ours = {s["id"]: s for t in timeline["tracks"] for s in t["segments"]}
    for track in original["tracks"]:
        for app in track["segments"]:
            segment = ours.get(app["id"])
            if segment is None:                 # kept only in the app JSON: named in the warnings
                assert any("segments use materials" in w or "track" in w for w in out["warnings"])
                continue
            target = app["target_timerange"]
            assert segment["target"] == {"start": target["start"] / 1e6,
                                         "end": (target["start"] + target["duration"]) / 1e6}
            text = app_texts.get(app["material_id"])
            if text is not None and text["content"].startswith("{"):
                assert segment["text"] == json.loads(text["content"])["text"]


LINTED = ["capcut-1.5-win-primena", "capcut-3.8-win-temp", "capcut-6.2-win-baby-starfish", "capcut-7.7-win-tqk-tracker",
          "capcut-8.9-win-donor-282new", "capcut-9.1-win-premiere", "jianying-2.8.5-win-srt4ulikecam",
          "jianying-5.4.5beta-mac-mirage", "jianying-5.9-win-pyjydraft-web", "jianying-legacy-mac-zimu"]


@pytest.mark.parametrize("name", LINTED)
def test_an_imported_reference_saves_and_passes_lint(service, name):
    svc = service()
    folder = require_reference() / "drafts" / name
    reply = upload(svc.client, zip_folder(folder))
    assert reply["success"], reply
    draft_id = reply["output"]["draft_id"]
    svc.saved(draft_id)
    saved = svc.content(draft_id)
    original = main_content(folder)
    assert [(t["type"], [s["target_timerange"] for s in t["segments"]]) for t in saved["tracks"]] == \
        [(t["type"], [s["target_timerange"] for s in t["segments"]]) for t in original["tracks"]]
    assert saved["materials"].get("texts") == original["materials"].get("texts")
    _, report = lint(svc.folder(draft_id), "--no-check-paths")
    assert report["summary"]["errors"] == 0, report       # warnings are the design's (e.g. long captions)


# -- media in the zip, and filling an imported template ---------------------------------------------

@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("media")
    make_video(directory / "new.mp4", seconds=6, audio=False)      # longer than the clips it replaces
    make_image(directory / "logo.png", size=(64, 48))
    make_image(directory / "img_001.png", size=(32, 32))
    return directory


STICKERS = "capcut-8.6-win-sanitized-stickers"      # one photo clip (img_001.png) and a sticker


def test_media_in_the_zip_are_kept_and_saved_into_the_folder(service, media_dir):
    svc = service()
    folder = require_reference() / "drafts" / STICKERS
    data = zip_folder(folder, {"Resources/img_001.png": (media_dir / "img_001.png").read_bytes()})
    reply = upload(svc.client, data, name="Sticker template")
    assert reply["success"], reply
    out = reply["output"]
    assert out["media_in_zip"] == 1 and out["profile"] == "capcut"
    assert post(svc.client, "/list_drafts", {"name": "Sticker template"})["output"]["total"] == 1
    timeline = post(svc.client, "/get_timeline", {"draft_id": out["draft_id"]})["output"]
    assert [m["url"] for m in timeline["materials"]][0].startswith("imported:")
    svc.saved(out["draft_id"])
    saved = svc.content(out["draft_id"])
    video = saved["materials"]["videos"][0]
    assert video["path"].endswith(f"/assets/image/{video['material_name']}")     # the app's draft-folder token
    assert (svc.folder(out["draft_id"]) / "assets" / "image" / video["material_name"]).read_bytes() == \
        (media_dir / "img_001.png").read_bytes()
    assert saved["materials"]["stickers"] == main_content(folder)["materials"]["stickers"]


def test_replace_fills_an_imported_template_keeping_the_designers_styles(service, media_server):
    svc = service()
    folder = require_reference() / "drafts" / "capcut-7.7-win-tqk-embedded"
    original = main_content(folder)
    template = upload(svc.client, zip_folder(folder))["output"]["draft_id"]
    text = json.loads(original["materials"]["texts"][0]["content"])
    clip = original["materials"]["videos"][0]
    out = svc.ok("/render_template", {"template_draft_id": template, "merge": {}, "replace": {
        text["text"]: "Xin chào thế giới", clip["material_name"]: media_server.url("new.mp4"),
        "no such thing": "x"}})
    assert any("no such thing" in w for w in out["warnings"])
    svc.saved(out["draft_id"])
    saved = svc.content(out["draft_id"])
    new_text = next(json.loads(m["content"]) for m in saved["materials"]["texts"] if m["id"] ==
                    original["materials"]["texts"][0]["id"])
    assert new_text["text"] == "Xin chào thế giới"
    assert new_text["styles"] == [{**text["styles"][0], "range": [0, len("Xin chào thế giới")]}]
    segment = next(s for t in saved["tracks"] for s in t["segments"] if s["id"] ==
                   next(s["id"] for t in original["tracks"] for s in t["segments"] if s["material_id"] == clip["id"]))
    replaced = next(m for m in saved["materials"]["videos"] if m["id"] == segment["material_id"])
    assert replaced["id"] != clip["id"] and replaced["path"].endswith(replaced["material_name"])
    assert replaced["crop"] == clip["crop"]                       # the designer's settings stay
    assert segment["extra_material_refs"] == next(s for t in original["tracks"] for s in t["segments"]
                                                  if s["id"] == segment["id"])["extra_material_refs"]
    assert (svc.folder(out["draft_id"]) / "assets" / "video" / replaced["material_name"]).is_file()
    _, report = lint(svc.folder(out["draft_id"]), "--no-check-paths")
    assert report["summary"]["errors"] == 0, report
    svc.saved(template)
    _, designed = lint(svc.folder(template), "--no-check-paths")
    assert [i["code"] for i in report["issues"]] == [i["code"] for i in designed["issues"]], \
        json.dumps([report, designed])
    assert json.loads(post(svc.client, "/query_script", {"draft_id": template})["output"]) == original


def test_an_imported_template_with_three_slots_fills_fifty_times(service, media_server):
    svc = service(prefetch_on_add=False)
    folder = require_reference() / "drafts" / "capcut-7.9-win-quran-base"
    original = main_content(folder)
    template = upload(svc.client, zip_folder(folder))["output"]["draft_id"]
    texts = [json.loads(m["content"])["text"] for m in original["materials"]["texts"]]
    image = PureWindowsPath(original["materials"]["videos"][0]["path"]).name      # its material_name is ""
    made = []
    for n in range(50):
        out = svc.ok("/render_template", {"template_draft_id": template, "merge": {}, "name": f"Card {n}",
                                          "replace": {texts[0]: f"Title {n}", texts[1]: f"Line {n}",
                                                      image: media_server.url("logo.png") + f"?n={n}"}})
        made.append(out["draft_id"])
    assert len(set(made)) == 50
    for n, draft_id in enumerate(made):
        script = json.loads(post(svc.client, "/query_script", {"draft_id": draft_id})["output"])
        assert sorted(json.loads(m["content"])["text"] for m in script["materials"]["texts"]) == \
            sorted([f"Title {n}", f"Line {n}"])
        timeline = post(svc.client, "/get_timeline", {"draft_id": draft_id})["output"]
        assert media_server.url("logo.png") + f"?n={n}" in {m["url"] for m in timeline["materials"]}


def test_an_import_from_a_url_follows_the_fetch_rules(service, media_server, media_dir):
    folder = require_reference() / "drafts" / "jianying-5.9-win-pyjydraft-web"
    (media_dir / "draft.zip").write_bytes(zip_folder(folder))
    svc = service()
    from capcut_drafts.api import registry
    example = dict(registry.route("/import_draft").example)
    svc.ok("/import_draft", {**example, "draft_zip_url": media_server.url("draft.zip")})
    assert post(svc.client, "/list_drafts", {"name": example["name"]})["output"]["total"] == 1
    closed = service(fetch_allow_hosts=[])
    assert fail(closed.client, "/import_draft", {"draft_zip_url": media_server.url("draft.zip")},
                "fetch_forbidden")
    assert fail(closed.client, "/import_draft", {"draft_zip_url": "file:///etc/passwd"}, "invalid_url")
    small = service(import_max_bytes=2048)
    assert fail(small.client, "/import_draft", {"draft_zip_url": media_server.url("draft.zip")}, "fetch_too_large")
    assert drafts_count(closed.client) == 0 and drafts_count(small.client) == 0


# -- refused zips leave nothing behind ---------------------------------------------------------------

def _zip(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


DRAFT = json.dumps({"tracks": [], "materials": {}, "canvas_config": {"width": 1080, "height": 1920}}).encode()


@pytest.mark.parametrize(("data", "code", "words"), [
    (b"not a zip at all", "invalid_archive", "not a readable zip"),
    (_zip({"draft_content.json": DRAFT, "../evil.txt": b"x"}), "invalid_archive", "outside the draft folder"),
    (_zip({"draft_content.json": DRAFT, "/etc/cron.d/x": b"x"}), "invalid_archive", "outside the draft folder"),
    (_zip({"draft_content.json": DRAFT, "C:/Windows/x.dll": b"x"}), "invalid_archive", "outside the draft folder"),
    (_zip({"draft_content.json": DRAFT}, links=("Resources/link.mp4",)), "invalid_archive", "symbolic link"),
    (_zip({"readme.txt": b"hello"}), "invalid_archive", "No draft_content.json"),
    (_zip({"a/draft_content.json": DRAFT, "b/draft_content.json": DRAFT}), "invalid_archive", "No draft_content"),
    (_zip({"draft_content.json": bytes(range(256)) * 8}), "encrypted_draft", "JianYing 6"),
    (_zip({"draft_content.json": b"{\"tracks\": [1, 2"}), "invalid_draft", "not valid JSON"),
    (_zip({"draft_content.json": b"[" * 100_000 + b"]" * 100_000}), "invalid_draft", "too deeply"),
    (_zip({"draft_content.json": b"[[[]]]"}), "invalid_draft", "not a CapCut/JianYing"),
    (_zip({"draft_content.json": b"{\"a\":" * 100_000 + b"1" + b"}" * 100_000}), "invalid_draft", "too deeply"),
    (_zip({"draft_content.json": b"{\"tracks\": 5}"}), "invalid_draft", "not a CapCut/JianYing"),
    (_zip({"draft_content.json": b"{\"tracks\": [], \"materials\": {}, \"fps\": NaN}"}), "invalid_draft", "NaN"),
    (_zip({"draft_content.json": b"{\"tracks\": [], \"materials\": {}, \"x\": -Infinity}"}), "invalid_draft",
     "Infinity"),
    (_zip({"draft_content.json": b"{\"tracks\": [], \"materials\": {}, \"name\": \"\\ud800\"}"}), "invalid_draft",
     "surrogate"),
    (_zip({"draft_content.json": DRAFT, "big.bin": b"\0" * 5_000_000}), "archive_too_large", "import_max_bytes"),
])
def test_hostile_zips_are_refused_and_leave_nothing(service, data, code, words):
    client = service(import_max_bytes=4_000_000).client
    reply = upload(client, data)
    assert not reply["success"] and reply["code"] == code, reply
    assert words in reply["error"]
    assert drafts_count(client) == 0


def test_too_many_entries_are_refused(client):
    from capcut_drafts.imports import archive
    reply = upload(client, _zip({"draft_content.json": DRAFT, **{f"f{i}": b"" for i in range(archive.MAX_ENTRIES)}}))
    assert reply["code"] == "invalid_archive" and "entries" in reply["error"]


def test_hostile_values_inside_a_draft_are_read_safely(client):
    """1e-320, 1e300, negative and out-of-range numbers and wrong types in the app JSON."""
    content = {"canvas_config": {"width": "wide", "height": 1e300}, "fps": -5,
               "materials": {"texts": [{"id": "T", "content": "{\"text\": \"\\u00e9 hi\", \"styles\": "
                                                                 "[{\"range\": [5, -1]}, 7, {\"range\": \"x\"}]}"},
                                       {"id": "U", "content": 12}],
                             "videos": [{"id": "V", "path": 5, "duration": 1e308, "type": ["x"]}]},
               "tracks": [{"type": "text", "id": "TT", "segments": [
                   {"id": "S1", "material_id": "T", "target_timerange": {"start": 1e-320, "duration": 1e300}},
                   {"id": "S2", "material_id": "U", "target_timerange": {"start": 0, "duration": 1}},
                   "not a segment"]},
                          {"type": "video", "segments": [{"id": "S3", "material_id": "V",
                                                          "target_timerange": {"start": "0", "duration": 1},
                                                          "clip": {"scale": {"x": "big"}}}]},
                          {"type": "hologram", "segments": [{"id": "S4"}]}, 17]}
    data = _zip({"draft_content.json": json.dumps(content).encode()})
    reply = upload(client, data)
    assert reply["success"], reply
    timeline = post(client, "/get_timeline", {"draft_id": reply["output"]["draft_id"]})["output"]
    assert timeline["canvas"]["width"] == 1080 and timeline["canvas"]["height"] == 16384
    assert [s["id"] for t in timeline["tracks"] for s in t["segments"]] == ["S1"]
    assert any("hologram" in w for w in reply["output"]["warnings"])
    script = post(client, "/query_script", {"draft_id": reply["output"]["draft_id"]})
    assert script["success"], script


def test_a_zip_rooted_at_its_root_and_multipart_fields_are_checked(client):
    folder = require_reference() / "drafts" / "jianying-5.5-win-draftdemo-normal"
    assert upload(client, zip_folder(folder, top=""))["success"]
    reply = client.post("/import_draft", data={"name": "x"}, content_type="multipart/form-data").get_json()
    assert reply["code"] == "missing_parameter" and "'file'" in reply["error"]
    assert upload(client, zip_folder(folder), name="x" * 10_000)["code"] == "invalid_parameter"
    assert fail(client, "/import_draft", {}, "missing_parameter")


# -- renders of imported drafts and of their fillings -------------------------------------------------

def _solid_png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _centre_colour(png: bytes) -> tuple[int, ...]:
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def test_imported_drafts_and_their_fillings_render(service, media_server, media_dir):
    svc = service(prefetch_on_add=False)
    folder = require_reference() / "drafts" / STICKERS
    clip = next(s for t in main_content(folder)["tracks"] if t["type"] == "video" for s in t["segments"])
    moment = (clip["target_timerange"]["start"] + clip["target_timerange"]["duration"] / 2) / 1e6
    red = upload(svc.client, zip_folder(folder, {"img_001.png": _solid_png((255, 0, 0))}))["output"]["draft_id"]
    frame = svc.client.get(f"/drafts/{red}/frame.png?t={moment}&width=320")
    assert frame.status_code == 200, frame.get_json()
    assert all(abs(a - b) < 30 for a, b in zip(_centre_colour(frame.data), (255, 0, 0), strict=True))

    (media_dir / "blue.png").write_bytes(_solid_png((0, 0, 255)))
    blue = svc.ok("/render_template", {"template_draft_id": red, "merge": {},
                                       "replace": {"img_001.png": media_server.url("blue.png")}})["draft_id"]
    frame = svc.client.get(f"/drafts/{blue}/frame.png?t={moment}&width=320")
    assert frame.status_code == 200, frame.get_json()
    assert all(abs(a - b) < 30 for a, b in zip(_centre_colour(frame.data), (0, 0, 255), strict=True))

    missing = upload(svc.client, zip_folder(folder))["output"]["draft_id"]      # img_001.png not zipped
    reply = svc.client.get(f"/drafts/{missing}/frame.png?t={moment}").get_json()
    assert reply["code"] == "media_not_imported" and "img_001.png" in reply["error"]


def test_imported_segments_are_removed_and_replaced_not_updated(client):
    folder = require_reference() / "drafts" / "capcut-7.9-win-quran-base"
    draft_id = upload(client, zip_folder(folder))["output"]["draft_id"]
    timeline = post(client, "/get_timeline", {"draft_id": draft_id})["output"]
    text = next(s for t in timeline["tracks"] for s in t["segments"] if s["kind"] == "text")
    assert text["made_by"] == "/import_draft" and text["params"] is None
    error = fail(client, "/update_segment", {"draft_id": draft_id, "segment_id": text["id"], "text": "x"},
                 "segment_not_editable")
    assert "/render_template" in error
    post(client, "/remove_segment", {"draft_id": draft_id, "segment_id": text["id"]})
    script = json.loads(post(client, "/query_script", {"draft_id": draft_id})["output"])
    assert text["id"] not in {s["id"] for t in script["tracks"] for s in t["segments"]}
    assert post(client, "/undo", {"draft_id": draft_id})["success"]
    assert json.loads(post(client, "/query_script", {"draft_id": draft_id})["output"]) == main_content(folder)


def test_clips_added_to_an_imported_draft_are_merged_into_its_tracks(client):
    folder = require_reference() / "drafts" / "capcut-7.9-win-quran-base"
    draft_id = upload(client, zip_folder(folder))["output"]["draft_id"]
    added = post(client, "/add_text", {"draft_id": draft_id, "text": "added", "start": 60, "end": 61})["output"]
    assert added["track_name"] == "text_main"
    assert added["segment_id"] in {s["id"] for t in post(client, "/get_timeline", {"draft_id": draft_id})[
        "output"]["tracks"] for s in t["segments"]}
    post(client, "/add_text", {"draft_id": draft_id, "text": "own", "start": 0, "end": 1, "track_name": "mine"})
    script = json.loads(post(client, "/query_script", {"draft_id": draft_id})["output"])
    original = main_content(folder)
    first_text = next(t for t in script["tracks"] if t["type"] == "text")
    assert first_text["id"] == next(t for t in original["tracks"] if t["type"] == "text")["id"]
    texts = {m["id"]: json.loads(m["content"])["text"] for m in script["materials"]["texts"]}
    assert texts[first_text["segments"][-1]["material_id"]] == "added"      # on the designer's track, last
    assert len(script["tracks"]) == len(original["tracks"]) + 1
    assert texts[script["tracks"][-1]["segments"][0]["material_id"]] == "own"   # its own track, on top
    assert script["duration"] == 61_000_000
