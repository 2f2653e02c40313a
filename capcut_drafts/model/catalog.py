"""Effect catalogue: the names clients may send for transitions, animations, masks, effects, fonts…

Two families, chosen by the draft profile's `app`:

* ``"capcut"`` — CapCut international, English client names (``Dissolve``, ``Fade_In``,
  ``Big_House``) read from our own data file ``capcut_drafts/model/data/capcut_catalog.json`` (built by
  ``tools/build_catalog.py``);
* ``"jianying"`` — JianYing, Chinese client names taken from pyjianyingdraft's metadata enums.
  The client name is the enum *member* name (``_3D空间`` for a display name starting with a
  digit), exactly what upstream clients send.

Fonts and filters come from pyjianyingdraft (``FontType``, ``FilterType``) in both families.

Lookups are exact and case-sensitive, like upstream. A name of the other family's table is
taken as this family's entry for the same resource when there is one (`counterpart`); any other
miss raises ``capcut_drafts.errors.unknown_name`` with a short "did you mean" hint, never the
full list.
"""
from __future__ import annotations

import difflib
import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from capcut_drafts.errors import ApiError, unknown_name

APPS = ("capcut", "jianying")

CATEGORIES = (
    "transition", "intro", "outro", "combo", "mask", "audio_effect", "font",
    "text_intro", "text_outro", "text_loop", "scene_effect", "character_effect", "filter",
)

# upstream GET route → category (the routes themselves are wired elsewhere)
ROUTES: Mapping[str, str] = MappingProxyType({
    "/get_intro_animation_types": "intro",
    "/get_outro_animation_types": "outro",
    "/get_combo_animation_types": "combo",
    "/get_transition_types": "transition",
    "/get_mask_types": "mask",
    "/get_audio_effect_types": "audio_effect",
    "/get_font_types": "font",
    "/get_text_intro_types": "text_intro",
    "/get_text_outro_types": "text_outro",
    "/get_text_loop_anim_types": "text_loop",
    "/get_video_scene_effect_types": "scene_effect",
    "/get_video_character_effect_types": "character_effect",
    "/get_filter_types": "filter",
})
_ROUTE_OF = {category: route for route, category in ROUTES.items()}

# how a category is called in messages
_WORDS = {
    "transition": "transition",
    "intro": "intro animation",
    "outro": "outro animation",
    "combo": "combo animation",
    "mask": "mask type",
    "audio_effect": "audio effect",
    "font": "font",
    "text_intro": "text intro animation",
    "text_outro": "text outro animation",
    "text_loop": "text loop animation",
    "scene_effect": "scene effect",
    "character_effect": "character effect",
    "filter": "filter",
}

# Audio effect groups: the order the GET route lists them, and the order a name is searched in
# (upstream lists JianYing tone effects first but resolves scene sounds first).
_AUDIO_LISTING_ORDER = {
    "capcut": ("Voice_filters", "Voice_characters", "Speech_to_song"),
    "jianying": ("Tone", "Audio_scene", "Speech_to_song"),
}
_AUDIO_LOOKUP_ORDER = {
    "capcut": ("Voice_filters", "Voice_characters", "Speech_to_song"),
    "jianying": ("Audio_scene", "Tone", "Speech_to_song"),
}

DATA_FILE = Path(__file__).resolve().parent / "data" / "capcut_catalog.json"

# The same mask shape in both families plus the English words of upstream's mask error message,
# so a name from the wrong family (or a plain word) still gets a useful suggestion.
_MASK_SHAPES = (
    # (JianYing, CapCut, words)
    ("线性", "Split", ("linear", "line")),
    ("镜面", "Filmstrip", ("mirror",)),
    ("圆形", "Circle", ("circle",)),
    ("矩形", "Rectangle", ("rectangle", "rect")),
    ("爱心", "Heart", ("heart",)),
    ("星形", "Stars", ("star", "stars")),
)

_MAX_SUGGESTIONS = 5
_MAX_ECHO = 80  # longest client-sent name echoed back in a message


@dataclass(frozen=True)
class Param:
    """One adjustable effect parameter, on the library's own scale (usually 0..1)."""

    name: str
    default: float
    min: float
    max: float


