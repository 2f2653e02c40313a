"""GET /drafts/<id>.zip?draft_folder=: the saved folder's paths moved into the client's drafts folder while the
zip streams (capcut_drafts/save/relocate.py, delivery.stream_zip).

Checks: every path of every zipped JSON file points under <folder>/<draft id> (no token left), the zip is
lint-clean and pyJianYingDraft loads it; a relocated zip equals what a save for that folder writes; hostile
values answer 400 invalid_parameter; the key and signed-link checks stay; media members stream in chunks
(bounded memory with a 50 MB member)."""
from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers import make_settings
from helpers.lint import lint
from helpers.save import WIN, Service, json_strings
from pyJianYingDraft import ScriptFile

from capcut_drafts.export.builder import build
from capcut_drafts.model import profiles
from capcut_drafts.save import delivery, folder_writer, paths, relocate
from capcut_drafts.web.app import create_app

TOKEN = paths.DRAFT_PATH_PLACEHOLDER
MAC = "/Users/me/Movies/CapCut/User Data/Projects/com.lveditor.draft"
PROFILE_NAMES = ["capcut", "capcut_legacy", "jianying", "jianying_pro_10"]
JSON_SUFFIXES = (".json", ".tmp", ".bak")
CREATED_US, MODIFIED_US = 1_700_000_000_000_000, 1_700_000_100_000_000


def media_draft(svc: Service, media_server, profile: str) -> str:
    """Video (twice from one file), image, audio and subtitles, saved without a drafts folder."""
    d = svc.draft(profile)
    svc.add("video", d, video_url=media_server.url("v1.mp4"), end=1)
    svc.add("video", d, video_url=media_server.url("v1.mp4"), start=1, end=2, target_start=1)
    svc.add("image", d, image_url=media_server.url("i.png"), start=2, end=3, track_name="img")
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=2)
    svc.add("subtitle", d, srt="1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    svc.saved(d)
    return d


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def json_members(members: dict[str, bytes]) -> dict[str, object]:
    return {name: json.loads(data) for name, data in members.items()
            if not name.startswith("assets/") and name.endswith(JSON_SUFFIXES) and data}


def download(client, draft_id: str, folder: str | None, **headers):
    query = f"?draft_folder={quote(folder, safe='')}" if folder is not None else ""
    return client.get(f"/drafts/{draft_id}.zip{query}", headers=headers)


# --- every path points into the folder; lint; pyJianYingDraft -------------------------------------------

@pytest.mark.parametrize("profile, folder", [(p, WIN) for p in PROFILE_NAMES] + [("capcut", MAC)])
def test_zip_for_a_drafts_folder_has_every_path_under_it(service, media_server, tmp_path, profile, folder):
    svc = service()
    d = media_draft(svc, media_server, profile)
    stored = svc.folder(d)
    assert TOKEN.encode() in (stored / "draft_content.json").read_bytes()       # the stored folder keeps the token

    resp = download(svc.client, d, folder)
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    members = zip_members(resp.data)
    fold, root = paths.join(folder, d), paths.root_path(folder, profile)
    assert set(members) == {p.relative_to(stored).as_posix() for p in stored.rglob("*") if p.is_file()}
    for name, data in members.items():
        if name.startswith("assets/") or not name.endswith(JSON_SUFFIXES):
            assert data == (stored / name).read_bytes(), name               # media and INI: as stored
        assert TOKEN.encode() not in data, name
    absolute = ("C:", "/Users", "\\\\")
    for name, doc in json_members(members).items():
        for key, value in json_strings(doc):
            if key == "draft_root_path":
                assert value == root, (name, value)
            elif value.startswith(absolute) or value.startswith("./"):
                assert value == fold or value.startswith(fold + "/"), (name, key, value)

    content = json.loads(members["draft_content.json"])
    media = content["materials"]["videos"] + content["materials"]["audios"]
    assert media and all(m["path"].startswith(fold + "/assets/") for m in media)
    for m in media:
        assert m["path"][len(fold) + 1:] in members                         # the zip holds the file it names
    meta = json.loads(members["draft_meta_info.json"])
    assert (meta["draft_fold_path"], meta["draft_root_path"]) == (fold, root)
    entries = [e for group in meta["draft_materials"] for e in group["value"]]
    assert entries and all(e["file_Path"].startswith(fold + "/assets/") for e in entries)
    if profile.startswith("capcut"):
        agency = json.loads(members["draft_agency_config.json"])
        assert sorted(m["source_path"] for m in agency["marterials"]) == sorted(
            e["file_Path"] for e in entries if e["metetype"] in ("video", "photo"))

    unzipped = tmp_path / "unzipped" / d
    with zipfile.ZipFile(io.BytesIO(resp.data)) as archive:
        archive.extractall(unzipped)
    for name in ("draft_content.json", "draft_info.json"):
        if (unzipped / name).exists():
            script = ScriptFile._load_template(str(unzipped / name))
            assert len(script.imported_tracks) == len(content["tracks"]) and script.duration == content["duration"]
    code, report = lint(unzipped, "--no-check-paths")          # the folder is for another machine
    assert code == 0 and report["summary"]["errors"] == 0, report


def test_a_folder_saved_for_one_drafts_folder_moves_to_another(service, media_server):
    svc = service()
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("v1.mp4"), end=1)
    svc.saved(d, draft_folder=MAC)
    members = zip_members(download(svc.client, d, WIN).data)
    fold = paths.join(WIN, d)
    [video] = json.loads(members["draft_content.json"])["materials"]["videos"]
    assert video["path"] == f"{fold}/assets/video/{paths.base_name(video['path'])}"
    assert MAC.encode() not in b"".join(v for k, v in members.items() if not k.startswith("assets/"))


