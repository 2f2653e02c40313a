"""Write a complete draft folder for an app profile, the way the app itself lays one out.

`write_folder` takes the completed draft JSON (capcut_drafts/export/builder.py →
capcut_drafts/export/app_schema.py, with material paths already set by the caller) and writes
every file the target app keeps in a draft folder: the content file(s) and their byte-identical
mirrors, the `Timelines/` layout where the app version has one, `draft_meta_info.json` with the
imported media registered, the virtual store, settings and the attachment sidecars. The layout and
sidecar defaults per profile live in ``template/<profile>/folder/sidecars.json`` (our own data
files, written from the reference facts).

Layouts (reference folders they follow):

* ``capcut`` (CapCut 8.9.1 Windows; capcut-8.9-win-donor-282new, capcut-8.1-win-quran-*):
  root ``draft_content.json`` plus a ``draft_info.json`` mirror, ``draft_content.json.bak``,
  ``template-2.tmp`` (all byte-identical), ``template.tmp`` (blank skeleton),
  ``Timelines/project.json``, ``Timelines/<content id>/`` (the content again, its ``.bak``,
  ``template-2.tmp``, own ``template.tmp``, attachments), ``timeline_layout.json`` and the sidecars.
  CapCut 8.9.1 Windows itself writes only ``draft_content.json`` (root and the main timeline's
  folder) and ``template-2.tmp``; ``draft_info.json`` is the macOS name, written as an extra mirror.
* ``capcut_legacy`` (CapCut 6.x; capcut-6.2-win-baby-starfish, the 6.5 template): no Timelines/.
* ``jianying`` (JianYing 5.9; the 5.9 template, jianying-5.x-win-draftdemo-*): few sidecars.
* ``jianying_pro_10``: the Timelines/ layout of VectCutAPI's JianYing 10.2 template (layout only).

The main file's name follows the client's OS, guessed from `draft_folder` (capcut_drafts/save/paths.py):
Windows apps read ``draft_content.json``, macOS apps ``draft_info.json``; when the OS is unknown
(no folder, or a Linux path) both are written, except ``jianying_pro_10`` (``draft_content.json``).
The ``capcut`` root always holds both names; its ``.bak`` and ``Timelines/<id>/`` copy use the OS's.

Ids: the meta `draft_id`, `Timelines/project.json` id and the skeletons' ids are app-style GUIDs
derived from `seed`, all different from the content id; imported media get one lower-case
`local_material_id` per file, written back into the content so content, meta and virtual store
link (reference fact 5). Same inputs → same bytes.

Copying a written folder into a drafts folder on this machine is capcut_drafts/save/install.py.
"""
from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shutil
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from capcut_drafts.export import app_schema
from capcut_drafts.export.layering import SubtitleFile
from capcut_drafts.model.ids import derived_guid_hex
from capcut_drafts.model.profiles import Profile
from capcut_drafts.save import paths

FOLDER_TEMPLATE = "folder/sidecars.json"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "capcut-draft-service/folder_writer")
PHOTO_IMPORT_DURATION_US = 5_000_000     # what the apps record for an imported still image
SKELETON_NEW_VERSION = "75.0.0"           # template.tmp's schema version in every app folder since 2.2

_LOWER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_SPECS: dict[str, dict] = {}
_SPEC_LOCK = threading.Lock()


# ---------------------------------------------------------------------------------------------
# Profile data
# ---------------------------------------------------------------------------------------------


def load_spec(profile: Profile) -> dict:
    """The profile's folder template (template/<profile>/folder/sidecars.json), parsed once."""
    spec = _SPECS.get(profile.name)
    if spec is None:
        with _SPEC_LOCK:
            spec = _SPECS.get(profile.name)
            if spec is None:
                path = app_schema.TEMPLATE_ROOT / profile.name / FOLDER_TEMPLATE
                with open(path, encoding="utf-8") as fh:
                    spec = json.load(fh)
                _SPECS[profile.name] = spec
    return spec


