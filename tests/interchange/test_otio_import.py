"""POST /import_otio: an exported draft imports back as the same timeline (/get_timeline of both:
tracks, kinds, ranges, texts, URLs, effects, parameters, keyframes); a timeline written with the
OTIO API, as another editor would, imports clip by clip with warnings for what cannot; `otio_url`
is fetched by the safe fetcher. Media come from a MediaServer on 127.0.0.1."""
from __future__ import annotations

import opentimelineio as otio
import pytest
from helpers import fail, import_reference, post

from tools import fidelity_report as fidelity

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def drafts_count(client) -> int:
    return post(client, "/list_drafts", {"limit": 1})["output"]["total"]


def segments_of(timeline: dict) -> dict[str, list[dict]]:
    """track name -> what each of its segments is, ids and the track name in the parameters left out."""
    def entry(s: dict) -> dict:
        params = {k: v for k, v in (s["params"] or {}).items() if k != "track_name"}
        return {**{k: v for k, v in s.items() if k not in ("id", "material_id", "params")}, "params": params}
    return {t["name"]: sorted((entry(s) for s in t["segments"]), key=lambda s: s["target"]["start"])
            for t in timeline["tracks"]}


def same_timeline(ours: dict, theirs: dict) -> None:
    assert segments_of(theirs) == segments_of(ours)
    assert {t["name"]: (t["kind"], t["render_order"]) for t in theirs["tracks"]} == \
        {t["name"]: (t["kind"], t["render_order"]) for t in ours["tracks"]}
    assert theirs["keyframes"] == ours["keyframes"]
    assert (theirs["canvas"], theirs["profile"], theirs["duration"]) == (ours["canvas"], ours["profile"],
                                                                       ours["duration"])
    assert sorted(m["url"] for m in theirs["materials"]) == sorted(m["url"] for m in ours["materials"])


@pytest.mark.parametrize("profile", ["capcut", "jianying"])
def test_an_exported_draft_imports_back_as_the_same_timeline(service, media_server, profile):
    svc = service(prefetch_on_add=False)
    draft = fidelity.build_every_route_draft(svc, media_server.url, profile)
    original = svc.ok("/get_timeline", {"draft_id": draft})
    text = svc.ok("/export_otio", {"draft_id": draft})["otio"]
    reply = svc.post("/import_otio", {"otio": text})
    assert reply["success"] and "warnings" not in reply, reply
    out = reply["output"]
    assert (out["name"], out["profile"], out["warnings"]) == (original["name"], profile, [])
    assert out["segments"] == sum(len(t["segments"]) for t in original["tracks"])
    imported = svc.ok("/get_timeline", {"draft_id": out["draft_id"]})
    same_timeline(original, imported)
    keyframed = 1                                             # the keyframes of video_main: one operation
    assert imported["undo"] == [{"operation": "/import_otio", "imported_operations": out["segments"] + keyframed}]
    svc.ok("/undo", {"draft_id": out["draft_id"]})            # one change: undo empties the draft
    assert svc.ok("/get_timeline", {"draft_id": out["draft_id"]})["tracks"] == []


def test_a_clip_moved_or_trimmed_in_another_editor_keeps_its_style_at_the_new_timing(service, media_server):
    svc = service(prefetch_on_add=False)
    draft = fidelity.build_every_route_draft(svc, media_server.url, "capcut")
    timeline = otio.adapters.read_from_string(svc.ok("/export_otio", {"draft_id": draft})["otio"], "otio_json")
    tracks = {t.name: t for t in timeline.tracks}
    tracks["title"].insert(0, otio.schema.Gap(source_range=TR(duration=RT(30, 30))))      # the title 1 s later
    audio = tracks["audio_main"][0]
    audio.source_range = TR(RT(15, 30), RT(90, 30))            # from 0.5 s of the file, 3 s long
    out = svc.ok("/import_otio", {"otio": otio.adapters.write_to_string(timeline, "otio_json")})
    assert sum("moved or trimmed in another editor" in w for w in out["warnings"]) == 2
    imported = segments_of(svc.ok("/get_timeline", {"draft_id": out["draft_id"]}))
    title = imported["title"][0]
    assert title["target"] == {"start": 1.0, "end": 4.0} and title["params"]["font_color"] == "#FFD700"
    assert title["effects"] == {"intro": "Fade_In", "outro": "Fade_Out"}
    music = imported["audio_main"][0]
    assert (music["target"], music["source"]) == ({"start": 0.0, "end": 3.0}, {"start": 0.5, "end": 3.5})
    assert music["effects"] == {"effect": "Big_House"}