def test_effect_cache_paths_move_with_the_apps_drafts_folder(service, media_server):
    """A transition's path in the app's cache (export/resource_paths.py) follows the folder as a save would
    write it: the cache beside another app drafts folder, "" beside a folder that is not the app's."""
    svc = service()
    d = svc.draft()
    svc.add("video", d, video_url=media_server.url("v1.mp4"), end=1, transition="Dissolve", transition_duration=0.5)
    svc.add("video", d, video_url=media_server.url("v2.mp4"), end=1, target_start=1)
    svc.saved(d, draft_folder=WIN)
    [stored] = svc.content(d)["materials"]["transitions"]
    win_cache = "C:/Users/me/AppData/Local/CapCut/User Data/Cache"
    assert stored["path"].startswith(win_cache + "/effect/"), stored["path"]
    draft = svc.ctx.cache.read(d, lambda x: x.model_copy(deep=True))
    for folder, cache in ((r"D:\CapCut\User Data\Projects\com.lveditor.draft", "D:/CapCut/User Data/Cache"),
                          (r"C:\Drafts", None)):
        [moved] = json.loads(zip_members(download(svc.client, d, folder).data)["draft_content.json"])[
            "materials"]["transitions"]
        [saved] = build(draft, draft_folder=folder).content["materials"]["transitions"]
        assert moved["path"] == saved["path"] == (cache + stored["path"][len(win_cache):] if cache else "")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_without_a_folder_the_zip_is_the_stored_folder(service, media_server, value):
    svc = service()
    d = svc.draft()
    svc.add("text", d, text="hi")
    svc.saved(d)
    members = zip_members(download(svc.client, d, value).data)
    assert all(data == (svc.folder(d) / name).read_bytes() for name, data in members.items())


# --- a relocated zip is what a save for that folder writes ----------------------------------------------

def write(svc: Service, d: str, profile: str, target: Path, draft_folder: str | None) -> Path:
    """The folder a save for `draft_folder` writes, at fixed times (the save job's steps)."""
    draft = svc.ctx.cache.read(d, lambda x: x.model_copy(deep=True))
    built = build(draft, draft_folder=draft_folder)
    stored = svc.folder(d)
    files = (p.relative_to(stored).as_posix() for p in (stored / "assets").rglob("*") if p.is_file())
    assets = {rel: stored / rel for rel in files if rel.split("/")[1] in ("video", "audio", "image")}
    folder_writer.write_folder(target / d, built.content, profiles.resolve(profile), name=d, draft_folder=draft_folder,
                               assets=assets, created_us=CREATED_US, modified_us=MODIFIED_US, seed=d, title=draft.name,
                               subtitles=built.subtitles)
    return target / d


