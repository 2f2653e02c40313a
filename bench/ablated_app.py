"""The service with one part of the add path switched off, for bench/request_path.py `--without`:
what the throughput would be without that part shows what the part costs under load.

    CAPCUT_BENCH_WITHOUT=route gunicorn -c gunicorn.conf.py --pythonpath bench 'ablated_app:create_app()'

CAPCUT_BENCH_WITHOUT names the parts, comma-separated:
- `route`: the routes answer as bench/bare_app.py does (a new draft id or a segment id) after the
  service's hooks and its JSON parsing; left: Flask, the hooks, JSON in and out.
- `append`: the store's append succeeds without writing; left: everything but the durable write.

Never for serving: with either part off, the replies are not the service's.
"""
from __future__ import annotations

import itertools
import os
from typing import Any

from flask import Flask

from capcut_drafts.api import dispatch
from capcut_drafts.web.app import create_app as create_service

PARTS = ("route", "append")


def create_app() -> Flask:
    parts = set(filter(None, os.environ.get("CAPCUT_BENCH_WITHOUT", "").split(",")))
    if parts - set(PARTS):
        raise SystemExit(f"CAPCUT_BENCH_WITHOUT: unknown parts {sorted(parts - set(PARTS))}; known: {PARTS}")
    if "route" in parts:
        counter = itertools.count()

        def run_route(ctx: Any, path: str, body: dict, **_: Any) -> tuple[dict, int]:
            number = next(counter)
            output = {"draft_id": body.get("draft_id") or f"bare_{number}", "segment_id": f"seg_{number}"}
            return dispatch.envelope_body(output), 200

        dispatch.run_route = run_route         # web/app.py calls it through the module
    app = create_service()
    if "append" in parts:
        app.extensions["capcut"].cache.store.append = lambda draft_id, seq, op: True
    return app
