"""HTTP surface around the routes: OpenAPI, guards (keys, limits, request ids), health, metrics."""
