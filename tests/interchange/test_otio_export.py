"""POST /export_otio and GET /drafts/<id>.otio: the draft as an OpenTimelineIO timeline that the
`opentimelineio` library reads, clip for clip: the every-route draft of tools/fidelity_report.py
(media served from 127.0.0.1) against its /get_timeline."""
from __future__ import annotations

import opentimelineio as otio
import pytest
from helpers import fail, import_reference, make_settings, new_draft, ok

from capcut_drafts.interchange.otio_import import plain
from tools import fidelity_report as fidelity

RT = otio.opentime


def seconds(time) -> float:
    return round(time.to_seconds(), 6)


def capcut(item) -> dict:
    return plain(item.metadata["capcut"])


@pytest.fixture
def every_route(service, media_server):
    """(service, draft id, its /get_timeline) of the every-route draft."""
    svc = service(prefetch_on_add=False)
    draft = fidelity.build_every_route_draft(svc, media_server.url, "capcut")
    return svc, draft, svc.ok("/get_timeline", {"draft_id": draft})


def test_every_track_and_clip_of_the_draft_is_in_the_timeline(every_route):
    svc, draft, timeline = every_route
    reply = svc.post("/export_otio", {"draft_id": draft})
    assert reply["success"] and "warnings" not in reply
    loaded = otio.adapters.read_from_string(reply["output"]["otio"], "otio_json")
    assert isinstance(loaded, otio.schema.Timeline) and loaded.name == timeline["name"]
    ours = sorted(timeline["tracks"], key=lambda t: t["render_order"])
    assert [t.name for t in loaded.tracks] == [t["name"] for t in ours]
    for track, expected in zip(loaded.tracks, ours, strict=True):
        assert track.kind == ("Audio" if expected["kind"] == "audio" else "Video")
        assert capcut(track)["kind"] == expected["kind"]
        clips = [item for item in track if isinstance(item, otio.schema.Clip)]
        segments = sorted(expected["segments"], key=lambda s: s["target"]["start"])
        assert len(clips) == len(segments), track.name
        for clip, segment in zip(clips, segments, strict=True):
            placed = clip.range_in_parent()
            assert (seconds(placed.start_time), seconds(placed.end_time_exclusive())) == \
                (segment["target"]["start"], segment["target"]["end"])
            meta = capcut(clip)
            assert (meta["segment_id"], meta["made_by"], meta["params"], meta["kind"]) == \
                (segment["id"], segment["made_by"], segment["params"], segment["kind"])
            reference = clip.media_reference
            if "media_url" in segment:
                assert reference.target_url == segment["media_url"]
                assert seconds(clip.source_range.start_time) == \
                    (segment["source"]["start"] if segment["kind"] != "image" else 0)
            else:
                assert isinstance(reference, otio.schema.GeneratorReference)
                assert reference.generator_kind.startswith("capcut.")
            if "text" in segment:
                assert reference.parameters["text"] == segment["text"]
            names = {e.name: e.effect_name for e in clip.effects if not isinstance(e, otio.schema.LinearTimeWarp)}
            assert names == {role: name for role, name in segment.get("effects", {}).items() if role != "transition"}


def test_gaps_transitions_keyframes_and_generators_are_mapped(every_route):
    svc, draft, timeline = every_route
    loaded = otio.adapters.read_from_string(svc.ok("/export_otio", {"draft_id": draft})["otio"], "otio_json")
    tracks = {t.name: t for t in loaded.tracks}
    video = list(tracks["video_main"])            # the video (0-2 s, Dissolve 0.5 s) then the image (2-4 s)
    assert [type(item).__name__ for item in video] == ["Clip", "Transition", "Clip"]
    assert video[1].name == "Dissolve" and video[1].transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert seconds(video[1].in_offset) == seconds(video[1].out_offset) == 0.25
    subtitles = list(tracks["subtitle"])          # cues at 0.5-2 and 2.5-4
    assert [type(item).__name__ for item in subtitles] == ["Gap", "Clip", "Gap", "Clip"]
    assert [seconds(item.duration()) for item in subtitles] == [0.5, 1.5, 0.5, 1.5]
    effect = next(iter(tracks["effect_01"])).media_reference
    assert (effect.generator_kind, effect.parameters["name"]) == ("capcut.effect", "Blur")
    gap, sticker = tracks["sticker_main"]          # the sticker shows from 1 s
    assert seconds(gap.duration()) == 1 and isinstance(gap, otio.schema.Gap)
    sticker = sticker.media_reference
    assert dict(sticker.parameters) == {"sticker_id": "7226264888031694091"}
    meta = capcut(loaded)
    assert meta["format"] == 1 and meta["profile"] == "capcut" and meta["canvas"] == timeline["canvas"]
    assert [(k["track_name"], k["property"], k["time_us"] / 1e6, k["value"]) for k in meta["keyframes"]] == \
        [(k["track_name"], k["property"], k["time"], k["value"]) for k in timeline["keyframes"]]
    assert meta["imported_from_app"] is None


