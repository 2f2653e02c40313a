"""Make pyjianyingdraft's draft JSON look like what the target app writes.

pyjianyingdraft 0.3.1 writes a thin subset of the app's draft: a few keys per material, no
per-segment helper materials, a 4-key platform block, random lower-case 32-hex ids and its fixed
template id.  `complete()` is the step after `ScriptFile.dumps()`:

* every top-level key, material bucket, material, track and segment gets the keys and default
  values the app version writes for that kind of object (the per-profile data files in
  ``template/<profile>/``, derived from app-written reference drafts by
  ``tools/extract_app_defaults.py``).  Values that are already present are kept, except the
  *app-owned* keys of a kind (rules.json ``app_owned``: where the library writes one constant and the
  app another, e.g. ``enable_adjust`` on audio segments), which always get the template's value;
* each video, audio and text segment owns its helper materials (speeds, placeholder_infos,
  canvases, sound_channel_mappings, …), created when missing and listed in
  ``extra_material_refs`` in the app's order; no material or helper is shared by two segments;
* generator ids become Windows-app GUIDs derived from ``seed`` (same input → same bytes);
* the platform blocks get the app's 8 keys.

`dumps()` writes the compact one-line JSON the apps write, in the app version's key order.

One general mechanism does the work: each data-file object is compiled once per profile into a
`_Spec` (key order, defaults, nested specs), and `_merge_ordered` (CapCut ≥ 8.1: the app's schema
key order) or `_merge_inplace` (alphabetical apps: order is settled when dumping) fills an
object from its spec.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capcut_drafts.model.ids import derived_guid_hex
from capcut_drafts.model.profiles import Profile

TEMPLATE_ROOT = Path(__file__).resolve().parent / "templates"

# Profiles that share another profile's data files.
TEMPLATE_DIRS = {"jianying_pro_10": "jianying"}

# Fixed namespace for the derived ids (uuid5 of our project name under the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "capcut-draft-service/app_schema")

LIBRARY_TEMPLATE_ID = "91E08AC5-22FB-47e2-9AA0-7DC300FAEA2B"

_HEX32 = re.compile(r"[0-9a-f]{32}\Z")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z")
_WIN_GUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9a-f]{4}-[0-9A-F]{4}-[0-9A-F]{12}\Z")
_LOWER_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

# Keys whose value is an object id (Windows GUID style) or a list of them.
_ID_KEYS = ("id", "material_id")
_ID_LIST_KEYS = ("extra_material_refs", "keyframe_refs")
# Keys the apps fill with lower-case hyphenated UUIDs (reference README fact 5/7).
_LOCAL_KEYS = ("local_material_id", "music_id")
# Marks, in the data files' platform blocks, a 32-hex machine hash derived from the seed.
_HASH_MARK = "<hash>"

_MISSING = object()

# ---------------------------------------------------------------------------------------------
# Compiled specs
# ---------------------------------------------------------------------------------------------


class _Spec:
    """One object kind: its keys in the app's order, their defaults and nested specs.

    `template` is the default object (its immutable values are shared, mutable ones are copied
    through `mutables`); `info` holds, for the keys that need more than "keep if present", the
    nested spec of a dict value, the item spec of a list value, and whether the app writes a float.
    """

    __slots__ = ("template", "keys", "mutables", "factories", "info", "owned")

    def __init__(self, template: dict, items: dict[str, _Spec] | None = None):
        items = items or {}
        self.template = template
        self.keys = frozenset(template)
        self.factories = {k: f for k, f in ((k, _factory(v)) for k, v in template.items()) if f is not None}
        self.mutables = tuple(self.factories.items())
        self.owned: tuple[str, ...] = ()      # app-owned keys: the template's value always wins
        info = {}
        for key, default in template.items():
            sub = _Spec(default) if isinstance(default, dict) and default else None
            item = items.get(key)
            want_float = type(default) is float
            if sub is not None or item is not None or want_float:
                info[key] = (sub, item, want_float)
        self.info = info

    def attach_items(self, key: str, item: _Spec) -> None:
        sub, _, want_float = self.info.get(key, (None, None, False))
        self.info[key] = (sub, item, want_float)

    def own(self, keys) -> None:
        """Make `keys` app-owned (rules.json app_owned); every one must be a key of the template."""
        unknown = [k for k in keys if k not in self.keys]
        if unknown:
            raise ValueError(f"app-owned keys {unknown} are not in the template")
        self.owned = tuple(dict.fromkeys((*self.owned, *keys)))

    def default(self, key: str) -> Any:
        factory = self.factories.get(key)
        return self.template[key] if factory is None else factory()


def _factory(default: Any) -> Callable[[], Any] | None:
    """None for immutable defaults; otherwise a callable returning a fresh copy."""
    if not isinstance(default, (list, dict)):
        return None
    if not default:
        return type(default)
    if isinstance(default, dict) and not any(isinstance(v, (list, dict)) for v in default.values()):
        return default.copy                 # flat dict of scalars: a shallow copy is a fresh copy
    raw = json.dumps(default, ensure_ascii=False)
    return lambda: json.loads(raw)


def _merge_ordered(obj: dict, spec: _Spec) -> dict:
    """A new dict: the spec's keys in app order (present values kept), then unknown keys sorted."""
    out = spec.template.copy()
    for key, factory in spec.mutables:
        if key not in obj:
            out[key] = factory()
    keys, info = spec.keys, spec.info
    extras = None
    for key, value in obj.items():
        if key not in keys:
            if extras is None:
                extras = []
            extras.append(key)
            continue
        nested = info.get(key)
        if nested is not None:
            kind = type(value)
            if kind is dict:
                if nested[0] is not None:
                    value = _merge_ordered(value, nested[0])
            elif kind is list:
                item = nested[1]
                if item is not None:
                    value = [_merge_ordered(x, item) if type(x) is dict else x for x in value]
            elif kind is int and nested[2]:
                value = float(value)
        out[key] = value
    for key in spec.owned:
        out[key] = spec.default(key)
    if extras:
        for key in sorted(extras):
            out[key] = _sorted_deep(obj[key])
    return out


