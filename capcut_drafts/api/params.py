"""What each request parameter means: one text per parameter, read by the OpenAPI document and
the MCP tools alike (`documented_schema`).

A parameter is described by its route's entry in `ROUTE_TEXTS`, else by `TEXTS`, else by its
name's suffix (`*_url`, `*_color`, `*_duration`); parameters inside list items and objects
(`text_styles[].style.size`) by their dotted path in `NESTED_TEXTS`. A test checks that every
parameter of every route ends up described. Parameters whose value is a catalogue name also
point to the catalogue route that lists the valid names (`catalogue_params`).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from capcut_drafts.api.registry import Route
from capcut_drafts.model import catalog, profiles
from capcut_drafts.routes.effect import EFFECT_CATEGORIES
from capcut_drafts.routes.keyframe import PROPERTIES as KEYFRAME_PROPERTIES
from capcut_drafts.routes.schema import RequestModel

_SOURCE_START = "Start of the cut in the source file, seconds."
_TIMELINE_START = "Start on the timeline, seconds."
_TIMELINE_END = "End on the timeline, seconds."
_MASK = "Mask "

TEXTS: Mapping[str, str] = {
    "draft_id": "Draft id from create_draft (omitted: a new draft).",
    "width": "Canvas width if this call creates the draft.",
    "height": "Canvas height if this call creates the draft.",
    "profile": ("App of the new draft: " + ", ".join(profiles.PROFILES) + " (or an upstream alias). "
                "Omitted: the service's default."),
    "fps": "Frames per second of the new draft.",
    "start": _TIMELINE_START,
    "end": _TIMELINE_END,
    "target_start": "Start on the timeline, seconds.",
    "duration": "Length of the source file in seconds, if known.",
    "speed": "Playback speed (2 = twice as fast); the app plays 0.1-100.",
    "volume": "Volume factor (0 = mute; up to 10).",
    "transform_x": "X offset; 1 = half the canvas width to the right.",
    "transform_y": "Y offset; 1 = half the canvas height up.",
    "scale_x": "Horizontal scale (1 = fitted).",
    "scale_y": "Vertical scale (1 = fitted).",
    "rotation": "Clockwise rotation in degrees.",
    "alpha": "Opacity 0..1.",
    "flip_horizontal": "Mirror left-right.",
    "flip_vertical": "Mirror top-bottom.",
    "track_name": "Track (created if missing).",
    "relative_index": "Layer of a new track (higher is on top).",
    "draft_folder": "The user's drafts folder (media paths point into it).",
    "background_blur": "Blurred copy as background: 1 (light) to 4.",
    "transition": "Transition into the next clip.",
    "transition_duration": "Seconds.",
    "mask_type": "Mask shape.",
    "mask_center_x": _MASK + "centre: x offset in pixels.",
    "mask_center_y": _MASK + "centre: y offset in pixels.",
    "mask_size": _MASK + "size (fraction of the canvas height).",
    "mask_rotation": _MASK + "rotation in degrees.",
    "mask_feather": _MASK + "edge softness 0..100.",
    "mask_invert": _MASK + "inverted.",
    "mask_rect_width": _MASK + "width, rectangle only (fraction of the width).",
    "mask_round_corner": _MASK + "corner rounding 0..100, rectangle only.",
    "filter_type": "Colour filter of the clip.",
    "filter_intensity": "Filter strength 0..100.",
    "animation": "Legacy name of intro_animation.",
    "animation_duration": "Legacy name of intro_animation_duration.",
    "intro_animation": "Entrance animation.",
    "outro_animation": "Exit animation.",
    "combo_animation": "In-and-out animation (not with intro/outro).",
    "loop_animation": "Repeating animation.",
    "text": "The text to show; \\n starts a new line.",
    "font": "Font name; null: the app's default font.",
    "font_size": "Size in the app's units (8: a caption on 1080x1920). Alias: size.",
    "font_alpha": "Text opacity 0..1. Alias: alpha.",
    "vertical": "Vertical typesetting.",
    "bold": "Bold text.",
    "italic": "Italic text.",
    "underline": "Underlined text.",
    "border_width": "Outline width 0..100; 0: no outline.",
    "border_alpha": "Outline opacity 0..1.",
    "background_style": "Background box style: 1 or 2.",
    "background_alpha": "Background box opacity 0..1; 0: no box.",
    "background_round_radius": "Background box corner rounding 0..1.",
    "background_height": "Background box height 0..1.",
    "background_width": "Background box width 0..1.",
    "background_horizontal_offset": "Background box x position 0..1.",
    "background_vertical_offset": "Background box y position 0..1.",
    "fixed_width": "Box width, fraction of the canvas (-1: fit the text).",
    "fixed_height": "Box height, fraction of the canvas (-1: fit the text).",
    "shadow_enabled": "Draw a drop shadow.",
    "shadow_alpha": "Shadow opacity 0..1.",
    "shadow_angle": "Shadow direction in degrees.",
    "shadow_distance": "Shadow distance.",
    "shadow_smoothing": "Shadow blur 0..1.",
    "bubble_effect_id": "Bubble effect id (with bubble_resource_id).",
    "bubble_resource_id": "Bubble resource id (with bubble_effect_id).",
    "effect_effect_id": "Flower-text (花字) effect id.",
    "text_styles": "Styles of character ranges.",
    "time_offset": "Seconds added to every cue's time.",
    "srt": "The SRT text itself, or an http(s) URL of an .srt file.",
    "srt_url": "http(s) URL of an .srt file; used when srt is empty.",
    "effect_type": "Effect name.",
    "effect_category": "Which effect table effect_type is from: " + " or ".join(EFFECT_CATEGORIES) + ".",
    "params": "Effect parameter values 0..100 (null = the effect's default), in the order the catalogue lists them.",
    "effect_params": "Audio effect parameter values 0..100, in the order get_audio_effect_types lists them.",
    "sticker_id": "CapCut/JianYing sticker resource id, e.g. '7107529669750066445'.",
    "property_type": "Keyframe property: " + ", ".join(KEYFRAME_PROPERTIES) + ".",
    "time": "Timeline time in seconds (not relative to the clip).",
    "value": "Keyframe value: a number or a string such as '50%', '45deg', '+0.2'.",
    "property_types": "Batch mode: list of keyframe properties.",
    "times": "Batch mode: list of timeline times, one per property.",
    "values": "Batch mode: list of values, one per property.",
    "force_update": "Accepted for upstream compatibility; reading never changes the draft.",
    "async": "true: answer at once and poll query_draft_status; false: wait for the save (up to a limit).",
    "task_id": "The save's task id: the draft_id that was saved.",
    "dry_run": "true: check the change and answer what it would create; nothing is stored.",
    "segment_id": "Segment id from an add_* reply (segment_id) or get_timeline.",
}

ROUTE_TEXTS: Mapping[str, Mapping[str, str]] = {
    "/create_draft": {
        "draft_id": "Id for the new draft (letters, digits, '_', '-', '.'). Omitted: one is generated.",
        "width": "Canvas width in pixels.",
        "height": "Canvas height in pixels.",
    },
    "/add_video": {
        "start": _SOURCE_START,
        "end": "End of the cut in the source file, seconds (0: the end of the media).",
    },
    "/add_audio": {
        "start": _SOURCE_START,
        "end": "End of the cut in the source file, seconds (omitted: duration, else the end).",
    },
    "/add_image": {"intro_animation_duration": "Seconds the entrance animation lasts.",
                   "outro_animation_duration": "Seconds the exit animation lasts.",
                   "combo_animation_duration": "Seconds the combo animation lasts."},
    "/add_subtitle": {"alpha": "Text opacity 0..1.",
                      "transform_y": "Vertical position: 1.0 moves it half the canvas height up (default -0.8: "
                                     "near the bottom)."},
    "/add_filter": {"filter_type": "Filter name.",
                    "start": "Seconds: where the filter starts on the timeline (it applies to everything below)."},
    "/add_effect": {"start": "Seconds: where the effect starts on the timeline (it applies to everything below)."},
    "/add_video_keyframe": {"draft_id": "Draft id from create_draft.",
                            "track_name": "Existing track whose clips get the keyframes."},
    "/query_script": {"draft_id": "The draft to read.",
                      "draft_folder": "Drafts folder to write the media paths for (as /save_draft would)."},
    "/generate_draft_url": {"draft_id": "The draft to link to."},
    "/save_draft": {"draft_id": "The draft to save.",
                    "callback_url": "http(s) URL POSTed the final task record (signed JSON) when the save ends."},
    "/query_draft_status": {"draft_id": "Alias of task_id: the latest save of this draft."},
    "/get_duration": {"media_url": "http(s) URL of a video or audio file.",
                      "url": "Alias of media_url; media_url wins."},
    "/generate_video": {"draft_id": "The draft to render.",
                        "resolution": "Short side: 480P, 720P, 1080P, 2K or 4K.",
                        "framerate": "24, 25, 30, 50, 60 or a number up to 120 (omitted: the draft's fps).",
                        "license_key": "The hosted service's key; not needed here, ignored.",
                        "callback_url": "http(s) URL POSTed the final task record (signed JSON) when the render ends."},
    "/task_status": {"task_id": "output.task_id of generate_video."},
    "get_frame": {"draft_id": "The draft to look at.", "t": "Seconds on the timeline.",
                  "width": "Width of the picture in pixels."},
    "/get_timeline": {"draft_id": "The draft to read."},
    "/update_segment": {"draft_id": "The draft of the segment."},
    "/move_segment": {"draft_id": "The draft of the segment.",
                      "target_start": "New start on the timeline, seconds (omitted: unchanged).",
                      "track_name": "Track to move it to (created if missing; omitted: unchanged)."},
    "/remove_segment": {"draft_id": "The draft of the segment."},
    "/undo": {"draft_id": "The draft whose latest change to undo."},
    "/redo": {"draft_id": "The draft whose last undone change to redo."},
    "/batch": {"draft_id": "Draft the operations change (omitted: a new draft, from a first /create_draft).",
               "operations": "List of {route: '/add_text' etc., body: {the route's parameters without draft_id}}, "
                             "applied in order, all or none."},
    "/list_drafts": {"offset": "Drafts to skip (paging).", "limit": "Drafts per page, 1-500.",
                     "name": "Only drafts whose name contains this, ignoring case."},
    "/delete_draft": {"draft_id": "The draft to delete."},
    "/duplicate_draft": {"draft_id": "The draft to copy.", "name": "Name of the copy (omitted: '<name> copy')."},
    "/rename_draft": {"draft_id": "The draft to rename.",
                      "name": "New name: 1-200 characters; no '/', '\\' or control characters."},
    "/render_template": {"template_draft_id": "The template draft (it is not changed).",
                         "merge": "Object {field name: string or number} filling the template's {{name}} fields.",
                         "name": "Name of the new draft (omitted: '<template name> copy').",
                         "defaults": "Object {field name: value} used for fields merge does not fill.",
                         "fit": "Filled clips vs media length: trim, stretch, extend, or {field: mode}.",
                         "replace": "Object {segment id, text as shown or media file name: new text or media URL}."},
    "/template_fields": {"template_draft_id": "The template draft to read."},
    "/import_draft": {"draft_zip_url": "URL of a zip of a CapCut/JianYing draft folder (its media may be in it).",
                      "name": "Name of the new draft (omitted: the app draft's name)."},
    "/export_otio": {"draft_id": "The draft to export."},
    "/import_otio": {"otio": "The .otio file's JSON text (an OpenTimelineIO Timeline), as a string.",
                     "otio_url": "http(s) URL of an .otio file; used when otio is empty.",
                     "name": "Name of the new draft (omitted: the timeline's name).",
                     "width": "Canvas width (omitted: the timeline's, else 1080).",
                     "height": "Canvas height (omitted: the timeline's, else 1920).",
                     "profile": "App of the new draft (omitted: the timeline's, else the service's default)."},
}

NESTED_TEXTS: Mapping[str, str] = {
    "text_styles.start": "First character (0-based).",
    "text_styles.end": "End (exclusive).",
    "text_styles.style": "Omitted fields keep the text's values.",
    "text_styles.style.size": "Font size.",
    "text_styles.style.bold": "Bold.",
    "text_styles.style.italic": "Italic.",
    "text_styles.style.underline": "Underlined.",
    "text_styles.style.color": "Colour.",
    "text_styles.style.alpha": "Opacity 0..1.",
    "text_styles.style.align": "0 left, 1 centre, 2 right.",
    "text_styles.style.vertical": "Vertical typesetting.",
    "text_styles.style.letter_spacing": "Letter spacing.",
    "text_styles.style.line_spacing": "Line spacing.",
    "text_styles.border": "Outline.",
    "text_styles.border.width": "Outline width 0..100.",
    "text_styles.border.color": "Outline colour.",
    "text_styles.border.alpha": "Outline opacity 0..1.",
    "text_styles.font": "Font.",
}

# Parameters whose value is a catalogue name -> catalogue category (a tuple: one of several, chosen by
# another parameter). ROUTE_CATALOGUES overrides per route.
CATALOGUES: Mapping[str, str | tuple[str, ...]] = {
    "transition": "transition",
    "mask_type": "mask",
    "filter_type": "filter",
    "font": "font",
    "animation": "intro",
    "intro_animation": "intro",
    "outro_animation": "outro",
    "combo_animation": "combo",
    "loop_animation": "text_loop",
    "effect_type": tuple(EFFECT_CATEGORIES.values()),
}
ROUTE_CATALOGUES: Mapping[str, Mapping[str, str | tuple[str, ...]]] = {
    "/add_text": {"intro_animation": "text_intro", "outro_animation": "text_outro"},
    "/add_subtitle": {"intro_animation": "text_intro", "outro_animation": "text_outro"},
    "/add_audio": {"effect_type": "audio_effect"},
}


def catalogue_route(category: str) -> str:
    """The GET route (and MCP tool, without the slash) that lists a category's names."""
    return next(path for path, cat in catalog.ROUTES.items() if cat == category).strip("/")


