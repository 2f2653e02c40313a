"""POST /generate_video, /task_status and the draft's render routes, end to end: a Flask app on a
SQLite store with its thread runner, media served over HTTP from 127.0.0.1, the MP4 fetched back
from the service and decoded."""
from __future__ import annotations

import json
import time
from io import BytesIO

import av
import numpy as np
import pytest
from helpers import fail
from helpers.media import MediaServer
from helpers.save import Service
from PIL import Image

RED, BLUE = (255, 0, 0), (0, 0, 255)


def red_then_blue(svc: Service, media_server: MediaServer) -> str:
    d = svc.ok("/create_draft", {"width": 320, "height": 180, "fps": 25})["draft_id"]
    svc.add("image", d, image_url=media_server.url("red.png"), start=0, end=2)
    svc.add("image", d, image_url=media_server.url("blue.png"), start=2, end=4)
    return d


def finished(svc: Service, task_id: str, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        out = svc.ok("/task_status", {"task_id": task_id})
        if out["status"] in ("SUCCESS", "FAILED") or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def mean_colour(frame) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(frame).reshape(-1, 3).mean(axis=0))


def close(colour, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def frames_of(data: bytes) -> list[tuple[float, tuple[int, ...]]]:
    with av.open(BytesIO(data)) as container:
        return [(float(f.time), mean_colour(f.to_ndarray(format="rgb24"))) for f in container.decode(video=0)]


def test_render_a_draft_and_fetch_the_mp4(service, media_server):
    svc = service(prefetch_on_add=False)
    d = red_then_blue(svc, media_server)
    svc.add("audio", d, audio_url=media_server.url("tone.mp3"), start=0, end=3)
    started = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P", "framerate": "25",
                                             "license_key": "abc", "callback_url": None})
    assert started["status"] in ("PENDING", "PROCESSING", "SUCCESS") and started["task_id"].startswith("render-")
    out = finished(svc, started["task_id"])
    assert out["status"] == "SUCCESS" and out["progress"] == 100, out
    assert (out["width"], out["height"]) == (852, 480) and out["duration"] == pytest.approx(4.0, abs=0.05)
    link = out["result"]
    assert link.endswith(f"/drafts/{d}/renders/{started['task_id']}.mp4")
    video = svc.client.get(link[link.index("/drafts/"):])
    assert video.status_code == 200 and video.mimetype == "video/mp4"
    frames = frames_of(video.data)
    assert close(next(c for t, c in frames if t >= 1.0), RED) and close(next(c for t, c in frames if t >= 3.0), BLUE)
    with av.open(BytesIO(video.data)) as container:
        assert container.streams.audio, "the audio track is in the MP4"
    partial = svc.client.get(link[link.index("/drafts/"):], headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.data) == 100          # <video> can seek


def test_an_unchanged_draft_is_answered_from_the_cache(service, media_server):
    svc = service(prefetch_on_add=False)
    d = red_then_blue(svc, media_server)
    first = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P"})
    assert finished(svc, first["task_id"])["status"] == "SUCCESS"
    again = svc.post("/generate_video", {"draft_id": d, "resolution": "480P"})
    assert again["output"] == {"task_id": first["task_id"], "status": "SUCCESS", "progress": 100}
    assert any("rendered at these settings before" in w for w in again["warnings"])
    other_size = svc.ok("/generate_video", {"draft_id": d, "resolution": "720P"})
    assert other_size["task_id"] != first["task_id"]
    svc.add("text", d, text="new", start=0, end=1)
    edited = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P"})
    assert edited["task_id"] != first["task_id"]                  # a new version of the draft
    assert finished(svc, edited["task_id"])["status"] == "SUCCESS"
    assert finished(svc, other_size["task_id"])["status"] == "SUCCESS"


@pytest.mark.parametrize("body,code,words", [
    ({"resolution": "8K"}, "invalid_parameter", "480P, 720P, 1080P, 2K, 4K"),
    ({"resolution": 720}, "invalid_parameter", "resolution"),
    ({"framerate": "23"}, "invalid_parameter", "24, 25, 30, 50, 60"),
    ({"framerate": 1000}, "invalid_parameter", "from 1 to 120"),
    ({"framerate": 0}, "invalid_parameter", "from 1 to 120"),
    ({"framerate": float("1e-320")}, "invalid_parameter", "from 1 to 120"),
])
def test_absurd_settings_are_refused(service, media_server, body, code, words):
    svc = service(prefetch_on_add=False)
    d = red_then_blue(svc, media_server)
    message = fail(svc.client, "/generate_video", {"draft_id": d, **body}, code)
    assert words in message