def _merge_inplace(obj: dict, spec: _Spec) -> dict:
    """Fill missing keys into `obj` itself (key order is settled by sort_keys when dumping)."""
    info = spec.info
    for key, value in obj.items():
        nested = info.get(key)
        if nested is not None:
            kind = type(value)
            if kind is dict:
                if nested[0] is not None:
                    _merge_inplace(value, nested[0])
            elif kind is list:
                item = nested[1]
                if item is not None:
                    for x in value:
                        if type(x) is dict:
                            _merge_inplace(x, item)
            elif kind is int and nested[2]:
                obj[key] = float(value)
    missing = spec.keys.difference(obj)
    if missing:
        template, factories = spec.template, spec.factories
        for key in missing:
            factory = factories.get(key)
            obj[key] = template[key] if factory is None else factory()
    for key in spec.owned:
        obj[key] = spec.default(key)
    return obj


def _sorted_deep(value: Any) -> Any:
    if type(value) is dict:
        return {k: _sorted_deep(value[k]) for k in sorted(value)}
    if type(value) is list:
        return [_sorted_deep(v) for v in value]
    return value


@dataclass
class _Schema:
    name: str
    ordered: bool                              # True: app schema order; False: alphabetical
    document: _Spec
    document_order: tuple[str, ...]
    platform: dict
    buckets: tuple[str, ...]
    kinds: dict[str, dict[str, _Spec]]         # bucket -> material type ('*' = any) -> spec
    track: _Spec
    segments: dict[str, _Spec]                 # track type -> spec
    helpers: dict[str, tuple[str, ...]]        # track type -> helper buckets every segment owns
    ref_rank: dict[str, tuple[dict[str, int], int]]  # track type -> (bucket rank, rank of others)

    def kind_spec(self, bucket: str, obj: dict) -> _Spec | None:
        kinds = self.kinds.get(bucket)
        if not kinds:
            return None
        kind = obj.get("type")
        spec = kinds.get(kind) if isinstance(kind, str) else None
        if spec is None:
            spec = kinds.get("*")
        if spec is None:
            spec = next(iter(kinds.values()))   # same bucket, same schema (e.g. canvas_blur ~ canvas_color)
        return spec

    def helper_spec(self, bucket: str) -> _Spec | None:
        kinds = self.kinds.get(bucket)
        if not kinds:
            return None
        return next(iter(kinds.values()))