def catalogue_params(route: Route) -> dict[str, str | tuple[str, ...]]:
    """This route's top-level parameters that take catalogue names -> category (or categories)."""
    mapping = {**CATALOGUES, **ROUTE_CATALOGUES.get(route.path, {})}
    return {name: mapping[name] for name in route.model.model_json_schema(by_alias=True).get("properties", {})
            if name in mapping}


def _catalogue_hint(category: str | tuple[str, ...]) -> str:
    if isinstance(category, tuple):
        return "Name from " + " or ".join(catalogue_route(c) for c in category) + " (by effect_category)."
    if category in ("font", "filter"):          # one table for every profile
        return f"Name from {catalogue_route(category)}."
    return f"Name from {catalogue_route(category)}."


def required(model: type[RequestModel]) -> list[str]:
    """Keys the route refuses to run without: its upstream checks, then pydantic's required fields."""
    pydantic_required = model.model_json_schema(by_alias=True).get("required") or []
    return list(dict.fromkeys([*model.REQUIRED, *pydantic_required]))


def required_text(model: type[RequestModel]) -> str:
    """'text' / 'srt or srt_url' / 'nothing': what the route needs, for people."""
    parts = [" or ".join((name, *model.ALTERNATIVES.get(name, ()))) for name in required(model)]
    return ", ".join(parts) or "nothing"