@dataclass(frozen=True)
class Entry:
    """One catalogue entry. Fields that do not apply to the category are None / empty."""

    name: str                    # client key (enum member name / CapCut key)
    title: str                   # display name in the app
    is_vip: bool
    resource_id: str
    effect_id: str
    md5: str
    duration_us: int | None = None           # animations; transitions: default duration
    is_overlap: bool | None = None           # transitions
    params: tuple[Param, ...] = ()           # effects (video and audio), in table order
    resource_type: str | None = None         # masks
    default_aspect_ratio: float | None = None  # masks
    group: str | None = None                 # audio effects
    library_member: Any = None               # pyjianyingdraft enum member (JianYing, fonts, filters)


@dataclass(frozen=True)
class _Table:
    listed: tuple[Entry, ...]        # GET route order
    index: Mapping[str, Entry]       # client name → entry (audio: first group in lookup order wins)


# ---------------------------------------------------------------------------------------------
# loading


@functools.cache
def _capcut_data() -> dict[str, Any]:
    with DATA_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)   # category -> name -> row (audio: group -> name -> row)
    return data


def _params(raw: Iterable) -> tuple[Param, ...]:
    return tuple(Param(str(n), float(d), float(lo), float(hi)) for n, d, lo, hi in raw)


def _capcut_entry(name: str, row: dict, group: str | None = None) -> Entry:
    return Entry(
        name=name,
        title=row["title"],
        is_vip=bool(row.get("vip", False)),
        resource_id=row["resource_id"],
        effect_id=row["effect_id"],
        md5=row.get("md5", ""),
        duration_us=row.get("duration_us"),
        is_overlap=row.get("overlap"),
        params=_params(row.get("params", ())),
        resource_type=row.get("resource_type"),
        default_aspect_ratio=row.get("aspect_ratio"),
        group=group,
    )


def _library_entry(member: Enum, group: str | None = None) -> Entry:
    """Entry from a pyjianyingdraft metadata enum member (Effect/Animation/Transition/MaskMeta)."""
    meta = member.value
    title = getattr(meta, "name", None) or getattr(meta, "title", None) or member.name
    duration = getattr(meta, "duration", None)
    if duration is None:
        duration = getattr(meta, "default_duration", None)
    params = tuple(
        Param(p.name, float(p.default_value), float(p.min_value), float(p.max_value))
        for p in getattr(meta, "params", None) or ()
    )
    overlap = getattr(meta, "is_overlap", None)
    ratio = getattr(meta, "default_aspect_ratio", None)
    return Entry(
        name=member.name,
        title=title,
        is_vip=bool(getattr(meta, "is_vip", False)),
        resource_id=str(meta.resource_id),
        effect_id=str(meta.effect_id),
        md5=str(meta.md5 or ""),
        duration_us=None if duration is None else int(duration),
        is_overlap=None if overlap is None else bool(overlap),
        params=params,
        resource_type=getattr(meta, "resource_type", None),
        default_aspect_ratio=None if ratio is None else float(ratio),
        group=group,
        library_member=member,
    )


def _library_enums() -> dict:
    """Category → pyjianyingdraft enum (audio: group → enum). Imported lazily."""
    from pyJianYingDraft import metadata as m

    return {
        "transition": m.TransitionType,
        "intro": m.IntroType,
        "outro": m.OutroType,
        "combo": m.GroupAnimationType,
        "mask": m.MaskType,
        "audio_effect": {
            "Tone": m.ToneEffectType,
            "Audio_scene": m.AudioSceneEffectType,
            "Speech_to_song": m.SpeechToSongType,
        },
        "font": m.FontType,
        "text_intro": m.TextIntro,
        "text_outro": m.TextOutro,
        "text_loop": m.TextLoopAnim,
        "scene_effect": m.VideoSceneEffectType,
        "character_effect": m.VideoCharacterEffectType,
        "filter": m.FilterType,
    }


def _make_table(app: str, groups: Mapping[str, list[Entry]] | None, entries: list[Entry] | None) -> _Table:
    if groups is None:
        assert entries is not None
        return _Table(tuple(entries), MappingProxyType({e.name: e for e in entries}))
    listed = tuple(e for g in _AUDIO_LISTING_ORDER[app] for e in groups[g])
    index: dict[str, Entry] = {}
    for g in _AUDIO_LOOKUP_ORDER[app]:
        for e in groups[g]:
            index.setdefault(e.name, e)
    return _Table(listed, MappingProxyType(index))