_SCHEMAS: dict[str, _Schema] = {}
_LOCK = threading.Lock()


def _load_schema(profile: Profile) -> _Schema:
    schema = _SCHEMAS.get(profile.name)
    if schema is not None:
        return schema
    with _LOCK:
        schema = _SCHEMAS.get(profile.name)
        if schema is None:
            schema = _compile(profile.name, TEMPLATE_ROOT / TEMPLATE_DIRS.get(profile.name, profile.name))
            _SCHEMAS[profile.name] = schema
    return schema


def _read(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _compile(name: str, folder: Path) -> _Schema:
    document = _read(folder / "document.json")
    materials = _read(folder / "materials.json")
    timeline = _read(folder / "timeline.json")
    rules = _read(folder / "rules.json")

    platform = document["platform"]
    # The document spec passes these through untouched; complete() builds them itself.
    doc_template = {k: (None if k in ("tracks", "materials", "platform", "last_modified_platform") else v)
                    for k, v in document.items()}

    items = {path: _Spec(t) for path, t in materials["items"].items()}
    kinds: dict[str, dict[str, _Spec]] = {}
    for bucket, by_type in materials["buckets"].items():
        kinds[bucket] = {}
        for kind, template in by_type.items():
            spec = _Spec(template)
            for path, item in items.items():
                owner, _, key = path.partition(".")
                if owner == bucket:
                    spec.attach_items(key, item)
            kinds[bucket][kind] = spec

    owned = rules.get("app_owned", {})
    for target, keys in owned.get("materials", {}).items():
        bucket, _, kind = target.partition(".")
        for kind_name, spec in kinds.get(bucket, {}).items():
            if not kind or kind_name == kind:
                spec.own(keys)

    point = _Spec(timeline["keyframe_point"])
    curve = _Spec(timeline["keyframe_curve"], {"keyframe_list": point})
    segments = {ttype: _Spec(t, {"common_keyframes": curve}) for ttype, t in timeline["segments"].items()}
    for spec in segments.values():
        spec.own(owned.get("segments", ()))

    ref_rank = {}
    for ttype, order in rules["ref_order"].items():
        rank = {bucket: i for i, bucket in enumerate(order)}
        ref_rank[ttype] = (rank, rank.get("*", len(order)))

    return _Schema(
        name=name,
        ordered=rules["key_order"] == "schema",
        document=_Spec(doc_template),
        document_order=tuple(document),
        platform=platform,
        buckets=tuple(document["materials"]),
        kinds=kinds,
        track=_Spec(timeline["track"]),
        segments=segments,
        helpers={k: tuple(v) for k, v in rules["helpers"].items()},
        ref_rank=ref_rank,
    )


# ---------------------------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------------------------


def windows_guid(hex32: str) -> str:
    """Windows-app style GUID: upper case, third group lower case (4E96246F-6E19-4a5c-…)."""
    h = hex32.upper()
    return f"{h[:8]}-{h[8:12]}-{hex32[12:16].lower()}-{h[16:20]}-{h[20:]}"


def _lower_guid(hex32: str) -> str:
    h = hex32.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_generator_id(value: str) -> bool:
    """A library-style id: lower-case 32 hex, the library's template id, or a non-Windows GUID."""
    if _HEX32.match(value):
        return True
    if value == LIBRARY_TEMPLATE_ID:
        return True
    return bool(_GUID.match(value)) and not _WIN_GUID.match(value)


class _IdMap:
    """Old id -> app-style id; the n-th distinct generator id gets the GUID of f"{seed}:{n}"."""

    def __init__(self, seed: str):
        self.seed = seed
        self.number: dict[str, int] = {}
        self.new: dict[str, str] = {}
        self.count = 0

    def _number(self, old: str) -> int:
        n = self.number.get(old)
        if n is None:
            n = self.number[old] = self.count
            self.count += 1
        return n

    def force(self, old: Any) -> str:
        """The document id: always derived from the seed (number 0)."""
        number = self._number(old if isinstance(old, str) else "")
        new = windows_guid(derived_guid_hex(NAMESPACE, self.seed, str(number)))
        if isinstance(old, str):
            self.new[old] = new
        return new

    def id(self, old: Any) -> Any:
        if type(old) is not str:
            return old
        new = self.new.get(old)
        if new is None:
            if is_generator_id(old):
                new = windows_guid(derived_guid_hex(NAMESPACE, self.seed, str(self._number(old))))
            else:
                new = old
            self.new[old] = new
        return new

    def local(self, old: Any, key: str) -> Any:
        """local_material_id / music_id: lower-case hyphenated UUIDs, distinct from the object id."""
        if type(old) is not str or not old or _LOWER_GUID.match(old):
            return old
        if not (_HEX32.match(old) or _GUID.match(old)):
            return old                      # e.g. a numeric music id from the app's library
        return _lower_guid(derived_guid_hex(NAMESPACE, self.seed, f"{self._number(old)}:{key}"))


def _remap_object_ids(obj: dict, ids: _IdMap) -> None:
    for key in _ID_KEYS:
        value = obj.get(key)
        if value:
            obj[key] = ids.id(value)
    for key in _ID_LIST_KEYS:
        value = obj.get(key)
        if value:
            obj[key] = [ids.id(v) for v in value]
    for key in _LOCAL_KEYS:
        value = obj.get(key)
        if value:
            obj[key] = ids.local(value, key)


# ---------------------------------------------------------------------------------------------
# complete()
# ---------------------------------------------------------------------------------------------


class _TempIds:
    """Ids for objects created here; 32-hex so the id pass renumbers them with the rest.

    Position 12 is '0', which a uuid4().hex (the library's ids) never has, so they cannot clash.
    """

    def __init__(self):
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.n:032x}"


