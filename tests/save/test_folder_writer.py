"""capcut_drafts.save.folder_writer: complete draft folders per app profile.

Each draft is built through the real service (routes → draft document → capcut_drafts.export.builder), its
material paths are set with capcut_drafts.save.paths.material_path, small asset files stand in for the media,
and write_folder writes the folder. Checks: the file set per profile and client OS (and against the
app-written reference folder's file list where that is available), byte-identical content copies,
the local_material_id links between content, draft_meta_info.json and draft_virtual_store.json,
distinct ids, the Timelines/ pointers, that every JSON file parses, that pyJianYingDraft loads the
content, and that `npx capcut-cli@0.23.0 lint` finds no errors.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from helpers import post
from helpers.lint import lint
from pyJianYingDraft import ScriptFile

from capcut_drafts.export import app_schema, builder
from capcut_drafts.model.profiles import PROFILES
from capcut_drafts.save import folder_writer, install, paths

HOST = "http://127.0.0.1:8765"
PROFILE_NAMES = ["capcut", "capcut_legacy", "jianying", "jianying_pro_10"]
CREATED_US = 1_700_000_000_123_456
MODIFIED_US = 1_700_000_321_654_321
WIN_FOLDER = r"C:\Users\me\AppData\Local\CapCut\User Data\Projects\com.lveditor.draft"
MAC_FOLDER = "/Users/me/Movies/CapCut/User Data/Projects/com.lveditor.draft"
REFERENCE = Path(os.environ.get("CAPCUT_REFERENCE_DIR", "/work/shared/reference"))
WIN_GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9a-f]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\Z")
LOWER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
CONTENT_FILES = {"draft_content.json", "draft_info.json", "draft_content.json.bak", "draft_info.json.bak",
                 "template-2.tmp"}

# --- expected layouts ("<TL>" = the timeline folder, named by the content id) -----------------------

CAPCUT_SIDECARS = {
    "attachment_editing.json", "attachment_pc_common.json", "common_attachment/attachment_action_scene.json",
    "common_attachment/attachment_gen_ai_info.json", "common_attachment/attachment_pc_timeline.json",
    "common_attachment/attachment_plugin_draft.json", "common_attachment/attachment_script_video.json",
}
LAYOUT_COMMON = {"draft_meta_info.json", "draft_virtual_store.json", "draft_settings", "draft_agency_config.json",
                 "draft_biz_config.json", "template-2.tmp", "template.tmp"}
LAYOUTS = {
    "capcut": LAYOUT_COMMON | CAPCUT_SIDECARS | {
        "draft_content.json", "draft_info.json", "key_value.json", "performance_opt_info.json",
        "timeline_layout.json", "Timelines/project.json", "<TL>/template-2.tmp", "<TL>/template.tmp",
    } | {f"<TL>/{name}" for name in CAPCUT_SIDECARS},
    "capcut_legacy": LAYOUT_COMMON | {
        "attachment_editing.json", "attachment_pc_common.json", "common_attachment/aigc_aigc_generate.json",
        "common_attachment/attachment_plugin_draft.json", "common_attachment/attachment_script_video.json",
        "common_attachment/coperate_create.json", "key_value.json", "performance_opt_info.json",
    },
    "jianying": LAYOUT_COMMON | {"attachment_pc_common.json"},
    "jianying_pro_10": LAYOUT_COMMON | {
        "attachment_pc_common.json", "common_attachment/attachment_pc_timeline.json", "key_value.json",
        "performance_opt_info.json", "timeline_layout.json", "Timelines/project.json", "Timelines/project.json.bak",
        "<TL>/template-2.tmp", "<TL>/template.tmp", "<TL>/attachment_editing.json", "<TL>/attachment_pc_common.json",
        "<TL>/common_attachment/attachment_pc_timeline.json", "<TL>/common_attachment/attachment_script_video.json",
    },
}
# main file name(s) per client OS: root, .bak and (Timelines layouts) the timeline folder
NAMES = {
    "windows": ["draft_content.json"],
    "mac": ["draft_info.json"],
    "linux": ["draft_content.json", "draft_info.json"],
}


def expected_layout(profile: str, client: str) -> set[str]:
    names = NAMES[client]
    if profile == "jianying_pro_10" and client == "linux":
        names = ["draft_content.json"]
    files = set(LAYOUTS[profile]) | set(names) | {f"{n}.bak" for n in names}
    if "Timelines/project.json" in files:
        files |= {f"<TL>/{n}" for n in names} | {f"<TL>/{n}.bak" for n in names}
    return files


# --- building a draft through the service ---------------------------------------------------------

def ok(client, path: str, body: dict) -> dict:
    reply = post(client, path, body)
    assert reply["success"], f"{path} failed: {reply['error']}"
    return reply["output"]


def make_draft(app, client, profile: str):
    """One of each kind of element: video (twice from one file, transition, mask), image, audio (twice
    from one file), text, subtitles, scene effect, filter, sticker and keyframes."""
    jianying = profile.startswith("jianying")
    d = ok(client, "/create_draft", {"width": 1080, "height": 1920, "profile": profile})["draft_id"]
    steps = [
        ("/add_video", {"video_url": f"{HOST}/clip.mp4", "start": 0, "end": 4, "duration": 10,
                        "track_name": "video_main", "transition": "上移" if jianying else "Mix",
                        "mask_type": "圆形" if jianying else "Circle"}),
        ("/add_video", {"video_url": f"{HOST}/clip.mp4", "start": 4, "end": 7, "target_start": 4, "duration": 10,
                        "track_name": "video_main"}),
        ("/add_image", {"image_url": f"{HOST}/still.png", "start": 7, "end": 10, "track_name": "video_main"}),
        ("/add_audio", {"audio_url": f"{HOST}/song.mp3", "start": 0, "end": 5, "duration": 30,
                        "track_name": "audio_main"}),
        ("/add_audio", {"audio_url": f"{HOST}/song.mp3", "start": 10, "end": 15, "target_start": 5, "duration": 30,
                        "track_name": "audio_main"}),
        ("/add_text", {"text": "Title", "start": 0, "end": 3, "track_name": "title", "font_color": "#FFD700"}),
        ("/add_subtitle", {"srt": "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> "
                                  "00:00:04,000\nWorld\n"}),
        ("/add_effect", {"effect_type": "_1998" if jianying else "Blur", "start": 0, "end": 2}),
        ("/add_filter", {"filter_type": "ABG", "start": 0, "end": 3}),
        ("/add_sticker", {"sticker_id": "7226264888031694091", "start": 1, "end": 3}),
        ("/add_video_keyframe", {"track_name": "video_main", "property_types": ["alpha", "scale_x", "position_y"],
                                 "times": [0, 1, 2], "values": ["1.0", "1.5", "0.2"]}),
    ]
    for path, body in steps:
        ok(client, path, {"draft_id": d, **body})
    return app.extensions["capcut"].cache.read(d, lambda draft: draft.model_copy(deep=True))


def file_name_of(material: dict) -> str:
    return material.get("material_name") or material.get("name")


def written_draft(app, client, tmp_path: Path, profile: str, draft_folder, *, local: bool = True):
    """Build, set the material paths, make the asset files and write the folder.

    `draft_folder`: "local" = the real parent of the written folder (paths exist here, as lint needs),
    or a client folder string / None. Returns (folder Path, content, written list, draft, draft_folder).
    """
    draft = make_draft(app, client, profile)
    built = builder.build(draft)
    content = built.content
    drafts = tmp_path / "drafts"
    drafts.mkdir(exist_ok=True)
    folder_value = str(drafts) if draft_folder == "local" else draft_folder
    name = draft.id
    by_file = {m.file_name: m for m in draft.materials.values()}
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    assets = {}
    for bucket in ("videos", "audios"):
        for material in content["materials"][bucket]:
            doc_material = by_file[file_name_of(material)]
            material["path"] = paths.material_path(folder_value, name, doc_material.kind, doc_material.file_name)
            source = cache / doc_material.file_name
            if not source.exists():
                source.write_bytes(doc_material.file_name.encode() * 40)
            assets[f"assets/{doc_material.kind}/{doc_material.file_name}"] = source
    target = drafts / name
    written = folder_writer.write_folder(target, content, PROFILES[profile], name=name, draft_folder=folder_value,
                                         assets=assets, created_us=CREATED_US, modified_us=MODIFIED_US, seed=draft.id)
    return target, content, written, draft, folder_value


def layout_of(folder: Path, content_id: str) -> set[str]:
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    return {f.replace(f"Timelines/{content_id}/", "<TL>/") for f in files if not f.startswith("assets/")}


# --- the folder per profile -----------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_folder_is_complete_linked_and_lint_clean(app, client, tmp_path, profile):
    folder, content, written, draft, draft_folder = written_draft(app, client, tmp_path, profile, "local")
    spec = PROFILES[profile]
    cid = content["id"]

    # file set: the profile's layout for an unknown (Linux) client, plus the media
    assert paths.client_os(draft_folder) == "linux"
    assert layout_of(folder, cid) == expected_layout(profile, "linux")
    assert sorted(written) == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {w for w in written if w.startswith("assets/")} == {
        "assets/video/" + next(m.file_name for m in draft.materials.values() if m.kind == "video"),
        "assets/image/" + next(m.file_name for m in draft.materials.values() if m.kind == "image"),
        "assets/audio/" + next(m.file_name for m in draft.materials.values() if m.kind == "audio"),
    }

    # every content file and mirror holds exactly app_schema.dumps(content)
    text = app_schema.dumps(content, spec).encode("utf-8")
    mirrors = [w for w in written if w.rsplit("/", 1)[-1] in CONTENT_FILES]
    assert len(mirrors) >= 4
    for rel in mirrors:
        assert (folder / rel).read_bytes() == text, rel

    # every JSON file parses; the settings file is the app's INI
    for rel in written:
        if rel.startswith("assets/") or rel == "draft_settings":
            continue
        data = (folder / rel).read_bytes()
        if rel == "draft_biz_config.json":
            assert data == b""
            continue
        json.loads(data)
        assert b"\n" not in data, f"{rel} is not one line"
        if rel.rsplit("/", 1)[-1] not in CONTENT_FILES:
            assert b'": ' not in data and b", " not in data, f"{rel} is not compact"
    settings = (folder / "draft_settings").read_text(encoding="utf-8").splitlines()
    assert settings[0] == "[General]"
    assert f"draft_create_time={CREATED_US // 1_000_000}" in settings
    assert f"draft_last_edit_time={MODIFIED_US // 1_000_000}" in settings
    assert "cloud_last_modify_platform=windows" in settings

    # template.tmp: a blank skeleton with its own id
    skeletons = [w for w in written if w.endswith("template.tmp") and not w.endswith("-2.tmp")]
    skeleton_ids = set()
    for rel in skeletons:
        blank = json.loads((folder / rel).read_bytes())
        assert blank["new_version"] == "75.0.0" and blank["tracks"] == [] and blank["duration"] == 0
        assert blank["platform"]["app_id"] == 0 and blank["platform"]["os"] == ""
        assert len(blank["platform"]) == 8 and blank["last_modified_platform"] == blank["platform"]
        assert blank["materials"] and all(v == [] for v in blank["materials"].values())
        assert list(blank) == sorted(blank)
        assert WIN_GUID.match(blank["id"]) and blank["id"] != cid
        skeleton_ids.add(blank["id"])
    assert len(skeleton_ids) == len(skeletons)

    # ids: meta draft_id differs from the content id; local_material_id links three files
    meta = json.loads((folder / "draft_meta_info.json").read_bytes())
    store = json.loads((folder / "draft_virtual_store.json").read_bytes())
    assert WIN_GUID.match(meta["draft_id"]) and meta["draft_id"] != cid and meta["draft_id"] not in skeleton_ids
    assert [group["type"] for group in meta["draft_materials"]] == [0, 1, 2, 3, 6, 7, 8]
    entries = meta["draft_materials"][0]["value"]
    assert all(not g["value"] for g in meta["draft_materials"][1:])
    local_ids = [m["local_material_id"] for bucket in ("videos", "audios") for m in content["materials"][bucket]]
    children = [c["child_id"] for group in store["draft_virtual_store"] if group["type"] == 1 for c in group["value"]]
    assert [e["id"] for e in entries] == list(dict.fromkeys(local_ids)) == children
    assert len(entries) == 3                                        # one per imported file: clip, still, song
    assert all(LOWER_UUID.match(i) for i in children)
    for bucket in ("videos", "audios"):
        for material in content["materials"][bucket]:
            entry = next(e for e in entries if e["id"] == material["local_material_id"])
            assert entry["file_Path"] == material["path"]
            assert entry["extra_info"] == file_name_of(material)
    by_type = {e["metetype"]: e for e in entries}
    assert set(by_type) == {"video", "photo", "music"}
    assert by_type["photo"]["duration"] == 5_000_000
    assert by_type["photo"]["roughcut_time_range"] == {"duration": -1, "start": -1}
    assert by_type["video"]["roughcut_time_range"] == {"duration": by_type["video"]["duration"], "start": 0}
    assert by_type["video"]["duration"] == 10_000_000 and by_type["music"]["duration"] == 30_000_000
    for entry in entries:
        assert entry["import_time_ms"] == CREATED_US and entry["import_time"] == CREATED_US // 1_000_000
        assert entry["item_source"] == 1 and entry["md5"] == "" and entry["type"] == 0
        assert entry["sub_time_range"] == {"duration": -1, "start": -1}
        assert ("ai_group_type" in entry and "enter_from" in entry) == (profile == "capcut")

    # meta fields
    assert meta["draft_name"] == draft.id
    assert meta["draft_fold_path"] == paths.join(draft_folder, draft.id) == str(folder)
    assert meta["draft_root_path"] == draft_folder
    assert meta["tm_duration"] == content["duration"] > 0
    assert (meta["tm_draft_create"], meta["tm_draft_modified"]) == (CREATED_US, MODIFIED_US)
    assert meta["draft_new_version"] == spec.new_version
    assert meta["draft_timeline_materials_size_"] == sum((folder / w).stat().st_size for w in written
                                                         if w.startswith("assets/"))
    assert "platform" not in meta          # the apps keep the platform blocks in the content only
    assert len(content["platform"]) == len(content["last_modified_platform"]) == 8

    # Timelines/: project.json points at the content id
    if "Timelines/project.json" in written:
        project = json.loads((folder / "Timelines/project.json").read_bytes())
        assert project["main_timeline_id"] == cid and project["id"] != cid and WIN_GUID.match(project["id"])
        assert [t["id"] for t in project["timelines"]] == [cid]
        assert project["timelines"][0]["name"] == "Timeline 01"
        assert project["create_time"] == CREATED_US
        layout = json.loads((folder / "timeline_layout.json").read_bytes())
        assert layout["dockItems"][0]["timelineIds"] == [cid]

    # the CapCut agency list names the imported video and photo (not music), as the app does
    agency = json.loads((folder / "draft_agency_config.json").read_bytes())
    assert "marterials" in agency
    if profile in ("capcut", "capcut_legacy"):
        assert sorted(m["source_path"] for m in agency["marterials"]) == sorted(
            e["file_Path"] for e in entries if e["metetype"] != "music")

    # pyJianYingDraft reads it back
    for name in ("draft_content.json", "draft_info.json"):
        if (folder / name).exists():
            script = ScriptFile._load_template(str(folder / name))
            assert len(script.imported_tracks) == len(content["tracks"])
            assert script.duration == content["duration"]

    # the independent validator
    code, report = lint(folder)
    assert code == 0 and report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 0, report
    print(f"capcut-cli lint {profile}: {report['summary']}")


def test_assets_are_hard_linked_when_possible(app, client, tmp_path):
    folder, content, written, draft, _ = written_draft(app, client, tmp_path, "capcut", "local")
    for rel in (w for w in written if w.startswith("assets/")):
        source = tmp_path / "cache" / rel.rsplit("/", 1)[-1]
        assert (folder / rel).read_bytes() == source.read_bytes()
        assert os.path.samefile(folder / rel, source)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("client_os, draft_folder", [("windows", WIN_FOLDER), ("windows", "C:/CapCut Drafts"),
                                                     ("windows", r"\\nas\share\drafts"), ("mac", MAC_FOLDER)])
def test_main_file_name_follows_the_client_os(app, client, tmp_path, profile, client_os, draft_folder):
    folder, content, written, draft, _ = written_draft(app, client, tmp_path, profile, draft_folder)
    assert layout_of(folder, content["id"]) == expected_layout(profile, client_os)
    meta = json.loads((folder / "draft_meta_info.json").read_bytes())
    assert meta["draft_fold_path"] == paths.join(draft_folder, draft.id)
    assert meta["draft_root_path"] == paths.root_path(draft_folder, profile)
    video = content["materials"]["videos"][0]
    assert video["path"].startswith(meta["draft_fold_path"])
    sep = "\\" if draft_folder.startswith("\\\\") else "/"        # UNC keeps backslashes, drives have "/"
    assert video["path"] == sep.join([meta["draft_fold_path"], "assets", "video", video["material_name"]])
    # On this machine the client's paths do not exist; everything else must still be clean.
    code, report = lint(folder, "--no-check-paths")
    assert code == 0 and report["summary"]["errors"] == 0, report


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_without_draft_folder_media_use_the_apps_draft_folder_token(app, client, tmp_path, profile):
    folder, content, written, draft, _ = written_draft(app, client, tmp_path, profile, None)
    token = paths.DRAFT_PATH_PLACEHOLDER
    for bucket in ("videos", "audios"):
        for material in content["materials"][bucket]:
            assert material["path"].startswith(token + "/assets/")
    meta = json.loads((folder / "draft_meta_info.json").read_bytes())
    assert meta["draft_fold_path"] == "" and meta["draft_root_path"] == ""
    assert all(e["file_Path"].startswith("./assets/") for e in meta["draft_materials"][0]["value"])
    assert all((folder / e["file_Path"][2:]).is_file() for e in meta["draft_materials"][0]["value"])
    assert layout_of(folder, content["id"]) == expected_layout(profile, "linux")
    # capcut-cli does not expand the apps' token, so its file check reports those paths (and only them).
    code, report = lint(folder)
    assert {i["code"] for i in report["issues"] if i["severity"] == "error"} <= {"missing-file"}
    assert all(i["location"]["path"].startswith(token) for i in report["issues"] if i["code"] == "missing-file")
    code, report = lint(folder, "--no-check-paths")
    assert code == 0 and report["summary"]["errors"] == 0, report


# --- against the app-written reference folders ------------------------------------------------------

def reference_files(short_name: str) -> tuple[set[str], str | None]:
    """Data files the app wrote in a reference folder (from its manifest; media and binaries left out)."""
    manifest = REFERENCE / short_name / "_manifest.tsv"
    if not manifest.is_file():
        pytest.skip(f"reference folder {manifest.parent} is not available here")
    files, timeline = set(), None
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        path, _, _, status = line.split("\t")[:4]
        name = path.rsplit("/", 1)[-1]
        if path.endswith("/") or status.startswith("skipped") or name.endswith((".gitkeep", ".jpg", ".extra")):
            continue
        match = re.match(r"Timelines/([^/]+)/", path)
        if match:
            timeline = match.group(1)
            path = path.replace(f"Timelines/{timeline}/", "<TL>/")
        files.add(path)
    return files, timeline


# profile, reference folder, client folder, what we add to the app's file list, what the app has that we do not
REFERENCE_CASES = [
    # 8.9 wrote no root template.tmp/.bak in that copy (8.1 has them); draft_info.json is our extra mirror
    ("capcut", "capcut-8.9-win-donor-282new", WIN_FOLDER,
     {"template.tmp", "draft_content.json.bak", "<TL>/draft_content.json.bak", "draft_info.json"}, set()),
    # 8.1 also kept aigc/coperate attachments, draft_agency_info.json and a project.json.bak
    ("capcut", "capcut-8.1-win-quran-fotiha-timelines", WIN_FOLDER,
     {"draft_info.json"},
     {"draft_agency_info.json", "Timelines/project.json.bak", "common_attachment/aigc_aigc_generate.json",
      "common_attachment/coperate_create.json", "<TL>/common_attachment/aigc_aigc_generate.json",
      "<TL>/common_attachment/coperate_create.json"}),
    ("capcut_legacy", "capcut-6.2-win-baby-starfish", WIN_FOLDER, set(), set()),
    ("jianying", "../templates/capcutapi-template_jianying", MAC_FOLDER, {"draft_virtual_store.json"}, set()),
    ("jianying_pro_10", "../templates/vectcut-template_jianying_10_2", WIN_FOLDER, set(), set()),
]


@pytest.mark.parametrize("profile, reference, draft_folder, ours_only, theirs_only", REFERENCE_CASES,
                         ids=[c[1].rsplit("/", 1)[-1] for c in REFERENCE_CASES])
def test_file_set_matches_the_app_written_reference(app, client, tmp_path, profile, reference, draft_folder,
                                                    ours_only, theirs_only):
    theirs, _ = reference_files(f"drafts/{reference}" if not reference.startswith("..") else reference[3:])
    folder, content, _, _, _ = written_draft(app, client, tmp_path, profile, draft_folder)
    ours = layout_of(folder, content["id"])
    assert ours - theirs == ours_only
    assert theirs - ours == theirs_only


def test_sidecar_keys_match_the_reference(app, client, tmp_path):
    """Key paths of our CapCut 8.9 sidecars equal the app's (lists of user data aside)."""
    ref = REFERENCE / "drafts" / "capcut-8.9-win-donor-282new"
    if not ref.is_dir():
        pytest.skip("reference folder not available here")
    folder, content, written, _, _ = written_draft(app, client, tmp_path, "capcut", WIN_FOLDER)

    def key_paths(value, prefix=""):
        out = set()
        if isinstance(value, dict):
            for k, v in value.items():
                out |= {prefix + k} | key_paths(v, prefix + k + ".")
        elif isinstance(value, list):
            for v in value:
                out |= key_paths(v, prefix + "[].")
        return out

    for rel in ("attachment_editing.json", "attachment_pc_common.json", "draft_meta_info.json",
                "draft_virtual_store.json", "draft_agency_config.json", "performance_opt_info.json",
                "timeline_layout.json", "Timelines/project.json", "common_attachment/attachment_gen_ai_info.json",
                "common_attachment/attachment_pc_timeline.json", "common_attachment/attachment_plugin_draft.json",
                "common_attachment/attachment_script_video.json"):
        ours = key_paths(json.loads((folder / rel).read_bytes()))
        theirs = key_paths(json.loads((ref / rel).read_bytes()))
        assert ours == theirs, (rel, sorted(ours ^ theirs))