@functools.cache
def _table(app: str, category: str) -> _Table:
    _check(app, category)
    # Fonts come from pyjianyingdraft in both families. CapCut has no filter table in our facts,
    # so CapCut drafts use pyjianyingdraft's FilterType too (same ids in both apps' stores).
    if app == "jianying" or category in ("font", "filter"):
        if app == "capcut":
            return _table("jianying", category)
        enum = _library_enums()[category]
        if category == "audio_effect":
            groups = {g: [_library_entry(m, g) for m in e] for g, e in enum.items()}
            return _make_table(app, groups, None)
        return _make_table(app, None, [_library_entry(m) for m in enum])

    data = _capcut_data()[category]
    if category == "audio_effect":
        groups = {g: [_capcut_entry(k, row, g) for k, row in t.items()] for g, t in data.items()}
        return _make_table(app, groups, None)
    return _make_table(app, None, [_capcut_entry(k, row) for k, row in data.items()])


def _check(app: str, category: str) -> None:
    if app not in APPS:
        raise ValueError(f"unknown app {app!r}; expected one of {', '.join(APPS)}")
    if category not in CATEGORIES:
        raise ValueError(f"unknown catalogue category {category!r}")


# ---------------------------------------------------------------------------------------------
# lookup


def find(app: str, category: str, name: str) -> Entry | None:
    """Exact, case-sensitive lookup; None when the name is unknown (for callers that skip)."""
    if not isinstance(name, str):
        return None
    return _table(app, category).index.get(name)


def lookup(app: str, category: str, name: str) -> Entry:
    """Exact, case-sensitive lookup, then the other family's name for the same resource
    (`counterpart`); unknown names raise `unknown_name` with suggestions."""
    entry = find(app, category, name) or counterpart(app, category, name)
    if entry is None:
        raise unknown_name(_unknown_message(app, category, name))
    return entry


def lookup_or_note(app: str, category: str, name: str, notes: list[str] | None) -> Entry | None:
    """`lookup` for inputs upstream ignores when unknown: with `notes` a list, an unknown name
    adds a warning ("Left out: " + the `unknown_name` message) to it and gives None; with `notes`
    None it raises."""
    try:
        return lookup(app, category, name)
    except ApiError as exc:
        if notes is None:
            raise
        notes.append(f"Left out: {exc.message}")
        return None


def counterpart(app: str, category: str, name: str) -> Entry | None:
    """This family's entry for a name of the other family's table that names the same resource:
    the same effect id, else the same resource id (masks: the same shape in `_MASK_SHAPES`)."""
    other = find("capcut" if app == "jianying" else "jianying", category, name)
    if other is None:
        return None
    if category == "mask":
        for jianying, capcut, _words in _MASK_SHAPES:
            if name in (jianying, capcut):
                return find(app, category, capcut if app == "capcut" else jianying)
        return None
    listed = _table(app, category).listed
    for key in ("effect_id", "resource_id"):
        wanted = getattr(other, key)
        match = next((e for e in listed if wanted and getattr(e, key) == wanted), None)
        if match is not None:
            return match
    return None


def _norm(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch not in " _-")


def suggestions(app: str, category: str, name: str, limit: int = _MAX_SUGGESTIONS) -> list[str]:
    """Up to `limit` valid names close to `name`: case-insensitive match first, then the
    space/underscore-insensitive match (also against display names), then difflib neighbours."""
    table = _table(app, category)
    valid = list(dict.fromkeys(e.name for e in table.listed))
    out: list[str] = []

    def add(candidates: Iterable[str]) -> None:
        for c in candidates:
            if c not in out and c != name:
                out.append(c)

    folded = name.casefold()
    add(n for n in valid if n.casefold() == folded)
    key = _norm(name)
    if category == "mask":
        for jianying, capcut, words in _MASK_SHAPES:
            if key in {_norm(jianying), _norm(capcut), *words}:
                add([capcut if app == "capcut" else jianying])
    if key:
        add(e.name for e in table.listed if _norm(e.name) == key)
        add(e.name for e in table.listed if _norm(e.title) == key)
        by_norm: dict[str, list[str]] = {}
        for n in valid:
            by_norm.setdefault(_norm(n), []).append(n)
        for close in difflib.get_close_matches(key, list(by_norm), n=limit, cutoff=0.6):
            add(by_norm[close])
    return out[:limit]


