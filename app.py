"""Entry points of the HTTP service: `gunicorn 'app:create_app()'` and `python app.py` (development).

The application itself is `capcut_drafts.web.app`.
"""
import sys

from capcut_drafts.settings import load_settings
from capcut_drafts.web.app import create_app

__all__ = ["create_app"]

if __name__ == "__main__":
    loaded = load_settings()
    create_app(loaded).run(host=loaded.host, port=loaded.port, threaded=True)
    sys.exit(0)
