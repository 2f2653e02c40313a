"""How the apps write paths, checked against the app-written reference drafts (/work/shared/reference,
or CAPCUT_REFERENCE_DIR), and that a save writes them the same way for each profile.

The facts (each test names the reference files and values):

* CapCut 8.1–9.1 write every absolute path with forward slashes: imported media, `draft_fold_path`,
  meta `file_Path`, agency `source_path`. The one exception is `draft_root_path`, whose form varies
  between drafts of one version: CapCut 8.9.1 wrote backslashes, 8.1.1 forward slashes; 6.2 and the
  6.9 hybrid forward, 6.9 rolik backslashes; every JianYing 5.x meta backslashes.
* CapCut 6.x and JianYing 2.8.5–5.9 also write imported media paths and `draft_fold_path` with forward
  slashes (backslashes appear only for files in the app's own music cache and in hybrids, where a
  generator wrote them and the app kept them).
* The draft-folder token is only in drafts last saved by CapCut 1.5–7.8 and JianYing 5.4.5β.
* CapCut 6.2 writes meta `file_Path` "./Resources/local/…" where the content has the token.
* App-written metas have an absolute `draft_fold_path` (empty only in two generator repositories' templates).
"""
from __future__ import annotations

import json
import os
import re

import helpers
import pytest
from helpers.save import WIN, Service, files_of, json_strings

from capcut_drafts.save import paths

REFERENCE = helpers.REFERENCE / "drafts"
TOKEN = paths.DRAFT_PATH_PLACEHOLDER
CAPCUT_8_TO_9 = ["capcut-8.1-win-quran-fotiha-timelines", "capcut-8.1-win-quran-juz6-timelines",
                 "capcut-8.9-win-donor-282new", "capcut-9.1-win-premiere"]
# The reference whose app version each profile writes, for the one path whose form varies.
PROFILE_REFERENCE = {"capcut": "capcut-8.9-win-donor-282new", "capcut_legacy": "capcut-6.2-win-baby-starfish",
                     "jianying": "jianying-5.5-win-draftdemo-normal",
                     "jianying_pro_10": "jianying-5.5-win-draftdemo-normal"}


def reference(rel: str) -> dict:
    helpers.require_reference()
    return json.loads((REFERENCE / rel).read_bytes())


def form(value: str) -> str:
    """The form of a path: "X:/", "X:\\" (drive, by its separators), "unc", "token", "./", "posix" or "other"."""
    if re.match(r"[A-Za-z]:[\\/]", value):
        if "/" in value and "\\" in value:
            return "mixed"
        return "X:/" if "/" in value else "X:\\"
    for prefix, name in (("\\\\", "unc"), (TOKEN, "token"), ("./", "./"), ("/", "posix")):
        if value.startswith(prefix):
            return name
    return "other"


def media_paths(content: dict) -> list[str]:
    return [m["path"] for bucket in ("videos", "audios") for m in content["materials"].get(bucket, ()) if m.get("path")]


def meta_entries(meta: dict) -> list[dict]:
    return [e for group in meta["draft_materials"] for e in group["value"]]


# --- the facts -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CAPCUT_8_TO_9)
def test_capcut_8_to_9_write_every_content_path_with_forward_slashes(name):
    content = reference(f"{name}/draft_content.json")
    found = {form(v) for _, v in json_strings(content) if form(v) not in ("other", "./")}
    assert found == {"X:/"}, found
    assert media_paths(content) and {form(p) for p in media_paths(content)} == {"X:/"}


def test_capcut_8_9_media_path_values():
    content = reference("capcut-8.9-win-donor-282new/draft_content.json")
    assert content["materials"]["videos"][0]["path"] == \
        "E:/E Download/KingHome/Nhà mới 282-20260715T140337Z-1-001/Nhà mới 282/IMG_1482.MOV"
    assert reference("capcut-9.1-win-premiere/draft_content.json")["materials"]["videos"][0]["path"] == \
        "C:/Users/user/Desktop/Edited clips/Helo interview/Main.mp4"


@pytest.mark.parametrize("name, fold, root", [
    ("capcut-8.1-win-quran-fotiha-timelines",
     "C:/Users/davro/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft/1. Fotiha",
     "C:/Users/davro/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft"),
    ("capcut-8.1-win-quran-juz6-timelines",
     "C:/Users/davro/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft/Idris 30Juz-6",
     "C:/Users/davro/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft"),
    ("capcut-8.9-win-donor-282new",                               # 8.9.1: the root with backslashes
     "C:/Users/Acer/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft/282new",
     "C:\\Users\\Acer\\AppData\\Local\\CapCut\\User Data\\Projects\\com.lveditor.draft"),
])
def test_capcut_8_meta_paths(name, fold, root):
    meta = reference(f"{name}/draft_meta_info.json")
    assert (meta["draft_fold_path"], meta["draft_root_path"]) == (fold, root)
    files = [e["file_Path"] for e in meta_entries(meta) if e["metetype"] != "none"]    # "none": no file, ""
    assert files and {form(f) for f in files} == {"X:/"}
    agency = reference(f"{name}/draft_agency_config.json")
    assert {form(m["source_path"]) for m in agency["marterials"]} == {"X:/"}