def _resolve(value: Any, objects: dict) -> Any:
    """A fresh copy of `value` with every "@name" string replaced by objects[name] (recursively)."""
    if isinstance(value, str) and value.startswith("@"):
        return _resolve(objects[value[1:]], objects)
    if isinstance(value, dict):
        return {k: _resolve(v, objects) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, objects) for v in value]
    return value


def _document_template(profile: Profile) -> dict:
    folder = app_schema.TEMPLATE_ROOT / app_schema.TEMPLATE_DIRS.get(profile.name, profile.name)
    with open(folder / "document.json", encoding="utf-8") as fh:
        return json.load(fh)


def content_names(profile: Profile, draft_folder: str | None) -> list[str]:
    """File name(s) of the main draft file the client's app reads (see the module doc)."""
    return list(load_spec(profile)["content_names"][paths.client_os(draft_folder)])


# ---------------------------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------------------------


def app_guid(seed: str, name: str) -> str:
    """Windows-app style GUID (upper case, third group lower case) derived from seed and name."""
    return app_schema.windows_guid(derived_guid_hex(NAMESPACE, seed, name))


def local_uuid(seed: str, name: str) -> str:
    """Lower-case hyphenated UUID (local_material_id / virtual store style) derived from seed and name."""
    h = derived_guid_hex(NAMESPACE, seed, name)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ---------------------------------------------------------------------------------------------
# Imported media: one entry per file, linked by local_material_id
# ---------------------------------------------------------------------------------------------


@dataclass
class MediaFile:
    id: str              # local_material_id = draft_meta_info entry id = virtual store child_id
    path: str            # the material path the app opens
    metetype: str        # "video", "photo", "gif" or "music"
    duration: int
    width: int
    height: int


def int_or_zero(value: Any) -> int:
    """A JSON number as an int; 0 for anything else (absent, text, true/false)."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def link_media(content: dict, seed: str) -> list[MediaFile]:
    """Every distinct local media file of the content's videos/audios, in content order.

    Each material of one file gets the same `local_material_id` (fact 12): the first valid
    lower-case UUID found on a material of that file, else one derived from `seed` and the path;
    the value is written back into the content. Materials without a path or with an http(s)
    path are left alone.
    """
    files: dict[str, MediaFile] = {}
    taken: set[str] = set()
    materials = content.get("materials") or {}
    for bucket in ("videos", "audios"):
        for material in materials.get(bucket) or ():
            if type(material) is not dict:
                continue
            path = material.get("path")
            if not isinstance(path, str) or not path or re.match(r"https?://", path, re.IGNORECASE):
                continue
            found = files.get(path)
            if found is None:
                local = material.get("local_material_id")
                if not (isinstance(local, str) and _LOWER_UUID.match(local)) or local in taken:
                    local, n = local_uuid(seed, f"media:{path}"), 0
                    while local in taken:
                        n += 1
                        local = local_uuid(seed, f"media:{path}:{n}")
                if bucket == "audios":
                    kind = "music"
                else:
                    material_type = material.get("type")
                    kind = material_type if material_type in ("photo", "gif") else "video"
                duration = PHOTO_IMPORT_DURATION_US if kind == "photo" else int_or_zero(material.get("duration"))
                found = MediaFile(local, path, kind, duration,
                                  int_or_zero(material.get("width")) if bucket == "videos" else 0,
                                  int_or_zero(material.get("height")) if bucket == "videos" else 0)
                files[path] = found
                taken.add(local)
            material["local_material_id"] = found.id
    return list(files.values())


# ---------------------------------------------------------------------------------------------
# Generated files
# ---------------------------------------------------------------------------------------------


def dumps_sidecar(obj: Any) -> bytes:
    """Compact, sorted keys, UTF-8: how the apps write their sidecar JSON files."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def skeleton(profile: Profile, draft_id: str) -> dict:
    """The blank draft the apps keep as template.tmp: empty platform, new_version 75.0.0, own id."""
    doc = _document_template(profile)
    blank_platform = {k: (0 if k == "app_id" else "") for k in doc["platform"]}
    doc.update(
        id=draft_id, name="", duration=0, tracks=[], new_version=SKELETON_NEW_VERSION,
        platform=dict(blank_platform), last_modified_platform=dict(blank_platform),
        color_space=-1, render_index_track_mode_on=False,
        materials={bucket: [] for bucket in doc["materials"]},
    )
    canvas = dict(doc.get("canvas_config") or {})
    canvas.update(width=0, height=0)
    doc["canvas_config"] = canvas
    return doc


