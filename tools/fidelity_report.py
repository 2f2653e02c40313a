"""Fidelity report: our saved draft folders against the drafts the apps wrote themselves.

    .venv/bin/python tools/fidelity_report.py [--ref /work/shared/reference] [--out /work/fidelity_report.md]

For each profile the every-route draft (`build_every_route_draft`) is built through the routes with
media served from 127.0.0.1, saved once with a Windows `draft_folder` and once without, and every
JSON file of the saved folder is compared with the closest app-written reference
(`REFERENCES`, the choice explained per profile). tests/export/test_fidelity.py runs the same
comparison and fails on any difference its allow-list does not name.

How files are compared (one mechanism for all of them):

* A file is cut into *objects*, each of a *kind*: the document itself, each material by
  bucket and `type`, each track by `type` and `flag`, each segment by its track's type
  (`content_objects`); `draft_meta_info.json` into the document and its imported-media entries by
  `metetype` (`meta_objects`); any other file is one object. Lists cut out are left empty in
  their parent, so the parent still shows that the key is a list.
* A kind of ours is compared with the instances of that kind in the first reference of the
  profile's chain that has it (key paths and types), and with those of every reference in the
  chain (enumerated values: a value a neighbouring version writes is a value the app writes).
  When no reference has the kind, its group stands in (any material of the bucket, any track of
  the type), so e.g. a track flag the apps never write shows up as a value difference; with
  nothing at all, the kind is reported as having no reference. A file no reference folder has is
  reported likewise, and a file of the profile's layout folder ours lacks as missing.
* The instances of a kind are pooled into *facts* per key path (`a.b`, `a[].c`; `{}` for the
  items of an id-keyed map, `(json)` inside a string that holds a JSON object): the set of value
  types (`null bool int float str list dict`; for strings the path style or JSON form, and for
  numbers whether a float is whole, see `value_type` and `_type_gap`) and, for enumerated keys
  (`ENUMERATED` and every boolean), the set of values.
* A difference is a key path only one side has (its parent exists on both sides; the items of
  lists and maps only when both have some), a type ours writes that the reference never does, or
  an enumerated value ours writes that the reference never does.
"""
from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import logging
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = Path("/work/shared/reference")
DEFAULT_OUT = Path("/work/fidelity_report.md")
WIN_FOLDER = r"C:\Users\me\AppData\Local\CapCut\User Data\Projects\com.lveditor.draft"
PROFILE_NAMES = ("capcut", "capcut_legacy", "jianying", "jianying_pro_10")
NO_FOLDER = "[no draft_folder] "     # prefix of differences only the save without draft_folder has

Json = Any
KeyPath = tuple[str, ...]     # ("materials", "videos"), ("styles", "[]", "size"), …


# ---------------------------------------------------------------------------------------------
# The references per profile
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileReferences:
    """Where each profile's files are compared, paths relative to the reference folder.

    `content`: app-written draft files in order of preference; each kind of object is compared
    with the first that has it. `folders`: reference folders, in order of preference, for
    draft_meta_info.json, template.tmp and the sidecars. `layout`: the folder whose file list
    ours should cover. `why`: the choice, for the report.
    """
    app: str
    content: tuple[str, ...]
    folders: tuple[str, ...]
    layout: str
    why: str


CC89 = "drafts/capcut-8.9-win-donor-282new"
JY59_TEMPLATE = "templates/capcutapi-template_jianying"
JIANYING_CONTENT = (
    "drafts/jianying-5.9-win-pyjydraft-web/draft_content.json",
    f"{JY59_TEMPLATE}/draft_info.json",
    "drafts/jianying-5.6-win-draftdemo-t1/draft_content.json",
    "drafts/jianying-5.6-win-draftdemo-t2/draft_content.json",
    "drafts/jianying-5.5-win-draftdemo-normal/draft_content.json",
    "drafts/jianying-5.4.5beta-mac-mirage/draft_info.json",
)
JIANYING_FOLDERS = ("drafts/jianying-5.6-win-draftdemo-t1", "drafts/jianying-5.6-win-draftdemo-t2",
                    "drafts/jianying-5.5-win-draftdemo-normal", JY59_TEMPLATE)
