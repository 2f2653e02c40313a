"""Fixtures of the web tests."""
from __future__ import annotations

import pytest
from helpers import make_settings


@pytest.fixture
def make_app(tmp_path):
    """make_app(**settings) -> a Flask app on its own data_dir (memory store unless told); every
    app's runner, media cache and store are closed after the test."""
    made = []

    def build(**overrides):
        from capcut_drafts.web.app import create_app
        overrides.setdefault("store", "memory")
        app = create_app(make_settings(tmp_path / f"data{len(made)}", **overrides))
        made.append(app)
        return app

    yield build
    for app in made:
        ctx = app.extensions["capcut"]
        ctx.runner.shutdown(wait=True)
        ctx.media.close(wait=True)
        ctx.cache.store.close()