def meta_info(spec: dict, profile: Profile, media: list[MediaFile], *, draft_id: str, name: str, title: str,
              draft_folder: str | None, duration: int, created_us: int, modified_us: int,
              materials_size: int, subtitles: Sequence[dict] = ()) -> dict:
    """draft_meta_info.json: `name` is the folder's name, `title` the name the app lists;
    `subtitles` are the entries of type 2 (`subtitle_entries`)."""
    entries = []
    for f in media:
        entry = copy.deepcopy(spec["meta_material"])
        timed = f.metetype in ("video", "music")
        entry.update(
            id=f.id, file_Path=paths.meta_file_path(f.path), extra_info=paths.base_name(f.path),
            metetype=f.metetype, duration=f.duration, width=f.width, height=f.height, type=0,
            create_time=created_us // 1_000_000, import_time=created_us // 1_000_000, import_time_ms=created_us,
            roughcut_time_range={"duration": f.duration, "start": 0} if timed else {"duration": -1, "start": -1},
            sub_time_range={"duration": -1, "start": -1},
        )
        entries.append(entry)
    meta = copy.deepcopy(spec["meta"])
    meta.update(
        draft_id=draft_id, draft_name=title,
        draft_fold_path=paths.join(draft_folder, name) if draft_folder else "",
        draft_root_path=paths.root_path(draft_folder, profile.name) if draft_folder else "",
        draft_new_version=profile.new_version, draft_timeline_materials_size_=materials_size,
        tm_duration=duration, tm_draft_create=created_us, tm_draft_modified=modified_us,
        draft_materials=[{"type": t, "value": entries if t == 0 else list(subtitles) if t == 2 else []}
                         for t in spec["meta_material_types"]],
    )
    return meta


def virtual_store(spec: dict, media: list[MediaFile]) -> dict:
    store = spec["virtual_store"]
    return {
        "draft_materials": copy.deepcopy(store["draft_materials"]),
        "draft_virtual_store": [
            {"type": 0, "value": [copy.deepcopy(store["folder_entry"])]},
            {"type": 1, "value": [{"child_id": f.id, "parent_id": ""} for f in media]},
            {"type": 2, "value": []},
        ],
    }


def agency_config(spec: dict, media: list[MediaFile]) -> dict:
    config = copy.deepcopy(spec["agency_config"])
    item = spec.get("agency_item")
    if item is not None:
        config["marterials"] = [dict(item, source_path=f.path) for f in media
                                if f.metetype != "music" and not f.path.startswith(paths.DRAFT_PATH_PLACEHOLDER)]
    return config