def written_with_the_otio_api(url) -> otio.schema.Timeline:
    """Another editor's timeline at 24 fps: a gap, a video clip, a dissolve into an image, a clip
    with an effect we do not have, a clip at double speed with a marker; music, a local file."""
    def clip(name: str, start: int, frames: int, *, rate: int = 24) -> otio.schema.Clip:
        return otio.schema.Clip(name=name, media_reference=otio.schema.ExternalReference(target_url=url(name)),
                                source_range=TR(RT(start, rate), RT(frames, rate)))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    video.append(otio.schema.Gap(source_range=TR(duration=RT(24, 24))))
    video.append(clip("clip.mp4", 12, 48))                    # 0.5-2.5 s of the file at 1-3 s
    video.append(otio.schema.Transition(transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                                        in_offset=RT(6, 24), out_offset=RT(6, 24)))
    video.append(clip("logo.png", 0, 48))                     # 3-5 s
    blurred = clip("clip.mp4", 0, 24)                         # 5-6 s
    blurred.effects.append(otio.schema.Effect(name="blur", effect_name="FancyBlur"))
    video.append(blurred)
    fast = clip("clip.mp4", 0, 24)                            # 6-7 s, 0-2 s of the file
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    fast.markers.append(otio.schema.Marker(name="check", marked_range=TR(RT(0, 24), RT(1, 24))))
    video.append(fast)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.append(clip("music.mp3", 0, 72))
    audio.append(otio.schema.Clip(name="local", media_reference=otio.schema.ExternalReference(
        target_url="file:///Users/editor/Music/local.wav"), source_range=TR(RT(0, 24), RT(24, 24))))
    return otio.schema.Timeline(name="From another editor", tracks=[video, audio], global_start_time=RT(0, 24))


def test_a_timeline_written_with_the_otio_api_imports_clip_by_clip(service, media_server):
    svc = service(prefetch_on_add=False)
    text = otio.adapters.write_to_string(written_with_the_otio_api(media_server.url), "otio_json")
    out = svc.ok("/import_otio", {"otio": text})
    assert out["name"] == "From another editor" and out["segments"] == 5
    warnings = "\n".join(out["warnings"])
    assert "FancyBlur" in warnings and "file:///Users/editor/Music/local.wav" in warnings and "marker" in warnings
    timeline = svc.ok("/get_timeline", {"draft_id": out["draft_id"]})
    assert timeline["canvas"] == {"width": 1080, "height": 1920, "fps": 24}
    v1, a1 = segments_of(timeline)["V1"], segments_of(timeline)["A1"]
    assert [(s["kind"], s["target"]["start"], s["target"]["end"]) for s in v1] == \
        [("video", 1.0, 3.0), ("image", 3.0, 5.0), ("video", 5.0, 6.0), ("video", 6.0, 7.0)]
    assert v1[0]["source"] == {"start": 0.5, "end": 2.5} and v1[0]["effects"] == {"transition": "Dissolve"}
    assert v1[0]["params"]["transition_duration"] == 0.5 and v1[0]["media_url"] == media_server.url("clip.mp4")
    assert v1[1]["media_url"] == media_server.url("logo.png")
    assert (v1[3]["speed"], v1[3]["source"]) == (2.0, {"start": 0.0, "end": 2.0})
    assert [(s["kind"], s["media_url"], s["target"]["end"]) for s in a1] == [("audio", media_server.url("music.mp3"),
                                                                              3.0)]


def test_the_draft_takes_the_requests_name_canvas_and_profile(service, media_server):
    svc = service(prefetch_on_add=False)
    text = otio.adapters.write_to_string(written_with_the_otio_api(media_server.url), "otio_json")
    out = svc.ok("/import_otio", {"otio": text, "name": "Cut 2", "width": 1920, "height": 1080.0,
                                  "profile": "jianying"})
    timeline = svc.ok("/get_timeline", {"draft_id": out["draft_id"]})
    assert (out["name"], timeline["profile"], timeline["canvas"]["width"], timeline["canvas"]["height"]) == \
        ("Cut 2", "jianying", 1920, 1080)
    assert segments_of(timeline)["V1"][0]["effects"] == {"transition": "叠化"}       # JianYing's dissolve
    assert fail(svc.client, "/import_otio", {"otio": text, "profile": "imovie"}, "unknown_name")