def test_missing_unknown_and_empty_drafts(service):
    svc = service(prefetch_on_add=False)
    assert "draft_id" in fail(svc.client, "/generate_video", {}, "missing_parameter")
    fail(svc.client, "/generate_video", {"draft_id": "dfd_nope"}, "draft_not_found")
    empty = svc.ok("/create_draft", {})["draft_id"]
    assert "nothing to show" in fail(svc.client, "/generate_video", {"draft_id": empty}, "empty_draft")
    fail(svc.client, "/task_status", {"task_id": "render-000"}, "task_not_found")
    surrogate = svc.client.post("/task_status", data=json.dumps({"task_id": "\ud800"}),
                                    content_type="application/json").get_json()
    assert surrogate["code"] == "invalid_parameter" and "surrogate" in surrogate["error"]
    assert svc.post("/generate_video", {"draft_id": empty, "resolution": None, "framerate": None})["code"] \
        == "empty_draft"                                           # null means the default


def test_media_that_fails_to_download_fails_the_task_with_the_reason(service, media_server):
    svc = service(prefetch_on_add=False)
    d = svc.ok("/create_draft", {"width": 320, "height": 180})["draft_id"]
    svc.add("image", d, image_url=media_server.url("missing.png"), start=0, end=1)
    task_id = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P"})["task_id"]
    out = finished(svc, task_id)
    assert out["status"] == "FAILED" and "missing.png" in out["error"] and "404" in out["error"], out
    assert out["errors"][0]["code"] == "fetch_http_status"


def test_a_render_while_a_save_runs(service, media_server):
    svc = service(prefetch_on_add=False)
    d = red_then_blue(svc, media_server)
    saving = svc.post("/save_draft", {"draft_id": d, "async": True})
    assert saving["success"]
    task_id = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P"})["task_id"]
    assert finished(svc, task_id)["status"] == "SUCCESS"
    deadline = time.monotonic() + 60
    while svc.status(d)["status"] not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.status(d)["status"] == "completed"


def test_frame_png_shows_the_moment(service, media_server):
    svc = service(prefetch_on_add=False)
    d = red_then_blue(svc, media_server)
    red = svc.client.get(f"/drafts/{d}/frame.png?t=1&width=160")
    assert red.status_code == 200 and red.mimetype == "image/png"
    image = Image.open(BytesIO(red.data))
    assert image.size == (160, 90) and close(mean_colour(image.convert("RGB")), RED)
    blue = svc.client.get(f"/drafts/{d}/frame.png?t=3")
    assert Image.open(BytesIO(blue.data)).size == (640, 360)
    assert close(mean_colour(Image.open(BytesIO(blue.data)).convert("RGB")), BLUE)
    for query, status in (("t=nan", 400), ("t=-1", 400), ("t=1e400", 400), ("width=1", 400), ("width=abc", 400)):
        reply = svc.client.get(f"/drafts/{d}/frame.png?{query}")
        assert reply.status_code == status and reply.get_json()["code"] == "invalid_parameter", query
    assert svc.client.get("/drafts/dfd_nope/frame.png").status_code == 404
    empty = svc.ok("/create_draft", {})["draft_id"]
    assert svc.client.get(f"/drafts/{empty}/frame.png").get_json()["code"] == "empty_draft"


