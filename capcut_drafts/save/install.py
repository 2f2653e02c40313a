"""Install a written draft folder into a drafts folder on this machine and register it in the
app's `root_meta_info.json`, as CapCut Windows does (reference fact 6).

Optional: the save job installs only into folders listed in `draft_install_dirs`. Close the app
before installing: it rewrites root_meta_info.json from memory.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from filelock import FileLock

from capcut_drafts.model.profiles import PROFILES, Profile
from capcut_drafts.save import paths
from capcut_drafts.save.folder_writer import dumps_sidecar, int_or_zero, link_or_copy, load_spec, swap_in

ROOT_META = "root_meta_info.json"


def install_into(drafts_root: Path, folder: Path, *, name: str, content: dict, profile: Profile) -> Path:
    """Copy a written draft folder into `drafts_root/<name>` and register it in
    `drafts_root/root_meta_info.json`. Returns the installed folder.

    `drafts_root` must be an existing folder; `name` must be a plain folder name. An existing
    draft of that name is replaced, other registry entries are kept as they are, and the registry
    is rewritten atomically (temporary file + rename). The installed meta's draft_fold_path and
    draft_root_path point at the installed copy; material paths are not rewritten, so write the
    folder with `draft_folder` = this drafts root when installing. Only real folders and regular
    files are copied: symbolic links (and FIFOs, devices) in the folder are left out, a linked
    folder is refused. ValueError says what is wrong.
    """
    root, dest = _destination(drafts_root, folder, name)
    spec = load_spec(profile)
    if "root_meta_entry" not in spec:
        spec = {**spec, "root_meta_entry": load_spec(PROFILES["capcut"])["root_meta_entry"]}
    fold, root_text = _local_style(dest), _local_style(root)

    staging = root / f".{name}.installing-{secrets.token_hex(4)}"
    try:
        shutil.copytree(folder, staging, copy_function=link_or_copy, ignore=_links_and_specials)
        meta = _point_meta_at(staging, fold, paths.root_path(root_text, profile.name))
        json_file = next((n for n in ("draft_content.json", "draft_info.json") if (staging / n).is_file()),
                         "draft_content.json")
        entry = root_meta_entry(spec, meta, fold=fold, root=root_text, json_file=json_file,
                                duration=int_or_zero(content.get("duration")))
        with _root_meta_lock(root):
            registry_path = root / ROOT_META
            registry = _read_registry(registry_path, root_text)
            swap_in(staging, dest)
            _register(registry, entry)
            _atomic_write(registry_path, json.dumps(registry, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8"))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _destination(drafts_root: Path, folder: Path, name: str) -> tuple[Path, Path]:
    """(resolved drafts root, installed folder) after checking the name and both folders."""
    paths.check_name(name)
    drafts_root = Path(drafts_root)
    if not drafts_root.is_dir():
        raise ValueError(f"drafts folder {drafts_root} does not exist or is not a folder")
    root = drafts_root.resolve(strict=True)
    folder = Path(folder)
    if folder.is_symlink():
        raise ValueError(f"{folder} is a symbolic link; refusing to copy what it points at")
    if not (folder / "draft_meta_info.json").is_file():
        raise ValueError(f"{folder} is not a written draft folder (no draft_meta_info.json)")
    dest = root / name
    if dest.resolve().parent != root:
        raise ValueError(f"draft name '{name}' would leave the drafts folder")
    if dest.is_symlink():
        raise ValueError(f"{dest} is a symbolic link; refusing to replace it")
    if folder.resolve() == dest.resolve():
        raise ValueError("the draft folder is already in the drafts folder")
    return root, dest


def _point_meta_at(staging: Path, fold: str, root_text: str) -> dict:
    """Rewrite the copy's draft_meta_info.json to name its installed place; returns the meta.
    `root_text` is in the profile's `draft_root_path` form (paths.root_path); root_meta_info.json
    keeps forward slashes for it, as the CapCut excerpt shows."""
    meta_path = staging / "draft_meta_info.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["draft_fold_path"], meta["draft_root_path"] = fold, root_text
    meta_path.write_bytes(dumps_sidecar(meta))
    return meta


def _register(registry: dict, entry: dict) -> None:
    """Put `entry` first in the registry, replacing entries of the same folder or draft id; the
    draft counter grows only for a new draft."""
    store = registry["all_draft_store"]
    same = [i for i, e in enumerate(store) if isinstance(e, dict) and (
        e.get("draft_fold_path") == entry["draft_fold_path"]
        or (entry["draft_id"] and e.get("draft_id") == entry["draft_id"]))]
    for i in reversed(same):
        del store[i]
    store.insert(0, entry)                 # the app lists the most recently modified first
    if not same:
        registry["draft_ids"] = int_or_zero(registry.get("draft_ids")) + 1


def root_meta_entry(spec: dict, meta: dict, *, fold: str, root: str, json_file: str, duration: int) -> dict:
    sep = "\\" if os.name == "nt" else "/"      # CapCut Windows: "<fold>\\draft_cover.jpg"
    entry = copy.deepcopy(spec["root_meta_entry"])
    entry.update(
        draft_cover=f"{fold}{sep}draft_cover.jpg", draft_fold_path=fold, draft_id=meta.get("draft_id", ""),
        draft_json_file=f"{fold}{sep}{json_file}", draft_name=meta.get("draft_name", ""),
        draft_new_version=meta.get("draft_new_version", ""), draft_root_path=root,
        draft_timeline_materials_size=meta.get("draft_timeline_materials_size_", 0),
        tm_draft_create=meta.get("tm_draft_create", 0), tm_draft_modified=meta.get("tm_draft_modified", 0),
        tm_duration=duration,
    )
    return entry


def _root_meta_lock(drafts_root: Path) -> FileLock:
    """Serialises read-modify-write of root_meta_info.json between the threads and processes of
    this machine. The lock file lives in the temporary folder, not in the folder the app reads."""
    key = hashlib.sha1(str(drafts_root).encode("utf-8")).hexdigest()[:16]
    return FileLock(Path(tempfile.gettempdir()) / f"capcut-root-meta-{key}.lock")


def _local_style(path: Path) -> str:
    """How CapCut writes a folder of this machine in root_meta_info.json: forward slashes."""
    return path.as_posix()


def _read_registry(path: Path, root_text: str) -> dict:
    if not path.exists():
        return {"all_draft_store": [], "draft_ids": 0, "root_path": root_text}
    try:
        registry = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); it was left untouched — repair or remove it "
                         "in the app first") from None
    if not isinstance(registry, dict) or not isinstance(registry.get("all_draft_store", []), list):
        raise ValueError(f"{path} does not look like CapCut's draft registry; it was left untouched")
    registry.setdefault("all_draft_store", [])
    registry.setdefault("draft_ids", len(registry["all_draft_store"]))
    registry.setdefault("root_path", root_text)
    return registry


def _links_and_specials(folder: str, names: list[str]) -> set[str]:
    """copytree's `ignore`: the names in `folder` that are neither a real folder nor a regular file
    (symbolic links, FIFOs, devices), so a copy never reaches outside the folder nor blocks."""
    skipped = set()
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            skipped.add(name)
    return skipped


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