@pytest.mark.parametrize("name, root_form", [
    ("capcut-1.5-win-primena", "X:\\"), ("capcut-3.8-win-temp", "X:/"), ("capcut-6.2-win-baby-starfish", "X:/"),
    ("capcut-6.9-win-rolik", "X:\\"), ("capcut-6.9-win-linhlinh-hybrid", "X:/"), ("capcut-7.9-win-quran-base", "X:/"),
    ("capcut-8.1-win-quran-fotiha-timelines", "X:/"), ("capcut-8.9-win-donor-282new", "X:\\"),
    ("jianying-5.5-win-draftdemo-normal", "X:\\"), ("jianying-5.6-win-draftdemo-t1", "X:\\"),
    ("jianying-5.6-win-draftdemo-t2", "X:\\"),
])
def test_only_draft_root_path_varies_and_draft_fold_path_has_forward_slashes(name, root_form):
    meta = reference(f"{name}/draft_meta_info.json")
    assert form(meta["draft_root_path"]) == root_form, meta["draft_root_path"]
    assert form(meta["draft_fold_path"]) == "X:/", meta["draft_fold_path"]


@pytest.mark.parametrize("name", [
    "capcut-5.8-win-catcuttool", "capcut-6.2-win-baby-starfish", "capcut-6.9-win-rolik", "capcut-7.9-win-quran-base",
    "jianying-2.8.5-win-srt4ulikecam", "jianying-5.5-win-draftdemo-normal", "jianying-5.6-win-draftdemo-t1",
    "jianying-5.6-win-draftdemo-t2", "jianying-5.9-win-pyjydraft-web",
])
def test_older_windows_apps_write_imported_media_with_forward_slashes(name):
    """Backslashes only for the app's own music cache (…\\User Data\\Cache\\music\\…, JianYing 5.6 t2)."""
    imported = [p for p in media_paths(reference(f"{name}/draft_content.json"))
                if form(p) != "token" and "\\Cache\\" not in p]
    assert imported and {form(p) for p in imported} == {"X:/"}, imported


@pytest.mark.parametrize("name, path", [
    ("capcut-6.9-win-linhlinh-hybrid", "E:\\youtube\\Bilibili\\2025-09-03\\85.mp4"),
    ("capcut-9.1-win-pipeline-hybrid/fixtures/parity-gold", "C:\\Users\\anhlt\\AppData\\Local\\CapCut\\User Data"
     "\\Projects\\com.lveditor.draft\\paritytest\\assets\\video\\Shot_001_IE3_Launch.png"),
])
def test_hybrids_keep_the_backslashes_a_generator_wrote(name, path):
    """Not what the apps write, but what they accept: the app re-saved these without changing them."""
    file = "draft_content.json" if "parity" not in name else "parity_gold_snap_full.json"
    assert path in media_paths(reference(f"{name}/{file}"))


def test_the_draft_folder_token_is_only_in_capcut_1_5_to_7_8_and_jianying_5_4_5_beta():
    helpers.require_reference()
    with_token = {f.relative_to(REFERENCE).parts[0] for f in REFERENCE.rglob("*")
                  if f.is_file() and f.name != "_manifest.tsv" and TOKEN.encode() in f.read_bytes()}
    assert with_token == {
        "capcut-1.5-win-primena", "capcut-2.2-mac-caa-video", "capcut-3.8-win-temp", "capcut-5.9.1-win-materialsearch",
        "capcut-6.2-win-baby-starfish", "capcut-6.9-win-linhlinh-hybrid", "capcut-7.8-win-comecut",
        "jianying-5.4.5beta-mac-mirage"}


def test_capcut_6_2_meta_writes_dot_slash_where_the_content_has_the_token():
    content = reference("capcut-6.2-win-baby-starfish/draft_content.json")
    meta = reference("capcut-6.2-win-baby-starfish/draft_meta_info.json")
    by_id = {e["id"]: e["file_Path"] for e in meta_entries(meta)}
    pairs = {(m["path"], by_id[m["local_material_id"]]) for bucket in ("videos", "audios")
             for m in content["materials"][bucket] if m.get("local_material_id") in by_id}
    assert (f"{TOKEN}/Resources/local/c25637e2ac98152736bd1b4697e1fedc.mp3",
            "./Resources/local/c25637e2ac98152736bd1b4697e1fedc.mp3") in pairs
    assert all(paths.meta_file_path(path) == file_path for path, file_path in pairs if path.startswith(TOKEN))


def test_app_written_metas_have_an_absolute_draft_fold_path():
    """Empty only in two folders kept as templates by generator repositories (capcut-6.3-mac-segments2jy,
    whose author edited the files, and capcut-mate's jianying-3.1beta-mac-empty); capcut-7.7-win-tqk-embedded
    is a template whose author put "%userprofile%" in."""
    helpers.require_reference()
    metas = sorted(REFERENCE.glob("*/*draft_meta_info.json"))
    folds = {m.parent.name: json.loads(m.read_bytes()).get("draft_fold_path") for m in metas}
    odd = {name: fold for name, fold in folds.items() if form(fold) not in ("X:/", "posix")}
    assert odd == {"capcut-6.3-mac-segments2jy": "", "jianying-3.1beta-mac-empty": "",
                   "capcut-7.7-win-tqk-embedded": "%userprofile%/AppData/Local/CapCut/User Data/Projects/"
                                                  "com.lveditor.draft/1223"}


