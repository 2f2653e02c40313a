"""Schema versions of the stored JSON, and the upgrades that read old versions.

A draft lives in the store as a snapshot of the document plus a log of operations, all JSON
written by whatever code version was running. Both carry their schema version:

* the document in its `schema_version` field (absent: version 1, the format before versions);
* each operation in a `"v"` key, written on every new operation (absent: version 1). A key per
  operation, not one per log: ops after a snapshot may come from older or newer processes (a
  rolling restart), the store backends keep payloads opaque, and a self-describing op needs no
  change to any backend's tables.

On load, old JSON is upgraded step by step before pydantic validates it. Each step is a small
pure function from one version's JSON to the next; renaming or removing a model field means
raising SCHEMA_VERSION and appending one step to DRAFT_STEPS and one to OP_STEPS (for a segment
field both apply one segment function, as segment_v1_to_v2 here), so no stored draft is ever
stranded.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Json = dict[str, Any]
Step = Callable[[Json], Json]

SCHEMA_VERSION = 2
DRAFT_VERSION_KEY = "schema_version"
OP_VERSION_KEY = "v"


class NewerSchema(ValueError):
    """Stored JSON written by newer code than this process: refused rather than misread."""


# -- version 1 → 2: TimeRange fields and the image transform's new name --------------------------

def segment_v1_to_v2(segment: Json) -> Json:
    """Flat source_*/target_* µs fields become `source`/`target` TimeRanges; `clip` becomes `transform`."""
    new = dict(segment)
    new["source"] = {"start_us": new.pop("source_start_us", 0),
                     "duration_us": new.pop("source_duration_us", None)}
    new["target"] = {"start_us": new.pop("target_start_us"),
                     "duration_us": new.pop("target_duration_us", None)}
    if "clip" in new:
        new["transform"] = new.pop("clip")
    return new


def draft_v1_to_v2(draft: Json) -> Json:
    tracks = [{**track, "segments": [segment_v1_to_v2(s) for s in track.get("segments", [])]}
              for track in draft.get("tracks", [])]
    return {**draft, "tracks": tracks}


def op_v1_to_v2(op: Json) -> Json:
    if op["op"] != "add_segment":
        return dict(op)
    return {**op, "segments": [segment_v1_to_v2(s) for s in op["segments"]]}


# STEPS[n - 1] upgrades version n to n + 1, so len(STEPS) == SCHEMA_VERSION - 1.
DRAFT_STEPS: tuple[Step, ...] = (draft_v1_to_v2,)
OP_STEPS: tuple[Step, ...] = (op_v1_to_v2,)


def _upgrade(data: Json, key: str, steps: tuple[Step, ...], what: str) -> Json:
    version = data.get(key, 1)
    if type(version) is not int or version < 1:
        raise ValueError(f"stored {what} has an invalid schema version {version!r}")
    if version > SCHEMA_VERSION:
        raise NewerSchema(f"stored {what} has schema version {version}; this code reads versions 1 to "
                          f"{SCHEMA_VERSION} (it was written by a newer release)")
    for step in steps[version - 1:]:
        data = step(data)
    if version == SCHEMA_VERSION:
        return data
    return {**data, key: SCHEMA_VERSION}


def upgrade_draft(draft: Json) -> Json:
    """A stored document of any known version as the current version's JSON."""
    return _upgrade(draft, DRAFT_VERSION_KEY, DRAFT_STEPS, "draft")


def upgrade_op(op: Json) -> Json:
    """A stored operation of any known version as the current version's JSON."""
    return _upgrade(op, OP_VERSION_KEY, OP_STEPS, "operation")


def stamp_op(op: Json) -> Json:
    """The operation as it is stored: with the current schema version."""
    return {**op, OP_VERSION_KEY: SCHEMA_VERSION}
