"""Point a saved draft folder's paths at another drafts folder while its zip streams out.

``GET /drafts/<id>.zip?draft_folder=<folder>`` (capcut_drafts/web/app.py) gives the zip stream
(delivery.stream_zip) a `Relocation`. Each JSON member of the saved folder (the content and its
mirrors, the Timelines/ copies, draft_meta_info.json, the sidecars) is read whole, rewritten and
written; every other member (the media under ``assets/``, ``draft_settings``) streams through
unchanged in chunks. Memory is bounded by the largest JSON file, never by the media.

Why: CapCut 7.9–9.1 write absolute ``C:/…`` paths (paths.py), and a save made without
``draft_folder`` can only write the draft-folder token. The user names the folder when
downloading instead of when saving; the stored folder stays as it was.

What moves: every string that is, or starts with (followed by a separator), the draft-folder
token or the folder the save wrote (the stored meta's ``draft_fold_path``); meta ``file_Path``
values relative to the draft (``./assets/…``); and the meta's ``draft_fold_path`` and
``draft_root_path``. They become ``<draft_folder>/<folder name>/…`` as the apps write them
(paths.join, paths.root_path). Effect resource paths in the app's cache
(capcut_drafts/export/resource_paths.py) move from the cache beside the folder saved for to the
one beside the new folder, or become ``""`` when the new folder is not the app's own. A save
without a folder lists no media in the CapCut agency config (the apps never list token paths
there); the relocated one lists them as a save with a folder does.

The result equals what a save for that folder writes, except: the ``local_material_id`` values
(derived from the stored paths); the main file's names (a folder saved without ``draft_folder``
keeps both ``draft_content.json`` and ``draft_info.json``; jianying_pro_10 only the first); and
the effect cache paths a save without a folder could not derive, which stay ``""`` (the apps fetch
a missing resource again by its id).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from capcut_drafts.export import resource_paths
from capcut_drafts.model.profiles import PROFILES, Profile
from capcut_drafts.save import folder_writer, paths

REWRITTEN_SUFFIXES = (".json", ".tmp", ".bak")     # the JSON files of a draft folder
AGENCY_FILE = "draft_agency_config.json"
_SEPARATORS = re.compile(r"[\\/]+")


@dataclass(frozen=True)
class Relocation:
    """How the paths of one saved folder move to another drafts folder (made by `plan`)."""
    old_folds: tuple[str, ...]      # what the stored paths start with: the token, the folder saved for
    new_fold: str                   # <draft_folder>/<folder name>, as the apps write it
    new_root: str                   # draft_root_path, in the form the profile's app writes it
    sep: str                        # separator of the new paths
    old_cache: str | None = None    # the app cache (<User Data>/Cache) of the folder saved for, if known
    new_cache: str | None = None    # the app cache of the new folder, if known
    agency_item: dict | None = None  # the profile's agency list entry (CapCut only)
    imported: tuple[str, ...] = field(default=())    # new paths of the imported photos and videos

    def wants(self, name: str) -> bool:
        """Whether the zip member `name` ('/'-separated) is read and rewritten; the rest streams."""
        return not name.startswith("assets/") and name.endswith(REWRITTEN_SUFFIXES)

    def rewrite(self, name: str, data: bytes) -> bytes:
        """The member's bytes with its paths moved; unchanged bytes when nothing moved or it is no
        JSON (an empty sidecar). Written as the apps write JSON: compact, keys in the order read."""
        try:
            doc = json.loads(data)
        except ValueError:
            return data
        moved = self._move(doc)
        if name == AGENCY_FILE:
            moved = self._list_imported(moved)
        if moved == doc:
            return data
        return json.dumps(moved, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _move(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self._move(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._move(v, key) for v in value]
        if isinstance(value, str):
            return self.path(key, value)
        return value

    def path(self, key: str, text: str) -> str:
        """The new value of the string `text` found under `key`."""
        if key == "draft_fold_path":
            return self.new_fold
        if key == "draft_root_path":
            return self.new_root
        if key == "file_Path" and text.startswith("./"):
            return self._under(text[2:])
        for old in self.old_folds:
            if text.startswith(old) and text[len(old):len(old) + 1] in ("", "/", "\\"):
                return self._under(text[len(old):])
        if self.old_cache and text.startswith(self.old_cache + "/"):
            return self.new_cache + text[len(self.old_cache):] if self.new_cache else ""
        return text

    def _under(self, rest: str) -> str:
        return self.new_fold + "".join(self.sep + part for part in _SEPARATORS.split(rest) if part)

    def _list_imported(self, config: Any) -> Any:
        if self.agency_item is None or not isinstance(config, dict) or config.get("marterials") != []:
            return config
        entries = [dict(sorted({**self.agency_item, "source_path": p}.items())) for p in self.imported]
        return {**config, "marterials": entries}


def plan(meta_bytes: bytes, folder_name: str, draft_folder: str) -> Relocation:
    """The relocation of the saved folder named `folder_name` (whose draft_meta_info.json holds
    `meta_bytes`) into `draft_folder`. ValueError (from paths) when `draft_folder` is not valid."""
    paths.validate_draft_folder(draft_folder)
    meta = _parsed_meta(meta_bytes)
    profile = profile_of(meta)
    saved_for, saved_root = meta.get("draft_fold_path"), meta.get("draft_root_path")
    old = (paths.DRAFT_PATH_PLACEHOLDER, *([saved_for] if isinstance(saved_for, str) and saved_for else []))
    reloc = Relocation(old_folds=old, new_fold=paths.join(draft_folder, folder_name),
                       new_root=paths.root_path(draft_folder, profile.name if profile else ""),
                       sep=paths.app_separator(draft_folder),
                       old_cache=resource_paths.cache_root(saved_root if isinstance(saved_root, str) else None),
                       new_cache=resource_paths.cache_root(draft_folder))
    if profile is None:
        return reloc
    item = folder_writer.load_spec(profile).get("agency_item")
    imported = tuple(reloc.path("file_Path", e["file_Path"]) for e in _imported_media(meta))
    return replace(reloc, agency_item=item, imported=imported)


def profile_of(meta: dict) -> Profile | None:
    """The profile a saved meta was written for, by its `draft_new_version` (the JianYing
    profiles share one, and write paths alike); None when no profile has it."""
    version = meta.get("draft_new_version")
    return next((p for p in PROFILES.values() if p.new_version == version), None)


def _parsed_meta(data: bytes) -> dict:
    try:
        meta = json.loads(data)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _imported_media(meta: dict) -> list[dict]:
    """The meta's imported photos and videos (type 0, not music), in order: what the agency lists."""
    groups = meta.get("draft_materials")
    entries = [e for g in groups if isinstance(g, dict) and g.get("type") == 0
               for e in (g.get("value") or ())] if isinstance(groups, list) else []
    return [e for e in entries if isinstance(e, dict) and e.get("metetype") != "music"
            and isinstance(e.get("file_Path"), str)]
