"""POST /save_draft and /query_draft_status end to end: real media made with helpers.media, served by
MediaServer on 127.0.0.1, the SQLite store, the thread job runner, the media cache, probing, the folder
writer and the zip. Nothing is mocked.

This file: the typical upstream client session replayed call by call (create, two clips, audio,
title, subtitles, an effect, keyframes, query, save, status, the folder), the folder per app profile
(with capcut-cli lint), how open clip times are resolved from the probed media, and how failures
are reported. test_save_jobs.py: waiting and polling, caching, concurrency, client path styles,
retention and installing into a drafts folder. Both use the fixtures of tests/save/conftest.py and
the Service of helpers.save.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from helpers.lint import lint
from helpers.save import WIN, WIN_APP, Service, files_of, media_materials, saved_track

from capcut_drafts.save.probe import probe

S = 1_000_000
MISSING_DRAFT_ID = "Hi, the required parameter 'draft_id' is missing. Please add it and try again."
MISSING_TASK_ID = "Hi, the required parameter 'task_id' is missing. Please add it and try again."
PROFILE_NAMES = ["capcut", "capcut_legacy", "jianying", "jianying_pro_10"]


# --- reading saved content ---------------------------------------------------------------------------

def timing(segment: dict) -> tuple:
    src = segment.get("source_timerange") or {}
    tgt = segment["target_timerange"]
    return (src.get("start"), src.get("duration")), (tgt["start"], tgt["duration"])


def material_of(content: dict, segment: dict) -> dict:
    return next(m for m in media_materials(content) if m["id"] == segment["material_id"])


# --- 1. the upstream client session, steps 1-12 -------------------------------------------------------

def test_upstream_replay_saves_a_complete_windows_draft_with_zip_and_page(service, media_server, media_dir):
    svc = service()
    v1, v2, a = media_server.url("v1.mp4"), media_server.url("v2.mp4"), media_server.url("a.mp3")
    created = svc.ok("/create_draft", {"width": 1080, "height": 1920})                                  # 1
    d = created["draft_id"]
    assert re.fullmatch(r"dfd_cat_\d+_[0-9a-f]{8}", d) and created["draft_url"].endswith(f"/drafts/{d}")
    steps = [
        ("video", dict(video_url=v1, start=0, end=5, target_start=0, track_name="video_main",          # 2
                       transition="Dissolve", transition_duration=1.0)),
        ("video", dict(video_url=v2, start=0, end=5, target_start=5, track_name="video_main", speed=1.0,  # 3
                       volume=0.5, background_blur=2)),
        ("audio", dict(audio_url=a, start=0, end=8, target_start=0, volume=0.6, track_name="audio_main",  # 4
                       effect_type="Big_House", effect_params=[50])),
        ("text", dict(text="My Title", start=0, end=3, font="思源中宋", font_color="#FFD700", font_size=12,   # 5
                      transform_y=0.6, track_name="title", shadow_enabled=True, background_color="#000000",
                      background_alpha=0.5, background_style=1, intro_animation="Fade_In", intro_duration=0.5,
                      outro_animation="Fade_Out", outro_duration=0.5)),
        ("subtitle", dict(srt="1\n00:00:00,000 --> 00:00:02,500\nHello\n\n2\n00:00:02,500 --> 00:00:05,000\n"  # 6
                              "World\n", font="思源粗宋", font_size=6, font_color="#FFFFFF", border_width=20,
                          border_color="#000000", transform_y=-0.8, time_offset=0)),
        ("effect", dict(effect_type="Blur", effect_category="scene", start=0, end=2, track_name="effect_01",  # 7
                        params=[40])),
    ]
    for route, body in steps:
        assert svc.add(route, d, **body)["draft_id"] == d
    kf = svc.add("video_keyframe", d, track_name="video_main", property_types=["alpha", "alpha", "uniform_scale",  # 8
                                                                                "uniform_scale"],
                 times=[0, 1, 5.5, 9], values=["0", "1", "1.0", "1.2"])
    assert kf["added_keyframes_count"] == 4
    doc, _ = svc.script(d)                                                                                # 9
    assert doc["canvas_config"]["width"] == 1080 and doc["canvas_config"]["height"] == 1920
    assert [timing(s)[1] for s in saved_track(doc, "video_main")["segments"]] == [(0, 5 * S), (5 * S, 5 * S)]

    reply = svc.save(d, draft_folder=WIN)                                                                 # 10
    assert reply["success"] and reply["error"] == ""
    out = reply["output"]
    assert out["success"] is True and out["draft_url"] == f"http://127.0.0.1:9001/drafts/{d}.zip"
    assert set(out) - {"success", "draft_url"} <= {"task_id", "status", "download_page"}
    assert out.get("task_id", d) == d and out.get("status", "completed") == "completed"

    status = svc.status(d)                                                                                # 11
    assert status["status"] == "completed" and status["progress"] == 100
    assert status["completed_files"] == status["total_files"] == 3
    assert status["message"] == "Draft creation completed" and status["draft_url"] == out["draft_url"]
    assert status["errors"] == []

    folder = svc.folder(d)                                                                                # 12
    assert folder == Path(svc.settings.data_dir) / "drafts" / d and folder.is_dir()
    content = json.loads((folder / "draft_content.json").read_bytes())   # a Windows client reads this name
    m = content["materials"]
    for material in media_materials(content):
        assert material["path"].startswith(WIN_APP + "/" + d + "/assets/"), material["path"]
        assert "\\" not in material["path"]                       # C:/… as the apps write it, whatever was sent
        kind = "video" if material in m["videos"] else "audio"
        name = material.get("material_name") or material["name"]
        assert material["path"] == "/".join([WIN_APP, d, "assets", kind, name])
        assert (folder / "assets" / kind / name).is_file()
    main = saved_track(content, "video_main")["segments"]
    expected = {v1: probe(media_dir / "v1.mp4").duration_us, v2: probe(media_dir / "v2.mp4").duration_us}
    assert [material_of(content, s)["duration"] for s in main] == [expected[v1], expected[v2]] == [5 * S, 5 * S]
    [song] = m["audios"]
    assert song["duration"] == probe(media_dir / "a.mp3").duration_us
    assert abs(song["duration"] - 8_050_000) < 30_000
    first, second = main
    assert [(k["property_type"], [x["time_offset"] for x in k["keyframe_list"]])
            for k in first["common_keyframes"]] == [("KFTypeAlpha", [0, 1_000_000])]
    assert [(k["property_type"], [x["time_offset"] for x in k["keyframe_list"]])
            for k in second["common_keyframes"]] == [("KFTypeScaleX", [500_000, 4_000_000])]
    assert "common_mask" in m
    assert content["platform"]["app_source"] == "cc"
    assert content["duration"] == 10 * S
    assert len(m["transitions"]) == 1 and m["transitions"][0]["id"] in first["extra_material_refs"]
    [blur] = [c for c in m["canvases"] if c["type"] == "canvas_blur"]
    assert blur["blur"] == 0.375 and blur["id"] in second["extra_material_refs"]
    [title] = saved_track(content, "title")["segments"]
    animated = [x for x in m["material_animations"] if x["animations"]]
    assert len(animated) == 1 and animated[0]["id"] in title["extra_material_refs"]
    assert sorted(x["type"] for x in animated[0]["animations"]) == ["in", "out"]
    assert len(m["audio_effects"]) == 1 and len(m["video_effects"]) == 1
    [bgm] = saved_track(content, "audio_main")["segments"]
    assert timing(bgm) == ((0, 8 * S), (0, 8 * S))                # end 8 s lies inside the 8.05 s file

    # the zip holds exactly the folder, at the archive root
    resp = svc.client.get(f"/drafts/{d}.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.data)) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    assert set(members) == files_of(folder)
    assert all(members[name] == (folder / name).read_bytes() for name in members)
    # the download page links the zip
    page = svc.client.get(f"/drafts/{d}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f'href="http://127.0.0.1:9001/drafts/{d}.zip"' in page.get_data(as_text=True)
    assert svc.client.get("/drafts/dfd_nope.zip").status_code == 404


# --- 2. every profile: every route, lint-clean folder, real extensions, linked meta ---------------------

PROFILE_NAMES_OF = {
    False: dict(transition="Dissolve", mask="Circle", effect="Blur", intro="Fade_In"),
    True: dict(transition="上移", mask="圆形", effect="_1998", intro=None),
}


def every_route_draft(svc: Service, media_server, profile: str) -> tuple[str, dict]:
    n = PROFILE_NAMES_OF[profile.startswith("jianying")]
    d = svc.draft(profile)
    urls = {"mp4": media_server.url("v1.mp4"), "mov": media_server.url("clip.mov"),
            "jpg": media_server.url("photo.png"), "mp3": media_server.url("a.mp3")}
    svc.add("video", d, video_url=urls["mp4"], start=0, end=2, track_name="video_main",
            transition=n["transition"], transition_duration=0.5, mask_type=n["mask"])
    svc.add("video", d, video_url=urls["mov"], target_start=2, track_name="video_main")     # open: 1 s
    svc.add("image", d, image_url=urls["jpg"], start=3, end=5, track_name="video_main")
    svc.add("audio", d, audio_url=urls["mp3"], start=0, end=5, track_name="audio_main")
    svc.add("text", d, text="Hello styled world", start=0, end=3, track_name="title", font_color="#FFD700",
            text_styles=[{"start": 0, "end": 5, "style": {"size": 12, "bold": True, "color": "#00FF00"},
                          "border": {"width": 30, "color": "#000000"}},
                         {"start": 6, "end": 12, "style": {"italic": True, "underline": True}}],
            **({"intro_animation": n["intro"]} if n["intro"] else {}))
    svc.add("subtitle", d, srt="1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:04,000\nWorld\n")
    svc.add("effect", d, effect_type=n["effect"], start=0, end=2)
    svc.add("filter", d, filter_type="ABG", start=0, end=3)
    svc.add("sticker", d, sticker_id="7226264888031694091", start=1, end=3)
    svc.add("video_keyframe", d, track_name="video_main", property_types=["alpha", "scale_x", "position_y"],
            times=[0, 1, 2.5], values=["1.0", "1.5", "0.2"])
    return d, urls


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_profile_saves_a_lint_clean_folder_with_real_extensions(service, media_server, profile):
    svc = service()
    d, urls = every_route_draft(svc, media_server, profile)
    reply = svc.saved(d, draft_folder=WIN)
    assert not [w for w in reply.get("warnings", []) if "overlap" in w or "beyond" in w], reply
    folder = svc.folder(d)

    # media under assets/<kind>/ with the extension the content has, whatever the URL said
    assets = sorted(f for f in files_of(folder) if f.startswith("assets/"))
    assert sorted(re.sub(r"_[0-9a-f]{16}\.", "_<h>.", f) for f in assets) == [
        "assets/audio/audio_<h>.mp3", "assets/image/image_<h>.jpg", "assets/subtitle/subtitle_<h>.srt",
        "assets/video/video_<h>.mov",
        "assets/video/video_<h>.mp4"]
    assert probe(folder / next(f for f in assets if f.endswith(".jpg"))).format_name == "JPEG"

    content = svc.content(d)
    by_ext = {m["path"].rsplit(".", 1)[-1]: m for m in media_materials(content)}
    assert set(by_ext) == {"mp4", "mov", "jpg", "mp3"}
    assert by_ext["jpg"]["type"] == "photo" and (by_ext["jpg"]["width"], by_ext["jpg"]["height"]) == (48, 32)
    assert by_ext["mov"]["duration"] == probe(folder / next(f for f in assets if f.endswith(".mov"))).duration_us
    [mov_segment] = [s for s in saved_track(content, "video_main")["segments"]
                     if s["material_id"] == by_ext["mov"]["id"]]
    assert timing(mov_segment)[1] == (2 * S, by_ext["mov"]["duration"])            # the open clip, resolved

    # draft_meta_info.json registers each file under the content's local_material_id
    meta = json.loads((folder / "draft_meta_info.json").read_bytes())
    entries = meta["draft_materials"][0]["value"]
    assert sorted(e["id"] for e in entries) == sorted({m["local_material_id"] for m in media_materials(content)})
    for material in media_materials(content):
        entry = next(e for e in entries if e["id"] == material["local_material_id"])
        assert entry["file_Path"] == material["path"]

    code, report = lint(folder, "--no-check-paths")
    assert code == 0 and report["summary"]["errors"] == 0, report
    print(f"lint --no-check-paths {profile}: {report['summary']}")

    # saved again for a drafts folder on this machine: the paths exist, so plain lint checks them too
    local_root = str(folder.parent)
    svc.saved(d, draft_folder=local_root)
    content = svc.content(d)
    for material in media_materials(content):
        assert material["path"].startswith(f"{local_root}/{d}/assets/") and Path(material["path"]).is_file()
    code, report = lint(folder)
    assert code == 0 and report["summary"]["errors"] == 0, report
    print(f"lint {profile}: {report['summary']}")


# --- 3. open clip times resolved from the probed length ---------------------------------------------

def test_open_clips_are_resolved_from_the_probed_length(service, media_server):
    svc = service()
    v1 = media_server.url("v1.mp4")                          # 5 s
    d = svc.draft()
    svc.add("video", d, video_url=v1, track_name="whole")                       # no end: to the media end
    svc.add("video", d, video_url=v1, start=2, track_name="tail")              # length - 2
    svc.add("video", d, video_url=v1, end=3, track_name="race")                # 0-3
    svc.add("video", d, video_url=v1, target_start=3, track_name="race")       # open at 3 -> 3-8
    svc.add("video", d, video_url=v1, target_start=4, track_name="race")       # open at 4 -> 4-9: overlaps
    svc.add("video", d, video_url=v1, start=7, track_name="past")              # in-point beyond the 5 s end
    svc.add("video", d, video_url=v1, start=1, speed=2, track_name="fast")     # 4 s of source in 2 s
    before, warned = svc.script(d)
    assert all(timing(s)[1][1] == 0
               for s in saved_track(before, "whole")["segments"] + saved_track(before, "tail")["segments"])
    assert any("not known yet" in w for w in warned)

    reply = svc.saved(d)
    dropped = [w for w in reply["warnings"] if "overlaps" in w]
    assert len(dropped) == 1 and "track 'race', clip at 4s" in dropped[0] and "3–8s" in dropped[0], dropped
    beyond = [w for w in reply["warnings"] if "beyond the media end" in w]
    assert len(beyond) == 1 and "track 'past'" in beyond[0] and "7s" in beyond[0] and "5s" in beyond[0]
    task = svc.status(d)
    assert task["status"] == "completed" and dropped[0] in task["warnings"] and beyond[0] in task["warnings"]

    content = svc.content(d)
    assert [timing(s) for s in saved_track(content, "whole")["segments"]] == [((0, 5 * S), (0, 5 * S))]
    assert [timing(s) for s in saved_track(content, "tail")["segments"]] == [((2 * S, 3 * S), (0, 3 * S))]
    assert [timing(s)[1] for s in saved_track(content, "race")["segments"]] == [(0, 3 * S), (3 * S, 5 * S)]
    assert [timing(s) for s in saved_track(content, "fast")["segments"]] == [((1 * S, 4 * S), (0, 2 * S))]
    past = saved_track(content, "past")["segments"]
    assert all(timing(s)[0][1] >= 0 and timing(s)[1][1] == 0 for s in past)    # length 0, never negative

    # what probing learned is kept in the draft: a later query_script shows the resolved clips
    doc, warned = svc.script(d)
    assert [timing(s) for s in saved_track(doc, "whole")["segments"]] == [((0, 5 * S), (0, 5 * S))]
    assert [timing(s) for s in saved_track(doc, "tail")["segments"]] == [((2 * S, 3 * S), (0, 3 * S))]
    assert not any("not known yet" in w for w in warned)
    assert any("overlaps" in w for w in warned) and any("beyond the media end" in w for w in warned)


def test_image_size_and_audio_from_a_video_file_come_from_probing(service, media_server, media_dir):
    svc = service()
    d = svc.draft()
    svc.add("image", d, image_url=media_server.url("i.png"), start=10, end=12, track_name="img", relative_index=2)
    # save.py `_kind_problem` only asks that an audio_url has an audio stream: an MP4 with picture and
    # sound is used as audio (upstream skipped such files and left the clip at length 0).
    svc.add("audio", d, audio_url=media_server.url("v1.mp4"), track_name="bgm")
    svc.saved(d)
    content = svc.content(d)
    [img] = saved_track(content, "img")["segments"]
    photo = material_of(content, img)
    assert (photo["type"], photo["width"], photo["height"]) == ("photo", 640, 360)
    assert timing(img) == ((0, 2 * S), (10 * S, 2 * S)) and img["render_index"] == 0     # the only video track
    [bgm] = saved_track(content, "bgm")["segments"]
    sound = material_of(content, bgm)
    assert sound["duration"] == probe(media_dir / "v1.mp4").duration_us == 5 * S
    assert timing(bgm) == ((0, 5 * S), (0, 5 * S))
    name = sound["path"].rsplit("/", 1)[-1]
    assert name.endswith(".mp4") and (svc.folder(d) / "assets" / "audio" / name).is_file()


@pytest.mark.parametrize("route, key, name, problem", [
    ("audio", "audio_url", "mute.mp4", "audio_url has no audio stream"),
    ("video", "video_url", "a.mp3", "video_url has no video stream"),
    ("image", "image_url", "short.mp4", "image_url points at video, not an image"),
])
def test_media_of_the_wrong_kind_fails_the_save(service, media_server, route, key, name, problem):
    svc = service()
    d = svc.draft()
    url = media_server.url(name)
    svc.add(route, d, **{key: url, "end": 1})
    reply = svc.save(d)
    assert not reply["success"] and reply["code"] == "save_failed"
    assert svc.status(d)["errors"] == [{"url": url, "code": "wrong_media_kind", "message": problem}]


def test_a_draft_without_media_saves_with_nothing_to_download(service):
    svc = service()
    d = svc.draft()
    svc.add("text", d, text="only text", start=0, end=2)
    svc.saved(d)
    task = svc.status(d)
    assert (task["status"], task["progress"]) == ("completed", 100)
    assert task["completed_files"] == task["total_files"] == 0
    assert not [f for f in files_of(svc.folder(d)) if f.startswith("assets/")]
    assert svc.content(d)["duration"] == 2 * S


# --- 4. failures, reported exactly ----------------------------------------------------------------------

def failing_save(svc: Service, url: str) -> tuple[str, dict, dict]:
    d = svc.draft()
    svc.add("video", d, video_url=url, end=1)
    svc.add("text", d, text="kept", start=0, end=1)
    return d, svc.save(d), svc.status(d)


@pytest.mark.parametrize("case, settings, code", [
    ("missing.mp4", {}, "fetch_http_status"),
    ("noise.mp4", {}, "probe_failed"),
    ("v1.mp4", {"fetch_allow_hosts": []}, "fetch_forbidden"),
    ("redirect?to=http://169.254.169.254/latest/v.mp4", {}, "fetch_forbidden"),
    ("redirect?to=http://127.0.0.2:{port}/v1.mp4", {}, "fetch_forbidden"),
    ("v1.mp4", {"max_download_bytes": 1000}, "fetch_too_large"),
    ("slow/v1.mp4?chunk=256&interval=0.2", {"download_deadline_seconds": 1}, "fetch_timeout"),
])
def test_a_file_that_cannot_be_used_fails_the_save_with_its_reason(service, media_server, case, settings, code):
    svc = service(**settings)
    url = media_server.url(case.format(port=media_server.port))
    d, reply, task = failing_save(svc, url)
    assert reply["success"] is False and reply["code"] == "save_failed"
    assert reply["error"].startswith("Failed to save draft: 1 of 1 media files could not be used"), reply
    assert task["status"] == "failed" and task["message"] == reply["error"]
    [error] = task["errors"]
    assert set(error) == {"url", "code", "message"}
    assert error["url"] == url and error["code"] == code and error["message"]
    assert "SECRET-BODY" not in json.dumps(task)
    assert not svc.folder(d).exists() and svc.client.get(f"/drafts/{d}.zip").status_code == 404
    if code == "fetch_forbidden":
        assert media_server.hits("/v1.mp4") == 0          # the refused address was never contacted


def test_the_message_counts_the_failed_files(service, media_server):
    svc = service()
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("missing.mp4"), end=1)
    svc.add("video", d, video_url=media_server.url("gone.mp4"), end=1, target_start=1)
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=1)
    reply = svc.save(d)
    assert reply["error"].startswith("Failed to save draft: 2 of 3 media files could not be used")
    task = svc.status(d)
    assert task["total_files"] == 3 and sorted(e["url"].rsplit("/", 1)[-1] for e in task["errors"]) == [
        "gone.mp4", "missing.mp4"]
    assert {e["code"] for e in task["errors"]} == {"fetch_http_status"}


def test_upstream_save_success_keeps_the_envelope_true_but_the_task_says_failed(service, media_server):
    svc = service(upstream_save_success=True)
    d, reply, task = failing_save(svc, media_server.url("missing.mp4"))
    assert reply["success"] is True and reply["output"]["success"] is True and reply["output"]["draft_url"] == ""
    assert reply["output"].get("status", "failed") == "failed"
    assert task["status"] == "failed" and task["errors"][0]["code"] == "fetch_http_status"
    unknown = svc.save("dfd_cat_1_deadbeef")
    assert unknown["success"] is True and unknown["output"] == {"success": True, "draft_url": None}
    assert svc.status("dfd_cat_1_deadbeef")["status"] == "failed"


def test_unknown_drafts_and_tasks_and_missing_ids_answer_as_upstream(service):
    svc = service()
    reply = svc.save("nope")
    assert reply["success"] is False and reply["code"] == "draft_not_found" and "nope" in reply["error"]
    reply = svc.post("/query_draft_status", {"task_id": "nope"})      # nothing was stored for it
    assert reply["success"] is False and reply["code"] == "task_not_found"
    reply = svc.post("/query_draft_status", {"task_id": "nope2"})
    assert reply["success"] is False
    assert reply["error"] == "Task with ID nope2 not found. Please check if the task ID is correct."
    for path, body, message in [("/save_draft", {}, MISSING_DRAFT_ID), ("/save_draft", {"draft_folder": WIN},
                                                                        MISSING_DRAFT_ID),
                                ("/query_draft_status", {}, MISSING_TASK_ID)]:
        reply = svc.post(path, body)
        assert (reply["success"], reply["error"], reply["code"]) == (False, message, "missing_parameter")