# --- what a save writes, per profile ------------------------------------------------------------------------

@pytest.mark.parametrize("profile", sorted(PROFILE_REFERENCE))
def test_root_path_has_the_form_of_the_profiles_app_version(profile):
    theirs = reference(f"{PROFILE_REFERENCE[profile]}/draft_meta_info.json")["draft_root_path"]
    for folder in (WIN, WIN.replace("\\", "/")):
        assert form(paths.root_path(folder, profile)) == form(theirs)
    assert paths.root_path("/Users/me/Movies/CapCut", profile) == "/Users/me/Movies/CapCut"
    assert paths.root_path(r"\\nas\share\d", profile) == r"\\nas\share\d"


@pytest.mark.parametrize("profile", sorted(PROFILE_REFERENCE))
def test_a_save_for_a_windows_folder_writes_paths_as_that_app_version(service, media_server, profile):
    """Sent with backslashes; every absolute path of every JSON file comes out as the app writes it."""
    theirs = reference(f"{PROFILE_REFERENCE[profile]}/draft_meta_info.json")
    svc: Service = service()
    d = svc.draft(profile)
    svc.add("video", d, video_url=media_server.url("v1.mp4"), end=1)
    svc.add("audio", d, audio_url=media_server.url("a.mp3"), end=1)
    svc.add("image", d, image_url=media_server.url("i.png"), start=1, end=2, track_name="img")
    svc.ok("/add_subtitle", {"draft_id": d, "srt": "1\n00:00:00,000 --> 00:00:01,000\nHi\n"})
    svc.saved(d, draft_folder=WIN)
    folder = svc.folder(d)
    fold = WIN.replace("\\", "/") + "/" + d
    meta = json.loads((folder / "draft_meta_info.json").read_bytes())
    assert meta["draft_fold_path"] == fold and form(meta["draft_fold_path"]) == form(theirs["draft_fold_path"])
    assert form(meta["draft_root_path"]) == form(theirs["draft_root_path"])
    assert {form(e["file_Path"]) for e in meta_entries(meta)} == {"X:/"}
    for rel in sorted(files_of(folder)):
        if rel.startswith("assets/") or not rel.endswith((".json", ".tmp", ".bak")):
            continue
        data = (folder / rel).read_bytes()
        assert TOKEN.encode() not in data, rel
        for key, value in json_strings(json.loads(data) if data else None):
            if form(value) in ("X:/", "X:\\", "mixed") and key != "draft_root_path":
                assert value == fold or value.startswith(fold + "/"), (rel, key, value)
    content = svc.content(d)
    assert {form(p) for p in media_paths(content)} == {"X:/"}
    agency = json.loads((folder / "draft_agency_config.json").read_bytes())
    assert {form(m["source_path"]) for m in agency.get("marterials") or ()} <= {"X:/"}


@pytest.mark.parametrize("profile", sorted(PROFILE_REFERENCE))
def test_install_on_windows_writes_the_roots_as_the_app_does(service, media_server, tmp_path, monkeypatch, profile):
    """install_into with Windows paths (faked): the meta's draft_root_path in the profile's form, and
    root_meta_info.json with forward slashes, as capcut-win-root-meta-info-excerpt shows."""
    from capcut_drafts.model.profiles import PROFILES
    from capcut_drafts.save import install
    excerpt = reference("capcut-win-root-meta-info-excerpt/root_meta_info.json")
    assert excerpt["root_path"] == "C:/Users/sub/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft"
    assert excerpt["all_draft_store"][0]["draft_cover"].endswith("\\draft_cover.jpg")
    svc: Service = service()
    d = svc.draft(profile)
    svc.saved(d)
    root = tmp_path / "CapCut Drafts"
    root.mkdir()
    monkeypatch.setattr(install, "_local_style", lambda p: "C:/Users/me/" + p.name)
    installed = install.install_into(root, svc.folder(d), name=d, content=svc.content(d), profile=PROFILES[profile])
    meta = json.loads((installed / "draft_meta_info.json").read_bytes())
    theirs = reference(f"{PROFILE_REFERENCE[profile]}/draft_meta_info.json")["draft_root_path"]
    assert meta["draft_fold_path"] == f"C:/Users/me/{d}"
    assert form(meta["draft_root_path"]) == form(theirs) and meta["draft_root_path"].endswith("CapCut Drafts")
    registry = json.loads((root / "root_meta_info.json").read_bytes())
    [entry] = registry["all_draft_store"]
    assert registry["root_path"] == entry["draft_root_path"] == "C:/Users/me/CapCut Drafts"
    sep = "\\" if os.name == "nt" else "/"       # the running OS's: "\\" on Windows, as the excerpt shows
    assert entry["draft_cover"] == f"C:/Users/me/{d}{sep}draft_cover.jpg"
