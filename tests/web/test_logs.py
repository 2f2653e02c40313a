"""Logs an operator can use: the access-log line of a failed request names its error code, and the
lines a save job logs carry the id of the request that queued it.

Apps driven through Flask's test client (helpers.save.Service: SQLite, the thread job runner);
media from a MediaServer on 127.0.0.1; log output captured with caplog."""
from __future__ import annotations

import logging

import pytest
from helpers import make_settings
from helpers.media import MediaServer
from helpers.save import Service


@pytest.fixture
def service(tmp_path):
    made: list[Service] = []

    def build(**overrides) -> Service:
        svc = Service(make_settings(tmp_path / f"data{len(made)}", store="sqlite", fetch_allow_hosts=["127.0.0.1"],
                                    **overrides))
        made.append(svc)
        return svc

    yield build
    for svc in made:
        svc.close()


def access_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "capcut.http"]


def test_a_failed_requests_access_line_carries_its_code_and_a_success_none(service, caplog):
    svc = service()
    caplog.set_level(logging.INFO, logger="capcut.http")
    svc.draft()
    assert svc.post("/query_draft_status", {"task_id": "dfd_cat_1_deadbeef"})["code"] == "task_not_found"
    assert svc.post("/add_text", {"draft_id": "dfd_cat_1_deadbeef"})["success"] is False
    created, not_found, missing = access_lines(caplog)
    assert created.startswith("POST /create_draft 200 ") and "code=" not in created
    assert not_found.startswith("POST /query_draft_status 200 ") and not_found.endswith("ms code=task_not_found")
    assert missing.startswith("POST /add_text 200 ") and missing.endswith("ms code=missing_parameter")


def test_a_refused_key_is_logged_with_its_status_and_code(service, caplog):
    svc = service(api_keys=["k-secret-1"])
    caplog.set_level(logging.INFO, logger="capcut.http")
    assert svc.client.post("/create_draft", json={}).status_code == 401
    [line] = access_lines(caplog)
    assert line.startswith("POST /create_draft 401 ") and line.endswith("ms code=unauthorized")


def test_a_save_jobs_log_lines_carry_the_id_of_the_request_that_queued_it(service, caplog, tmp_path):
    svc = service()
    d = svc.draft()
    with MediaServer(tmp_path) as media:                         # an empty folder: every URL is a 404
        url = media.url("missing.mp4")
        svc.add("video", d, video_url=url, end=1)
        with caplog.at_level(logging.INFO, logger="capcut"):
            reply = svc.client.post("/save_draft", json={"draft_id": d}, headers={"X-Request-ID": "req-save-42"})
            assert reply.get_json()["code"] == "save_failed"
    [job_line] = [r for r in caplog.records if r.name == "capcut.save"]
    assert job_line.threadName.startswith("save")                # logged by the job, not the request
    assert job_line.request_id == "req-save-42" and url in job_line.getMessage()
    [access] = [r for r in caplog.records if r.name == "capcut.http" and "/save_draft" in r.getMessage()]
    assert access.request_id == "req-save-42" and access.getMessage().endswith("code=save_failed")