def complete(content: dict, profile: Profile, *, seed: str) -> dict:
    """Complete pyjianyingdraft's draft JSON (``json.loads(ScriptFile.dumps())``) for `profile`.

    Mutates and returns `content`.  Present values are kept, except the ids (generator ids become
    app-style GUIDs derived from `seed`), `version`, `new_version`, `id` and the platform blocks.
    """
    schema = _load_schema(profile)
    merge = _merge_ordered if schema.ordered else _merge_inplace
    temp_id = _TempIds()

    materials = _normalise_buckets(content.get("materials") or {}, schema, profile)

    # 1. materials of every kind
    for bucket, entries in materials.items():
        if not entries:
            continue
        for i, obj in enumerate(entries):
            if type(obj) is not dict:
                continue
            if bucket == "texts":
                _text_fields(obj)
            spec = schema.kind_spec(bucket, obj)
            if spec is not None:
                entries[i] = merge(obj, spec)
            elif schema.ordered:
                entries[i] = _sorted_deep(obj)

    # 2. tracks and segments: helpers, no sharing, ref order
    by_id: dict[str, list] = {}        # id -> [bucket, first object, unclaimed duplicates...]
    for bucket, entries in materials.items():
        for obj in entries:
            if type(obj) is dict and "id" in obj:
                slot = by_id.get(obj["id"])
                if slot is None:
                    by_id[obj["id"]] = [bucket, obj]
                else:
                    slot.append(obj)
    claimed: set[str] = set()

    def claim(ref: str) -> str | None:
        """The id this segment uses: `ref` for its first user; for a later user the next
        duplicate entry with that id (builders that append a material per segment), else a copy."""
        slot = by_id.get(ref)
        if slot is None:
            return None
        if ref not in claimed:
            claimed.add(ref)
            return ref
        bucket = slot[0]
        if len(slot) > 2:
            obj = slot.pop(2)
        else:
            obj = json.loads(json.dumps(slot[1], ensure_ascii=False))
            materials[bucket].append(obj)
        new_id = temp_id()
        if obj.get("material_id") == ref:
            obj["material_id"] = new_id
        obj["id"] = new_id
        by_id[new_id] = [bucket, obj]
        claimed.add(new_id)
        return new_id

    tracks = content.get("tracks") or []
    for t_index, track in enumerate(tracks):
        if type(track) is not dict:
            continue
        ttype = track.get("type")
        if isinstance(ttype, str):
            seg_spec, helpers, rank_info = \
                schema.segments.get(ttype), schema.helpers.get(ttype, ()), schema.ref_rank.get(ttype)
        else:                               # an untyped track: no segment spec, helpers or ref order
            seg_spec, helpers, rank_info = None, (), None
        segments = track.get("segments") or []
        for s_index, seg in enumerate(segments):
            if type(seg) is not dict:
                continue
            mid = seg.get("material_id")
            if isinstance(mid, str) and mid:
                new_mid = claim(mid)
                if new_mid is not None:
                    seg["material_id"] = new_mid
            refs = []
            have = set()
            for ref in seg.get("extra_material_refs") or ():
                new_ref = claim(ref) if isinstance(ref, str) else None
                if new_ref is None:
                    continue                    # dangling (e.g. the library's text/sticker speed ref)
                refs.append(new_ref)
                have.add(by_id[new_ref][0])
            for bucket in helpers:
                if bucket in have or bucket not in materials:
                    continue
                spec = schema.helper_spec(bucket)
                if spec is None:
                    continue
                obj = _merge_ordered({}, spec)
                obj["id"] = temp_id()
                if bucket == "speeds":
                    speed = seg.get("speed", 1.0)
                    obj["speed"] = float(speed) if isinstance(speed, (int, float)) else 1.0
                materials[bucket].append(obj)
                by_id[obj["id"]] = [bucket, obj]
                claimed.add(obj["id"])
                refs.append(obj["id"])
                have.add(bucket)
            if rank_info is not None and len(refs) > 1:
                rank, other = rank_info
                refs.sort(key=lambda r: rank.get(by_id[r][0], other))
            if "extra_material_refs" in seg or refs:
                seg["extra_material_refs"] = refs
            if seg_spec is not None:
                segments[s_index] = merge(seg, seg_spec)
            elif schema.ordered:
                segments[s_index] = _sorted_deep(seg)
        track["segments"] = segments
        tracks[t_index] = merge(track, schema.track)

    # duplicate entries (same id) that no segment claimed would be two materials with one id
    surplus: dict[int, str] = {}
    for slot in by_id.values():
        for extra in slot[2:]:
            surplus[id(extra)] = slot[0]
    for bucket in set(surplus.values()):
        materials[bucket] = [m for m in materials[bucket] if id(m) not in surplus]

    # 3. top level
    content["materials"] = materials
    content["tracks"] = tracks
    content["version"] = 360000
    content["new_version"] = profile.new_version
    ours = _platform_block(schema.platform, profile, seed, schema.ordered)
    platform = content.get("platform")
    if not (isinstance(platform, dict) and set(schema.platform) <= set(platform)):
        platform = ours
    elif schema.ordered:
        platform = {k: platform[k] for k in schema.platform} | {k: platform[k] for k in sorted(platform)
                                                                  if k not in schema.platform}
    content["platform"] = platform
    content["last_modified_platform"] = dict(ours)

    # 4. ids, in a fixed traversal order: document, tracks/segments/keyframes, materials
    ids = _IdMap(seed)
    content["id"] = ids.force(content.get("id"))
    for track in tracks:
        if type(track) is not dict:
            continue
        _remap_object_ids(track, ids)
        for seg in track.get("segments") or ():
            if type(seg) is not dict:
                continue
            _remap_object_ids(seg, ids)
            for curve in seg.get("common_keyframes") or ():
                if type(curve) is dict:
                    _remap_object_ids(curve, ids)
                    for point in curve.get("keyframe_list") or ():
                        if type(point) is dict:
                            _remap_object_ids(point, ids)
    for entries in materials.values():
        for obj in entries:
            if type(obj) is dict:
                _remap_object_ids(obj, ids)

    # 5. the document's own keys, in the app's order
    result = merge(content, schema.document)
    if schema.ordered:
        content.clear()
        content.update(result)
    return content


