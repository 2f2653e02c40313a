"""Track flags, render indexes and subtitles against the app-written references (issue 15, points 2
and 3): each test reads the value from the reference draft of the profile's app version and
compares ours with it (capcut_drafts/export/layering.py says which reference shows what)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import new_draft, ok, require_reference
from helpers.lint import lint
from helpers.save import WIN

# The reference of each profile's app version (model/profiles.py).
CLOSEST = {"capcut": "capcut-8.9-win-donor-282new", "capcut_legacy": "capcut-6.3-mac-segments2jy",
           "jianying": "jianying-5.9-win-pyjydraft-web", "jianying_pro_10": "jianying-5.9-win-pyjydraft-web"}
HOST = "http://127.0.0.1:8765"
SRT = "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:04,000\nWorld\n"


def reference(name: str) -> dict:
    folder = require_reference() / "drafts" / name
    path = next(p for p in (folder / "draft_content.json", folder / "draft_info.json") if p.is_file())
    return json.loads(path.read_text(encoding="utf-8"))


def ref_tracks(name: str, kind: str) -> list[dict]:
    return [t for t in reference(name)["tracks"] if t["type"] == kind]


def every_kind(client, profile: str) -> dict:
    d = new_draft(client, profile=profile)
    jy = profile.startswith("jianying")
    for path, body in [
        ("/add_video", {"video_url": f"{HOST}/a.mp4", "end": 3}),
        ("/add_video", {"video_url": f"{HOST}/b.mp4", "end": 3, "track_name": "overlay_1", "relative_index": 1}),
        ("/add_image", {"image_url": f"{HOST}/c.png", "start": 0, "end": 2, "track_name": "overlay_2",
                        "relative_index": 2}),
        ("/add_audio", {"audio_url": f"{HOST}/a.mp3", "end": 3}),
        ("/add_effect", {"effect_type": "模糊" if jy else "Blur"}),
        ("/add_effect", {"effect_type": "模糊" if jy else "Blur", "track_name": "effect_02", "relative_index": 1}),
        ("/add_filter", {"filter_type": "亮肤"}),
        ("/add_sticker", {"sticker_id": "7107529669750066445"}),
        ("/add_text", {"text": "title", "start": 0, "end": 2}),
        ("/add_subtitle", {"srt": SRT}),
    ]:
        ok(client, path, {"draft_id": d, **body})
    return json.loads(ok(client, "/query_script", {"draft_id": d}))


@pytest.mark.parametrize("profile", sorted(CLOSEST))
def test_render_index_track_mode_is_on_as_in_the_reference(client, profile):
    assert every_kind(client, profile)["render_index_track_mode_on"] is \
        reference(CLOSEST[profile])["render_index_track_mode_on"] is True


@pytest.mark.parametrize("profile", ["capcut", "jianying"])
def test_flags_and_render_indexes_follow_the_apps(client, profile):
    doc = every_kind(client, profile)
    by_name = {t["name"]: t for t in doc["tracks"]}
    indexes = {name: [s["render_index"] for s in t["segments"]] for name, t in by_name.items()}
    # the main video track, and overlays with flag 2 and 1, 2, … (CapCut 9.1: flag 2, index ≥ 1)
    overlay_refs = ref_tracks("capcut-9.1-win-premiere", "video")
    assert (overlay_refs[0]["flag"], overlay_refs[1]["flag"]) == (0, 2)
    assert min(s["render_index"] for s in overlay_refs[1]["segments"]) >= 1
    assert [(t["flag"], indexes[t["name"]]) for t in doc["tracks"] if t["type"] == "video"] == \
        [(0, [0]), (2, [1]), (2, [2])]
    # effects 11000 + n per track (CapCut 6.9), filters 10000 (CapCut 8.6)
    assert ref_tracks("capcut-6.9-win-rolik", "effect")[0]["segments"][0]["render_index"] == 11000
    assert ref_tracks("capcut-8.6-win-sanitized-masks-filters", "filter")[0]["segments"][0]["render_index"] == 10000
    assert (indexes["effect_01"], indexes["effect_02"], indexes["filter_01"]) == ([11000], [11001], [10000])
    # texts and stickers: one counter from 14000 in track order (CapCut 8.9: stickers, then texts)
    donor = [s["render_index"] for kind in ("sticker", "text") for t in ref_tracks(CLOSEST["capcut"], kind)
             for s in t["segments"]]
    assert min(donor) == 14000 and max(donor) < 15000
    ours = indexes["sticker_main"] + indexes["text_main"] + indexes["subtitle"]
    assert ours == list(range(14000, 14000 + len(ours)))
    # track_render_index: the track's position; JianYing 5.4.5β writes 0 on its audio tracks
    jy_audio = {s["track_render_index"] for t in ref_tracks("jianying-5.4.5beta-mac-mirage", "audio")
                for s in t["segments"]}
    assert jy_audio == {0}
    for order, t in enumerate(doc["tracks"]):
        expected = 0 if t["type"] == "audio" and profile == "jianying" else order
        assert {s["track_render_index"] for s in t["segments"]} == {expected}, t["name"]


@pytest.mark.parametrize("profile", sorted(CLOSEST))
def test_subtitles_are_subtitles_as_capcut_writes_them(client, profile):
    ref = reference("capcut-7.8-win-comecut")
    [ref_track] = [t for t in ref["tracks"] if t["type"] == "text"]
    ref_texts = {m["id"]: m for m in ref["materials"]["texts"]}
    ref_cues = [ref_texts[s["material_id"]] for s in ref_track["segments"]]
    doc = every_kind(client, profile)
    [track] = [t for t in doc["tracks"] if t["name"] == "subtitle"]
    texts = {m["id"]: m for m in doc["materials"]["texts"]}
    cues = [texts[s["material_id"]] for s in track["segments"]]
    assert track["flag"] == ref_track["flag"] == 1
    assert {(m["type"], m["add_type"]) for m in cues} == {(m["type"], m["add_type"]) for m in ref_cues} == \
        {("subtitle", 2)}
    assert len({m["group_id"] for m in cues}) == 1 and re.fullmatch(r"import_\d{13}", cues[0]["group_id"])
    assert re.fullmatch(r"import_\d{13}", ref_cues[0]["group_id"])
    title = next(t for t in doc["tracks"] if t["name"] == "text_main")
    assert title["flag"] == 0 and texts[title["segments"][0]["material_id"]]["type"] == "text"


@pytest.mark.parametrize("profile, ref", [("capcut", "capcut-8.1-win-quran-juz6-timelines"),
                                          ("capcut_legacy", "capcut-6.2-win-baby-starfish")])
def test_the_saved_srt_is_in_the_folder_and_listed_in_the_meta(service, profile, ref):
    svc = service()
    d = svc.draft(profile)
    cues = svc.add("subtitle", d, srt=SRT)["segment_ids"]
    svc.ok("/update_segment", {"draft_id": d, "segment_id": cues[1], "text": "Everyone"})
    svc.saved(d, draft_folder=WIN)
    folder = svc.folder(d)
    [srt] = sorted((folder / "assets" / "subtitle").glob("*.srt"))
    assert srt.read_text(encoding="utf-8") == ("1\n00:00:00,500 --> 00:00:02,000\nHello\n\n"
                                               "2\n00:00:02,500 --> 00:00:04,000\nEveryone\n")
    meta = json.loads((folder / "draft_meta_info.json").read_text(encoding="utf-8"))
    [entry] = next(g["value"] for g in meta["draft_materials"] if g["type"] == 2)
    ref_meta = json.loads((require_reference() / "drafts" / ref / "draft_meta_info.json").read_text(encoding="utf-8"))
    [ref_entry, *_] = next(g["value"] for g in ref_meta["draft_materials"] if g["type"] == 2)
    assert set(entry) == set(ref_entry)
    same = ("metetype", "type", "duration", "width", "height", "import_time_ms", "roughcut_time_range",
            "sub_time_range", "item_source")
    assert {k: entry[k] for k in same} == {k: ref_entry[k] for k in same}
    assert entry["extra_info"] == srt.name and entry["file_Path"].endswith(f"/{d}/assets/subtitle/{srt.name}")
    code, report = lint(Path(folder), "--no-check-paths")
    assert code == 0 and not report.get("errors"), report


def test_capcut_6_writes_render_index_0_on_effect_materials(client):
    ref = {e["render_index"] for e in reference("capcut-6.2-win-baby-starfish")["materials"]["video_effects"]}
    legacy = {e["render_index"] for e in every_kind(client, "capcut_legacy")["materials"]["video_effects"]}
    assert legacy == ref == {0}


def ref_styles(name: str) -> list[dict]:
    out = []
    for text in reference(name)["materials"]["texts"]:
        try:
            out += json.loads(text["content"]).get("styles") or []
        except (TypeError, ValueError):
            continue
    return out


@pytest.mark.parametrize("profile", ["capcut", "jianying"])
def test_text_style_ranges_leave_out_defaults_as_the_apps_do(client, profile):
    plain = ref_styles("capcut-8.1-win-quran-juz6-timelines")
    assert not any({"bold", "italic", "underline"} & set(s) for s in plain)
    assert not any("alpha" in s["fill"] or "alpha" in s["fill"]["content"]["solid"] for s in plain)
    bordered = [s for s in ref_styles(CLOSEST["capcut"]) if s.get("strokes")]
    assert {st["mode"] for s in bordered for st in s["strokes"]} == {0}
    assert {s.get("useLetterColor") for s in ref_styles(CLOSEST["capcut"])} == {True}
    d = new_draft(client, profile=profile)
    ok(client, "/add_text", {"draft_id": d, "text": "plain bold", "start": 0, "end": 1, "text_styles": [
        {"start": 6, "end": 10, "style": {"bold": True}, "border": {"width": 20, "color": "#000000"}}]})
    [text] = json.loads(ok(client, "/query_script", {"draft_id": d}))["materials"]["texts"]
    first, second = json.loads(text["content"])["styles"]
    assert not {"bold", "italic", "underline", "strokes"} & set(first) and "alpha" not in first["fill"]
    assert second["bold"] is True and first["useLetterColor"] is second["useLetterColor"] is True
    [stroke] = second["strokes"]
    assert ("mode" in stroke) is (profile == "capcut") and "alpha" not in stroke["content"]["solid"]