def draft_settings(spec: dict, content: dict, created_us: int, modified_us: int) -> bytes:
    platform = content.get("last_modified_platform") or content.get("platform") or {}
    values = {
        "draft_create_time": created_us // 1_000_000,
        "draft_last_edit_time": modified_us // 1_000_000,
        "real_edit_seconds": max(0, (modified_us - created_us) // 1_000_000),
        "real_edit_keys": 1,
        "cloud_last_modify_platform": platform.get("os") or "windows",
    }
    lines = ["[General]"] + [f"{key}={values[key]}" for key in spec["settings_keys"]]
    return ("\n".join(lines) + "\n").encode("utf-8")


def project(spec: dict, *, project_id: str, timeline_id: str, created_us: int) -> dict:
    return {
        "config": dict(spec["project_config"]),
        "create_time": created_us,
        "id": project_id,
        "main_timeline_id": timeline_id,
        "timelines": [{"create_time": created_us, "id": timeline_id, "is_marked_delete": False,
                       "name": spec["timeline_name"], "update_time": created_us}],
        "update_time": created_us,
        "version": 0,
    }


def timeline_layout(spec: dict, timeline_id: str) -> dict:
    return {"dockItems": [{"dockIndex": 0, "ratio": 1, "timelineIds": [timeline_id],
                           "timelineNames": [spec["timeline_name"]]}],
            "layoutOrientation": 1}


# ---------------------------------------------------------------------------------------------
# Files on disk
# ---------------------------------------------------------------------------------------------


def _check_relative(rel: str) -> PurePosixPath:
    """A path inside the draft folder: relative, '/'-separated, plain names only."""
    if not isinstance(rel, str) or not rel or "\\" in rel or rel.startswith("/") or re.match(r"[A-Za-z]:", rel):
        raise ValueError(f"asset path '{rel}' must be relative to the draft folder and use '/', "
                         "e.g. assets/video/video_<hash>.mp4")
    pure = PurePosixPath(rel)
    for part in pure.parts:
        paths.check_name(part, f"segment of asset path '{rel}'")
    return pure


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Hard-link `source` at `target`; copy where links are impossible (other device, no support).
    A symbolic link is refused: Linux would hard-link the link itself, a copy would follow it."""
    if os.path.islink(source):
        raise ValueError(f"{source} is a symbolic link; refusing to follow it")
    try:
        os.link(source, target)
    except (OSError, NotImplementedError):
        shutil.copy2(source, target)


def swap_in(staging: Path, target: Path) -> None:
    """Replace `target` by the finished `staging` folder (both in the same parent)."""
    old = None
    if target.exists() or target.is_symlink():
        if target.is_symlink() or not target.is_dir():
            raise ValueError(f"{target} exists and is not a folder; refusing to replace it")
        old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class _Folder:
    """Collects the files of one draft folder, then writes them under a staging directory."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, bytes] = {}
        self.links: dict[str, Path] = {}

    def put(self, rel: str, data: bytes) -> None:
        self.files[rel] = data

    def put_json(self, rel: str, obj: Any) -> None:
        self.files[rel] = b"" if obj is None else dumps_sidecar(obj)

    def written(self) -> list[str]:
        return sorted([*self.files, *self.links])

    def flush(self) -> None:
        for rel, data in self.files.items():
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for rel, source in self.links.items():
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(source, target)


# ---------------------------------------------------------------------------------------------
# write_folder
# ---------------------------------------------------------------------------------------------


def subtitle_entries(spec: dict, subtitles: Sequence[tuple[SubtitleFile, str]], seed: str,
                     created_us: int) -> list[dict]:
    """The meta's type-2 entries of the SRT files (as CapCut 6.2 and 8.1 list an imported SRT)."""
    entries = []
    for subtitle, app_path in subtitles:
        entry = copy.deepcopy(spec["meta_material"])
        entry.update(id=app_guid(seed, f"subtitle:{subtitle.file_name}"), file_Path=paths.meta_file_path(app_path),
                     extra_info=subtitle.file_name, metetype="none", type=2, duration=0, width=0, height=0,
                     create_time=0, import_time=created_us // 1_000_000, import_time_ms=-1,
                     roughcut_time_range={"duration": -1, "start": -1}, sub_time_range={"duration": -1, "start": -1})
        entry.pop("enter_from", None)          # imported media have it; CapCut 8.1's SRT entry has not
        entries.append(entry)
    return entries


def write_folder(target_dir: Path, content: dict, profile: Profile, *, name: str, draft_folder: str | None,
                 assets: dict[str, Path], created_us: int, modified_us: int, seed: str,
                 title: str | None = None, subtitles: Sequence[tuple[SubtitleFile, str]] = ()) -> list[str]:
    """Write the complete draft folder at `target_dir` (replacing one already there) and return the
    relative paths written, '/'-separated and sorted.

    `content` is the completed draft JSON with its material paths set; its videos/audios get their
    `local_material_id` linked (mutated in place, see `link_media`). `assets` maps a path inside
    the folder (assets/video/video_<h>.mp4) to a local file, hard-linked or copied there;
    `subtitles` (SRT file, path the app reads it from) go to assets/subtitle/ and the meta. The
    folder is built next to `target_dir` and renamed into place, so a reader never sees half of it.
    ValueError for an invalid name, draft_folder, asset path or content without an id.
    """
    paths.check_name(name)
    if draft_folder:
        paths.validate_draft_folder(draft_folder)
    content_id = content.get("id")
    if not isinstance(content_id, str) or not content_id:
        raise ValueError("the draft content has no 'id'; build it with capcut_drafts.export.builder first")
    paths.check_name(content_id, "content id")
    created_us, modified_us = int(created_us), int(modified_us)

    spec = load_spec(profile)
    objects = spec.get("objects", {})
    client = paths.client_os(draft_folder)
    names = spec["content_names"][client]

    media = link_media(content, seed)
    text = app_schema.dumps(content, profile).encode("utf-8")

    target_dir = Path(target_dir)
    folder = _Folder(target_dir)
    for rel, source in (assets or {}).items():
        pure = _check_relative(rel)
        src = Path(source)
        if src.is_symlink():
            raise ValueError(f"asset source for '{rel}' is a symbolic link; refusing to follow it: {src}")
        if not src.is_file():
            raise ValueError(f"asset source for '{rel}' is not a file: {src}")
        folder.links[str(pure)] = src

    # the draft itself and its byte-identical mirrors
    for file_name in dict.fromkeys([*names, *spec.get("root_mirrors", ())]):
        folder.put(file_name, text)
    for file_name in names:
        folder.put(f"{file_name}.bak", text)
    folder.put("template-2.tmp", text)
    folder.put_json("template.tmp", skeleton(profile, app_guid(seed, "template.tmp")))

    if spec.get("timelines"):
        base = f"Timelines/{content_id}"
        for file_name in names:
            folder.put(f"{base}/{file_name}", text)
            folder.put(f"{base}/{file_name}.bak", text)
        folder.put(f"{base}/template-2.tmp", text)
        folder.put_json(f"{base}/template.tmp", skeleton(profile, app_guid(seed, f"{base}/template.tmp")))
        for rel, value in spec.get("timeline_files", {}).items():
            folder.put_json(f"{base}/{rel}", _resolve(value, objects))
        proj = project(spec, project_id=app_guid(seed, "Timelines/project.json"), timeline_id=content_id,
                       created_us=created_us)
        folder.put_json("Timelines/project.json", proj)
        if spec.get("project_bak"):
            folder.put_json("Timelines/project.json.bak", proj)
        folder.put_json("timeline_layout.json", timeline_layout(spec, content_id))

    for subtitle, _ in subtitles:
        folder.put(f"assets/subtitle/{subtitle.file_name}", subtitle.text.encode("utf-8"))
    for rel, value in spec.get("root_files", {}).items():
        folder.put_json(rel, _resolve(value, objects))
    folder.put_json("draft_agency_config.json", agency_config(spec, media))
    folder.put_json("draft_virtual_store.json", virtual_store(spec, media))
    folder.put("draft_settings", draft_settings(spec, content, created_us, modified_us))

    materials_size = sum(src.stat().st_size for src in folder.links.values())
    duration = int_or_zero(content.get("duration"))
    meta_id = app_guid(seed, "draft_meta_info.json:draft_id")
    if meta_id == content_id:                      # cannot happen with sha1, but the apps never share them
        meta_id = app_guid(seed, "draft_meta_info.json:draft_id:2")
    folder.put_json("draft_meta_info.json", meta_info(
        spec, profile, media, draft_id=meta_id, name=name, title=title or name, draft_folder=draft_folder,
        duration=duration, created_us=created_us, modified_us=modified_us, materials_size=materials_size,
        subtitles=subtitle_entries(spec, subtitles, seed, created_us)))

    clash = set(folder.files) & set(folder.links)
    if clash:
        raise ValueError(f"asset paths collide with draft files: {', '.join(sorted(clash))}")

    target_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = target_dir.with_name(f".{target_dir.name}.writing-{secrets.token_hex(4)}")
    try:
        staging.mkdir()
        folder.root = staging
        folder.flush()
        swap_in(staging, target_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder.written()