def test_with_api_keys_the_draft_link_opens_the_render_routes(service, media_server):
    key = "k" * 32
    svc = service(prefetch_on_add=False, api_keys=[key])
    headers = {"X-API-Key": key}
    reply = svc.client.post("/create_draft", json={"width": 320, "height": 180}, headers=headers).get_json()
    d, link = reply["output"]["draft_id"], reply["output"]["draft_url"]
    for name, start in (("red.png", 0), ("blue.png", 2)):
        assert svc.client.post("/add_image", json={"draft_id": d, "image_url": media_server.url(name), "start": start,
                                                       "end": start + 2}, headers=headers).get_json()["success"]
    query = link[link.index("?"):]
    assert svc.client.post(f"/drafts/{d}/generate_video", json={}).status_code == 401      # no signature
    started = svc.client.post(f"/drafts/{d}/generate_video{query}", json={"resolution": "480P"}).get_json()
    assert started["success"], started
    task_id = started["output"]["task_id"]
    deadline = time.monotonic() + 90
    while True:
        status = svc.client.get(f"/drafts/{d}/task_status{query}&task_id={task_id}").get_json()["output"]
        if status["status"] in ("SUCCESS", "FAILED") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status["status"] == "SUCCESS" and "sig=" in status["result"]
    result = status["result"]
    assert svc.client.get(result[result.index("/drafts/"):]).status_code == 200          # signed: no key
    assert svc.client.get(f"/drafts/{d}/frame.png{query}&t=1").status_code == 200
    other = svc.client.post("/create_draft", json={}, headers=headers).get_json()["output"]["draft_id"]
    assert svc.client.get(f"/drafts/{other}/task_status{query}&task_id={task_id}").status_code == 401
    assert svc.client.post("/task_status", json={"task_id": task_id}).get_json()["code"] == "unauthorized"


def test_the_documented_examples_work(service, media_server):
    """The registry's examples of the render routes, with a real draft's and task's ids."""
    from capcut_drafts.api import registry
    svc = service(prefetch_on_add=False)
    d = red_then_blue(svc, media_server)
    started = svc.ok("/generate_video", {**registry.route("/generate_video").example, "draft_id": d})
    status = svc.ok("/task_status", {**registry.route("/task_status").example, "task_id": started["task_id"]})
    assert status["task_id"] == started["task_id"]
    assert finished(svc, started["task_id"])["status"] == "SUCCESS"


def test_null_means_the_default(service, media_server):
    """Upstream clients send null for every argument they did not set: the same render task."""
    svc = service(prefetch_on_add=False)
    d = red_then_blue(svc, media_server)
    plain = svc.post("/generate_video", {"draft_id": d})
    nulls = svc.post("/generate_video", {"draft_id": d, "resolution": None, "framerate": None,
                                             "license_key": None, "callback_url": None})
    assert nulls["output"]["task_id"] == plain["output"]["task_id"] and not nulls.get("warnings")
    assert finished(svc, plain["output"]["task_id"])["status"] == "SUCCESS"


def test_a_draft_built_with_every_route_renders_and_says_what_it_left_out(service, media_server):
    svc = service(prefetch_on_add=False)
    d = svc.ok("/create_draft", {"width": 320, "height": 180, "fps": 25})["draft_id"]
    svc.add("video", d, video_url=media_server.url("clip.mp4"), start=0, end=3, transition="Dissolve")
    svc.add("video", d, video_url=media_server.url("mute.mp4"), start=0, end=2, target_start=3)
    svc.add("image", d, image_url=media_server.url("red.png"), start=1, end=2, track_name="pics",
            relative_index=1, mask_type="Circle")
    svc.add("audio", d, audio_url=media_server.url("tone.mp3"), start=0, end=3)
    svc.add("text", d, text="Title", start=0, end=2, intro_animation="Fade_In")
    svc.add("subtitle", d, srt="1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    svc.add("effect", d, effect_type="Blur", start=0, end=1)
    svc.add("filter", d, filter_type="亮肤", start=0, end=1)
    svc.add("sticker", d, sticker_id="7107529669750066445", start=0, end=1)
    svc.ok("/add_video_keyframe", {"draft_id": d, "track_name": "video_main", "property_types": ["alpha", "alpha"],
                                   "times": [0, 1], "values": ["0", "1"]})
    task_id = svc.ok("/generate_video", {"draft_id": d, "resolution": "480P"})["task_id"]
    out = finished(svc, task_id)
    assert out["status"] == "SUCCESS", out
    script = json.loads(svc.ok("/query_script", {"draft_id": d}))
    assert out["duration"] == pytest.approx(script["duration"] / 1e6, abs=0.05)      # the draft's timing
    said = " ".join(out["warnings"]).lower()
    for left_out in ("effect", "filter", "sticker", "mask"):
        assert left_out in said, (left_out, out["warnings"])
    video = svc.client.get(out["result"][out["result"].index("/drafts/"):])
    with av.open(BytesIO(video.data)) as container:
        assert float(container.duration / 1e6) == pytest.approx(out["duration"], abs=0.1)