def local_ids(meta_bytes: bytes) -> list[str]:
    return [e["id"] for g in json.loads(meta_bytes)["draft_materials"] if g["type"] == 0 for e in g["value"]]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("folder", [WIN, MAC])
def test_relocated_zip_equals_a_save_for_that_folder(service, media_server, tmp_path, profile, folder):
    svc = service()
    d = media_draft(svc, media_server, profile)          # the save probes the media: lengths are known
    without = write(svc, d, profile, tmp_path / "without", None)
    direct = write(svc, d, profile, tmp_path / "direct", folder)
    plan = relocate.plan((without / "draft_meta_info.json").read_bytes(), d, folder)
    moved = zip_members(b"".join(delivery.stream_zip(without, rewriter=plan)))

    # local_material_id derives from the stored path: map the no-folder ids to the direct save's
    direct_files = {p.relative_to(direct).as_posix(): p.read_bytes() for p in direct.rglob("*") if p.is_file()}
    id_pairs = list(zip(local_ids(moved["draft_meta_info.json"]), local_ids(direct_files["draft_meta_info.json"]),
                        strict=True))
    assert id_pairs
    main_names = {"draft_info.json", "draft_info.json.bak", "draft_content.json", "draft_content.json.bak"}
    for name, expected in direct_files.items():
        if name not in moved:             # jianying_pro_10 saved for no OS writes draft_content.json only
            assert name.rsplit("/", 1)[-1] in main_names and profile == "jianying_pro_10", name
            continue
        got = moved[name]
        for ours, theirs in id_pairs:
            got = got.replace(ours.encode(), theirs.encode())
        assert got == expected, name
    # the no-folder save has both names of the main file (the client's OS was unknown); the rest is equal
    assert {n.rsplit("/", 1)[-1] for n in set(moved) - set(direct_files)} <= main_names


# --- bad values, keys and signed links ---------------------------------------------------------------------

@pytest.mark.parametrize("raw, fragment", [
    ("drafts", "relative path"),
    ("..%2Fdrafts", "relative path"),
    ("%2Fhome%2Fme%2F..%2Fetc", "'..' segment"),
    ("C:%5Cdrafts%5C..%5Cother", "'..' segment"),
    ("~%2FMovies", "starts with '~'"),
    ("C:", "names a drive but no folder"),
    ("%2Fa%00b", "control characters"),
    ("%2Fa%0Ab", "control characters"),
    ("C:%5Ca%1Bb", "control characters"),
    ("%2F" + "x" * 10_000, "at most 1024"),
    ("C:%5C" + "x" * 500, "at most 180"),
    ("%2Fa%2F%ED%A0%80", "not valid UTF-8"),          # a UTF-8-encoded surrogate
    ("%2Fa%2F%FF", "not valid UTF-8"),
    ("C:%5Ca%3Fb", "Windows does not allow"),
    ("%5C%5Cserver", "network path without a share"),
])
def test_a_bad_draft_folder_answers_400_invalid_parameter(service, raw, fragment):
    svc = service()
    d = svc.draft()
    svc.saved(d)
    resp = svc.client.get(f"/drafts/{d}.zip?draft_folder={raw}")
    assert resp.status_code == 400 and resp.mimetype == "application/json", resp.data[:200]
    body = resp.get_json()
    assert body["success"] is False and body["code"] == "invalid_parameter", body
    assert "'draft_folder'" in body["error"] and fragment in body["error"], body["error"]


def test_a_lone_surrogate_is_refused_wherever_draft_folder_is_sent(service):
    svc = service()
    d = svc.draft()
    reply = svc.client.post("/save_draft", data=b'{"draft_id": "%s", "draft_folder": "/a/\\ud800b"}' % d.encode(),
                            content_type="application/json").get_json()
    assert reply["success"] is False and reply["code"] == "invalid_parameter", reply