# --- behaviour ----------------------------------------------------------------------------------------

def test_same_inputs_give_the_same_bytes_and_a_resave_replaces_the_folder(app, client, tmp_path):
    folder, content, written, draft, draft_folder = written_draft(app, client, tmp_path, "capcut", "local")
    before = {w: (folder / w).read_bytes() for w in written}
    (folder / "stale.txt").write_text("left over")
    again = folder_writer.write_folder(folder, json.loads(json.dumps(content)), PROFILES["capcut"], name=draft.id,
                                       draft_folder=draft_folder,
                                       assets={w: folder.parent.parent / "cache" / w.rsplit("/", 1)[-1]
                                               for w in written if w.startswith("assets/")},
                                       created_us=CREATED_US, modified_us=MODIFIED_US, seed=draft.id)
    assert again == written
    assert {w: (folder / w).read_bytes() for w in again} == before
    assert not (folder / "stale.txt").exists()
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []   # no staging left


def test_one_local_material_id_per_file_even_when_the_content_has_none(tmp_path):
    content = {"id": "5E9E81E6-C97D-4322-B35B-AB4CEBC4204F", "duration": 1,
               "materials": {"videos": [{"path": "/d/x/assets/video/a.mp4", "type": "video", "duration": 5},
                                        {"path": "/d/x/assets/video/a.mp4", "type": "video", "local_material_id": ""},
                                        {"path": "/d/x/assets/image/b.png", "type": "photo",
                                         "local_material_id": "Not-A-Uuid"},
                                        {"path": "https://example.com/c.mp4", "type": "video"}],
                             "audios": [{"path": "/d/x/assets/audio/s.mp3", "local_material_id":
                                         "0b2a3c4d-0000-4000-8000-000000000001"},
                                        {"path": "/d/x/assets/audio/s.mp3", "local_material_id":
                                         "0b2a3c4d-0000-4000-8000-000000000002"}]}}
    media = folder_writer.link_media(content, "seed")
    videos, audios = content["materials"]["videos"], content["materials"]["audios"]
    assert videos[0]["local_material_id"] == videos[1]["local_material_id"]
    assert LOWER_UUID.match(videos[0]["local_material_id"]) and LOWER_UUID.match(videos[2]["local_material_id"])
    assert "local_material_id" not in videos[3]                     # remote URL: not an imported file
    assert audios[0]["local_material_id"] == audios[1]["local_material_id"] == "0b2a3c4d-0000-4000-8000-000000000001"
    assert [m.metetype for m in media] == ["video", "photo", "music"]
    assert folder_writer.link_media(json.loads(json.dumps(content)), "seed") == media     # stable


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "../escape"}, "may not contain"),
    ({"name": ".."}, "is not a name"),
    ({"draft_folder": "relative/dir"}, "relative path"),
    ({"assets": {"../outside.mp4": None}}, "segment of asset path"),
    ({"assets": {"/abs/file.mp4": None}}, "must be relative"),
    ({"assets": {"draft_meta_info.json": None}}, "collide"),
])
def test_invalid_input_is_refused_before_anything_is_written(tmp_path, kwargs, message):
    source = tmp_path / "src.bin"
    source.write_bytes(b"x")
    if "assets" in kwargs:
        kwargs = {"assets": {k: source for k in kwargs["assets"]}}
    args = {"name": "draft1", "draft_folder": None, "assets": {}, **kwargs}
    content = {"id": "5E9E81E6-C97D-4322-B35B-AB4CEBC4204F", "duration": 0, "materials": {}, "tracks": []}
    with pytest.raises(ValueError, match=re.escape(message)):
        folder_writer.write_folder(tmp_path / "out" / "draft1", content, PROFILES["capcut"], created_us=0,
                                   modified_us=0, seed="s", **args)
    assert not (tmp_path / "out" / "draft1").exists()


