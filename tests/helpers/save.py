"""The save tests' view of the service (tests/save/): `Service`, one app on its own data_dir driven
through Flask's test client, with the calls a save test makes (create, add, save, wait for the
task, read the saved folder); and readers of saved draft content."""
from __future__ import annotations

import json
import time
from pathlib import Path

from helpers import post

WIN = r"C:\Users\me\AppData\Local\CapCut\User Data\Projects\com.lveditor.draft"
WIN_APP = WIN.replace("\\", "/")        # WIN as the apps write it in a draft (capcut_drafts/save/paths.py)
CONTENT_NAMES = ("draft_content.json", "draft_info.json")


class Service:
    """One app (a "worker") on its own SQLite data_dir, driven through Flask's test client."""

    def __init__(self, settings):
        from capcut_drafts.web.app import create_app
        self.settings = settings
        self.data_dir = Path(settings.data_dir)
        self.app = create_app(settings)
        self.client = self.app.test_client()
        self.ctx = self.app.extensions["capcut"]

    def post(self, path: str, body: dict) -> dict:
        return post(self.client, path, body)

    def ok(self, path: str, body: dict) -> dict:
        reply = self.post(path, body)
        assert reply["success"], f"{path} {body} failed: {reply}"
        return reply["output"]

    def draft(self, profile: str = "capcut", **size) -> str:
        return self.ok("/create_draft", {"width": 1080, "height": 1920, "profile": profile, **size})["draft_id"]

    def add(self, route: str, draft_id: str, **body) -> dict:
        return self.ok(f"/add_{route}", {"draft_id": draft_id, **body})

    def save(self, draft_id: str, **body) -> dict:
        return self.post("/save_draft", {"draft_id": draft_id, **body})

    def status(self, task_id: str) -> dict:
        return self.ok("/query_draft_status", {"task_id": task_id})

    def wait(self, task_id: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(task_id)
            if status["status"] not in ("initialized", "processing"):
                return status
            assert time.monotonic() < deadline, f"save of {task_id} still running after {timeout}s: {status}"
            time.sleep(0.02)

    def saved(self, draft_id: str, **body) -> dict:
        """Save, check it completed, return the reply."""
        reply = self.save(draft_id, **body)
        assert reply["success"] and reply["output"]["status"] == "completed", (reply, self.status(draft_id))
        return reply

    def folder(self, draft_id: str) -> Path:
        return self.data_dir / "drafts" / draft_id

    def content(self, draft_id: str) -> dict:
        folder = self.folder(draft_id)
        name = next(n for n in CONTENT_NAMES if (folder / n).is_file())
        return json.loads((folder / name).read_bytes())

    def script(self, draft_id: str) -> tuple[dict, list[str]]:
        reply = self.post("/query_script", {"draft_id": draft_id})
        assert reply["success"], reply
        return json.loads(reply["output"]), reply.get("warnings", [])

    def close(self) -> None:
        self.ctx.shutdown(wait=True)
        self.ctx.media.close(wait=True)


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def media_materials(content: dict) -> list[dict]:
    return content["materials"]["videos"] + content["materials"]["audios"]


def saved_track(content: dict, name: str) -> dict:
    """The first track called `name` in saved draft content."""
    return next(t for t in content["tracks"] if t.get("name") == name)


def json_leaves(value, key: str = ""):
    """(key, value) of every leaf (not an object or list) of a JSON value, with the key it sits under."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_leaves(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from json_leaves(v, key)
    else:
        yield key, value


def json_strings(value):
    """(key, string) of every string in a JSON value, with the key it sits under."""
    return ((key, leaf) for key, leaf in json_leaves(value) if isinstance(leaf, str))