JIANYING_WHY = (
    "JianYing 5.9 is the profile's version: the 5.9 Windows draft (pyjydraft-web: photos, group animations) "
    "first, then the empty 5.9 mac template (all 45 buckets), then the nearest older Windows drafts 5.6 and "
    "5.5 (audio, fades, meta entries) and last 5.4.5-beta mac, the only JianYing draft with texts, "
    "subtitles, stickers, masks and text effects. JianYing 6+ encrypts its drafts, so nothing newer exists.")

REFERENCES: dict[str, ProfileReferences] = {
    "capcut": ProfileReferences(
        app="CapCut 8.9.1 (Windows)",
        content=(f"{CC89}/draft_content.json",
                 "drafts/capcut-8.6-win-sanitized-masks-filters/draft_content.json",
                 "drafts/capcut-8.6-win-sanitized-stickers/draft_content.json",
                 "drafts/capcut-8.6-win-sanitized-transitions/draft_content.json",
                 "drafts/capcut-9.1-win-premiere/draft_content.json",
                 "drafts/capcut-9.1-win-pipeline-hybrid/fixtures/parity-gold/parity_gold_snap_full.json"),
        folders=(CC89, "drafts/capcut-8.1-win-quran-fotiha-timelines"),
        layout=CC89,
        why="capcut-8.9-win-donor-282new is the only complete folder written by the profile's own version "
            "(8.9.1 Windows, Timelines/ layout, stickers, transitions, audio, subtitles); the 8.6 sanitized "
            "fixtures add what it lacks (filter track and effects[filter], common_mask, sticker animations); "
            "9.1 (premiere: pure app, 8.9.1 → 9.1; then the pipeline hybrid: scene effect track, canvas_blur) "
            "only for kinds neither has. The 8.1.1 Timelines/ folder stands in for what 8.9's folder lacks "
            "(a photo entry in draft_meta_info.json)."),
    "capcut_legacy": ProfileReferences(
        app="CapCut 6.5 (Windows)",
        content=("templates/capcutapi-template/template-2.tmp",
                 "drafts/capcut-6.2-win-baby-starfish/draft_content.json",
                 "drafts/capcut-6.3-mac-segments2jy/template-2.tmp",
                 "drafts/capcut-6.9-win-rolik/draft_content.json"),
        folders=("templates/capcutapi-template", "drafts/capcut-6.2-win-baby-starfish",
                 "drafts/capcut-6.3-mac-segments2jy", "drafts/capcut-6.9-win-rolik"),
        layout="drafts/capcut-6.2-win-baby-starfish",
        why="The empty CapCut 6.5 mac template (CapCutAPI's, app-written; its compact template-2.tmp) is the "
            "profile's exact version and gives the document and its 48 buckets; the 6.x drafts give the "
            "objects it has none of, nearest first: 6.2 Windows (video, audio, subtitles, scene effects; also "
            "the folder layout), 6.3 mac, 6.9 Windows. Not the 6.9 generator-then-app hybrid: its text content "
            "JSON is still the generator's. Folder files likewise: the 6.5 template's first (its key sets), then "
            "6.2's (meta entries, Windows-only files)."),
    "jianying": ProfileReferences(
        app="JianYing 5.9 (Windows)", content=JIANYING_CONTENT, folders=JIANYING_FOLDERS, layout=JY59_TEMPLATE,
        why=JIANYING_WHY + " Folder files: the 5.6 and 5.5 Windows folders first (their draft_meta_info.json has "
            "the 5.9 template's keys and the Windows path forms), then the 5.9 template folder."),
    "jianying_pro_10": ProfileReferences(
        app="JianYing 5.9 content in the 10.x Timelines/ layout (Windows)", content=JIANYING_CONTENT,
        folders=(*JIANYING_FOLDERS, "templates/vectcut-template_jianying_10_2"),
        layout="templates/vectcut-template_jianying_10_2",
        why=JIANYING_WHY + " Folder files as for jianying; the Timelines/ files only VectCutAPI's 10.2 template "
            "has (synthetic: its layout is the model, its values are stubs)."),
}


# ---------------------------------------------------------------------------------------------
# Enumerated keys: keys whose reference values come from a small set, so a value the apps never
# write is a difference. Each maps the value (and the object's context) to the class compared.
# Booleans are always enumerated.
# ---------------------------------------------------------------------------------------------