def _normalise_buckets(materials: dict, schema: _Schema, profile: Profile) -> dict:
    """Every bucket the app version writes, in its order; drop the other app's mask bucket."""
    out = {}
    for bucket in schema.buckets:
        value = materials.get(bucket)
        out[bucket] = value if isinstance(value, list) else []
    mask_target = out.get(profile.mask_bucket)
    for bucket, value in materials.items():
        if bucket in out:
            continue
        if not value:
            continue                       # an empty bucket this app version does not write
        if bucket in ("masks", "common_mask") and mask_target is not None and isinstance(value, list):
            known = {m.get("id") for m in mask_target if type(m) is dict}
            mask_target.extend(m for m in value if type(m) is dict and m.get("id") not in known)
            continue
        out[bucket] = value                # unknown data: keep it
    return out


def _platform_block(template: dict, profile: Profile, seed: str, ordered: bool) -> dict:
    block: dict[str, Any] = {}
    for key, value in template.items():
        if key == "app_id":
            block[key] = profile.app_id
        elif key == "app_source":
            block[key] = profile.app_source
        elif key == "app_version":
            block[key] = profile.app_version
        elif value == _HASH_MARK:
            block[key] = hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:32]
        else:
            block[key] = value
    return block if ordered else dict(sorted(block.items()))