def test_content_without_an_id_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no 'id'"):
        folder_writer.write_folder(tmp_path / "d", {"materials": {}}, PROFILES["capcut"], name="d", draft_folder=None,
                                   assets={}, created_us=0, modified_us=0, seed="s")


# --- install.install_into -------------------------------------------------------------------------------------

SEP = "\\" if os.name == "nt" else "/"      # CapCut Windows writes "<fold>\\draft_content.json"
OTHER_ENTRY = {"draft_fold_path": "C:/Users/x/CapCut Drafts/other", "draft_id": "0A7693A6-23FC-40e7-A639-62E27DA1E8CB",
               "draft_name": "other", "tm_draft_modified": 1, "custom_key": [1, {"a": "ü"}]}


def test_install_registers_the_draft_like_capcut_windows(app, client, tmp_path):
    folder, content, written, draft, _ = written_draft(app, client, tmp_path, "capcut", None)
    root = tmp_path / "CapCut Drafts"
    root.mkdir()
    registry = {"all_draft_store": [OTHER_ENTRY], "draft_ids": 41, "root_path": "C:/Users/x/CapCut Drafts"}
    (root / "root_meta_info.json").write_text(json.dumps(registry, ensure_ascii=False), encoding="utf-8")

    installed = install.install_into(root, folder, name="My Draft", content=content, profile=PROFILES["capcut"])
    assert installed == root.resolve() / "My Draft"
    assert {p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()} == set(written)
    meta = json.loads((installed / "draft_meta_info.json").read_bytes())
    assert meta["draft_fold_path"] == installed.as_posix() and meta["draft_root_path"] == root.resolve().as_posix()

    saved = json.loads((root / "root_meta_info.json").read_text(encoding="utf-8"))
    assert list(saved) == ["all_draft_store", "draft_ids", "root_path"]
    assert saved["draft_ids"] == 42 and saved["root_path"] == "C:/Users/x/CapCut Drafts"
    entry, other = saved["all_draft_store"]
    assert other == OTHER_ENTRY
    assert len(entry) == 32 and list(entry) == sorted(entry)
    assert entry["draft_id"] == meta["draft_id"] != content["id"]
    assert entry["draft_fold_path"] == installed.as_posix()
    assert entry["draft_json_file"] == installed.as_posix() + SEP + "draft_content.json"
    assert entry["draft_cover"] == installed.as_posix() + SEP + "draft_cover.jpg"
    assert entry["draft_name"] == draft.id
    assert entry["tm_duration"] == content["duration"] and entry["tm_draft_removed"] == 0
    assert entry["tm_draft_create"] == CREATED_US and entry["tm_draft_modified"] == MODIFIED_US
    assert entry["streaming_edit_draft_ready"] is True and entry["tm_draft_cloud_entry_id"] == -1

    # installing again replaces the entry and the folder, the counter stays
    (installed / "stale.txt").write_text("x")
    install.install_into(root, folder, name="My Draft", content=content, profile=PROFILES["capcut"])
    saved = json.loads((root / "root_meta_info.json").read_text(encoding="utf-8"))
    assert saved["draft_ids"] == 42 and len(saved["all_draft_store"]) == 2
    assert saved["all_draft_store"][1] == OTHER_ENTRY
    assert not (installed / "stale.txt").exists()
    assert sorted(p.name for p in root.iterdir()) == ["My Draft", "root_meta_info.json"]