def describe(route: str, name: str) -> str | None:
    """The text for a top-level parameter of `route` (None: undocumented)."""
    text = ROUTE_TEXTS.get(route, {}).get(name) or TEXTS.get(name)
    if text:
        return text
    if name.endswith("_url"):
        return "http(s) URL of the file (fetched when the draft is saved)."
    if name.endswith("_color") or name == "color":
        return "Colour as '#RRGGBB'."
    if name.endswith("_duration"):
        return "Seconds."
    return None


def documented_schema(route: Route) -> dict[str, Any]:
    """The route's request model as one self-contained JSON schema: references inlined, pydantic's
    titles dropped, required keys first, every parameter described."""
    return model_schema(route.model, route.path, catalogue_params(route))


def model_schema(model: type[RequestModel], key: str,
                 pointers: Mapping[str, str | tuple[str, ...]] | None = None) -> dict[str, Any]:
    """`documented_schema` for a request model that is not a POST route (`key` selects its texts in
    `ROUTE_TEXTS`, e.g. "get_frame")."""
    raw = model.model_json_schema(by_alias=True)
    schema = _untitled(_inline_refs(raw, raw.get("$defs", {})))
    properties: dict[str, Any] = schema.get("properties", {})
    needed = required(model)
    ordered = {name: properties[name] for name in dict.fromkeys([*needed, "draft_id", *properties])
               if name in properties}
    for name, sub in ordered.items():
        _set_text(sub, describe(key, name))
        if pointers and name in pointers:
            _add_text(sub, _catalogue_hint(pointers[name]))
        _describe_nested(sub, name)
    out: dict[str, Any] = {"type": "object", "properties": ordered}
    strict = [name for name in needed if not model.ALTERNATIVES.get(name)]
    if strict:
        out["required"] = strict
    return out