def _as_is(value: Json, ctx: dict) -> str:
    return json.dumps(value, ensure_ascii=False)


def _render_index(value: Json, ctx: dict) -> str:
    """The layer band: 0 (audio, main video), 1..999 (overlay video), 10000+n, 11000+n, 14000+n…"""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return _as_is(value, ctx)
    return "1..999" if value < 1000 else f"{value // 1000 * 1000}+n"


def _track_render_index(value: Json, ctx: dict) -> str:
    """The apps write the track's position in `tracks` (JianYing 5.x: 0 on audio tracks)."""
    if value == ctx.get("track_position"):
        return "the track's position"
    return _as_is(value, ctx)


ENUMERATED: dict[str, Callable[[Json, dict], str]] = {
    "type": _as_is, "flag": _as_is, "metetype": _as_is, "is_overlap": _as_is,
    "render_index": _render_index, "track_render_index": _track_render_index,
    "os": _as_is, "app_id": _as_is, "app_source": _as_is, "app_version": _as_is,
    "version": _as_is, "new_version": _as_is, "draft_new_version": _as_is,
}
ENUMERATED_PREFIXES = ("enable_",)


def enumerated(key: str, value: Json, ctx: dict) -> str | None:
    """The class of an enumerated value, None for a key that is not enumerated."""
    if isinstance(value, bool):
        return _as_is(value, ctx)
    normalise = ENUMERATED.get(key)
    if normalise is None and key.startswith(ENUMERATED_PREFIXES):
        normalise = _as_is
    return None if normalise is None else normalise(value, ctx)


# ---------------------------------------------------------------------------------------------
# Facts: value types and enumerated values per key path, pooled over the instances of a kind
# ---------------------------------------------------------------------------------------------

ITEMS, MAP_ITEMS, JSON_TEXT = "[]", "{}", "(json)"
_ID_KEY = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z"
                     r"|[0-9a-f]{32}\Z|\d{6,}\Z")
_PATH_STYLES = (
    (re.compile(r"##_draftpath_placeholder_"), "draft-folder token"),
    (re.compile(r"https?://", re.I), "url"),
    (re.compile(r"\\\\[^\\]"), "UNC path"),
    (re.compile(r"[A-Za-z]:\\"), r"C:\ path"),
    (re.compile(r"[A-Za-z]:/"), "C:/ path"),
    (re.compile(r"/(?!/)\S"), "/ path"),
    (re.compile(r"\./|\.\\"), "./ path"),
)