def _unknown_message(app: str, category: str, name: Any) -> str:
    words = _WORDS[category]
    route = _ROUTE_OF[category]
    if not isinstance(name, str):
        return (f"The {words} must be given as a name (a string), got {type(name).__name__}. "
                f"The full list: GET {route}")
    shown = name if len(name) <= _MAX_ECHO else name[:_MAX_ECHO] + "…"
    parts = [f"Unknown {words} '{shown}'."]
    other = "jianying" if app == "capcut" else "capcut"
    if find(other, category, name) is not None and category not in ("font", "filter"):
        this_family = "CapCut" if app == "capcut" else "JianYing"
        other_family = "JianYing" if app == "capcut" else "CapCut"
        parts.append(f"That is a {other_family} name; this draft uses {this_family} names.")
    hints = suggestions(app, category, name) if len(name) <= 4 * _MAX_ECHO else []
    if hints:
        parts.append(f"Did you mean: {', '.join(hints)}?")
    parts.append(f"The full list: GET {route}")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# listings (GET routes)


def names(app: str, category: str) -> list[str]:
    """Client names in table order (audio: listing order of the groups)."""
    return [e.name for e in _table(app, category).listed]


def _x100(value: float) -> float:
    return round(value * 100, 6)


def _client_scale(p: Param) -> float:
    """A parameter's default on the 0..100 scale clients send."""
    span = p.max - p.min
    return round((p.default - p.min) / span * 100, 6) if span else 0.0


def listing(app: str, category: str) -> list[dict]:
    """The GET route's `output`: `[{"name": ...}, ...]` plus keys clients may ignore.

    Audio effects use upstream's exact item shape `{"name", "type", "params"}` with the
    parameter numbers ×100 (the client's 0..100 scale); video effects list their parameters in
    the order clients send them, with defaults on the same 0..100 scale.
    """
    items: list[dict] = []
    for e in _table(app, category).listed:
        if category == "audio_effect":
            items.append({
                "name": e.name,
                "type": e.group,
                "params": [
                    {"name": p.name, "default_value": _x100(p.default),
                     "min_value": _x100(p.min), "max_value": _x100(p.max)}
                    for p in e.params
                ],
                "title": e.title,
                "is_vip": e.is_vip,
            })
            continue
        item: dict[str, Any] = {"name": e.name, "title": e.title, "is_vip": e.is_vip}
        if e.duration_us is not None:
            item["duration"] = e.duration_us / 1_000_000
        if category in ("scene_effect", "character_effect"):
            # In the order clients send `params` (upstream reverses the list before matching),
            # on the client's 0..100 scale.
            item["params"] = [
                {"name": p.name, "default_value": _client_scale(p),
                 "min_value": 0, "max_value": 100}
                for p in reversed(e.params)
            ]
        items.append(item)
    return items


# ---------------------------------------------------------------------------------------------
# effect parameters


def param_names(entry: Entry) -> list[str]:
    return [p.name for p in entry.params]


def map_params(entry: Entry, values: list[float | None] | None, *, reverse: bool) -> list[float]:
    """Map client values (0..100, None = default) onto each parameter's [min, max].

    Returns one value per parameter, in the table's order. `reverse=True` reproduces upstream's
    video-effect quirk: the list is reversed before matching and surplus values are dropped
    (after reversal the values sent first are the ones dropped). With `reverse=False` (audio
    effects) more values than parameters is an error.
    """
    if values is None:
        values = []
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, (list, tuple)):
        raise ApiError(
            f"Parameters of '{entry.name}' must be a list of numbers from 0 to 100 "
            f"(null = default), got {type(values).__name__}."
        )
    count = len(values)
    params = entry.params
    if reverse:
        # position i in table order ← client index (count - 1 - i)
        sent = [(count - 1 - i, values[count - 1 - i]) for i in range(min(count, len(params)))]
    else:
        if count > len(params):
            expected = ", ".join(p.name for p in params) or "none"
            raise ApiError(
                f"'{entry.name}' takes {len(params)} parameter(s) ({expected}), "
                f"but {count} values were sent."
            )
        sent = list(enumerate(values))

    out: list[float] = []
    for i, p in enumerate(params):
        index, value = sent[i] if i < len(sent) else (i, None)
        if value is None:
            out.append(p.default)
            continue
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and math.isfinite(value) and 0 <= value <= 100)
        if not ok:
            raise ApiError(
                f"Invalid value {json.dumps(value, ensure_ascii=False, default=str)[:40]} "
                f"for parameter '{p.name}' (params[{index}]) of '{entry.name}': "
                f"use a number from 0 to 100, or null for the default."
            )
        out.append(p.min + (p.max - p.min) * float(value) / 100.0)
    return out