def undescribed(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Dotted paths of the parameters in `schema` that carry no description (for tests)."""
    missing: list[str] = []
    for name, sub in (schema.get("properties") or {}).items():
        where = f"{path}.{name}" if path else name
        if not sub.get("description"):
            missing.append(where)
        for child in _object_schemas(sub):
            missing.extend(undescribed(child, where))
    return missing


def _set_text(schema: dict[str, Any], text: str | None) -> None:
    if text:
        schema["description"] = text


def _add_text(schema: dict[str, Any], text: str) -> None:
    schema["description"] = f"{schema['description']} {text}" if schema.get("description") else text


def _describe_nested(schema: dict[str, Any], path: str) -> None:
    for child in _object_schemas(schema):
        for name, sub in (child.get("properties") or {}).items():
            where = f"{path}.{name}"
            _set_text(sub, NESTED_TEXTS.get(where))
            category = CATALOGUES.get(name)
            if isinstance(category, str) and name == "font":
                _add_text(sub, _catalogue_hint(category))
            _describe_nested(sub, where)


def _object_schemas(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a parameter's value may be: itself, its list items, its anyOf branches."""
    found: list[dict[str, Any]] = []
    if "properties" in schema:
        found.append(schema)    # type: ignore[arg-type]
    if isinstance(schema.get("items"), dict):
        found.extend(_object_schemas(schema["items"]))
    for branch in schema.get("anyOf", []):
        found.extend(_object_schemas(branch))
    return found


def _inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its definition (request models have no
    recursive types); some MCP clients do not resolve references."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline_refs(target, defs), **_inline_refs(siblings, defs)}
    return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}


def _untitled(node: Any) -> Any:
    """Without pydantic's generated `title` keywords (property names stay) and model descriptions."""
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _untitled(sub) for name, sub in value.items()}
        else:
            out[key] = _untitled(value)
    if "properties" in out:
        out.pop("description", None)      # a model's docstring is for developers
    return out
