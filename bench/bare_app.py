"""The floor for bench/request_path.py: Flask routes that parse the same JSON body and answer the
envelope, with nothing behind them (no validation, no store, no logging, no metrics).

    gunicorn -c gunicorn.conf.py --pythonpath bench 'bare_app:create_app()'

It answers /create_draft with a new id and every /add_* with a segment id, so the bench's
clients run unchanged against it; /healthz answers for the start-up check.
"""
from __future__ import annotations

import itertools

from flask import Flask, jsonify, request

ROUTES = ("/create_draft", "/add_text", "/add_video", "/add_audio", "/add_image", "/add_effect")


def create_app() -> Flask:
    app = Flask(__name__)
    counter = itertools.count()

    def view():
        body = request.get_json()
        number = next(counter)
        output = {"draft_id": body.get("draft_id") or f"bare_{number}", "segment_id": f"seg_{number}"}
        return jsonify({"success": True, "output": output, "error": ""})

    for path in ROUTES:
        app.add_url_rule(path, path.strip("/"), view, methods=["POST"])
    app.add_url_rule("/healthz", "healthz", lambda: jsonify({"status": "ok"}))
    return app