def test_install_creates_the_registry_when_absent(app, client, tmp_path):
    folder, content, _, _, _ = written_draft(app, client, tmp_path, "jianying", None)
    root = tmp_path / "JianyingPro Drafts"
    root.mkdir()
    install.install_into(root, folder, name="d1", content=content, profile=PROFILES["jianying"])
    saved = json.loads((root / "root_meta_info.json").read_text(encoding="utf-8"))
    assert saved["draft_ids"] == 1 and saved["root_path"] == root.resolve().as_posix()
    meta = json.loads((folder / "draft_meta_info.json").read_bytes())
    assert [e["draft_id"] for e in saved["all_draft_store"]] == [meta["draft_id"]]
    assert saved["all_draft_store"][0]["draft_json_file"].endswith(SEP + "draft_content.json")


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "", "CON", "bad?"])
def test_install_refuses_names_that_leave_the_drafts_folder(tmp_path, name):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(ValueError):
        install.install_into(root, tmp_path, name=name, content={}, profile=PROFILES["capcut"])
    assert list(root.iterdir()) == []


def test_install_refuses_a_missing_root_and_a_broken_registry(app, client, tmp_path):
    folder, content, _, _, _ = written_draft(app, client, tmp_path, "capcut", None)
    with pytest.raises(ValueError, match="does not exist"):
        install.install_into(tmp_path / "nope", folder, name="d", content=content, profile=PROFILES["capcut"])
    root = tmp_path / "root"
    root.mkdir()
    (root / "root_meta_info.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ValueError, match="left untouched"):
        install.install_into(root, folder, name="d", content=content, profile=PROFILES["capcut"])
    assert (root / "root_meta_info.json").read_text(encoding="utf-8") == "{broken"
    assert sorted(p.name for p in root.iterdir()) == ["root_meta_info.json"]