def test_keys_and_signed_links_guard_the_zip_as_before(tmp_path):
    key = "k" * 32
    app = create_app(make_settings(tmp_path / "data", store="sqlite", prefetch_on_add=False, api_keys=[key]))
    client = app.test_client()
    try:
        headers = {"X-API-Key": key}
        d = client.post("/create_draft", json={}, headers=headers).get_json()["output"]["draft_id"]
        saved = client.post("/save_draft", json={"draft_id": d}, headers=headers).get_json()["output"]
        link = saved["draft_url"][saved["draft_url"].index("/drafts/"):]
        assert "sig=" in link
        with_folder = f"{link}&draft_folder={quote(WIN, safe='')}"
        assert client.get(f"/drafts/{d}.zip?draft_folder=C:%5Cx").get_json()["code"] == "unauthorized"
        forged = with_folder.replace("sig=", "sig=0")
        assert client.get(forged).status_code == 401
        for get in (lambda: client.get(with_folder), lambda: download(client, d, WIN, **headers)):
            resp = get()                                    # read each streamed reply before the next request
            assert resp.status_code == 200, resp.data[:200]
            meta = json.loads(zip_members(resp.data)["draft_meta_info.json"])
            assert meta["draft_fold_path"] == paths.join(WIN, d)
        # a bad value is refused only once the key or signature let the request in
        assert client.get(f"{link}&draft_folder=relative").status_code == 400
    finally:
        app.extensions["capcut"].runner.shutdown(wait=True)
        app.extensions["capcut"].media.close(wait=True)


# --- memory: media members stream -------------------------------------------------------------------------

class Spy:
    """A MemberRewriter that records which members were read whole."""

    def __init__(self, inner: relocate.Relocation):
        self.inner, self.read_whole = inner, []

    def wants(self, name: str) -> bool:
        return self.inner.wants(name)

    def rewrite(self, name: str, data: bytes) -> bytes:
        self.read_whole.append((name, len(data)))
        return self.inner.rewrite(name, data)


def test_a_50_mb_media_member_streams_in_chunks_with_bounded_memory(tmp_path):
    folder = tmp_path / "drafts" / "d1"
    (folder / "assets" / "video").mkdir(parents=True)
    big = folder / "assets" / "video" / "video_0123456789abcdef.mp4"
    with open(big, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)                       # 50 MB (sparse: cheap to make, read in full)
    content = {"id": "D1", "materials": {"videos": [{"path": f"{TOKEN}/assets/video/{big.name}"}]}}
    (folder / "draft_content.json").write_text(json.dumps(content), encoding="utf-8")
    meta = {"draft_fold_path": "", "draft_root_path": "", "draft_new_version": "175.0.0", "draft_materials": [
        {"type": 0, "value": [{"file_Path": f"./assets/video/{big.name}", "metetype": "video", "id": "x"}]}]}
    (folder / "draft_meta_info.json").write_text(json.dumps(meta), encoding="utf-8")
    spy = Spy(relocate.plan((folder / "draft_meta_info.json").read_bytes(), "d1", WIN))

    tracemalloc.start()
    try:
        sent, started = 0, time.monotonic()
        for block in delivery.stream_zip(folder, rewriter=spy):
            sent += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent > 50 * 1024 * 1024
    assert sorted(name for name, _ in spy.read_whole) == ["draft_content.json", "draft_meta_info.json"]
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while zipping a 50 MB member"
    print(f"50 MB member: peak {peak / 1e6:.1f} MB traced, {time.monotonic() - started:.2f} s")


def test_only_json_outside_assets_is_read_whole():
    plan = relocate.plan(b"{}", "d", WIN)
    assert [n for n in ("draft_content.json", "Timelines/X/template-2.tmp", "draft_content.json.bak",
                        "draft_settings", "assets/video/a.json", "assets/subtitle/s.srt", "assets/video/v.mp4",
                        "draft_biz_config.json") if plan.wants(n)] == [
        "draft_content.json", "Timelines/X/template-2.tmp", "draft_content.json.bak", "draft_biz_config.json"]
    assert plan.rewrite("draft_biz_config.json", b"") == b""          # not JSON: left as it is
