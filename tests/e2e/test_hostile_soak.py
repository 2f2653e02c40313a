"""Hostile traffic (surrogates, deep nesting, NaN, huge ids, stalled and slowloris clients) while 8
threads edit their own drafts, against real gunicorn on SQLite; then kill -9 and a restart.

What must hold: /healthz answers every probe within 1 s throughout (p99 < 1 s), no ordinary edit
is refused, no hostile request is answered `internal_error` or 5xx, and after the restart every
acknowledged edit is in its draft. The traffic itself is bench/hostile_soak.py's `soak()`.
"""
from __future__ import annotations

import sys

from helpers import REPO_ROOT
from helpers.processes import Api

sys.path.insert(0, str(REPO_ROOT / "bench"))
from hostile_soak import percentile, report, soak  # noqa: E402

SOAK_SECONDS = 15


def test_hostile_traffic_costs_ordinary_users_neither_data_nor_service(tmp_path, gunicorns):
    svc = gunicorns(tmp_path, store="sqlite")
    result = soak(svc.base, svc.port, SOAK_SECONDS)
    print(report(result))
    assert result.health and percentile(result.health, 0.99) < 1.0, report(result)
    assert result.health_failures == 0, report(result)
    assert not result.edit_errors, result.edit_errors[:5]
    assert len(result.acked) == 8 and result.edits >= 8 * 10, report(result)
    crashed = {what: n for what, n in result.hostile_codes.items()
               if "internal_error" in what or "HTTP 5" in what or "success" in what}
    assert not crashed, report(result)
    svc.kill9()
    svc.start()
    api = Api(svc.base)
    for draft_id, texts in result.acked.items():
        assert api.texts(draft_id) == texts, draft_id