def _hex_color(rgb: Any) -> str | None:
    if not isinstance(rgb, (list, tuple)) or len(rgb) < 3:
        return None
    try:
        return "#" + "".join(f"{max(0, min(255, round(float(c) * 255))):02x}" for c in rgb[:3])
    except (TypeError, ValueError):
        return None


def _whole_numbers_as_ints(value: Any) -> Any:
    """`value` with every integral float written as an int, as the apps write the numbers inside a
    text's `content` ("size":12, "color":[1,1,1], "range":[0,5]; a fraction stays a float, e.g.
    "width":0.08799999952316284): CapCut 3.8, 6.2, 7.7, 7.9, 8.1.1 and 8.9.1 and JianYing 5.4.5 all do.
    The flat material fields beside `content` (font_size 12.0, …) stay floats there."""
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is dict:
        return {k: _whole_numbers_as_ints(v) for k, v in value.items()}
    if kind is list:
        return [_whole_numbers_as_ints(v) for v in value]
    return value


def _text_fields(obj: dict) -> None:
    """Write `content` compactly and with whole numbers as ints, as the apps do, and mirror its first
    style in the flat fields the app keeps next to it (font_size, text_color, border_*, …) where those
    are missing."""
    raw = obj.get("content")
    if not isinstance(raw, str):
        return
    try:
        body = json.loads(raw)
    except ValueError:
        return
    obj["content"] = json.dumps(_whole_numbers_as_ints(body), ensure_ascii=False, separators=(",", ":"))
    try:
        style = body["styles"][0]
    except (KeyError, IndexError, TypeError):
        return
    if not isinstance(style, dict):
        return
    size = style.get("size")
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        obj.setdefault("font_size", float(size))
    fill = style.get("fill")
    if not isinstance(fill, dict):
        fill = {}
    solid = (fill.get("content") or {}).get("solid") if isinstance(fill.get("content"), dict) else None
    if isinstance(solid, dict):
        color = _hex_color(solid.get("color"))
        if color:
            obj.setdefault("text_color", color)
        alpha = solid.get("alpha", fill.get("alpha"))
        if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
            obj.setdefault("text_alpha", float(alpha))
    if isinstance(style.get("underline"), bool):
        obj.setdefault("underline", style["underline"])
    strokes = style.get("strokes")
    if isinstance(strokes, list) and strokes and isinstance(strokes[0], dict):
        stroke = strokes[0]
        s_solid = (stroke.get("content") or {}).get("solid") if isinstance(stroke.get("content"), dict) else None
        if isinstance(s_solid, dict):
            color = _hex_color(s_solid.get("color"))
            if color:
                obj.setdefault("border_color", color)
            if isinstance(s_solid.get("alpha"), (int, float)):
                obj.setdefault("border_alpha", float(s_solid["alpha"]))
        if isinstance(stroke.get("width"), (int, float)):
            obj.setdefault("border_width", float(stroke["width"]))
    shadows = style.get("shadows")
    if isinstance(shadows, list) and shadows:
        obj.setdefault("has_shadow", True)


# ---------------------------------------------------------------------------------------------
# dumps()
# ---------------------------------------------------------------------------------------------


def dumps(content: dict, profile: Profile) -> str:
    """Compact one-line JSON as the app writes it (alphabetical keys, or CapCut ≥ 8.1's schema order)."""
    schema = _load_schema(profile)
    if not schema.ordered:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    order = schema.document_order
    top = {k: content[k] for k in order if k in content}
    if len(top) != len(content):
        for k in sorted(content):
            if k not in top:
                top[k] = content[k]
    return json.dumps(top, ensure_ascii=False, separators=(",", ":"))