def value_type(value: Json) -> str:
    """The JSON type; a string that is a path, URL or JSON object says which (an empty string
    and text are both plain `str`: which one a key holds is content)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        if value.startswith("{") and isinstance(_json_object(value), dict):
            return "str(json)"
        for pattern, style in _PATH_STYLES:
            if pattern.match(value):
                return f"str({style})"
        return "str"
    if isinstance(value, float) and not value.is_integer():
        return FRACTION
    return {bool: "bool", int: "int", float: "float", list: "list", dict: "dict"}[type(value)]


FRACTION = "float(fraction)"


def _type_gap(ours: set[str], ref: set[str]) -> set[str]:
    """The types ours writes and the reference does not. Every writer puts a non-whole number as a
    float, so only whole numbers tell int (1) from float (1.0): a fraction on either side matches
    any number, and a reference with fractions only says nothing about how whole numbers look."""
    gap = ours - ref
    if ref & {"int", "float", FRACTION}:
        gap -= {FRACTION}
    if FRACTION in ref and not ref & {"int", "float"}:
        gap -= {"int", "float"}
    return gap


def _json_object(text: str) -> Json:
    try:
        return json.loads(text)
    except ValueError:
        return None


@dataclass
class Facts:
    types: dict[KeyPath, set[str]] = field(default_factory=lambda: defaultdict(set))
    values: dict[KeyPath, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, value: Json, ctx: dict, path: KeyPath = ()) -> None:
        """Record `value` at `path`, and everything below it."""
        kind = value_type(value)
        self.types[path].add(kind)
        key = next((p for p in reversed(path) if p not in (ITEMS, MAP_ITEMS, JSON_TEXT)), "")
        enum = enumerated(key, value, ctx)
        if enum is not None:
            self.values[path].add(enum)
        if isinstance(value, dict):
            is_map = bool(value) and all(_ID_KEY.match(k) for k in value)
            for k, v in value.items():
                self.add(v, ctx, (*path, MAP_ITEMS if is_map else k))
        elif isinstance(value, list):
            for item in value:
                self.add(item, ctx, (*path, ITEMS))
        elif kind == "str(json)":
            self.add(_json_object(value), ctx, (*path, JSON_TEXT))


def show_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += part if part in (ITEMS, MAP_ITEMS, JSON_TEXT) or not out else "." + part
    return out or "(the object)"


def _reportable(path: KeyPath, other: Facts) -> bool:
    """A key only one side has counts when its parent is a dict on the other side too (list and
    map items, and the inside of JSON strings, only matter when both sides have some)."""
    if not path or path[-1] in (ITEMS, MAP_ITEMS, JSON_TEXT):
        return False
    return "dict" in other.types.get(path[:-1], ())


@dataclass(frozen=True)
class Finding:
    path: str
    what: str            # "extra key", "missing key", "type", "value"
    ours: str
    reference: str


def compare_facts(ours: Facts, ref: Facts, ref_values: Facts | None = None) -> list[Finding]:
    """Key paths, types and enumerated values of `ours` against `ref`; the values ours may use come
    from `ref_values` when given (every reference of the chain, see compare_kinds)."""
    allowed_values = (ref_values or ref).values
    found = []
    for path in ours.types.keys() - ref.types.keys():
        if _reportable(path, ref):
            found.append(Finding(show_path(path), "extra key", "/".join(sorted(ours.types[path])), "absent"))
    for path in ref.types.keys() - ours.types.keys():
        if _reportable(path, ours):
            found.append(Finding(show_path(path), "missing key", "absent", "/".join(sorted(ref.types[path]))))
    for path in ours.types.keys() & ref.types.keys():
        if _type_gap(ours.types[path], ref.types[path]):
            found.append(Finding(show_path(path), "type", "/".join(sorted(ours.types[path])),
                                 "/".join(sorted(ref.types[path]))))
        elif allowed_values.get(path) and ours.values.get(path, set()) - allowed_values[path]:
            found.append(Finding(show_path(path), "value", ", ".join(sorted(ours.values[path])),
                                 ", ".join(sorted(allowed_values[path]))))
    return sorted(found, key=lambda f: (f.path, f.what))


# ---------------------------------------------------------------------------------------------
# Cutting files into objects of a kind
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    group: str           # what the fallback compares with: "materials.videos", "tracks[text]", …
    sub: str = ""        # the type within the group ("video", "flag=1"), "" when the group has none

    def __str__(self) -> str:
        return f"{self.group}[{self.sub}]" if self.sub else self.group


@dataclass
class Obj:
    kind: Kind
    value: Json
    ctx: dict = field(default_factory=dict)


def _without(obj: dict, **empty: Json) -> dict:
    """A shallow copy with the given keys replaced (lists cut out are compared on their own)."""
    return {k: empty.get(k, v) for k, v in obj.items()}


def content_objects(doc: Json) -> Iterator[Obj]:
    """A draft content file: the document, each material, each track, each segment."""
    if not isinstance(doc, dict):
        yield Obj(Kind("document"), doc)
        return
    raw_materials, raw_tracks = doc.get("materials"), doc.get("tracks")
    materials: dict = raw_materials if isinstance(raw_materials, dict) else {}
    tracks: list = raw_tracks if isinstance(raw_tracks, list) else []
    top = dict(doc)
    if materials:
        top["materials"] = {bucket: [] for bucket in materials}
    if tracks:
        top["tracks"] = []
    yield Obj(Kind("document"), top)
    for bucket, items in materials.items():
        for item in items if isinstance(items, list) else ():
            sub = item.get("type") if isinstance(item, dict) else None
            yield Obj(Kind(f"materials.{bucket}", "" if sub is None else str(sub)), item)
    for position, track in enumerate(tracks):
        if not isinstance(track, dict):
            continue
        ttype = track.get("type")
        yield Obj(Kind(f"tracks[{ttype}]", f"flag={track.get('flag')}"), _without(track, segments=[]))
        for segment in track.get("segments") or ():
            yield Obj(Kind(f"segments[{ttype}]"), segment, {"track_position": position})


def meta_objects(doc: Json) -> Iterator[Obj]:
    """draft_meta_info.json: the document and each imported-media entry by metetype."""
    groups = doc.get("draft_materials") if isinstance(doc, dict) else None
    if not isinstance(groups, list):
        yield Obj(Kind("document"), doc)
        return
    emptied = [_without(g, value=[]) if isinstance(g, dict) else g for g in groups]
    yield Obj(Kind("document"), _without(doc, draft_materials=emptied))
    for group in groups:
        for entry in (group.get("value") or ()) if isinstance(group, dict) else ():
            sub = entry.get("metetype") if isinstance(entry, dict) else None
            yield Obj(Kind(f"draft_materials[type={group.get('type')}].value", str(sub or "")), entry)


def whole_file(doc: Json) -> Iterator[Obj]:
    yield Obj(Kind("file"), doc)


# ---------------------------------------------------------------------------------------------
# Reading files (ours and the references)
# ---------------------------------------------------------------------------------------------

CONTENT_NAMES = ("draft_content.json", "draft_info.json")
MAIN_ALIAS = {"draft_info.json": "draft_content.json"}      # the main file's name follows the OS (README fact 2)


def read_data(path: Path) -> Json:
    """A saved or reference file as JSON: empty files are null, draft_settings (INI) a dict of its
    [General] values (digits as int)."""
    raw = path.read_bytes()
    if not raw.strip():
        return None
    if path.name == "draft_settings":
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str            # type: ignore[assignment,method-assign]
        parser.read_string(raw.decode("utf-8-sig"))
        return {k: int(v) if v.isdigit() else v for k, v in parser["General"].items()}
    return json.loads(raw.decode("utf-8-sig"))


def splitter(rel: str) -> Callable[[Json], Iterator[Obj]]:
    name = rel.rsplit("/", 1)[-1]
    if is_content(rel) or name == "template.tmp":
        return content_objects
    if name == "draft_meta_info.json":
        return meta_objects
    return whole_file


def is_content(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name == "template-2.tmp" or name.removesuffix(".bak") in CONTENT_NAMES


def timeline_neutral(rel: str) -> str:
    """`rel` with the timeline folder (named by an id) written as Timelines/<TL>/."""
    return re.sub(r"^Timelines/(?!project\.json)[^/]+/", "Timelines/<TL>/", rel)


def normal_name(rel: str) -> str:
    """The name a file is matched by: Timelines/<id>/ as <TL>/, draft_info.json as draft_content.json."""
    head, _, name = timeline_neutral(rel).rpartition("/")
    bare = name.removesuffix(".bak")
    name = MAIN_ALIAS.get(bare, bare) + name[len(bare):]
    return f"{head}/{name}" if head else name


class ReferenceFolder:
    """A reference folder: its data files by normal name (from its manifest), read on demand."""

    def __init__(self, root: Path, rel: str):
        self.rel = rel
        self.dir = root / rel
        self.files: dict[str, Path] = {}
        for line in (self.dir / "_manifest.tsv").read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            path, _, _, status = line.split("\t")[:4]
            source = path
            if status.startswith("not copied: identical to "):
                source = status.removeprefix("not copied: identical to ").strip()
            if not (self.dir / source).is_file() or status.startswith("skipped"):
                continue
            self.files.setdefault(normal_name(path), self.dir / source)

    def find(self, rel: str) -> Path | None:
        """The file matching `rel`: the same normal name, else (template.tmp in a folder that kept only
        the timeline's) the same file name anywhere."""
        name = normal_name(rel)
        if name in self.files:
            return self.files[name]
        base = name.rsplit("/", 1)[-1]
        return next((p for n, p in self.files.items() if n.rsplit("/", 1)[-1] == base), None)


class References:
    """The reference folder, its files parsed once and cut into objects."""

    def __init__(self, root: Path):
        self.root = root
        self._objects: dict[Path, list[Obj]] = {}
        self._folders: dict[str, ReferenceFolder] = {}

    def folder(self, rel: str) -> ReferenceFolder:
        if rel not in self._folders:
            self._folders[rel] = ReferenceFolder(self.root, rel)
        return self._folders[rel]

    def objects(self, path: Path, split: Callable[[Json], Iterator[Obj]]) -> list[Obj]:
        if path not in self._objects:
            self._objects[path] = list(split(read_data(path)))
        return self._objects[path]

    def label(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix().removeprefix("drafts/")


# ---------------------------------------------------------------------------------------------
# Comparing a saved folder
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    file: str
    kind: str
    path: str
    what: str
    ours: str
    reference: str
    source: str = ""     # the reference file compared with (not part of the identity)

    @property
    def key(self) -> str:
        """The identity the allow-list names: where, what, ours and the reference's."""
        return f"{self.file} › {self.kind} › {self.path}: {self.what} (ours {self.ours}; reference {self.reference})"


Chain = list[tuple[str, list[Obj]]]      # (reference label, its objects), closest first


def compare_kinds(file: str, ours: list[Obj], chain: Chain) -> list[Difference]:
    """Each kind of `ours` against the first reference in `chain` with that kind (else with its
    group): key paths and types as that reference writes them, enumerated values as any reference
    of the chain writes them (a value a neighbouring version writes is a value the app writes)."""
    by_kind: dict[Kind, list[Obj]] = defaultdict(list)
    for obj in ours:
        by_kind[obj.kind].append(obj)
    found = []
    for kind, mine in by_kind.items():
        source, closest, everywhere = _references_for(kind, chain)
        if not closest:
            found.append(Difference(file, str(kind), "(the object)", "no reference", "present", "no such object"))
            continue
        for f in compare_facts(_facts(mine), _facts(closest), _facts(everywhere)):
            found.append(Difference(file, str(kind), f.path, f.what, f.ours, f.reference, source))
    return found


def _references_for(kind: Kind, chain: Chain) -> tuple[str, list[Obj], list[Obj]]:
    """The closest reference's label and instances of `kind`, and the instances in the whole chain;
    by group when no reference has the kind itself."""
    for match in (lambda k: k == kind, lambda k: k.group == kind.group):
        found = [(label, hits) for label, objects in chain if (hits := [o for o in objects if match(o.kind)])]
        if found:
            return found[0][0], found[0][1], [o for _, hits in found for o in hits]
    return "", [], []


def _facts(objects: list[Obj]) -> Facts:
    facts = Facts()
    for obj in objects:
        facts.add(obj.value, obj.ctx)
    return facts


def saved_files(folder: Path) -> dict[str, Path]:
    """The data files of a saved folder by relative path (media under assets/ left out), with the
    timeline folder written as Timelines/<TL>/."""
    out = {}
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not rel.startswith("assets/"):
            out[timeline_neutral(rel)] = path
    return dict(sorted(out.items(), key=lambda item: (item[0].count("/"), item[0])))    # root files first


def compare_folder(folder: Path, profile: str, refs: References) -> list[Difference]:
    """Every difference of a saved folder against the profile's references."""
    spec = REFERENCES[profile]
    files = saved_files(folder)
    found: list[Difference] = []
    compared: set[str] = set()
    for rel, path in files.items():
        digest = hashlib.sha1(path.read_bytes()).hexdigest()
        if is_content(rel) and digest in compared:
            continue                       # a byte-identical mirror of a content file compared already
        compared.add(digest)
        found += compare_file(rel, path, spec, refs)
    ours = {normal_name(rel) for rel in files}
    for name in sorted(set(refs.folder(spec.layout).files) - ours):
        found.append(Difference(name, "file", "(the file)", "missing file", "absent", "present"))
    return found


def compare_file(rel: str, path: Path, spec: ProfileReferences, refs: References) -> list[Difference]:
    """One saved file: content files against the profile's content chain, the others against the
    same file in each of its reference folders that has one."""
    ours = list(splitter(rel)(read_data(path)))
    if is_content(rel):
        return compare_kinds(rel, ours, [(refs.label(refs.root / c), refs.objects(refs.root / c, content_objects))
                                         for c in spec.content])
    found = (refs.folder(f).find(rel) for f in spec.folders)
    ref_paths = list(dict.fromkeys(p for p in found if p is not None))
    if not ref_paths:
        return [Difference(rel, "file", "(the file)", "no reference", "present", "no such file")]
    return compare_kinds(rel, ours, [(refs.label(p), refs.objects(p, splitter(rel))) for p in ref_paths])


# ---------------------------------------------------------------------------------------------
# Building and saving the every-route draft
# ---------------------------------------------------------------------------------------------


class SaveService(Protocol):
    """What the build needs of tests/helpers/save.py's Service."""

    def draft(self, profile: str = ..., **size: int) -> str: ...
    def add(self, route: str, draft_id: str, **body: Any) -> dict: ...
    def saved(self, draft_id: str, **body: Any) -> dict: ...
    def folder(self, draft_id: str) -> Path: ...


MEDIA = {"video": "v1.mp4", "audio": "a.mp3", "image": "i.png"}
NAMES = {   # catalogue names per family: CapCut English, JianYing Chinese
    False: dict(transition="Dissolve", mask="Circle", intro="Fade_In", text_intro="Fade_In", text_outro="Fade_Out",
                audio_effect="Big_House", effect="Blur"),
    True: dict(transition="上移", mask="圆形", intro="动感放大", text_intro="冲屏位移", text_outro="右上弹出",
               audio_effect="回音", effect="_1998"),
}
SRT = "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:04,000\nWorld\n"


def build_every_route_draft(svc: SaveService, url: Callable[[str], str], profile: str) -> str:
    """One of each: video with transition, mask, filter, blur, intro and keyframes; image; audio
    with an effect; styled text with in/out animations; SRT subtitles; scene effect; filter; sticker."""
    n = NAMES[profile.startswith("jianying")]
    d = svc.draft(profile)
    svc.add("video", d, video_url=url(MEDIA["video"]), start=0, end=2, track_name="video_main",
            transition=n["transition"], transition_duration=0.5, mask_type=n["mask"], filter_type="ABG",
            filter_intensity=80, background_blur=2, intro_animation=n["intro"])
    svc.add("image", d, image_url=url(MEDIA["image"]), start=2, end=4, track_name="video_main")
    svc.add("audio", d, audio_url=url(MEDIA["audio"]), start=0, end=4, track_name="audio_main",
            effect_type=n["audio_effect"], effect_params=[50])
    svc.add("text", d, text="Hello styled world", start=0, end=3, track_name="title", font_color="#FFD700",
            text_styles=[{"start": 0, "end": 5, "style": {"size": 12, "bold": True, "color": "#00FF00"},
                          "border": {"width": 30, "color": "#000000"}}],
            intro_animation=n["text_intro"], outro_animation=n["text_outro"])
    svc.add("subtitle", d, srt=SRT)
    svc.add("effect", d, effect_type=n["effect"], start=0, end=2)
    svc.add("filter", d, filter_type="ABG", start=0, end=3)
    svc.add("sticker", d, sticker_id="7226264888031694091", start=1, end=3)
    svc.add("video_keyframe", d, track_name="video_main", property_types=["alpha", "scale_x", "position_y"],
            times=[0, 1, 1.5], values=["1.0", "1.5", "0.2"])
    return d


def make_media(directory: Path) -> None:
    """The three small files the draft uses (a 3 s MP4 with sound, a 6 s MP3, a PNG)."""
    from helpers.media import make_audio, make_image, make_video
    make_video(directory / MEDIA["video"], seconds=3, size=(64, 48))
    make_audio(directory / MEDIA["audio"], seconds=6)
    make_image(directory / MEDIA["image"], size=(64, 48))


def profile_differences(svc: SaveService, url: Callable[[str], str], profile: str,
                        refs: References) -> list[Difference]:
    """Build and save the draft twice (Windows draft_folder, then none) and compare both folders; the
    differences of the second save that the first has not are prefixed with NO_FOLDER."""
    d = build_every_route_draft(svc, url, profile)
    svc.saved(d, draft_folder=WIN_FOLDER)
    with_folder = compare_folder(svc.folder(d), profile, refs)
    svc.saved(d)
    keys = {x.key for x in with_folder}
    without = [x for x in compare_folder(svc.folder(d), profile, refs) if x.key not in keys]
    return with_folder + [Difference(x.file, x.kind, x.path, NO_FOLDER + x.what, x.ours, x.reference, x.source)
                          for x in without]


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

EFFECT_BUCKETS = tuple(f"materials.{bucket}" for bucket in (
    "effects", "video_effects", "audio_effects", "transitions", "stickers", "common_mask", "masks",
    "material_animations"))
TOPICS: tuple[tuple[str, Callable[[Difference], bool]], ...] = (   # presentation only: the first that fits
    ("layering (render_index, track_render_index, flag)",
     lambda x: x.path.endswith(("render_index", "flag"))),
    ("has_audio", lambda x: "has_audio" in x.path),
    ("effect resources and their paths", lambda x: x.kind.startswith(EFFECT_BUCKETS)),
    ("paths", lambda x: "path" in x.path.lower() or any(s in x.ours + x.reference for s in ("path", "token", "url"))),
    ("small value types (int/float/null)", lambda x: x.what.endswith("type")),
    ("text styles (the content JSON of texts)", lambda x: "content(json)" in x.path),
    ("subtitles", lambda x: "subtitle" in x.kind or "subtitle" in x.path or "type=2" in x.kind),
    ("files", lambda x: x.kind == "file" and x.what in ("missing file", "no reference")),
)


def topic_of(diff: Difference) -> str:
    return next((name for name, test in TOPICS if test(diff)), "other")


def render_profile(profile: str, diffs: list[Difference]) -> list[str]:
    spec = REFERENCES[profile]
    lines = [f"## {profile} — {spec.app}", "", f"**References.** {spec.why}", "",
             "Content chain: " + ", ".join(f"`{c.removeprefix('drafts/')}`" for c in spec.content) + ".  ",
             "Folder files: " + ", ".join(f"`{c.removeprefix('drafts/')}`" for c in spec.folders)
             + f"; file list of `{spec.layout.removeprefix('drafts/')}`.", "",
             f"**{len(diffs)} differences.**", ""]
    by_topic: dict[str, list[Difference]] = defaultdict(list)
    for diff in diffs:
        by_topic[topic_of(diff)].append(diff)
    for name in [*(t for t, _ in TOPICS), "other"]:
        if by_topic.get(name):
            lines += [f"### {name}", ""]
            for diff in sorted(by_topic[name], key=lambda x: (x.file, x.kind, x.path, x.what)):
                src = f" — vs `{diff.source}`" if diff.source else ""
                lines.append(f"- {diff.file} › `{diff.kind}` › `{diff.path}`: **{diff.what}** — ours "
                             f"`{diff.ours}`, reference `{diff.reference}`{src}")
            lines.append("")
    return lines


def render(results: dict[str, list[Difference]], seconds: float) -> str:
    lines = ["# Fidelity report: saved drafts against app-written references", "",
             f"Generated by `tools/fidelity_report.py` on {time.strftime('%Y-%m-%d %H:%M:%S')} in {seconds:.1f} s. "
             "Each profile's every-route draft is saved with a Windows `draft_folder` and without one; "
             f"differences only the save without a folder has start with `{NO_FOLDER.strip()}`. "
             "See the module docstring for what counts as a difference. "
             "tests/export/test_fidelity.py holds the allow-list.", "",
             "| profile | differences |", "|---|---|"]
    lines += [f"| {p} | {len(d)} |" for p, d in results.items()] + [""]
    for profile, diffs in results.items():
        lines += render_profile(profile, diffs)
    return "\n".join(lines) + "\n"


def run(ref_root: Path, profiles: tuple[str, ...] = PROFILE_NAMES) -> dict[str, list[Difference]]:
    """Build, save and compare every profile in a temporary data folder."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from helpers import make_settings
    from helpers.media import MediaServer
    from helpers.save import Service
    logging.disable(logging.INFO)                   # one access-log line per route call otherwise
    refs = References(ref_root)
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp) / "media"
        media.mkdir()
        make_media(media)
        svc = Service(make_settings(Path(tmp) / "data", store="sqlite", fetch_allow_hosts=["127.0.0.1"]))
        try:
            with MediaServer(media) as server:
                return {p: profile_differences(svc, server.url, p, refs) for p in profiles}
        finally:
            svc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", type=Path, default=DEFAULT_REFERENCE, help="the reference folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the Markdown report goes")
    parser.add_argument("--profile", action="append", choices=PROFILE_NAMES, help="only these profiles")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run(args.ref, tuple(args.profile or PROFILE_NAMES))
    text = render(results, time.perf_counter() - start)
    args.out.write_text(text, encoding="utf-8")
    print(f"{sum(map(len, results.values()))} differences "
          f"({', '.join(f'{p} {len(d)}' for p, d in results.items())}); report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
