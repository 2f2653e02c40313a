"""Where the client's app keeps a downloaded effect resource: the `path` of transitions, animations,
masks, filters and effects, written as the apps write it where it can be derived without a download.

The apps write, for every effect-platform resource a draft uses, the file in their own cache:
``<User Data>/Cache/effect/<folder>/<md5>`` (stickers: ``Cache/artistEffect/<sticker id>/<md5>``),
with forward slashes on Windows too, e.g. CapCut 8.9.1
``C:/Users/Acer/AppData/Local/CapCut/User Data/Cache/effect/6798320902548230669/c6f05ce62355b537be762550040bfc08``.
A missing file is fetched again by resource id when the draft opens (every reference draft carries
another machine's cache paths), so the path is fidelity, not function. Three parts:

* ``<User Data>``: the sibling of the drafts folder when `draft_folder` is the app's own
  ``…/User Data/Projects/com.lveditor.draft``; with any other folder, or none, it is not known and
  the path stays ``""``.
* ``<folder>`` and ``<md5>``, per app, only where the references confirm the catalogue's values:

  - JianYing: pyJianYingDraft's tables give the app's numeric effect id and md5 — 5.5 writes
    ``effect/23302677/82992a12…`` for 跳转闭幕 and 5.9 ``effect/680643/738c6740…`` for 荡秋千, both
    exactly the table's; 5.4.5 matches the folder (624705 渐显, 624707 渐隐, 636071 线性) with an older
    md5. Every JianYing resource (transitions, animations, masks, effects, filters) gets it.
  - CapCut: transitions and animations from our catalogue are cached under their resource id with the
    catalogue md5 — 7.7 Open ``effect/6750893890712113677/d5f097e7…``, 8.6 Dissolve
    ``…/6724846004274729480/986161b2…``, 8.9 and 9.1 Fade Out ``…/6798320902548230669/c6f05ce6…``, 9.1
    Fade In ``…/6798320778182922760/883ad04b…``. Not derivable, so ``""``: masks (8.6 caches Circle,
    resource 7374021188315517456, under ``effect/1068046525/``), scene and character effects (9.1
    caches Retro Film under ``effect/11327669/``, 6.2 Disco Ball 1 under a resource id the catalogue
    does not have), filters (their ids come from JianYing's table; CapCut's md5 for them is unknown —
    the two apps' md5s differ for the same resource, e.g. Fade In 883ad04b… vs 渐显 ee269b77…).
* Stickers: the client sends only the sticker id; the md5 (and the name) come from the effect
  platform, so sticker `path` and `name` stay ``""``.
"""
from __future__ import annotations

import re

from capcut_drafts.model.catalog import Entry

_DRAFTS_TAIL = ("user data", "projects", "com.lveditor.draft")
_CAPCUT_CATEGORIES = frozenset({"transition", "intro", "outro", "combo", "text_intro", "text_outro", "text_loop"})


def cache_root(draft_folder: str | None) -> str | None:
    """``<User Data>/Cache`` of the app whose drafts folder is `draft_folder`, in the apps' forward-slash
    form; None unless the folder ends in ``User Data/Projects/com.lveditor.draft`` (any case, any
    separators)."""
    if not draft_folder:
        return None
    text = draft_folder.strip()
    unc = text.startswith(("\\\\", "//"))
    parts = [p for p in re.split(r"[\\/]+", text) if p and p != "."]
    if len(parts) < 4 or tuple(p.lower() for p in parts[-3:]) != _DRAFTS_TAIL:
        return None
    head = parts[:-2]                                   # …/User Data
    if unc:
        return "//" + "/".join(head) + "/Cache"
    if re.fullmatch(r"[A-Za-z]:", head[0]):
        return "/".join(head) + "/Cache"
    return "/" + "/".join(head) + "/Cache"


def resource_path(root: str | None, app: str, category: str, entry: Entry) -> str:
    """The cache path the app writes for catalogue `entry` of `category`, or "" (module doc)."""
    if root is None or not entry.md5:
        return ""
    if app == "jianying":
        folder = entry.effect_id if entry.library_member is not None else ""
    else:
        folder = entry.resource_id if entry.library_member is None and category in _CAPCUT_CATEGORIES else ""
    if not folder:
        return ""
    return f"{root}/effect/{folder}/{entry.md5}"
