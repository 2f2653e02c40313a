"""The OpenAPI 3.1 document, generated from the route registry (one source of truth): each POST
route's request model, summary and worked example come from its `capcut_drafts.api.registry.Route`."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from capcut_drafts.api.registry import Route
from capcut_drafts.routes.schema import RequestModel

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
ENVELOPE_PATH = "#/components/schemas/Envelope"


def _schema(model: type[RequestModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's JSON schema with its $defs lifted into components."""
    schema = copy.deepcopy(model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}"))
    defs = schema.pop("$defs", {})
    schema.pop("title", None)
    return schema, defs


def build_document(routes: Iterable[Route], catalogue_routes: Mapping[str, str], version: str) -> dict[str, Any]:
    """The document for these POST routes (`registry.ROUTES`) and catalogue routes (`catalog.ROUTES`)."""
    components: dict[str, Any] = {"Envelope": ENVELOPE}
    paths: dict[str, Any] = {}
    for route in routes:
        model, example = route.model, copy.deepcopy(dict(route.example))   # the document never aliases the registry
        schema, defs = _schema(model)
        components.update(defs)
        components[model.__name__] = schema
        required = list(model.REQUIRED)
        paths[route.path] = {"post": {
            "operationId": route.name,
            "summary": route.summary,
            "description": f"Required: {', '.join(required) or 'nothing'}. Unknown keys are ignored.",
            "tags": ["drafts"],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"}, "example": example}}},
            "responses": {"200": {"description": "the envelope (also for handled errors)",
                                  "content": {"application/json": {"schema": {"$ref": ENVELOPE_PATH}}}}},
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
                                  "content": {"application/json": {"schema": {"$ref": ENVELOPE_PATH}}}}},
        }}
    for path, summary in (("/healthz", "The process is alive"),
                          ("/readyz", "Store, job runner and storage are reachable (503 with reasons otherwise)")):
        paths[path] = {"get": {"operationId": path.strip("/"), "summary": summary, "tags": ["operations"],
                               "security": [],
                               "responses": {"200": {"description": "ready",
                                                     "content": {"application/json": {"schema": {
                                                         "$ref": ENVELOPE_PATH}}}},
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