def test_the_get_route_serves_the_same_file(every_route):
    svc, draft, _ = every_route
    resp = svc.client.get(f"/drafts/{draft}.otio")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{draft}.otio"'
    assert resp.get_data(as_text=True) == svc.ok("/export_otio", {"draft_id": draft})["otio"]
    missing = svc.client.get("/drafts/dfd_cat_1_00000000.otio")
    assert missing.status_code == 404 and missing.get_json()["code"] == "draft_not_found"
    malformed = svc.client.get("/drafts/no%20such!.otio")
    assert malformed.status_code == 400 and malformed.get_json()["code"] == "invalid_parameter"
    assert fail(svc.client, "/export_otio", {"draft_id": "dfd_cat_1_00000000"}, "draft_not_found")


def test_with_api_keys_the_file_needs_a_key_and_answers_the_envelope(tmp_path):
    from capcut_drafts.web.app import create_app
    key = "k" * 32
    client = create_app(make_settings(tmp_path, store="memory", api_keys=[key])).test_client()
    draft = client.post("/create_draft", json={}, headers={"X-API-Key": key}).get_json()["output"]["draft_id"]
    refused = client.get(f"/drafts/{draft}.otio")
    assert refused.status_code == 401 and refused.get_json()["code"] == "unauthorized"     # not the HTML page
    assert client.get(f"/drafts/{draft}.otio", headers={"X-API-Key": key}).status_code == 200


def test_a_clip_of_unknown_length_is_kept_in_the_track_metadata(client):
    draft = new_draft(client)
    ok(client, "/add_video", {"draft_id": draft, "video_url": "https://example.com/open.mp4", "start": 1})
    ok(client, "/add_video", {"draft_id": draft, "video_url": "https://example.com/cut.mp4", "end": 2,
                              "target_start": 3, "speed": 0.5})
    reply = client.post("/export_otio", json={"draft_id": draft}).get_json()
    assert reply["success"] and any("no place on the OTIO track" in w for w in reply["warnings"])
    track = otio.adapters.read_from_string(reply["output"]["otio"], "otio_json").tracks[0]
    assert [type(item).__name__ for item in track] == ["Gap", "Clip"]
    clip = track[1]
    assert seconds(clip.range_in_parent().start_time) == 3 and seconds(clip.duration()) == 4
    assert [(type(e).__name__, e.time_scalar) for e in clip.effects] == [("LinearTimeWarp", 0.5)]
    unplaced = capcut(track)["unplaced"]
    assert [u["params"]["video_url"] for u in unplaced] == ["https://example.com/open.mp4"]


def test_an_empty_draft_exports_an_empty_timeline(client):
    draft = new_draft(client, width=1920, height=1080, fps=25)
    loaded = otio.adapters.read_from_string(ok(client, "/export_otio", {"draft_id": draft})["otio"], "otio_json")
    assert len(loaded.tracks) == 0 and loaded.global_start_time == RT.RationalTime(0, 25)
    assert capcut(loaded)["canvas"] == {"width": 1920, "height": 1080, "fps": 25}


def test_a_draft_imported_from_an_app_zip_exports_from_its_document(client):
    draft = import_reference(client, "capcut-7.7-win-tqk-embedded")
    timeline = ok(client, "/get_timeline", {"draft_id": draft})
    loaded = otio.adapters.read_from_string(ok(client, "/export_otio", {"draft_id": draft})["otio"], "otio_json")
    assert capcut(loaded)["imported_from_app"] is not None
    clips = [item for track in loaded.tracks for item in track if isinstance(item, otio.schema.Clip)]
    clips += [u for track in loaded.tracks for u in capcut(track)["unplaced"]]
    assert len(clips) == sum(len(t["segments"]) for t in timeline["tracks"])
    metas = [capcut(c) if isinstance(c, otio.schema.Clip) else c for c in clips]
    assert {(m["made_by"], m["params"]) for m in metas} == {("/import_draft", None)}
    generated = [c.media_reference for c in clips if isinstance(c, otio.schema.Clip)
                 and isinstance(c.media_reference, otio.schema.GeneratorReference)]
    texts = {reference.parameters["text"] for reference in generated if "text" in reference.parameters}
    assert texts == {s["text"] for t in timeline["tracks"] for s in t["segments"] if "text" in s}
