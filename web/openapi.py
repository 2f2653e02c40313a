"""The OpenAPI 3.1 document, generated from the route table's request models (one source of
truth), with a summary and a worked example per route."""
from __future__ import annotations

import copy
from typing import Any

V = "https://example.com/clip.mp4"
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "/create_draft": ("Create an empty draft", {"width": 1080, "height": 1920}),
    "/add_video": ("Add a video clip (start/end cut the source; target_start places it)",
                   {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "video_url": V, "start": 0, "end": 5,
                    "target_start": 0, "track_name": "video_main", "transition": "Dissolve",
                    "transition_duration": 1.0}),
    "/add_audio": ("Add an audio clip, optionally with a voice effect",
                   {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "audio_url": "https://example.com/music.mp3",
                    "start": 0, "end": 8, "volume": 0.6, "effect_type": "Big_House", "effect_params": [50]}),
    "/add_image": ("Add an image from start to end on the timeline",
                   {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "image_url": "https://example.com/photo.jpg",
                    "start": 0, "end": 3, "intro_animation": "Fade_In"}),
    "/add_text": ("Add styled text", {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "text": "My Title", "start": 0,
                                      "end": 3, "font_color": "#FFD700", "font_size": 12, "transform_y": 0.6,
                                      "text_styles": [{"start": 0, "end": 2, "style": {"color": "#FF0000",
                                                                                        "bold": True}}]}),
    "/add_subtitle": ("Add every cue of an SRT file (text or http(s) URL)",
                      {"draft_id": "dfd_cat_1764300000_1a2b3c4d",
                       "srt": "1\n00:00:00,000 --> 00:00:02,500\nHello\n\n2\n00:00:02,500 --> 00:00:05,000\nWorld\n",
                       "font_size": 6, "border_width": 20}),
    "/add_effect": ("Add a scene or character effect over a time range",
                    {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "effect_type": "Blur", "effect_category": "scene",
                     "start": 0, "end": 2, "params": [40]}),
    "/add_filter": ("Add a filter over a time range",
                    {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "filter_type": "亮肤", "filter_intensity": 60,
                     "start": 0, "end": 5}),
    "/add_sticker": ("Add a sticker by resource id",
                     {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "sticker_id": "7107529669750066445",
                      "start": 0, "end": 5}),
    "/add_video_keyframe": ("Add keyframes at absolute timeline times (single or batch)",
                            {"draft_id": "dfd_cat_1764300000_1a2b3c4d", "track_name": "video_main",
                             "property_types": ["alpha", "alpha"], "times": [0, 1], "values": ["0", "1"]}),
    "/query_script": ("The draft JSON as a string (read-only)", {"draft_id": "dfd_cat_1764300000_1a2b3c4d"}),
    "/generate_draft_url": ("The draft's informational link", {"draft_id": "dfd_cat_1764300000_1a2b3c4d"}),
    "/save_draft": ("Download media, write the draft folder, answer with its zip URL",
                    {"draft_id": "dfd_cat_1764300000_1a2b3c4d",
                     "draft_folder": "C:\\Users\\me\\AppData\\Local\\CapCut\\User Data\\Projects\\com.lveditor.draft"}),
    "/query_draft_status": ("Progress and result of a save", {"task_id": "dfd_cat_1764300000_1a2b3c4d"}),
}

ENVELOPE = {
    "type": "object",
    "required": ["success", "output", "error"],
    "properties": {
        "success": {"type": "boolean"},
        "output": {"description": "route-specific result; \"\" on failure"},
        "error": {"type": "string", "description": "what is wrong and how to fix it; \"\" on success"},
        "code": {"type": "string", "description": "stable machine-readable error code (failures only)"},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}


def _schema(model: type) -> tuple[dict, dict]:
    """The model's JSON schema with its $defs lifted into components."""
    schema = copy.deepcopy(model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}"))
    defs = schema.pop("$defs", {})
    schema.pop("title", None)
    return schema, defs


def build_document(post_routes: dict, catalogue_routes: dict, version: str) -> dict:
    components: dict[str, Any] = {"Envelope": ENVELOPE}
    paths: dict[str, Any] = {}
    for path, (model, _service, _template) in post_routes.items():
        schema, defs = _schema(model)
        components.update(defs)
        components[model.__name__] = schema
        summary, example = EXAMPLES[path]
        required = list(getattr(model, "REQUIRED", ()))
        paths[path] = {"post": {
            "operationId": path.strip("/"),
            "summary": summary,
            "description": f"Required: {', '.join(required) or 'nothing'}. Unknown keys are ignored.",
            "tags": ["drafts"],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"}, "example": example}}},
            "responses": {"200": {"description": "the envelope (also for handled errors)",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}}},
        }}
    for path, category in catalogue_routes.items():
        paths[path] = {"get": {
            "operationId": path.strip("/"),
            "summary": f"Names accepted for {category.replace('_', ' ')} parameters",
            "tags": ["catalogue"],
            "parameters": [{"name": "profile", "in": "query", "required": False,
                            "description": "capcut, capcut_legacy, jianying or jianying_pro_10 (default: the "
                                           "service's profile)", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "output: a list of {name, ...}",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}}},
        }}
    for path, summary in (("/healthz", "The process is alive"),
                          ("/readyz", "Store, job runner and storage are reachable (503 with reasons otherwise)")):
        paths[path] = {"get": {"operationId": path.strip("/"), "summary": summary, "tags": ["operations"],
                               "security": [],
                               "responses": {"200": {"description": "ready",
                                                     "content": {"application/json": {"schema": {
                                                         "$ref": "#/components/schemas/Envelope"}}}},
                                             "503": {"description": "not ready"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "CapCut / JianYing draft service", "version": version,
                 "description": "Drop-in replacement for the CapCutAPI HTTP routes. Every reply is "
                                "{success, output, error}. Times are seconds."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
        "security": [{"bearer": []}, {"apiKey": []}, {}],
    }