def test_otio_url_is_fetched_with_the_fetch_rules(service, media_server, media_dir):
    text = otio.adapters.write_to_string(written_with_the_otio_api(media_server.url), "otio_json")
    (media_dir / "edit.otio").write_text(text, encoding="utf-8")
    allowed = service(prefetch_on_add=False)
    out = allowed.ok("/import_otio", {"otio_url": media_server.url("edit.otio")})
    assert out["segments"] == 5
    both = allowed.post("/import_otio", {"otio": text, "otio_url": "https://example.com/other.otio"})
    assert any("'otio' was used" in w for w in both["warnings"])
    refused = service(prefetch_on_add=False, fetch_allow_hosts=[])
    message = fail(refused.client, "/import_otio", {"otio_url": media_server.url("edit.otio")}, "fetch_forbidden")
    assert "otio_url" in message
    assert fail(refused.client, "/import_otio", {"otio_url": "file:///etc/passwd"}, "invalid_url")
    assert drafts_count(refused.client) == 0
    large = fail(allowed.client, "/import_otio", {"otio_url": media_server.url("bytes/17000000")}, "otio_too_large")
    assert "16777216" in large
    (media_dir / "latin1.otio").write_bytes(text.replace("another", "anöther").encode("latin-1"))
    assert fail(allowed.client, "/import_otio", {"otio_url": media_server.url("latin1.otio")}, "invalid_otio")


def test_a_clip_a_route_refuses_refuses_the_import_and_names_the_clip(service, media_server):
    svc = service(prefetch_on_add=False)
    draft = fidelity.build_every_route_draft(svc, media_server.url, "capcut")
    timeline = otio.adapters.read_from_string(svc.ok("/export_otio", {"draft_id": draft})["otio"], "otio_json")
    clip = next(iter(timeline.tracks[0]))
    meta = clip.metadata["capcut"]
    meta["params"]["transition"] = "No_Such_Transition"
    before = drafts_count(svc.client)
    message = fail(svc.client, "/import_otio", {"otio": otio.adapters.write_to_string(timeline, "otio_json")},
                   "unknown_name")
    assert message.startswith(f"track 'video_main', clip '{clip.name}' at 0s could not be imported, so no draft")
    assert drafts_count(svc.client) == before


def test_a_draft_from_an_app_zip_comes_back_with_its_texts(client):
    draft = import_reference(client, "capcut-7.7-win-tqk-embedded")
    text = post(client, "/export_otio", {"draft_id": draft})["output"]["otio"]
    out = post(client, "/import_otio", {"otio": text})["output"]
    assert any("/import_draft" in w and "/add_text" in w for w in out["warnings"])
    assert any("is not an http(s) URL" in w for w in out["warnings"])           # its app-file: media
    texts = lambda d: sorted((s["text"], s["target"]["start"]) for t in post(  # noqa: E731
        client, "/get_timeline", {"draft_id": d})["output"]["tracks"] for s in t["segments"] if "text" in s)
    assert texts(out["draft_id"]) == texts(draft) != []


def test_generated_clips_come_back_by_their_text_or_catalogue_name(client):
    def generated(kind: str, frames: int, **parameters) -> otio.schema.Clip:
        return otio.schema.Clip(name=kind, source_range=TR(RT(0, 30), RT(frames, 30)),
                                media_reference=otio.schema.GeneratorReference(generator_kind=kind,
                                                                               parameters=parameters))
    track = otio.schema.Track(name="T", children=[
        generated("capcut.text", 30, text="Hello"), generated("SolidColor", 30, color="red"),
        generated("capcut.effect", 30, name="No_Such_Effect", category="scene_effect")])
    filters = otio.schema.Track(name="F", children=[generated("capcut.filter", 60, name="亮肤", intensity=300)])
    text = otio.adapters.write_to_string(otio.schema.Timeline(tracks=[track, filters]), "otio_json")
    out = post(client, "/import_otio", {"otio": text})["output"]
    assert out["segments"] == 2
    assert any("SolidColor" in w for w in out["warnings"]) and any("No_Such_Effect" in w for w in out["warnings"])
    timeline = segments_of(post(client, "/get_timeline", {"draft_id": out["draft_id"]})["output"])
    assert [(s["kind"], s["text"], s["target"]) for s in timeline["T"]] == [("text", "Hello",
                                                                             {"start": 0.0, "end": 1.0})]
    assert timeline["F"][0]["effects"] == {"effect": "亮肤"} and timeline["F"][0]["params"]["filter_intensity"] == 100
